// Prediction backends behind `neuroscalar predict` and `eval`: one interface, a registry keyed
// by name. Built in: "fp32" (the golden model) and "int8" (the INT8 reference). Other parts add
// theirs (csim: "neutrino-sim", tb: "neutrino-rtl") from their own sources, without touching
// model/ or the CLI:
//
//   static const ns::model::BackendRegistrar reg({"neutrino-sim", "cycle-level Neutrino simulator",
//       ns::model::PackageFormat::Int8, [](const ns::model::ModelPackage& p,
//                                          const ns::model::BackendOptions& o) {
//         return std::make_unique<MySimPredictor>(p, o);   // derives from Int8DevicePredictor
//       }});
//
// A static registrar inside a static library is dropped by the linker unless something else in
// its object file is referenced: list the file as an INTERFACE source of the part's library
// (target_sources(ns_csim INTERFACE .../backend.cpp)) so it is compiled into every executable that
// links the part, the `neuroscalar` CLI included.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/model/int8.h"
#include "ns/model/int8_reference.h"
#include "ns/model/package.h"

namespace ns::model {

// Predicts one epoch at a time. Not thread-safe: one epoch after another.
class Predictor {
 public:
  virtual ~Predictor() = default;
  virtual const ModelConfig& card() const = 0;
  // Raw features (n x F, row-major, from FeatureEncoder) in; cycles (n x D, instruction-major,
  // D = card().head_sets(): the designs in card order, then their sum heads if the card has
  // them; SummedCycles) out.
  virtual void predict_epoch(std::span<const int32_t> features, size_t n,
                             std::span<uint32_t> cycles) = 0;
  // Backend-specific figures about the last epoch (device cycles, energy, ...), for reports.
  virtual nlohmann::json last_epoch_stats() const { return nlohmann::json::object(); }
};

// The INT8 device contract with the host conversions at the boundary (docs/int8-spec.md sections
// 3 and 8): derived classes only run the device, bytes in, r out.
class Int8DevicePredictor : public Predictor {
 public:
  explicit Int8DevicePredictor(const ModelPackage& int8_package);
  const ModelConfig& card() const override { return card_; }
  const int8::FeatureCodec& codec() const { return codec_; }
  const CycleDecoder& decoder() const { return decoder_; }
  void predict_epoch(std::span<const int32_t> features, size_t n, std::span<uint32_t> cycles) final;

 protected:
  // bytes: n x codec().row_bytes(); r: n x D, instruction-major.
  virtual void run_device(std::span<const int8_t> bytes, size_t n, std::span<int32_t> r) = 0;

 private:
  ModelConfig card_;
  int8::FeatureCodec codec_;
  CycleDecoder decoder_;
  std::vector<int8_t> bytes_;
  std::vector<int32_t> r_;
};

struct BackendOptions {
  int threads = 0;         // host threads, 0: all
  int batch_windows = 32;  // windows per matrix product (host backends)
  // Backend-specific settings from `--backend-opt KEY=VALUE` (values kept as strings), e.g. an
  // accelerator config for a simulator backend.
  nlohmann::json extra = nlohmann::json::object();
};

using BackendFactory =
    std::function<std::unique_ptr<Predictor>(const ModelPackage&, const BackendOptions&)>;

struct BackendInfo {
  std::string name;
  std::string description;
  PackageFormat format;  // the package format the backend runs
  BackendFactory make;
};

// Throws ModelError if the name is taken.
void register_backend(BackendInfo info);
// Every registered backend, by name.
std::vector<BackendInfo> backends();
// Throws ModelError listing the known backends.
const BackendInfo& find_backend(std::string_view name);
// Checks the package's format against the backend's, then builds it.
std::unique_ptr<Predictor> make_backend(std::string_view name, const ModelPackage& package,
                                        const BackendOptions& options = {});

struct BackendRegistrar {
  explicit BackendRegistrar(BackendInfo info) { register_backend(std::move(info)); }
};

}  // namespace ns::model
