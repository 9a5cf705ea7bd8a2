// The FP32 golden model (docs/model.md): Eigen, windows of an epoch batched as matrix-matrix
// products and spread over threads. It matches PyTorch's forward pass of the same package to
// float rounding.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ns/model/package.h"

namespace ns::model {

struct RunOptions {
  int threads = 0;         // 0: one per hardware thread
  int batch_windows = 32;  // windows per matrix-matrix product
};

// Activations the quantiser calibrates on; called once per batch, from any worker thread (the
// receiver serialises if it needs to). Matrices are column-major, one column per position.
class Fp32Observer {
 public:
  virtual ~Fp32Observer() = default;
  // input_proj outputs u (rows = input_proj width) of non-padding positions.
  virtual void on_projection(std::span<const float> u, int rows) = 0;
  // Gate pre-activations W_ih x + W_hh h + b (rows = 4H) of layer l, every position.
  virtual void on_gates(int layer, std::span<const float> gates, int rows) = 0;
  // Design d's cls_fc1 output after ReLU (rows = head_hidden) on target positions.
  virtual void on_head_hidden(int design, std::span<const float> a, int rows) = 0;
};

// Per-instruction outputs of one epoch of n instructions and D head sets (card.head_sets()),
// instruction-major.
// `cycles` is required; every other span is optional (empty: not produced).
struct Fp32Outputs {
  std::span<uint32_t> cycles;   // n x D
  std::span<float> pred;        // n x D: the selected regressor, log1p(cycles) space
  std::span<uint8_t> regime;    // n x D: 1 when the classifier says long (logits[1] > logits[0])
  std::span<float> logits;      // n x D x 2: cls_fc2
  std::span<float> regressors;  // n x D x 2: output_layer_short, output_layer_long
  std::span<float> y;           // n x Y: last layer output at the instruction's window position
};

class Fp32Model {
 public:
  // Throws ModelError if the package is not a valid FP32 package.
  explicit Fp32Model(const ModelPackage& fp32_package, RunOptions options = {});
  ~Fp32Model();
  Fp32Model(Fp32Model&&) noexcept;

  const ModelConfig& card() const;

  // One epoch: raw features (n x F, row-major) in, outputs for every instruction.
  void predict(std::span<const int32_t> features, size_t n, const Fp32Outputs& out) const;
  // Convenience: cycles only (n x D).
  std::vector<uint32_t> predict(std::span<const int32_t> features, size_t n) const;

  // Runs only windows `windows` of the epoch (ascending): outputs for their target instructions
  // only (others untouched); feeds `observer` if given.
  void run_windows(std::span<const int32_t> features, size_t n, std::span<const size_t> windows,
                   const Fp32Outputs& out, Fp32Observer* observer) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// cycles = clamp(floor(expm1(pred) + 0.5), 0, clip): the FP32 rule (docs/model.md).
uint32_t cycles_from_pred(float pred, int clip);

}  // namespace ns::model
