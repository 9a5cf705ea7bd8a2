#include "ns/model/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ns/model/error.h"

namespace ns::model {

namespace {
int sign(int64_t v) { return (v > 0) - (v < 0); }
double ratio(uint64_t a, uint64_t b) { return b ? double(a) / double(b) : 0.0; }

struct Ranking {
  bool tau_defined = false, full = true, best = false;
  double tau = 0;
};
// Kendall tau-b, full order agreement and best-of match between predicted and true values.
template <class T>
Ranking rank(const std::vector<T>& p, const std::vector<T>& g) {
  const size_t D = p.size();
  int64_t nc = 0, nd = 0, tp = 0, tg = 0;
  Ranking r;
  for (size_t a = 0; a < D; ++a)
    for (size_t b = a + 1; b < D; ++b) {
      const int sp = (p[a] > p[b]) - (p[a] < p[b]), sg = (g[a] > g[b]) - (g[a] < g[b]);
      r.full &= sp == sg;
      tp += sp == 0;
      tg += sg == 0;
      nc += sp * sg > 0;
      nd += sp * sg < 0;
    }
  const int64_t n0 = static_cast<int64_t>(D * (D - 1) / 2);
  if (tp < n0 && tg < n0) {
    r.tau_defined = true;
    r.tau = double(nc - nd) / std::sqrt(double(n0 - tp) * double(n0 - tg));
  }
  const size_t best_p = static_cast<size_t>(std::min_element(p.begin(), p.end()) - p.begin());
  r.best = g[best_p] == *std::min_element(g.begin(), g.end());
  return r;
}
}  // namespace

MetricsAccumulator::MetricsAccumulator(std::vector<std::string> designs, int clip,
                                       SummedCycles summed)
    : designs_(std::move(designs)), clip_(clip), summed_(std::move(summed)),
      d_(designs_.size()) {
  for (auto& d : d_) d.histogram.assign(static_cast<size_t>(clip_) + 1, 0);
  const size_t D = designs_.size();
  pairs_.resize(D * (D - 1) / 2);
}

void MetricsAccumulator::add(std::span<const uint32_t> pred, std::span<const uint32_t> labels) {
  const size_t D = designs_.size(), K = summed_.columns(D);
  if (labels.size() % D != 0 || pred.size() != labels.size() / D * K)
    throw ModelError(
        fmt::format("metrics: {} predictions and {} labels for {} designs ({} "
                    "predictions per instruction)",
                    pred.size(), labels.size(), D, K));
  const size_t n = labels.size() / D;
  std::vector<int64_t> g(D), p(D);
  for (size_t i = 0; i < n; ++i) {
    const auto row = pred.subspan(i * K, K);
    for (size_t d = 0; d < D; ++d) {
      const uint32_t raw = labels[i * D + d];
      g[d] = std::min<int64_t>(raw, clip_);
      p[d] = row[d];
      auto& m = d_[d];
      const int64_t e = p[d] - g[d];
      m.exact += e == 0;
      m.within1 += std::abs(e) <= 1;
      m.within2 += std::abs(e) <= 2;
      m.rel5 += 20 * std::abs(e) <= g[d];
      m.abs_err += double(std::abs(e));
      m.sq_err += double(e) * double(e);
      m.sum_pred += summed_.value(d, row, D);
      m.sum_label += raw;
      ++m.histogram[static_cast<size_t>(g[d])];
    }
    if (D < 2) continue;
    size_t k = 0;
    for (size_t a = 0; a < D; ++a)
      for (size_t b = a + 1; b < D; ++b, ++k) {
        pairs_[k].match += sign(p[a] - p[b]) == sign(g[a] - g[b]);
        pairs_[k].gt_better += g[a] < g[b];
        pairs_[k].nonzero += g[a] + g[b] > 0;
      }
    const Ranking r = rank(p, g);
    if (r.tau_defined) {
      tau_sum_ += r.tau;
      ++tau_n_;
    }
    full_match_ += r.full;
    best_match_ += r.best;
  }
  if (D >= 2 && n > 0) {
    const std::vector<double> ep = summed_.sums(pred, D);
    std::vector<double> eg(D, 0);
    for (size_t i = 0; i < n; ++i)
      for (size_t d = 0; d < D; ++d) eg[d] += labels[i * D + d];
    const Ranking r = rank(ep, eg);
    if (r.tau_defined) {
      epoch_tau_sum_ += r.tau;
      ++epoch_tau_n_;
    }
    epoch_best_ += r.best;
    ++epochs_;
  }
  n_ += n;
}

void MetricsAccumulator::merge(const MetricsAccumulator& o) {
  if (o.designs_ != designs_ || o.clip_ != clip_) throw ModelError("metrics: merging different designs");
  for (size_t d = 0; d < d_.size(); ++d) {
    auto& a = d_[d];
    const auto& b = o.d_[d];
    a.rel5 += b.rel5;
    a.exact += b.exact;
    a.within1 += b.within1;
    a.within2 += b.within2;
    a.abs_err += b.abs_err;
    a.sq_err += b.sq_err;
    a.sum_pred += b.sum_pred;
    a.sum_label += b.sum_label;
    for (size_t v = 0; v < a.histogram.size(); ++v) a.histogram[v] += b.histogram[v];
  }
  for (size_t k = 0; k < pairs_.size(); ++k) {
    pairs_[k].match += o.pairs_[k].match;
    pairs_[k].gt_better += o.pairs_[k].gt_better;
    pairs_[k].nonzero += o.pairs_[k].nonzero;
  }
  tau_sum_ += o.tau_sum_;
  tau_n_ += o.tau_n_;
  full_match_ += o.full_match_;
  best_match_ += o.best_match_;
  epoch_tau_sum_ += o.epoch_tau_sum_;
  epoch_tau_n_ += o.epoch_tau_n_;
  epoch_best_ += o.epoch_best_;
  epochs_ += o.epochs_;
  n_ += o.n_;
}

nlohmann::ordered_json MetricsAccumulator::result() const {
  using ojson = nlohmann::ordered_json;
  ojson per = ojson::object();
  for (size_t d = 0; d < d_.size(); ++d) {
    const auto& m = d_[d];
    double sum = 0, mean = 0, dev = 0;
    for (size_t v = 0; v < m.histogram.size(); ++v) sum += double(v) * double(m.histogram[v]);
    mean = n_ ? sum / double(n_) : 0;
    for (size_t v = 0; v < m.histogram.size(); ++v) dev += std::fabs(double(v) - mean) * double(m.histogram[v]);
    const double cpi_true = n_ ? double(m.sum_label) / double(n_) : 0, cpi_pred = n_ ? m.sum_pred / double(n_) : 0;
    per[designs_[d]] = {{"rel5", ratio(m.rel5, n_)},
                        {"rae", dev > 0 ? m.abs_err / dev : 0.0},
                        {"mae", n_ ? m.abs_err / double(n_) : 0.0},
                        {"rmse", n_ ? std::sqrt(m.sq_err / double(n_)) : 0.0},
                        {"exact", ratio(m.exact, n_)},
                        {"within1", ratio(m.within1, n_)},
                        {"within2", ratio(m.within2, n_)},
                        {"cpi_true", cpi_true},
                        {"cpi_pred", cpi_pred},
                        {"cpi_error", cpi_true > 0 ? std::fabs(cpi_pred - cpi_true) / cpi_true : 0.0}};
  }
  ojson out = {{"instructions", n_}, {"designs", per}};
  if (designs_.size() >= 2) {
    ojson pairs = ojson::array();
    size_t k = 0;
    for (size_t a = 0; a < designs_.size(); ++a)
      for (size_t b = a + 1; b < designs_.size(); ++b, ++k)
        pairs.push_back({{"a", designs_[a]},
                         {"b", designs_[b]},
                         {"match", ratio(pairs_[k].match, n_)},
                         {"gt_better", ratio(pairs_[k].gt_better, n_)},
                         {"nonzero", ratio(pairs_[k].nonzero, n_)}});
    out["ranking"] = {{"kendall_tau", tau_n_ ? tau_sum_ / double(tau_n_) : 0.0},
                      {"kendall_tau_instructions", tau_n_},
                      {"full_match", ratio(full_match_, n_)},
                      {"best_match", ratio(best_match_, n_)},
                      {"pairwise", pairs},
                      {"epochs", {{"count", epochs_},
                                  {"kendall_tau", epoch_tau_n_ ? epoch_tau_sum_ / double(epoch_tau_n_) : 0.0},
                                  {"kendall_tau_epochs", epoch_tau_n_},
                                  {"best_match", ratio(epoch_best_, epochs_)}}}};
  }
  return out;
}

}  // namespace ns::model
