#include "ntr/isa/isa.h"

#include <array>
#include <cctype>

#include <fmt/format.h>

namespace ntr::isa {

namespace {

const std::array<const InsnDesc*, 256>& opcode_table() {
  static const std::array<const InsnDesc*, 256> t = [] {
    std::array<const InsnDesc*, 256> a{};
    for (const auto& d : kInsns) a[static_cast<int>(d.opcode)] = &d;
    return a;
  }();
  return t;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool enum_has(const FieldDesc& fd, int64_t v) {
  const EnumDesc& e = kEnums[fd.enum_index];
  for (int i = 0; i < e.count; ++i)
    if (e.members[i].value == v) return true;
  return false;
}

// Checks one field value; returns an empty string when it is fine.
std::string check_value(const FieldDesc& fd, int64_t v) {
  if (fd.type == FieldType::Enum) {
    if (!enum_has(fd, v))
      return fmt::format("field {} = {} is not a member of enum {}", fd.name, v,
                         kEnums[fd.enum_index].name);
    return {};
  }
  if (v < fd.min || v > fd.max)
    return fmt::format("field {} = {} is outside [{}, {}]", fd.name, v, fd.min, fd.max);
  return {};
}

}  // namespace

const InsnDesc* find_opcode(int opcode) {
  if (opcode < 0 || opcode >= (1 << kOpcodeBits)) return nullptr;
  return opcode_table()[static_cast<std::size_t>(opcode)];
}

const InsnDesc* find_mnemonic(std::string_view name) {
  for (const auto& d : kInsns)
    if (iequal(d.name, name)) return &d;
  return nullptr;
}

int field_index(const InsnDesc& d, std::string_view name) {
  for (int i = 0; i < d.nfields; ++i)
    if (d.fields[i].name == name) return i;
  return -1;
}

std::optional<Stream> parse_stream(std::string_view name) {
  for (std::size_t i = 0; i < kStreamNames.size(); ++i)
    if (iequal(kStreamNames[i], name)) return static_cast<Stream>(i);
  return std::nullopt;
}

Word encode(const Fields& f) {
  const InsnDesc* d = find_opcode(static_cast<int>(f.op));
  if (!d) throw IsaError(fmt::format("opcode 0x{:02x} is reserved", static_cast<int>(f.op)));
  Word w;
  w.set(0, kOpcodeBits, static_cast<uint64_t>(f.op));
  for (int i = 0; i < d->nfields; ++i) {
    const FieldDesc& fd = d->fields[i];
    const int64_t v = f.v[static_cast<std::size_t>(i)];
    if (std::string e = check_value(fd, v); !e.empty())
      throw IsaError(fmt::format("{}: {}", d->name, e));
    w.set(fd.lsb, fd.width, static_cast<uint64_t>(v - fd.offset));
  }
  std::string_view why;
  if (!check_constraints(f, &why)) throw IsaError(fmt::format("{}: {}", d->name, why));
  return w;
}

std::optional<Fields> decode(Word w, Stream s, std::string* why) {
  const int op = static_cast<int>(w.get(0, kOpcodeBits));
  const InsnDesc* d = find_opcode(op);
  if (!d) {
    *why = fmt::format("reserved opcode 0x{:02x}", op);
    return std::nullopt;
  }
  if (!allowed_in(*d, s)) {
    *why = fmt::format("{} is not allowed in the {} stream", d->name, stream_name(s));
    return std::nullopt;
  }
  if ((w.lo & ~d->used_lo) || (w.hi & ~d->used_hi)) {
    const uint64_t lo = w.lo & ~d->used_lo, hi = w.hi & ~d->used_hi;
    const int bit = lo ? __builtin_ctzll(lo) : 64 + __builtin_ctzll(hi);
    *why = fmt::format("{}: reserved bit {} is set", d->name, bit);
    return std::nullopt;
  }
  Fields f;
  f.op = d->opcode;
  for (int i = 0; i < d->nfields; ++i) {
    const FieldDesc& fd = d->fields[i];
    uint64_t code = w.get(fd.lsb, fd.width);
    int64_t v = 0;
    if (fd.type == FieldType::Sint && fd.width < 64 && (code >> (fd.width - 1)) & 1)
      v = static_cast<int64_t>(code) - (int64_t{1} << fd.width);
    else
      v = static_cast<int64_t>(code) + fd.offset;
    if (std::string e = check_value(fd, v); !e.empty()) {
      *why = fmt::format("{}: {}", d->name, e);
      return std::nullopt;
    }
    f.v[static_cast<std::size_t>(i)] = v;
  }
  std::string_view cwhy;
  if (!check_constraints(f, &cwhy)) {
    *why = fmt::format("{}: {}", d->name, cwhy);
    return std::nullopt;
  }
  return f;
}

}  // namespace ntr::isa
