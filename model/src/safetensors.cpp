#include "ns/model/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ns/model/error.h"

namespace ns::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors is little-endian and tensors are copied as bytes");

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct DTypeInfo {
  DType d;
  std::string_view name;
  size_t size;
  int values_index;  // alternative of Tensor::Values holding it
};
// Values alternatives: 0 u8, 1 i8, 2 i16, 3 u16, 4 i32, 5 u32, 6 f32, 7 f64, 8 i64, 9 u64.
constexpr std::array<DTypeInfo, 13> kDTypes = {{
    {DType::Bool, "BOOL", 1, 0},
    {DType::U8, "U8", 1, 0},
    {DType::I8, "I8", 1, 1},
    {DType::I16, "I16", 2, 2},
    {DType::U16, "U16", 2, 3},
    {DType::F16, "F16", 2, 3},
    {DType::BF16, "BF16", 2, 3},
    {DType::I32, "I32", 4, 4},
    {DType::U32, "U32", 4, 5},
    {DType::F32, "F32", 4, 6},
    {DType::F64, "F64", 8, 7},
    {DType::I64, "I64", 8, 8},
    {DType::U64, "U64", 8, 9},
}};

const DTypeInfo& info(DType d) { return kDTypes[static_cast<size_t>(d)]; }

template <class T>
std::vector<T> copy_values(std::span<const std::byte> b) {
  std::vector<T> v(b.size() / sizeof(T));
  if (!b.empty()) std::memcpy(v.data(), b.data(), b.size());
  return v;
}

// Index of the first non-finite value, or -1.
int64_t first_non_finite(const Tensor& t) {
  switch (t.dtype()) {
    case DType::F32: {
      const auto v = t.data<float>();
      for (size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i])) return static_cast<int64_t>(i);
      return -1;
    }
    case DType::F64: {
      const auto v = t.data<double>();
      for (size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i])) return static_cast<int64_t>(i);
      return -1;
    }
    case DType::F16:
    case DType::BF16: {
      const uint16_t exp_mask = t.dtype() == DType::F16 ? 0x7c00 : 0x7f80;
      const auto v = t.data<uint16_t>();
      for (size_t i = 0; i < v.size(); ++i)
        if ((v[i] & exp_mask) == exp_mask) return static_cast<int64_t>(i);
      return -1;
    }
    default:
      return -1;
  }
}

}  // namespace

std::string_view dtype_name(DType d) { return info(d).name; }
size_t dtype_size(DType d) { return info(d).size; }
std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& i : kDTypes)
    if (i.name == name) return i.d;
  return std::nullopt;
}

Tensor::Tensor(std::vector<int64_t> shape, std::vector<float> v)
    : dtype_(DType::F32), shape_(std::move(shape)), values_(std::move(v)) {}
Tensor::Tensor(std::vector<int64_t> shape, std::vector<int8_t> v)
    : dtype_(DType::I8), shape_(std::move(shape)), values_(std::move(v)) {}
Tensor::Tensor(std::vector<int64_t> shape, std::vector<int16_t> v)
    : dtype_(DType::I16), shape_(std::move(shape)), values_(std::move(v)) {}
Tensor::Tensor(std::vector<int64_t> shape, std::vector<int32_t> v)
    : dtype_(DType::I32), shape_(std::move(shape)), values_(std::move(v)) {}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (auto d : shape_) n *= d;
  return n;
}

std::span<const std::byte> Tensor::bytes() const {
  return std::visit([](const auto& v) { return std::as_bytes(std::span(v)); }, values_);
}

void Tensor::check_type(int tag) const {
  if (info(dtype_).values_index != tag)
    throw ModelError(fmt::format("a {} tensor read as another type", dtype_name(dtype_)));
}

Tensor Tensor::from_bytes(DType dtype, std::vector<int64_t> shape, std::span<const std::byte> b) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  if (static_cast<uint64_t>(t.numel()) * dtype_size(dtype) != b.size())
    throw ModelError(fmt::format("{} bytes do not hold a {} tensor of {} elements", b.size(),
                                 dtype_name(dtype), t.numel()));
  switch (info(dtype).values_index) {
    case 0: t.values_ = copy_values<uint8_t>(b); break;
    case 1: t.values_ = copy_values<int8_t>(b); break;
    case 2: t.values_ = copy_values<int16_t>(b); break;
    case 3: t.values_ = copy_values<uint16_t>(b); break;
    case 4: t.values_ = copy_values<int32_t>(b); break;
    case 5: t.values_ = copy_values<uint32_t>(b); break;
    case 6: t.values_ = copy_values<float>(b); break;
    case 7: t.values_ = copy_values<double>(b); break;
    case 8: t.values_ = copy_values<int64_t>(b); break;
    default: t.values_ = copy_values<uint64_t>(b); break;
  }
  return t;
}

SafetensorsFile parse_safetensors(std::span<const std::byte> file, const std::string& origin) {
  auto fail = [&](const std::string& what) -> ModelError {
    return ModelError(origin + ": " + what);
  };
  if (file.size() < 8)
    throw fail(fmt::format("truncated: {} bytes, too short for the 8-byte header length",
                           file.size()));
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  if (n > kMaxHeaderBytes) throw fail(fmt::format("header length {} is implausible", n));
  if (n > file.size() - 8)
    throw fail(fmt::format("truncated: header of {} bytes but only {} bytes follow", n,
                           file.size() - 8));
  const std::string_view text(reinterpret_cast<const char*>(file.data() + 8), n);
  const auto buffer = file.subspan(8 + n);

  // Duplicate top-level names are invisible after parsing: catch them while parsing.
  std::set<std::string> names;
  std::string duplicate;
  auto cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    if (ev == nlohmann::json::parse_event_t::key && depth == 1 &&
        !names.insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, cb);
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) throw fail("tensor '" + duplicate + "' appears twice in the header");
  if (!header.is_object()) throw fail("header is not a JSON object");

  SafetensorsFile out;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw fail("__metadata__." + k + " is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (name.empty()) throw fail("a tensor has an empty name");
    if (!entry.is_object()) throw fail(where + ": entry is not an object");
    for (const auto& [k, v] : entry.items())
      if (k != "dtype" && k != "shape" && k != "data_offsets")
        throw fail(where + ": unknown key '" + k + "'");
    if (!entry.contains("dtype") || !entry["dtype"].is_string())
      throw fail(where + ": dtype missing or not a string");
    const auto dname = entry["dtype"].get<std::string>();
    const auto dtype = parse_dtype(dname);
    if (!dtype) throw fail(where + ": unknown dtype '" + dname + "'");
    if (!entry.contains("shape") || !entry["shape"].is_array())
      throw fail(where + ": shape missing or not a list");
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) throw fail(where + ": shape has a non-integer or negative size");
      const uint64_t v = d.get<uint64_t>();
      if (v > (1ull << 40) || (v != 0 && numel > (1ull << 40) / v))
        throw fail(where + ": shape is implausibly large");
      numel *= v;
      shape.push_back(static_cast<int64_t>(v));
    }
    const auto& off = entry.contains("data_offsets") ? entry["data_offsets"] : nlohmann::json();
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned())
      throw fail(where + ": data_offsets must be [begin, end] with non-negative integers");
    const uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    if (b > e) throw fail(where + fmt::format(": data_offsets [{}, {}] are reversed", b, e));
    if (e > buffer.size())
      throw fail(where + fmt::format(": data_offsets [{}, {}] run past the end of the data "
                                     "({} bytes; truncated file?)",
                                     b, e, buffer.size()));
    if (e - b != numel * dtype_size(*dtype))
      throw fail(where + fmt::format(": {} bytes for shape [{}] of {} (need {})", e - b,
                                     fmt::join(shape, ", "), dname, numel * dtype_size(*dtype)));
    Tensor t = Tensor::from_bytes(*dtype, std::move(shape), buffer.subspan(b, e - b));
    if (const auto bad = first_non_finite(t); bad >= 0)
      throw fail(where + fmt::format(": value {} is NaN or infinite", bad));
    out.tensors.emplace(name, std::move(t));
    spans.push_back({b, e, name});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& x, const Span& y) {
    return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
  });
  uint64_t covered = 0;
  for (const auto& s : spans) {
    if (s.begin < covered)
      throw fail("tensor '" + s.name + "' overlaps the previous tensor's bytes");
    if (s.begin > covered)
      throw fail(fmt::format("bytes [{}, {}) before tensor '{}' belong to no tensor", covered,
                             s.begin, s.name));
    covered = s.end;
  }
  if (covered != buffer.size())
    throw fail(fmt::format("{} trailing bytes after the last tensor", buffer.size() - covered));
  return out;
}

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path.string() + ": cannot open");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  in.seekg(0);
  std::vector<std::byte> bytes(size);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw ModelError(path.string() + ": read failed");
  return parse_safetensors(bytes, path.string());
}

std::vector<std::byte> serialize_safetensors(const SafetensorsFile& f) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!f.metadata.empty()) header["__metadata__"] = f.metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : f.tensors) {
    const uint64_t size = t.bytes().size();
    header[name] = {{"dtype", dtype_name(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<std::byte> out(8 + text.size() + offset);
  const uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  size_t pos = 8 + text.size();
  for (const auto& [name, t] : f.tensors) {
    const auto b = t.bytes();
    if (!b.empty()) std::memcpy(out.data() + pos, b.data(), b.size());
    pos += b.size();
  }
  return out;
}

void write_safetensors(const std::filesystem::path& path, const SafetensorsFile& f) {
  const auto bytes = serialize_safetensors(f);
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError(tmp.string() + ": cannot create");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw ModelError(tmp.string() + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw ModelError(path.string() + ": cannot rename into place: " + ec.message());
}

}  // namespace ns::model
