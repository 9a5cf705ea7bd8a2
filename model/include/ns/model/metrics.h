// Prediction-vs-label metrics of `neuroscalar eval` (docs/model.md section 4; model/README.md
// spells out the cases below), accumulated one epoch per add() call.
//
// Per design, on per-instruction cycles p (predicted) and g = min(label, clip):
//   rel5    fraction with |p - g| <= 0.05 g
//   RAE     sum |p - g| / sum |g - mean(g)|
//   MAE, RMSE of p - g
//   exact, within1, within2: fraction with |p - g| = 0, <= 1, <= 2
//   CPI     predicted sum(p) / n and true sum(label) / n (labels not clipped); cpi_error =
//           |CPI_pred - CPI_true| / CPI_true. With the card's targets.summed, sum(p) is the sum
//           of the cycles each instruction stands for (SummedCycles::value: the table's value
//           of p, or the sum head's prediction), here and in the epochs' total cycles below.
// Across designs (D >= 2), per instruction (the paper's Table 7 and 6):
//   kendall_tau  Kendall tau-b between predicted and true cycles over the D designs, averaged
//                over instructions where it is defined (neither side all tied)
//   full_match   every pairwise order (and tie) agrees
//   best_match   the predicted best design (fewest cycles, first in card order on ties) is one
//                of the truly best
//   pairwise     per design pair (a, b): match = sign(p_a - p_b) == sign(g_a - g_b);
//                gt_better = g_a < g_b; nonzero = g_a + g_b > 0
// and per epoch (the A/B decision an epoch's predicted cycles support): the same tau-b and best
// match on the designs' total cycles of the epoch (true cycles unclipped).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/model/config.h"

namespace ns::model {

class MetricsAccumulator {
 public:
  MetricsAccumulator(std::vector<std::string> designs, int clip, SummedCycles summed = {});
  // labels: n x D, instruction-major; pred: n x summed.columns(D) (the designs in the same
  // order, then their sum heads if any).
  void add(std::span<const uint32_t> pred, std::span<const uint32_t> labels);
  void merge(const MetricsAccumulator& other);
  uint64_t instructions() const { return n_; }
  nlohmann::ordered_json result() const;

 private:
  struct Design {
    uint64_t rel5 = 0, exact = 0, within1 = 0, within2 = 0;
    double abs_err = 0, sq_err = 0;
    double sum_pred = 0;
    uint64_t sum_label = 0;
    std::vector<uint64_t> histogram;  // of g, for RAE
  };
  struct Pair {
    uint64_t match = 0, gt_better = 0, nonzero = 0;
  };
  std::vector<std::string> designs_;
  int clip_;
  SummedCycles summed_;
  uint64_t n_ = 0;
  std::vector<Design> d_;
  std::vector<Pair> pairs_;  // a < b, row-major over the upper triangle
  double tau_sum_ = 0;
  uint64_t tau_n_ = 0, full_match_ = 0, best_match_ = 0;
  double epoch_tau_sum_ = 0;
  uint64_t epochs_ = 0, epoch_tau_n_ = 0, epoch_best_ = 0;
};

}  // namespace ns::model
