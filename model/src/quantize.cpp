#include "ns/model/quantize.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include <fmt/format.h>

#include "ns/model/error.h"
#include "ns/model/features.h"
#include "ns/model/int8.h"
#include "ns/model/window.h"

namespace ns::model {

namespace {

constexpr double kMinScale = 1e-30;

class StatsObserver : public Fp32Observer {
 public:
  explicit StatsObserver(CalibrationStats& s) : s_(s) {}
  void on_projection(std::span<const float> u, int) override {
    const std::lock_guard lock(mutex_);
    for (float v : u) s_.u_abs.push_back(std::fabs(v));
  }
  void on_gates(int, std::span<const float> g, int) override {
    float mx = 0;
    uint64_t sat = 0;
    for (float v : g) {
      mx = std::max(mx, std::fabs(v));
      sat += std::fabs(v) >= 8.0f;
    }
    const std::lock_guard lock(mutex_);
    s_.gate_abs_max = std::max(s_.gate_abs_max, mx);
    s_.gate_values += g.size();
    s_.gate_saturated += sat;
  }
  void on_head_hidden(int d, std::span<const float> a, int) override {
    const std::lock_guard lock(mutex_);
    auto& dst = s_.head_a[static_cast<size_t>(d)];
    dst.insert(dst.end(), a.begin(), a.end());
  }

 private:
  CalibrationStats& s_;
  std::mutex mutex_;
};

// The value at `percentile` of v (v is reordered); 0 for an empty sample.
double percentile_of(std::vector<float> v, double percentile) {
  if (v.empty()) return 0;
  const double pos = std::clamp(percentile, 0.0, 100.0) / 100.0 * static_cast<double>(v.size() - 1);
  const auto k = static_cast<size_t>(std::ceil(pos));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

int32_t round_i32(double x, const std::string& what) {
  const double r = std::round(x);
  if (!(std::fabs(r) < 2147483647.0))
    throw ModelError(fmt::format("quantize: {} = {} does not fit int32", what, x));
  return static_cast<int32_t>(r);
}

int8_t round_i8(double x) { return static_cast<int8_t>(std::clamp(std::round(x), -127.0, 127.0)); }

// Row-major [rows, cols] float view.
struct RowView {
  std::span<const float> v;
  int cols;
  float operator()(int r, int c) const { return v[static_cast<size_t>(r) * cols + c]; }
  double max_abs(int r) const {
    double m = 0;
    for (int c = 0; c < cols; ++c) m = std::max(m, static_cast<double>(std::fabs((*this)(r, c))));
    return m;
  }
};

void put_requant(std::vector<int32_t>& mult, std::vector<int32_t>& shift, double M) {
  const Requant q = requant_params(M);
  mult.push_back(q.mult);
  shift.push_back(q.shift);
}

}  // namespace

Requant requant_params(double M) {
  if (!(M > 0)) return {0, 0};
  if (!std::isfinite(M) || M >= 2147483647.0)
    throw ModelError(fmt::format("quantize: requantisation multiplier {} is too large", M));
  int e = 0;
  const double f = std::frexp(M, &e);  // M = f * 2^e, f in [0.5, 1)
  int s = 31 - e;
  if (s > 62) return {static_cast<int32_t>(std::llround(std::ldexp(M, 62))), 62};
  int64_t m = std::llround(std::ldexp(f, 31));
  if (m == (int64_t{1} << 31)) {
    m >>= 1;
    --s;
  }
  return {static_cast<int32_t>(m), s};
}

struct Calibrator::Impl {
  const Fp32Model& model;
  CalibrationStats stats;
  StatsObserver observer{stats};
  explicit Impl(const Fp32Model& m) : model(m) {}
};

Calibrator::Calibrator(const Fp32Model& model) : impl_(std::make_unique<Impl>(model)) {
  const auto& c = model.card();
  impl_->stats.head_a.resize(static_cast<size_t>(c.head_sets()));
  impl_->stats.feature_min.assign(static_cast<size_t>(c.features()), INT32_MAX);
  impl_->stats.feature_max.assign(static_cast<size_t>(c.features()), INT32_MIN);
}
Calibrator::~Calibrator() = default;

void Calibrator::add_epoch(std::span<const int32_t> features, size_t n, size_t max_windows) {
  if (n == 0) return;
  const auto& c = impl_->model.card();
  const size_t F = static_cast<size_t>(c.features()), D = static_cast<size_t>(c.head_sets());
  if (features.size() != n * F)
    throw ModelError(fmt::format("calibration: {} feature values for {} instructions of {} features",
                                 features.size(), n, F));
  auto& s = impl_->stats;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < F; ++j) {
      s.feature_min[j] = std::min(s.feature_min[j], features[i * F + j]);
      s.feature_max[j] = std::max(s.feature_max[j], features[i * F + j]);
    }
  const WindowPlan plan(n, c.window_length, c.window_target);
  const size_t count = plan.count();
  const size_t take = max_windows == 0 ? count : std::min(count, max_windows);
  std::vector<size_t> windows;
  for (size_t k = 0; k < take; ++k) windows.push_back(k * count / take);
  std::vector<uint32_t> cycles(n * D);
  impl_->model.run_windows(features, n, windows, Fp32Outputs{.cycles = cycles}, &impl_->observer);
  s.epochs += 1;
  s.windows += windows.size();
  s.instructions += n;
}

const CalibrationStats& Calibrator::stats() const { return impl_->stats; }

ModelPackage quantize(const ModelPackage& fp32, const CalibrationStats& stats,
                      const QuantizeOptions& options) {
  if (fp32.card.format != PackageFormat::Fp32)
    throw ModelError("quantize: the input must be a neuroscalar-fp32 package");
  validate_package(fp32, "quantize input");
  const ModelConfig& c = fp32.card;
  const auto& a = c.arch;
  const int F = c.features(), P = a.input_proj, H = a.hidden, Y = a.output_width(),
            A = a.head_hidden, D = c.head_sets();
  if (stats.instructions == 0 || stats.u_abs.empty())
    throw ModelError("quantize: calibration saw no instructions");
  if (static_cast<int>(stats.feature_min.size()) != F || static_cast<int>(stats.head_a.size()) != D)
    throw ModelError("quantize: calibration statistics are for another model");

  ModelPackage q;
  q.card = c;
  q.card.format = PackageFormat::Int8;
  auto& T = q.tensors;

  // Features (section 3): zero points and shifts from the training mean and calibration range.
  const auto kinds = FeatureEncoder(c.encoding).feature_kinds();
  const auto mean = fp32.get<float>("norm.mean"), stdv = fp32.get<float>("norm.std");
  std::vector<int32_t> zero(F), shift(F), bytes(F, 1);
  if (!options.feature_bytes.empty()) {
    if (static_cast<int>(options.feature_bytes.size()) != F)
      throw ModelError(fmt::format("quantize: {} feature widths given for {} features",
                                   options.feature_bytes.size(), F));
    for (int j = 0; j < F; ++j) {
      if (options.feature_bytes[j] != 1 && options.feature_bytes[j] != 2)
        throw ModelError(fmt::format("quantize: feature {} width must be 1 or 2 bytes", j));
      bytes[j] = options.feature_bytes[j];
    }
  }
  for (int j = 0; j < F; ++j) {
    if (kinds[j] == FeatureKind::Categorical) continue;
    zero[j] = round_i32(mean[j], "feature zero point");
    const double dev = std::max(std::fabs(double(stats.feature_max[j]) - zero[j]),
                                std::fabs(double(stats.feature_min[j]) - zero[j]));
    const double limit = bytes[j] == 1 ? 127.5 : 32767.5;
    while (shift[j] < 24 && dev / std::ldexp(1.0, shift[j]) >= limit) ++shift[j];
  }
  // Largest |device value| of each feature over the calibration rows.
  std::vector<int64_t> vmax(F);
  for (int j = 0; j < F; ++j) {
    const int64_t lim = bytes[j] == 1 ? 127 : 32767;
    for (int32_t x : {stats.feature_min[j], stats.feature_max[j]})
      vmax[j] = std::max(vmax[j], std::abs(int8::sat(int8::rshr(int64_t{x} - zero[j], shift[j]), -lim - 1, lim)));
  }
  T["features.zero"] = Tensor({F}, zero);
  T["features.shift"] = Tensor({F}, shift);
  T["features.bytes"] = Tensor({F}, bytes);

  // Input projection (section 4) on device units v_j: x_hat_j = (v_j 2^k_j + z_j - mean_j) / std_j.
  const double s_u = std::max(percentile_of(stats.u_abs, options.percentile) / 127.0, 1e-6);
  {
    const RowView w{fp32.get<float>("input_proj.weight"), F};
    const auto b = fp32.get<float>("input_proj.bias");
    std::vector<int8_t> wq;
    std::vector<int32_t> bias, mult, shf;
    for (int i = 0; i < P; ++i) {
      std::vector<double> we(F);
      double be = b[i], mx = 0;
      for (int j = 0; j < F; ++j) {
        we[j] = w(i, j) * std::ldexp(1.0, shift[j]) / stdv[j];
        be += w(i, j) * (zero[j] - double(mean[j])) / stdv[j];
        // A feature whose device value was always 0 (constant in the training data, so its std
        // was clamped to 1e-3 and its device-unit weight is ~1000x the others) must not set the
        // row's scale: it would round every other weight of the row to 0. Its weight is clamped.
        if (vmax[j] > 0) mx = std::max(mx, std::fabs(we[j]));
      }
      const double scale = std::max({mx / 127.0, std::fabs(be) / 16777216.0, kMinScale});
      int64_t fold = 0;
      for (int j = 0; j < F; ++j) {
        wq.push_back(round_i8(we[j] / scale));
        if (bytes[j] == 2) fold += 128 * int64_t{wq.back()};
      }
      bias.push_back(round_i32(be / scale + double(fold), "input_proj bias"));
      put_requant(mult, shf, scale / s_u);
    }
    T["input_proj.weight"] = Tensor({P, F}, wq);
    T["input_proj.bias"] = Tensor({P}, bias);
    T["input_proj.mult"] = Tensor({P}, mult);
    T["input_proj.shift"] = Tensor({P}, shf);
  }

  // LSTM layers (section 5): one scale per gate row shared by W_ih and W_hh.
  const double s_h = 1.0 / 128, s_y = a.tied ? 1.0 / 64 : 1.0 / 128;
  for (int l = 0; l < a.layers; ++l) {
    const int in = a.layer_input(l);
    const double s_in = l == 0 ? s_u : s_y;
    for (int set = 0; set < a.weight_sets(); ++set) {
      const RowView wih{fp32.get<float>(rnn_name("weight_ih", l, set)), in};
      const RowView whh{fp32.get<float>(rnn_name("weight_hh", l, set)), H};
      const auto bih = fp32.get<float>(rnn_name("bias_ih", l, set));
      const auto bhh = fp32.get<float>(rnn_name("bias_hh", l, set));
      std::vector<int8_t> qih, qhh;
      std::vector<int32_t> bias, mult, shf;
      for (int r = 0; r < 4 * H; ++r) {
        const double b = double(bih[r]) + bhh[r];
        const double scale = std::max({std::max(wih.max_abs(r) * s_in, whh.max_abs(r) * s_h) / 127.0,
                                       std::fabs(b) / 16777216.0, kMinScale});
        for (int k = 0; k < in; ++k) qih.push_back(round_i8(wih(r, k) * s_in / scale));
        for (int k = 0; k < H; ++k) qhh.push_back(round_i8(whh(r, k) * s_h / scale));
        bias.push_back(round_i32(b / scale, "LSTM bias"));
        put_requant(mult, shf, scale * 4096.0);
      }
      T[rnn_name("weight_ih", l, set)] = Tensor({4 * H, in}, qih);
      T[rnn_name("weight_hh", l, set)] = Tensor({4 * H, H}, qhh);
      T[rnn_name("bias", l, set)] = Tensor({4 * H}, bias);
      T[rnn_name("mult", l, set)] = Tensor({4 * H}, mult);
      T[rnn_name("shift", l, set)] = Tensor({4 * H}, shf);
    }
  }

  // Heads (section 7) and cycle thresholds (section 8).
  nlohmann::ordered_json head_scales = nlohmann::ordered_json::array();
  const auto head_names = c.head_names();
  for (int d = 0; d < D; ++d) {
    const double s_a = std::max(percentile_of(stats.head_a[d], options.percentile) / 127.0, 1e-6);
    {
      const RowView w{fp32.get<float>(head_name(d, "cls_fc1.weight")), Y};
      const auto b = fp32.get<float>(head_name(d, "cls_fc1.bias"));
      std::vector<int8_t> wq;
      std::vector<int32_t> bias, mult, shf;
      for (int j = 0; j < A; ++j) {
        const double scale = std::max({w.max_abs(j) * s_y / 127.0, std::fabs(b[j]) / 16777216.0, kMinScale});
        for (int k = 0; k < Y; ++k) wq.push_back(round_i8(w(j, k) * s_y / scale));
        bias.push_back(round_i32(b[j] / scale, "cls_fc1 bias"));
        put_requant(mult, shf, scale / s_a);
      }
      T[head_name(d, "cls_fc1.weight")] = Tensor({A, Y}, wq);
      T[head_name(d, "cls_fc1.bias")] = Tensor({A}, bias);
      T[head_name(d, "cls_fc1.mult")] = Tensor({A}, mult);
      T[head_name(d, "cls_fc1.shift")] = Tensor({A}, shf);
    }
    // Two-row layers with one shared scale, so their outputs compare directly.
    auto shared = [&](const std::vector<std::pair<RowView, float>>& rows, double s_in_,
                      const std::string& name) {
      double mx = 0, bmx = 0;
      for (const auto& [w, b] : rows) {
        mx = std::max(mx, w.max_abs(0));
        bmx = std::max(bmx, double(std::fabs(b)));
      }
      const double scale = std::max({mx * s_in_ / 127.0, bmx / 16777216.0, kMinScale});
      std::vector<int8_t> wq;
      std::vector<int32_t> bias;
      for (const auto& [w, b] : rows) {
        for (int k = 0; k < w.cols; ++k) wq.push_back(round_i8(w(0, k) * s_in_ / scale));
        bias.push_back(round_i32(b / scale, name + " bias"));
      }
      T[head_name(d, name + ".weight")] = Tensor({2, rows[0].first.cols}, wq);
      T[head_name(d, name + ".bias")] = Tensor({2}, bias);
      return scale;
    };
    const auto w2 = fp32.get<float>(head_name(d, "cls_fc2.weight"));
    const auto b2 = fp32.get<float>(head_name(d, "cls_fc2.bias"));
    shared({{RowView{w2.first(A), A}, b2[0]}, {RowView{w2.subspan(A), A}, b2[1]}}, s_a, "cls_fc2");
    const double s_r = shared(
        {{RowView{fp32.get<float>(head_name(d, "output_layer_short.weight")), Y},
          fp32.get<float>(head_name(d, "output_layer_short.bias"))[0]},
         {RowView{fp32.get<float>(head_name(d, "output_layer_long.weight")), Y},
          fp32.get<float>(head_name(d, "output_layer_long.bias"))[0]}},
        s_y, "reg");
    T[head_name(d, "cycles_threshold")] = Tensor({c.clip}, int8::cycle_thresholds(s_r, c.clip));
    head_scales.push_back({{"design", head_names[static_cast<size_t>(d)]},
                           {"cls_fc1_output", s_a},
                           {"regressor", s_r}});
  }
  const auto& sig = int8::sigmoid_table();
  const auto& tnh = int8::tanh_table();
  T["act.sigmoid"] = Tensor({int8::kActEntries}, std::vector<int16_t>(sig.begin(), sig.end()));
  T["act.tanh"] = Tensor({int8::kActEntries}, std::vector<int16_t>(tnh.begin(), tnh.end()));

  nlohmann::ordered_json qj;
  qj["method"] = "post-training; per-row symmetric int8 weights; ih/hh rows share a scale";
  qj["percentile"] = options.percentile;
  qj["calibration"] = {{"source", options.calibration_source},
                       {"epochs", stats.epochs},
                       {"windows", stats.windows},
                       {"instructions", stats.instructions}};
  qj["scales"] = {{"input_proj_output", s_u},
                  {"hidden", s_h},
                  {"layer_output", s_y},
                  {"gate_preactivation", 1.0 / 4096},
                  {"heads", head_scales}};
  qj["diagnostics"] = {
      {"gate_preactivation_max_abs", stats.gate_abs_max},
      {"gate_preactivation_saturated_fraction",
       stats.gate_values ? double(stats.gate_saturated) / double(stats.gate_values) : 0.0}};
  q.card.quantization = qj;
  validate_package(q, "quantize output");
  return q;
}

}  // namespace ns::model
