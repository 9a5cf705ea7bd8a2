// Model packages (docs/model-package.md): a directory holding model.yaml (the card) and
// model.safetensors. One structure for FP32 and INT8 packages; tensors are addressed by the
// documented names, and a package is validated against its card whenever it is loaded or saved.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "ns/model/config.h"
#include "ns/model/safetensors.h"

namespace ns::model {

struct TensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

// Every tensor a package of card.format must hold, in a fixed order (the documented tables).
std::vector<TensorSpec> expected_tensors(const ModelConfig& card);

// Tensor names, so no caller spells them by hand. `set` is the weight set: 0, or 1 for the
// "_reverse" copies of an untied bidirectional model.
std::string rnn_name(const std::string& what, int layer, int set);  // rnn.<what>_l<l>[_reverse]
std::string head_name(int design, const std::string& what);         // heads.<d>.<what>

struct ModelPackage {
  ModelConfig card;
  TensorMap tensors;

  const Tensor& at(const std::string& name) const;  // throws ModelError naming the tensor
  Tensor& at(const std::string& name);
  template <class T>
  std::span<const T> get(const std::string& name) const {
    return at(name).data<T>();
  }
};

// Throws ModelError naming `origin` and the first problem: wrong format, missing or unexpected
// tensor, wrong dtype or shape, NaN, norm.std below 1e-3 (FP32), out-of-range INT8 constants,
// activation tables that differ from the specification, accumulators that could overflow.
void validate_package(const ModelPackage& p, const std::string& origin);

// `path` is a package directory or its model.yaml.
ModelPackage load_package(const std::filesystem::path& path);
// Validates, then writes <dir>/model.safetensors and <dir>/model.yaml (creating dir).
void save_package(const ModelPackage& p, const std::filesystem::path& dir);

// A valid package with random weights: PyTorch's default initialisation, norm statistics of
// synthetic paper13 features; the INT8 one is the FP32 one quantised with calibration on
// synthetic features. For compiling and simulating before a trained model exists.
ModelPackage make_random_fp32_package(const ModelConfig& config, uint64_t seed);
ModelPackage make_random_int8_package(const ModelConfig& config, uint64_t seed);

// A package (directory or model.yaml) is loaded; a variant config (configs/model/*.yaml) yields
// the random package of `format` for that config. Throws if a package has another format.
ModelPackage open_model(const std::filesystem::path& path, PackageFormat format,
                        uint64_t seed = 1);

}  // namespace ns::model
