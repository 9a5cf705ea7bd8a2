// The bit-exact INT8 reference: docs/int8-spec.md executed with integer arithmetic, windows of an
// epoch batched. csim and the RTL must reproduce its outputs bit for bit; trace_window() exposes
// every intermediate value of one window so they can be checked block by block.
//
// Speed note: the matrix products run as float GEMMs on int8-valued operands. Every partial sum
// is an integer of magnitude at most 128 * 128 * K < 2^24 (K <= 1024 is checked), which float
// represents exactly whatever the summation order, so the products are exact integers. Biases,
// requantisation, activations and the cell update are integer code.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ns/model/fp32_model.h"  // RunOptions
#include "ns/model/int8.h"
#include "ns/model/package.h"

namespace ns::model {

// Every value of one window, in spec order. Per-step arrays are indexed by window position t
// (0..L-1), each row holding the values of the step that processed position t (the backward
// direction processes t = L-1 first).
struct Int8WindowTrace {
  size_t window = 0;
  int64_t first_position = 0;  // epoch position of t = 0 (kT - C)
  int length = 0, target = 0, row_bytes = 0;
  std::vector<int8_t> bytes;      // L x B: device bytes (padding rows included)
  std::vector<int32_t> proj_acc;  // L x P: section 4 accumulators
  std::vector<int8_t> u;          // L x P

  struct Direction {
    int layer = 0;
    int direction = 0;  // 0 forward, 1 backward
    int weight_set = 0; // 1: the _reverse weights
    std::vector<int32_t> acc;    // L x 4H: bias + W_ih x + W_hh h
    std::vector<int16_t> pre;    // L x 4H: sat16(requant(acc)), Q3.12
    std::vector<int16_t> gates;  // L x 4H: SIG/TANH of pre (i, f, g, o), Q0.15
    std::vector<int32_t> c;      // L x H: Q3.15
    std::vector<int16_t> h16;    // L x H: Q0.15
    std::vector<int8_t> h;       // L x H
  };
  std::vector<Direction> directions;  // layer-major: [l * directions + d]
  std::vector<std::vector<int8_t>> y; // per layer, L x Y: the layer output

  struct Head {
    std::vector<int32_t> fc1_acc;  // T x A
    std::vector<int8_t> a;         // T x A
    std::vector<int32_t> logits;   // T x 2: z_0, z_1
    std::vector<int32_t> reg;      // T x 2: r_0 short, r_1 long
    std::vector<int32_t> r;        // T: the device output
    std::vector<uint32_t> cycles;  // T
  };
  std::vector<Head> heads;  // per head set (ModelConfig::head_sets)
};

// Applies each head set's threshold table (section 8, host side).
class CycleDecoder {
 public:
  static CycleDecoder from_package(const ModelPackage& int8_package);
  int designs() const { return static_cast<int>(theta_.size()); }
  std::span<const int32_t> thresholds(int design) const { return theta_[static_cast<size_t>(design)]; }
  // r and cycles: n x D, instruction-major.
  void decode(std::span<const int32_t> r, std::span<uint32_t> cycles) const;

 private:
  std::vector<std::vector<int32_t>> theta_;
};

class Int8Reference {
 public:
  // Throws ModelError if the package is not a valid INT8 package or exceeds the reference's
  // exactness bound (a layer input or hidden size above 1024).
  explicit Int8Reference(const ModelPackage& int8_package, RunOptions options = {});
  ~Int8Reference();
  Int8Reference(Int8Reference&&) noexcept;

  const ModelConfig& card() const;
  const int8::FeatureCodec& codec() const;
  const CycleDecoder& decoder() const;

  // The device: bytes (n x B from codec().encode) in, r (n x D, instruction-major) out.
  void run_device(std::span<const int8_t> bytes, size_t n, std::span<int32_t> r) const;
  // Host + device: raw features (n x F) to cycles (n x D); optionally also r.
  void predict(std::span<const int32_t> features, size_t n, std::span<uint32_t> cycles,
               std::span<int32_t> r = {}) const;
  std::vector<uint32_t> predict(std::span<const int32_t> features, size_t n) const;

  // Every intermediate value of window k of an epoch given as device bytes.
  Int8WindowTrace trace_window(std::span<const int8_t> bytes, size_t n, size_t k) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::model
