// safetensors files: an 8-byte little-endian header length N, an N-byte JSON header mapping each
// tensor name to {"dtype", "shape", "data_offsets"} (plus an optional "__metadata__" string map),
// then the raw little-endian tensor bytes. The reader refuses anything malformed with a
// ModelError naming the file and the tensor (docs/model-package.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace ns::model {

enum class DType : uint8_t { Bool, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };
std::string_view dtype_name(DType d);  // safetensors spelling: "F32", "I8", ...
std::optional<DType> parse_dtype(std::string_view name);
size_t dtype_size(DType d);

// A tensor owns its values in a vector of the dtype's C++ type (F16/BF16 as raw uint16_t, BOOL
// as uint8_t).
class Tensor {
 public:
  Tensor() = default;
  Tensor(std::vector<int64_t> shape, std::vector<float> v);
  Tensor(std::vector<int64_t> shape, std::vector<int8_t> v);
  Tensor(std::vector<int64_t> shape, std::vector<int16_t> v);
  Tensor(std::vector<int64_t> shape, std::vector<int32_t> v);
  // Copies little-endian bytes; throws ModelError if their size disagrees with the shape.
  static Tensor from_bytes(DType dtype, std::vector<int64_t> shape, std::span<const std::byte> b);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const;
  std::span<const std::byte> bytes() const;

  // Typed views; throw ModelError when T is not the tensor's dtype.
  template <class T>
  std::span<const T> data() const {
    check_type(type_tag<T>());
    return std::get<std::vector<T>>(values_);
  }
  template <class T>
  std::span<T> data() {
    check_type(type_tag<T>());
    return std::get<std::vector<T>>(values_);
  }

 private:
  using Values = std::variant<std::vector<uint8_t>, std::vector<int8_t>, std::vector<int16_t>,
                              std::vector<uint16_t>, std::vector<int32_t>, std::vector<uint32_t>,
                              std::vector<float>, std::vector<double>, std::vector<int64_t>,
                              std::vector<uint64_t>>;
  template <class T>
  static constexpr int type_tag() {  // index of std::vector<T> in Values
    if constexpr (std::is_same_v<T, uint8_t>) return 0;
    else if constexpr (std::is_same_v<T, int8_t>) return 1;
    else if constexpr (std::is_same_v<T, int16_t>) return 2;
    else if constexpr (std::is_same_v<T, uint16_t>) return 3;
    else if constexpr (std::is_same_v<T, int32_t>) return 4;
    else if constexpr (std::is_same_v<T, uint32_t>) return 5;
    else if constexpr (std::is_same_v<T, float>) return 6;
    else if constexpr (std::is_same_v<T, double>) return 7;
    else if constexpr (std::is_same_v<T, int64_t>) return 8;
    else return 9;
  }
  void check_type(int tag) const;

  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  Values values_;
};

using TensorMap = std::map<std::string, Tensor>;

struct SafetensorsFile {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Parses a whole file image; `origin` names it in errors. Refuses: a short or oversized header,
// invalid JSON, duplicate names, unknown dtypes or keys, negative or overflowing shapes, offsets
// out of bounds, overlapping or leaving holes, sizes that disagree with shape x dtype, NaN or
// infinite floats.
SafetensorsFile parse_safetensors(std::span<const std::byte> file, const std::string& origin);
SafetensorsFile read_safetensors(const std::filesystem::path& path);

// Tensors in name order, header padded with spaces to a multiple of 8 bytes.
std::vector<std::byte> serialize_safetensors(const SafetensorsFile& f);
// Writes via a temporary file renamed into place.
void write_safetensors(const std::filesystem::path& path, const SafetensorsFile& f);

}  // namespace ns::model
