#include "ns/model/fp32_model.h"

#include <cmath>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "ns/model/error.h"
#include "ns/model/window.h"
#include "parallel.h"

namespace ns::model {

namespace {

using Mat = Eigen::MatrixXf;  // column-major: one column per (position, window)
using Vec = Eigen::VectorXf;
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Mat matrix(const ModelPackage& p, const std::string& name, int rows, int cols) {
  return Eigen::Map<const RowMajor>(p.get<float>(name).data(), rows, cols);
}
Vec vector(const ModelPackage& p, const std::string& name) {
  const auto v = p.get<float>(name);
  return Eigen::Map<const Vec>(v.data(), static_cast<Eigen::Index>(v.size()));
}

struct LstmWeights {
  Mat w_ih, w_hh;
  Vec bias;  // b_ih + b_hh
};

struct Head {
  Mat w1, w2, wr;  // wr: row 0 short, row 1 long
  Vec b1, b2, br;
};

struct Workspace {
  Mat x, u, seq[2], gin, gates, h, c, a, logits, reg, scratch;
};

}  // namespace

uint32_t cycles_from_pred(float pred, int clip) {
  const double v = std::floor(std::expm1(static_cast<double>(pred)) + 0.5);
  if (!(v > 0)) return 0;
  return v >= clip ? static_cast<uint32_t>(clip) : static_cast<uint32_t>(v);
}

struct Fp32Model::Impl {
  ModelConfig card;
  RunOptions options;
  Vec mean, inv_std;
  Mat w_proj;
  Vec b_proj;
  std::vector<std::vector<LstmWeights>> rnn;  // [layer][weight set]
  std::vector<Head> heads;

  // Runs the recurrence of one or two directions that share w_hh (two: a tied layer), writing
  // or adding h into rows [row, row + H) of `out`.
  struct Direction {
    bool forward;
    int row;
    bool add;
  };
  void recur(const Mat& w_hh, const Mat& gin, std::initializer_list<Direction> dirs, int L,
             int B, int layer, Mat& out, Workspace& ws, Fp32Observer* obs) const {
    const int H = card.arch.hidden, J = static_cast<int>(dirs.size());
    ws.h.setZero(H, J * B);
    ws.c.setZero(H, J * B);
    for (int s = 0; s < L; ++s) {
      ws.gates.noalias() = w_hh * ws.h;
      int j = 0;
      for (const auto& d : dirs) {
        const int t = d.forward ? s : L - 1 - s;
        ws.gates.middleCols(j * B, B) += gin.middleCols(static_cast<Eigen::Index>(t) * B, B);
        ++j;
      }
      if (obs) obs->on_gates(layer, {ws.gates.data(), static_cast<size_t>(ws.gates.size())}, 4 * H);
      auto g = ws.gates.array();
      const auto i = g.topRows(H).logistic();
      const auto f = g.middleRows(H, H).logistic();
      const auto cand = g.middleRows(2 * H, H).tanh();
      const auto o = g.bottomRows(H).logistic();
      ws.c.array() = f * ws.c.array() + i * cand;
      ws.h.array() = o * ws.c.array().tanh();
      j = 0;
      for (const auto& d : dirs) {
        const int t = d.forward ? s : L - 1 - s;
        auto dst = out.block(d.row, static_cast<Eigen::Index>(t) * B, H, B);
        if (d.add) dst += ws.h.middleCols(j * B, B);
        else dst = ws.h.middleCols(j * B, B);
        ++j;
      }
    }
  }

  void run_batch(std::span<const int32_t> features, const WindowPlan& plan,
                 std::span<const size_t> windows, Workspace& ws, const Fp32Outputs& out,
                 Fp32Observer* obs) const {
    const int F = card.features(), T = plan.target, C = plan.context();
    // A unidirectional model's targets never see the right context: skip it (same outputs).
    const int L = card.arch.directions == 1 ? C + T : plan.length;
    const int B = static_cast<int>(windows.size()), D = card.head_sets();
    const auto& a = card.arch;
    const Eigen::Index N = static_cast<Eigen::Index>(L) * B;

    // Normalised inputs, column t*B + b = window b's position t; padding is the all-zero raw row.
    ws.x.resize(F, N);
    const Vec pad = -mean.cwiseProduct(inv_std);
    for (int t = 0; t < L; ++t)
      for (int b = 0; b < B; ++b) {
        auto col = ws.x.col(static_cast<Eigen::Index>(t) * B + b);
        if (plan.is_padding(windows[b], t)) {
          col = pad;
          continue;
        }
        const int32_t* row = features.data() + plan.position(windows[b], t) * F;
        for (int f = 0; f < F; ++f) col(f) = (static_cast<float>(row[f]) - mean(f)) * inv_std(f);
      }
    ws.u.noalias() = w_proj * ws.x;
    ws.u.colwise() += b_proj;
    if (obs) {
      ws.scratch.resize(a.input_proj, N);
      Eigen::Index k = 0;
      for (int t = 0; t < L; ++t)
        for (int b = 0; b < B; ++b)
          if (!plan.is_padding(windows[b], t))
            ws.scratch.col(k++) = ws.u.col(static_cast<Eigen::Index>(t) * B + b);
      obs->on_projection({ws.scratch.data(), static_cast<size_t>(k * a.input_proj)}, a.input_proj);
    }

    const Mat* in = &ws.u;
    for (int l = 0; l < a.layers; ++l) {
      Mat& seq = ws.seq[l % 2];
      seq.resize(a.output_width(), N);
      if (a.directions == 1) {
        ws.gin.noalias() = rnn[l][0].w_ih * *in;
        ws.gin.colwise() += rnn[l][0].bias;
        recur(rnn[l][0].w_hh, ws.gin, {{true, 0, false}}, L, B, l, seq, ws, obs);
      } else if (a.tied) {
        ws.gin.noalias() = rnn[l][0].w_ih * *in;
        ws.gin.colwise() += rnn[l][0].bias;
        // Both directions run in the same steps (one GEMM): each adds its h into y.
        seq.setZero();
        recur(rnn[l][0].w_hh, ws.gin, {{true, 0, true}, {false, 0, true}}, L, B, l, seq, ws, obs);
      } else {
        for (int d = 0; d < 2; ++d) {
          ws.gin.noalias() = rnn[l][d].w_ih * *in;
          ws.gin.colwise() += rnn[l][d].bias;
          recur(rnn[l][d].w_hh, ws.gin, {{d == 0, d * a.hidden, false}}, L, B, l, seq, ws, obs);
        }
      }
      in = &seq;
    }

    // Heads on the target positions: columns [C*B, (C+T)*B).
    const auto y = in->middleCols(static_cast<Eigen::Index>(C) * B, static_cast<Eigen::Index>(T) * B);
    for (int d = 0; d < D; ++d) {
      const Head& h = heads[d];
      ws.a.noalias() = h.w1 * y;
      ws.a.colwise() += h.b1;
      ws.a = ws.a.cwiseMax(0.0f);
      ws.logits.noalias() = h.w2 * ws.a;
      ws.logits.colwise() += h.b2;
      ws.reg.noalias() = h.wr * y;
      ws.reg.colwise() += h.br;
      if (obs) {
        ws.scratch.resize(a.head_hidden, ws.a.cols());
        Eigen::Index k = 0;
        for (int tt = 0; tt < T; ++tt)
          for (int b = 0; b < B; ++b)
            if (tt < plan.targets_in(windows[b]))
              ws.scratch.col(k++) = ws.a.col(static_cast<Eigen::Index>(tt) * B + b);
        obs->on_head_hidden(d, {ws.scratch.data(), static_cast<size_t>(k * a.head_hidden)},
                            a.head_hidden);
      }
      for (int tt = 0; tt < T; ++tt)
        for (int b = 0; b < B; ++b) {
          if (tt >= plan.targets_in(windows[b])) continue;
          const Eigen::Index j = static_cast<Eigen::Index>(tt) * B + b;
          const size_t i = windows[b] * T + tt, o = i * D + d;
          const bool is_long = ws.logits(1, j) > ws.logits(0, j);
          const float p = ws.reg(is_long ? 1 : 0, j);
          out.cycles[o] = cycles_from_pred(p, card.clip);
          if (!out.pred.empty()) out.pred[o] = p;
          if (!out.regime.empty()) out.regime[o] = is_long;
          for (int k = 0; k < 2; ++k) {
            if (!out.logits.empty()) out.logits[2 * o + k] = ws.logits(k, j);
            if (!out.regressors.empty()) out.regressors[2 * o + k] = ws.reg(k, j);
          }
          if (d == 0 && !out.y.empty())
            for (int r = 0; r < y.rows(); ++r) out.y[i * y.rows() + r] = y(r, j);
        }
    }
  }
};

Fp32Model::Fp32Model(const ModelPackage& p, RunOptions options) : impl_(std::make_unique<Impl>()) {
  if (p.card.format != PackageFormat::Fp32)
    throw ModelError("the FP32 model needs a neuroscalar-fp32 package, not '" +
                     std::string(format_name(p.card.format)) + "'");
  validate_package(p, "FP32 model");
  auto& m = *impl_;
  m.card = p.card;
  m.options = options;
  if (m.options.batch_windows < 1) m.options.batch_windows = 1;
  const auto& a = p.card.arch;
  const int F = p.card.features(), H = a.hidden;
  m.mean = vector(p, "norm.mean");
  m.inv_std = vector(p, "norm.std").cwiseInverse();
  m.w_proj = matrix(p, "input_proj.weight", a.input_proj, F);
  m.b_proj = vector(p, "input_proj.bias");
  m.rnn.resize(a.layers);
  for (int l = 0; l < a.layers; ++l)
    for (int s = 0; s < a.weight_sets(); ++s)
      m.rnn[l].push_back({matrix(p, rnn_name("weight_ih", l, s), 4 * H, a.layer_input(l)),
                          matrix(p, rnn_name("weight_hh", l, s), 4 * H, H),
                          vector(p, rnn_name("bias_ih", l, s)) + vector(p, rnn_name("bias_hh", l, s))});
  const int Y = a.output_width();
  for (int d = 0; d < p.card.head_sets(); ++d) {
    Head h;
    h.w1 = matrix(p, head_name(d, "cls_fc1.weight"), a.head_hidden, Y);
    h.b1 = vector(p, head_name(d, "cls_fc1.bias"));
    h.w2 = matrix(p, head_name(d, "cls_fc2.weight"), 2, a.head_hidden);
    h.b2 = vector(p, head_name(d, "cls_fc2.bias"));
    h.wr.resize(2, Y);
    h.wr.row(0) = matrix(p, head_name(d, "output_layer_short.weight"), 1, Y);
    h.wr.row(1) = matrix(p, head_name(d, "output_layer_long.weight"), 1, Y);
    h.br.resize(2);
    h.br(0) = p.get<float>(head_name(d, "output_layer_short.bias"))[0];
    h.br(1) = p.get<float>(head_name(d, "output_layer_long.bias"))[0];
    m.heads.push_back(std::move(h));
  }
}

Fp32Model::~Fp32Model() = default;
Fp32Model::Fp32Model(Fp32Model&&) noexcept = default;

const ModelConfig& Fp32Model::card() const { return impl_->card; }

void Fp32Model::predict(std::span<const int32_t> features, size_t n, const Fp32Outputs& out) const {
  const WindowPlan plan(n, impl_->card.window_length, impl_->card.window_target);
  std::vector<size_t> windows(plan.count());
  for (size_t k = 0; k < windows.size(); ++k) windows[k] = k;
  run_windows(features, n, windows, out, nullptr);
}

std::vector<uint32_t> Fp32Model::predict(std::span<const int32_t> features, size_t n) const {
  std::vector<uint32_t> cycles(n * static_cast<size_t>(impl_->card.head_sets()));
  predict(features, n, Fp32Outputs{.cycles = cycles});
  return cycles;
}

void Fp32Model::run_windows(std::span<const int32_t> features, size_t n,
                            std::span<const size_t> windows, const Fp32Outputs& out,
                            Fp32Observer* observer) const {
  const auto& m = *impl_;
  const size_t F = static_cast<size_t>(m.card.features()),
               D = static_cast<size_t>(m.card.head_sets()),
               Y = static_cast<size_t>(m.card.arch.output_width());
  if (features.size() != n * F)
    throw ModelError(fmt::format("FP32 model: {} feature values for {} instructions of {} features",
                                 features.size(), n, F));
  auto sized = [&](size_t got, size_t want) { return got == 0 || got == want; };
  if (out.cycles.size() != n * D || !sized(out.pred.size(), n * D) ||
      !sized(out.regime.size(), n * D) || !sized(out.logits.size(), 2 * n * D) ||
      !sized(out.regressors.size(), 2 * n * D) || !sized(out.y.size(), n * Y))
    throw ModelError(fmt::format("FP32 model: output spans do not fit {} instructions x {} designs", n, D));
  const WindowPlan plan(n, m.card.window_length, m.card.window_target);
  for (size_t k = 0; k < windows.size(); ++k)
    if (windows[k] >= plan.count() || (k > 0 && windows[k] <= windows[k - 1]))
      throw ModelError("FP32 model: window list must be ascending and inside the epoch");
  std::vector<Workspace> ws(static_cast<size_t>(detail::resolve_threads(m.options.threads)));
  detail::parallel_batches(windows.size(), static_cast<size_t>(m.options.batch_windows),
                           m.options.threads, [&](int w, size_t first, size_t last) {
                             m.run_batch(features, plan, windows.subspan(first, last - first),
                                         ws[static_cast<size_t>(w)], out, observer);
                           });
}

}  // namespace ns::model
