// How an epoch of N instructions is cut into windows (docs/model.md): window k spans positions
// [kT - C, kT + T + C) of the epoch, predicts its targets [kT, kT + T) intersected with [0, N),
// and positions outside [0, N) are padding (the all-zero raw feature vector). Every instruction
// is predicted exactly once, by window k = i / T at window position C + i % T.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ns::model {

struct WindowPlan {
  size_t n = 0;  // instructions in the epoch
  int length = 0, target = 0;

  WindowPlan(size_t instructions, int window_length, int window_target)
      : n(instructions), length(window_length), target(window_target) {}

  int context() const { return (length - target) / 2; }
  size_t count() const { return (n + target - 1) / target; }
  // Epoch position of window k's position t (may be < 0 or >= n: padding).
  int64_t position(size_t k, int t) const {
    return static_cast<int64_t>(k) * target - context() + t;
  }
  bool is_padding(size_t k, int t) const {
    const int64_t p = position(k, t);
    return p < 0 || p >= static_cast<int64_t>(n);
  }
  // Targets of window k that lie inside the epoch (T, fewer in the last window).
  int targets_in(size_t k) const {
    const size_t first = k * target;
    return static_cast<int>(first + target <= n ? target : n - first);
  }
};

}  // namespace ns::model
