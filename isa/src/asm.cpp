#include "ntr/isa/asm.h"

#include <cctype>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "read_file.h"

namespace ntr::isa {

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}
bool ends_with(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

// An operand group X: fields X_space, X_ar, X_off (each optional except X_off).
struct Group {
  std::string name;
  int space = -1, ar = -1, off = -1;
};

std::vector<Group> groups_of(const InsnDesc& d) {
  std::vector<Group> gs;
  for (int i = 0; i < d.nfields; ++i) {
    const std::string_view n = d.fields[i].name;
    if (!ends_with(n, "_off")) continue;
    Group g;
    g.name = std::string(n.substr(0, n.size() - 4));
    g.off = i;
    g.space = field_index(d, g.name + "_space");
    g.ar = field_index(d, g.name + "_ar");
    gs.push_back(g);
  }
  return gs;
}

const Group* group_of_field(const std::vector<Group>& gs, int i) {
  for (const auto& g : gs)
    if (g.off == i || g.ar == i || g.space == i) return &g;
  return nullptr;
}

std::string enum_name(const FieldDesc& fd, int64_t v) {
  const EnumDesc& e = kEnums[fd.enum_index];
  for (int i = 0; i < e.count; ++i)
    if (e.members[i].value == v) return lower(e.members[i].name);
  return std::to_string(v);
}

int64_t code_of(const FieldDesc& fd, int64_t v) {
  return fd.type == FieldType::Sint ? v : v - fd.offset;
}

std::string value_text(const FieldDesc& fd, int64_t v) {
  switch (fd.type) {
    case FieldType::Ar:
      return fmt::format("a{}", v);
    case FieldType::Sem:
      return fmt::format("s{}", v);
    case FieldType::Enum:
      return enum_name(fd, v);
    default:
      return std::to_string(v);
  }
}

std::string group_text(const InsnDesc& d, const Fields& f, const Group& g) {
  std::string s;
  if (g.space >= 0) s += enum_name(d.fields[g.space], f.v[static_cast<std::size_t>(g.space)]) + ":";
  const int64_t ar = g.ar >= 0 ? f.v[static_cast<std::size_t>(g.ar)] : 0;
  const int64_t off = f.v[static_cast<std::size_t>(g.off)];
  if (ar != 0)
    s += off != 0 ? fmt::format("a{}+{}", ar, off) : fmt::format("a{}", ar);
  else
    s += std::to_string(off);
  return s;
}

}  // namespace

std::string format_insn(const Fields& f) {
  const InsnDesc& d = desc(f.op);
  std::string out = lower(d.name);
  const auto gs = groups_of(d);
  std::vector<bool> done(static_cast<std::size_t>(d.nfields), false);
  // Positional fields first, in order.
  for (int i = 0; i < d.nfields; ++i) {
    if (!d.fields[i].positional) continue;
    out += ' ';
    out += value_text(d.fields[i], f.v[static_cast<std::size_t>(i)]);
    done[static_cast<std::size_t>(i)] = true;
  }
  for (int i = 0; i < d.nfields; ++i) {
    const FieldDesc& fd = d.fields[i];
    if (done[static_cast<std::size_t>(i)] || fd.sync) continue;
    if (const Group* g = group_of_field(gs, i)) {
      bool any = d.fields[g->off].always;
      for (int k : {g->space, g->ar, g->off})
        if (k >= 0) {
          any = any || code_of(d.fields[k], f.v[static_cast<std::size_t>(k)]) != 0;
          done[static_cast<std::size_t>(k)] = true;
        }
      if (any) out += fmt::format(" {}={}", g->name, group_text(d, f, *g));
      continue;
    }
    const int64_t v = f.v[static_cast<std::size_t>(i)];
    if (!fd.always && code_of(fd, v) == 0) continue;
    if (fd.type == FieldType::Bool) {
      out += ' ';
      out += fd.name;
    } else {
      out += fmt::format(" {}={}", fd.name, value_text(fd, v));
    }
  }
  if (d.cls == InsnClass::Datapath) {
    const SyncGroup s = sync_of(f, d.nfields);
    if (s.wait >= 0) out += fmt::format(" wait=s{}", s.wait);
    int used = 0;
    while (used < 3 && s.sig[static_cast<std::size_t>(used)] >= 0) ++used;
    bool prefix = true;
    for (int k = used; k < 3; ++k) prefix = prefix && s.sig[static_cast<std::size_t>(k)] < 0;
    if (prefix && used > 0) {
      out += " sig=";
      for (int k = 0; k < used; ++k) out += fmt::format("{}s{}", k ? "," : "", s.sig[static_cast<std::size_t>(k)]);
    } else if (!prefix) {
      for (int k = 0; k < 3; ++k)
        if (s.sig[static_cast<std::size_t>(k)] >= 0) out += fmt::format(" sig{}=s{}", k, s.sig[static_cast<std::size_t>(k)]);
    }
  }
  return out;
}

std::string disassemble(const Program& p, const DisasmOptions& opt) {
  const DecodedProgram dp = decode_program(p, "<program>");
  std::ostringstream o;
  for (int si = 0; si < kStreams; ++si) {
    const Stream s = static_cast<Stream>(si);
    o << ".stream " << stream_name(s) << "\n";
    std::vector<std::size_t> ends;
    const auto& fs = dp[static_cast<std::size_t>(si)];
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const std::string indent(2 * (ends.size() + 1), ' ');
      std::string line;
      if (fs[i].op == Opcode::Loop) {
        line = fmt::format("loop {} {{", fs[i].v[fld::kLoopCount]);
        ends.push_back(i + static_cast<std::size_t>(fs[i].v[fld::kLoopBody]));
      } else {
        line = format_insn(fs[i]);
      }
      o << indent << line;
      if (opt.indices) o << fmt::format("  # {}:{}", stream_name(s), i);
      o << "\n";
      while (!ends.empty() && ends.back() == i) {
        ends.pop_back();
        o << std::string(2 * (ends.size() + 1), ' ') << "}\n";
      }
    }
  }
  return o.str();
}

namespace {

class Assembler {
 public:
  Assembler(std::string_view text, std::string origin) : text_(text), origin_(std::move(origin)) {}

  Program run() {
    std::istringstream in{std::string(text_)};
    std::string raw;
    while (std::getline(in, raw)) {
      ++line_;
      std::string l = strip_comment(raw);
      const auto b = l.find_first_not_of(" \t\r");
      if (b == std::string::npos) continue;
      l = l.substr(b, l.find_last_not_of(" \t\r") - b + 1);
      line(l);
    }
    if (!open_.empty())
      err(fmt::format("loop opened at line {} is not closed", open_.back().line));
    return prog_;
  }

 private:
  struct Open {
    Stream stream;
    std::size_t index;
    int line;
    int64_t count;
  };

  [[noreturn]] void err(const std::string& m) const {
    throw IsaError(fmt::format("{}:{}: {}", origin_, line_, m));
  }

  static std::string strip_comment(const std::string& s) {
    std::size_t cut = s.size();
    for (const char* c : {"#", ";", "//"}) cut = std::min(cut, s.find(c));
    return s.substr(0, cut);
  }

  static std::vector<std::string> tokens(const std::string& s) {
    std::vector<std::string> t;
    std::istringstream ss(s);
    std::string w;
    while (ss >> w) t.push_back(w);
    return t;
  }

  std::optional<int64_t> number(const std::string& s) const {
    if (auto it = equ_.find(s); it != equ_.end()) return it->second;
    if (s.empty()) return std::nullopt;
    std::size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(s, &used, 0);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (used != s.size()) return std::nullopt;
    return v;
  }
  int64_t need_number(const std::string& s, const std::string& what) const {
    auto v = number(s);
    if (!v) err(fmt::format("{}: '{}' is not a number", what, s));
    return *v;
  }
  int64_t reg(const std::string& s, char prefix, const std::string& what) const {
    if (s.size() >= 2 && std::tolower(static_cast<unsigned char>(s[0])) == prefix) {
      if (auto v = number(s.substr(1))) return *v;
    }
    if (auto v = number(s)) return *v;
    err(fmt::format("{}: '{}' is not {}", what, s, prefix == 'a' ? "an address register (aN)" : "a semaphore (sN)"));
  }
  int64_t enum_value(const FieldDesc& fd, const std::string& s) const {
    const EnumDesc& e = kEnums[fd.enum_index];
    for (int i = 0; i < e.count; ++i)
      if (lower(e.members[i].name) == lower(s)) return e.members[i].value;
    std::string opts;
    for (int i = 0; i < e.count; ++i) opts += (i ? ", " : "") + lower(e.members[i].name);
    err(fmt::format("{}: '{}' is not one of {}", fd.name, s, opts));
  }
  int64_t field_value(const FieldDesc& fd, const std::string& s) const {
    switch (fd.type) {
      case FieldType::Ar:
        return reg(s, 'a', std::string(fd.name));
      case FieldType::Sem:
        return reg(s, 's', std::string(fd.name));
      case FieldType::Enum:
        return enum_value(fd, s);
      default:
        return need_number(s, std::string(fd.name));
    }
  }

  void set_group(const InsnDesc& d, const Group& g, const std::string& v, Fields& f) {
    std::string rest = v;
    if (g.space >= 0) {
      const auto colon = rest.find(':');
      if (colon == std::string::npos)
        err(fmt::format("operand {}='{}' needs a space prefix (e.g. {}:...)", g.name, v,
                        lower(kEnums[d.fields[g.space].enum_index].members[0].name)));
      f.v[static_cast<std::size_t>(g.space)] = enum_value(d.fields[g.space], rest.substr(0, colon));
      rest = rest.substr(colon + 1);
    }
    int64_t ar = 0, off = 0;
    if (!rest.empty() && std::tolower(static_cast<unsigned char>(rest[0])) == 'a' &&
        rest.size() > 1 && std::isdigit(static_cast<unsigned char>(rest[1]))) {
      std::size_t p = 1;
      while (p < rest.size() && std::isdigit(static_cast<unsigned char>(rest[p]))) ++p;
      ar = std::stoll(rest.substr(1, p - 1));
      if (p < rest.size()) {
        if (rest[p] != '+' && rest[p] != '-') err(fmt::format("operand {}='{}': expected + or -", g.name, v));
        off = need_number(rest.substr(p + 1), g.name);
        if (rest[p] == '-') off = -off;
      }
      if (g.ar < 0) err(fmt::format("operand {} takes no address register", g.name));
    } else {
      off = need_number(rest, g.name);
    }
    if (g.ar >= 0) f.v[static_cast<std::size_t>(g.ar)] = ar;
    f.v[static_cast<std::size_t>(g.off)] = off;
  }

  void line(const std::string& l) {
    auto t = tokens(l);
    const std::string head = lower(t[0]);
    if (head == ".stream") {
      if (t.size() != 2) err(".stream takes one name (dma, mac or ppu)");
      auto s = parse_stream(t[1]);
      if (!s) err(fmt::format("unknown stream '{}'", t[1]));
      if (!open_.empty()) err(".stream inside a loop");
      cur_ = *s;
      have_stream_ = true;
      return;
    }
    if (head == ".equ") {
      if (t.size() != 3) err(".equ takes a name and a value");
      equ_[t[1]] = need_number(t[2], ".equ");
      return;
    }
    if (head == "}") {
      if (t.size() != 1) err("unexpected text after '}'");
      if (open_.empty()) err("'}' without an open loop");
      const Open o = open_.back();
      open_.pop_back();
      auto& ws = prog_.stream(o.stream);
      const std::size_t body = ws.size() - o.index - 1;
      if (body == 0) err(fmt::format("loop opened at line {} has an empty body", o.line));
      Fields f;
      f.op = Opcode::Loop;
      f.v[fld::kLoopCount] = o.count;
      f.v[fld::kLoopBody] = static_cast<int64_t>(body);
      try {
        ws[o.index] = encode(f);
      } catch (const IsaError& e) {
        err(e.what());
      }
      return;
    }
    if (!have_stream_) err("instruction before any .stream directive");
    const InsnDesc* d = find_mnemonic(head);
    if (!d) err(fmt::format("unknown mnemonic '{}'", t[0]));
    if (!allowed_in(*d, cur_))
      err(fmt::format("{} is not allowed in the {} stream", lower(d->name), stream_name(cur_)));
    Fields f;
    f.op = d->opcode;
    for (int i = 0; i < d->nfields; ++i) {
      const FieldDesc& fd = d->fields[i];
      f.v[static_cast<std::size_t>(i)] = fd.type == FieldType::Sint ? 0 : fd.offset;
    }
    // Loop with braces.
    if (d->opcode == Opcode::Loop && t.back() == "{") {
      if (t.size() != 3) err("expected 'loop COUNT {'");
      auto& ws = prog_.stream(cur_);
      const int64_t count = need_number(t[1], "loop count");
      if (count < 1 || count > d->fields[fld::kLoopCount].max)
        err(fmt::format("loop count {} is outside [1, {}]", count, d->fields[fld::kLoopCount].max));
      open_.push_back({cur_, ws.size(), line_, count});
      ws.push_back(Word{});
      return;
    }
    const auto gs = groups_of(*d);
    std::vector<int> positional;
    for (int i = 0; i < d->nfields; ++i)
      if (d->fields[i].positional) positional.push_back(i);
    std::size_t next_pos = 0;
    std::vector<bool> given(static_cast<std::size_t>(d->nfields), false);
    auto mark = [&](int i, const std::string& what) {
      if (given[static_cast<std::size_t>(i)]) err(fmt::format("{} given twice", what));
      given[static_cast<std::size_t>(i)] = true;
    };
    const int sync_base = d->cls == InsnClass::Datapath ? d->nfields - 8 : -1;
    for (std::size_t k = 1; k < t.size(); ++k) {
      const std::string& tok = t[k];
      const auto eq = tok.find('=');
      if (eq == std::string::npos) {
        const int bi = field_index(*d, lower(tok));
        if (bi >= 0 && d->fields[bi].type == FieldType::Bool && !d->fields[bi].sync) {
          mark(bi, tok);
          f.v[static_cast<std::size_t>(bi)] = 1;
          continue;
        }
        while (next_pos < positional.size() && given[static_cast<std::size_t>(positional[next_pos])]) ++next_pos;
        if (next_pos >= positional.size()) err(fmt::format("unexpected operand '{}'", tok));
        const int i = positional[next_pos++];
        mark(i, std::string(d->fields[i].name));
        f.v[static_cast<std::size_t>(i)] = field_value(d->fields[i], tok);
        continue;
      }
      const std::string key = lower(tok.substr(0, eq)), val = tok.substr(eq + 1);
      if (val.empty()) err(fmt::format("'{}' has no value", key));
      if (sync_base >= 0 && (key == "wait" || key == "sig" || key == "sig0" || key == "sig1" || key == "sig2")) {
        if (key == "wait") {
          mark(sync_base, "wait");
          f.v[static_cast<std::size_t>(sync_base)] = 1;
          f.v[static_cast<std::size_t>(sync_base + 1)] = reg(val, 's', "wait");
          continue;
        }
        std::vector<std::string> parts;
        std::string cur;
        for (char c : val) {
          if (c == ',') {
            parts.push_back(cur);
            cur.clear();
          } else {
            cur += c;
          }
        }
        parts.push_back(cur);
        const int first = key == "sig" ? 0 : key[3] - '0';
        if (parts.size() > static_cast<std::size_t>(3 - first)) err("at most three signals");
        for (std::size_t p = 0; p < parts.size(); ++p) {
          const int slot = first + static_cast<int>(p);
          mark(sync_base + 2 + 2 * slot, fmt::format("sig{}", slot));
          f.v[static_cast<std::size_t>(sync_base + 2 + 2 * slot)] = 1;
          f.v[static_cast<std::size_t>(sync_base + 3 + 2 * slot)] = reg(parts[p], 's', "sig");
        }
        continue;
      }
      bool done = false;
      for (const auto& g : gs) {
        if (g.name != key) continue;
        mark(g.off, key);
        set_group(*d, g, val, f);
        done = true;
      }
      if (done) continue;
      const int i = field_index(*d, key);
      if (i < 0 || d->fields[i].sync) err(fmt::format("{} has no field '{}'", lower(d->name), key));
      mark(i, key);
      if (d->fields[i].type == FieldType::Bool) {
        const int64_t v = need_number(val, key);
        if (v != 0 && v != 1) err(fmt::format("{} must be 0 or 1", key));
        f.v[static_cast<std::size_t>(i)] = v;
      } else {
        f.v[static_cast<std::size_t>(i)] = field_value(d->fields[i], val);
      }
    }
    for (int i : positional)
      if (!given[static_cast<std::size_t>(i)])
        err(fmt::format("{} needs operand '{}'", lower(d->name), d->fields[i].name));
    try {
      prog_.stream(cur_).push_back(encode(f));
    } catch (const IsaError& e) {
      err(e.what());
    }
  }

  std::string_view text_;
  std::string origin_;
  int line_ = 0;
  Program prog_;
  Stream cur_ = Stream::Dma;
  bool have_stream_ = false;
  std::vector<Open> open_;
  std::map<std::string, int64_t> equ_;
};

}  // namespace

Program assemble(std::string_view text, const std::string& origin) {
  Program p = Assembler(text, origin).run();
  // Structural checks (loop bounds, HALT at the end) with the source named.
  decode_program(p, origin);
  return p;
}

Program assemble_file(const std::filesystem::path& path) {
  return assemble(detail::read_file(path, "assembly source"), path.string());
}

}  // namespace ntr::isa
