// Post-training quantisation of an FP32 package into an INT8 package (docs/int8-spec.md s. 9):
// per-output-row symmetric INT8 weights, ih/hh rows sharing one scale, calibrated activation
// scales, requantisation multipliers/shifts, feature zero/shift/bytes, cycle thresholds.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ns/model/fp32_model.h"
#include "ns/model/package.h"

namespace ns::model {

// What calibration saw: raw feature ranges, samples of the activations that get calibrated
// scales, and the gate pre-activation range (diagnostics: Q3.12 saturates beyond +-8).
struct CalibrationStats {
  size_t epochs = 0, windows = 0, instructions = 0;
  std::vector<int32_t> feature_min, feature_max;
  std::vector<float> u_abs;                 // |input_proj output|, non-padding positions
  std::vector<std::vector<float>> head_a;   // per design, cls_fc1 output after ReLU, targets
  float gate_abs_max = 0;
  uint64_t gate_values = 0, gate_saturated = 0;  // |pre| >= 8
};

// Feeds epochs through the FP32 model and collects CalibrationStats.
class Calibrator {
 public:
  explicit Calibrator(const Fp32Model& model);
  ~Calibrator();
  // Runs up to `max_windows` windows of the epoch, evenly spaced (all when 0).
  void add_epoch(std::span<const int32_t> features, size_t n, size_t max_windows);
  const CalibrationStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct QuantizeOptions {
  // Percentile of |u| and of a that maps to 127 (100: the maximum).
  double percentile = 100.0;
  // Bytes per feature on the device (1 or 2); empty: 1 for every feature, 13 bytes per
  // instruction for paper13, which fits an epoch of 100,000 into the 1.25 MB input buffer.
  std::vector<int> feature_bytes;
  // Recorded in the card's quantization.calibration (e.g. the calibration files).
  nlohmann::ordered_json calibration_source;
};

// Throws ModelError if the package is not FP32, calibration saw nothing, or a constant cannot be
// represented.
ModelPackage quantize(const ModelPackage& fp32, const CalibrationStats& stats,
                      const QuantizeOptions& options);

// m = round(M * 2^s) with m in [2^30, 2^31) where possible, s in 0..62 (M = 0: m = s = 0).
struct Requant {
  int32_t mult, shift;
};
Requant requant_params(double real_multiplier);

}  // namespace ns::model
