#include "ns/model/int8_reference.h"

#include <Eigen/Dense>
#include <fmt/format.h>

#include "ns/model/error.h"
#include "ns/model/window.h"
#include "parallel.h"

namespace ns::model {

namespace {

using Mat = Eigen::MatrixXf;  // int8-valued operands and exact integer products
using IMat = Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic>;
using RowMajorI8 = Eigen::Matrix<int8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int kMaxExactK = 1024;  // 128 * 128 * 1024 = 2^24

Mat weights(const ModelPackage& p, const std::string& name, int rows, int cols) {
  return Eigen::Map<const RowMajorI8>(p.get<int8_t>(name).data(), rows, cols).cast<float>();
}
std::vector<int32_t> ints(const ModelPackage& p, const std::string& name) {
  const auto v = p.get<int32_t>(name);
  return {v.begin(), v.end()};
}
int32_t exact(float v) { return static_cast<int32_t>(v); }  // v holds an exact integer

struct Affine {  // int8 weights, int32 bias, requantisation per row
  Mat w;
  std::vector<int32_t> bias, mult, shift;
};

struct Head {
  Affine fc1;
  Mat w2, wr;
  std::vector<int32_t> b2, br;
};

struct Workspace {
  Mat e0, e1, p0, p1, u, seq[2], aux, gin, gates, h, a, logits, reg;
  IMat c;
};

}  // namespace

CycleDecoder CycleDecoder::from_package(const ModelPackage& p) {
  CycleDecoder d;
  for (int k = 0; k < p.card.head_sets(); ++k)
    d.theta_.push_back(ints(p, head_name(k, "cycles_threshold")));
  return d;
}

void CycleDecoder::decode(std::span<const int32_t> r, std::span<uint32_t> cycles) const {
  const size_t D = theta_.size();
  if (r.size() != cycles.size() || r.size() % D != 0)
    throw ModelError(fmt::format("cycle decoder: {} outputs and {} cycles for {} designs", r.size(),
                                 cycles.size(), D));
  for (size_t i = 0; i < r.size(); ++i) cycles[i] = int8::cycles_from_r(theta_[i % D], r[i]);
}

struct Int8Reference::Impl {
  ModelConfig card;
  RunOptions options;
  int8::FeatureCodec codec;
  CycleDecoder decoder;
  std::vector<int> byte_offset;  // of feature j in a row
  Affine proj;
  std::vector<std::vector<Affine>> rnn_ih;  // [layer][set]: w = W_ih, bias/mult/shift per row
  std::vector<std::vector<Mat>> rnn_hh;     // [layer][set]
  std::vector<Head> heads;

  struct Direction {
    bool forward;
    int set;   // weight set (1: _reverse)
    Mat* out;  // h of position t goes to rows [row, row + H) of column t
    int row;
  };

  // Columns of window b at position t: t * B + b.
  void project(std::span<const int8_t> bytes, const std::vector<int8_t>& pad,
               const WindowPlan& plan, int L, std::span<const size_t> windows, Workspace& ws,
               Int8WindowTrace* tr) const {
    const int F = card.features(), B = static_cast<int>(windows.size()),
              P = card.arch.input_proj, RB = codec.row_bytes();
    const Eigen::Index N = static_cast<Eigen::Index>(L) * B;
    bool wide = false;
    for (int n : codec.bytes) wide |= n == 2;
    ws.e0.resize(F, N);
    ws.e1.setZero(F, wide ? N : 0);
    for (int t = 0; t < L; ++t)
      for (int b = 0; b < B; ++b) {
        const Eigen::Index col = static_cast<Eigen::Index>(t) * B + b;
        const int8_t* row = plan.is_padding(windows[b], t)
                                ? pad.data()
                                : bytes.data() + plan.position(windows[b], t) * RB;
        for (int j = 0; j < F; ++j) {
          ws.e0(j, col) = row[byte_offset[j]];
          if (codec.bytes[j] == 2) ws.e1(j, col) = row[byte_offset[j] + 1];
        }
        if (tr) tr->bytes.insert(tr->bytes.end(), row, row + RB);
      }
    ws.p0.noalias() = proj.w * ws.e0;
    if (wide) ws.p1.noalias() = proj.w * ws.e1;
    ws.u.resize(P, N);
    for (Eigen::Index col = 0; col < N; ++col)
      for (int i = 0; i < P; ++i) {
        const int32_t acc = proj.bias[i] + exact(ws.p0(i, col)) + (wide ? exact(ws.p1(i, col)) * 256 : 0);
        const int8_t u = int8::sat8(int8::requant(acc, proj.mult[i], proj.shift[i]));
        ws.u(i, col) = u;
        if (tr) {
          tr->proj_acc.push_back(acc);
          tr->u.push_back(u);
        }
      }
  }

  // The recurrence of one or two directions sharing W_hh (two: a tied layer), as one product per
  // step over the directions' columns.
  void recur(int l, std::initializer_list<Direction> dirs, const Mat& gin, int L, int B, Workspace& ws,
             Int8WindowTrace* tr, int trace_col) const {
    const int H = card.arch.hidden, J = static_cast<int>(dirs.size());
    const Affine& ih = rnn_ih[l][dirs.begin()->set];
    const Mat& w_hh = rnn_hh[l][dirs.begin()->set];
    const auto& sig = int8::sigmoid_table();
    const auto& tnh = int8::tanh_table();
    ws.h.setZero(H, J * B);
    ws.c.setZero(H, J * B);
    const size_t first_dir = tr ? tr->directions.size() : 0;
    if (tr)
      for (const auto& d : dirs) {
        auto& td = tr->directions.emplace_back();
        td.layer = l;
        td.direction = d.forward ? 0 : 1;
        td.weight_set = d.set;
        td.acc.resize(size_t(L) * 4 * H);
        td.pre.resize(size_t(L) * 4 * H);
        td.gates.resize(size_t(L) * 4 * H);
        td.c.resize(size_t(L) * H);
        td.h16.resize(size_t(L) * H);
        td.h.resize(size_t(L) * H);
      }
    for (int s = 0; s < L; ++s) {
      ws.gates.noalias() = w_hh * ws.h;
      int j = 0;
      for (const auto& d : dirs) {
        const int t = d.forward ? s : L - 1 - s;
        Mat& out = *d.out;
        const int row0 = d.row;
        for (int b = 0; b < B; ++b) {
          const Eigen::Index col = static_cast<Eigen::Index>(j) * B + b;
          const Eigen::Index xcol = static_cast<Eigen::Index>(t) * B + b;
          auto* td = (tr && b == trace_col) ? &tr->directions[first_dir + static_cast<size_t>(j)] : nullptr;
          for (int r = 0; r < H; ++r) {
            int16_t pre[4];
            for (int g = 0; g < 4; ++g) {
              const int q = g * H + r;
              const int32_t acc = ih.bias[q] + exact(gin(q, xcol)) + exact(ws.gates(q, col));
              pre[g] = int8::sat16(int8::requant(acc, ih.mult[q], ih.shift[q]));
              if (td) {
                td->acc[size_t(t) * 4 * H + q] = acc;
                td->pre[size_t(t) * 4 * H + q] = pre[g];
              }
            }
            const auto cs = int8::lstm_cell(pre[0], pre[1], pre[2], pre[3], ws.c(r, col), sig, tnh);
            ws.c(r, col) = cs.c;
            ws.h(r, col) = cs.h;
            out(row0 + r, xcol) = cs.h;
            if (td) {
              const size_t gi = size_t(t) * 4 * H + r, hi = size_t(t) * H + r;
              td->gates[gi] = cs.i;
              td->gates[gi + H] = cs.f;
              td->gates[gi + 2 * H] = cs.g;
              td->gates[gi + 3 * H] = cs.o;
              td->c[hi] = cs.c;
              td->h16[hi] = cs.h16;
              td->h[hi] = cs.h;
            }
          }
        }
        ++j;
      }
    }
  }

  void run_batch(std::span<const int8_t> bytes, const std::vector<int8_t>& pad,
                 const WindowPlan& plan, std::span<const size_t> windows, Workspace& ws,
                 std::span<int32_t> r_out, Int8WindowTrace* tr) const {
    const auto& a = card.arch;
    const int T = plan.target, C = plan.context(), B = static_cast<int>(windows.size());
    // A unidirectional model's targets never see the right context: skip it (same outputs), except
    // when tracing, so the trace holds every position a device may compute.
    const int L = a.directions == 1 && !tr ? C + T : plan.length;
    const int H = a.hidden, Y = a.output_width(), D = card.head_sets();
    const Eigen::Index N = static_cast<Eigen::Index>(L) * B;
    const int trace_col = 0;  // a traced batch holds only the traced window

    project(bytes, pad, plan, L, windows, ws, tr);
    const Mat* in = &ws.u;
    for (int l = 0; l < a.layers; ++l) {
      Mat& seq = ws.seq[l % 2];
      seq.resize(Y, N);
      ws.gin.noalias() = rnn_ih[l][0].w * *in;
      if (a.directions == 1) {
        recur(l, {{true, 0, &seq, 0}}, ws.gin, L, B, ws, tr, trace_col);
      } else if (a.tied) {
        // Forward h into y, backward h into aux; combined after both ran (section 2).
        ws.aux.resize(H, N);
        recur(l, {{true, 0, &seq, 0}, {false, 0, &ws.aux, 0}}, ws.gin, L, B, ws, tr, trace_col);
        for (Eigen::Index col = 0; col < N; ++col)
          for (int r = 0; r < H; ++r)
            seq(r, col) = int8::tied_output(static_cast<int8_t>(seq(r, col)),
                                            static_cast<int8_t>(ws.aux(r, col)));
      } else {
        recur(l, {{true, 0, &seq, 0}}, ws.gin, L, B, ws, tr, trace_col);
        ws.gin.noalias() = rnn_ih[l][1].w * *in;
        recur(l, {{false, 1, &seq, H}}, ws.gin, L, B, ws, tr, trace_col);
      }
      if (tr) {
        auto& y = tr->y.emplace_back();
        for (Eigen::Index col = 0; col < N; ++col)
          for (int r = 0; r < Y; ++r) y.push_back(static_cast<int8_t>(seq(r, col)));
      }
      in = &seq;
    }

    // Heads on the target positions: columns [C*B, (C+T)*B).
    const auto y = in->middleCols(static_cast<Eigen::Index>(C) * B, static_cast<Eigen::Index>(T) * B);
    const Eigen::Index TB = static_cast<Eigen::Index>(T) * B;
    const int A = a.head_hidden;
    for (int d = 0; d < D; ++d) {
      const Head& h = heads[d];
      Int8WindowTrace::Head* th = tr ? &tr->heads.emplace_back() : nullptr;
      ws.a.noalias() = h.fc1.w * y;
      for (Eigen::Index col = 0; col < TB; ++col)
        for (int k = 0; k < A; ++k) {
          const int32_t acc = h.fc1.bias[k] + exact(ws.a(k, col));
          const int8_t v = int8::sat8(int8::requant(std::max(acc, 0), h.fc1.mult[k], h.fc1.shift[k]));
          ws.a(k, col) = v;
          if (th) {
            th->fc1_acc.push_back(acc);
            th->a.push_back(v);
          }
        }
      ws.logits.noalias() = h.w2 * ws.a;
      ws.reg.noalias() = h.wr * y;
      for (int tt = 0; tt < T; ++tt)
        for (int b = 0; b < B; ++b) {
          const Eigen::Index col = static_cast<Eigen::Index>(tt) * B + b;
          const int32_t z0 = h.b2[0] + exact(ws.logits(0, col)), z1 = h.b2[1] + exact(ws.logits(1, col));
          const int32_t r0 = h.br[0] + exact(ws.reg(0, col)), r1 = h.br[1] + exact(ws.reg(1, col));
          const int32_t r = z1 > z0 ? r1 : r0;
          if (th) {
            th->logits.insert(th->logits.end(), {z0, z1});
            th->reg.insert(th->reg.end(), {r0, r1});
            th->r.push_back(r);
          }
          if (tt < plan.targets_in(windows[b])) r_out[(windows[b] * T + tt) * D + d] = r;
        }
    }
  }

  void check_inputs(std::span<const int8_t> bytes, size_t n) const {
    if (bytes.size() != n * static_cast<size_t>(codec.row_bytes()))
      throw ModelError(fmt::format("INT8 reference: {} bytes for {} instructions of {} bytes",
                                   bytes.size(), n, codec.row_bytes()));
  }
};

Int8Reference::Int8Reference(const ModelPackage& p, RunOptions options) : impl_(std::make_unique<Impl>()) {
  if (p.card.format != PackageFormat::Int8)
    throw ModelError("the INT8 reference needs a neuroscalar-int8 package, not '" +
                     std::string(format_name(p.card.format)) + "'");
  validate_package(p, "INT8 reference");
  auto& m = *impl_;
  m.card = p.card;
  m.options = options;
  if (m.options.batch_windows < 1) m.options.batch_windows = 1;
  const auto& a = p.card.arch;
  const int F = p.card.features(), H = a.hidden, Y = a.output_width();
  for (int l = 0; l < a.layers; ++l)
    if (a.layer_input(l) > kMaxExactK || H > kMaxExactK || Y > kMaxExactK)
      throw ModelError(fmt::format("INT8 reference: layer widths above {} are not supported", kMaxExactK));
  m.codec = int8::FeatureCodec::from_package(p);
  m.decoder = CycleDecoder::from_package(p);
  for (int j = 0, off = 0; j < F; off += m.codec.bytes[j++]) m.byte_offset.push_back(off);
  m.proj = {weights(p, "input_proj.weight", a.input_proj, F), ints(p, "input_proj.bias"),
            ints(p, "input_proj.mult"), ints(p, "input_proj.shift")};
  m.rnn_ih.resize(a.layers);
  m.rnn_hh.resize(a.layers);
  for (int l = 0; l < a.layers; ++l)
    for (int s = 0; s < a.weight_sets(); ++s) {
      m.rnn_ih[l].push_back({weights(p, rnn_name("weight_ih", l, s), 4 * H, a.layer_input(l)),
                             ints(p, rnn_name("bias", l, s)), ints(p, rnn_name("mult", l, s)),
                             ints(p, rnn_name("shift", l, s))});
      m.rnn_hh[l].push_back(weights(p, rnn_name("weight_hh", l, s), 4 * H, H));
    }
  for (int d = 0; d < p.card.head_sets(); ++d)
    m.heads.push_back({{weights(p, head_name(d, "cls_fc1.weight"), a.head_hidden, Y),
                        ints(p, head_name(d, "cls_fc1.bias")), ints(p, head_name(d, "cls_fc1.mult")),
                        ints(p, head_name(d, "cls_fc1.shift"))},
                       weights(p, head_name(d, "cls_fc2.weight"), 2, a.head_hidden),
                       weights(p, head_name(d, "reg.weight"), 2, Y),
                       ints(p, head_name(d, "cls_fc2.bias")),
                       ints(p, head_name(d, "reg.bias"))});
}

Int8Reference::~Int8Reference() = default;
Int8Reference::Int8Reference(Int8Reference&&) noexcept = default;

const ModelConfig& Int8Reference::card() const { return impl_->card; }
const int8::FeatureCodec& Int8Reference::codec() const { return impl_->codec; }
const CycleDecoder& Int8Reference::decoder() const { return impl_->decoder; }

void Int8Reference::run_device(std::span<const int8_t> bytes, size_t n, std::span<int32_t> r) const {
  const auto& m = *impl_;
  m.check_inputs(bytes, n);
  if (r.size() != n * static_cast<size_t>(m.card.head_sets()))
    throw ModelError(
        fmt::format("INT8 reference: output must hold {} x {} values", n, m.card.head_sets()));
  const WindowPlan plan(n, m.card.window_length, m.card.window_target);
  std::vector<size_t> windows(plan.count());
  for (size_t k = 0; k < windows.size(); ++k) windows[k] = k;
  const auto pad = m.codec.padding_row();
  std::vector<Workspace> ws(static_cast<size_t>(detail::resolve_threads(m.options.threads)));
  detail::parallel_batches(windows.size(), static_cast<size_t>(m.options.batch_windows), m.options.threads,
                           [&](int w, size_t first, size_t last) {
                             m.run_batch(bytes, pad, plan, std::span(windows).subspan(first, last - first),
                                         ws[static_cast<size_t>(w)], r, nullptr);
                           });
}

void Int8Reference::predict(std::span<const int32_t> features, size_t n, std::span<uint32_t> cycles,
                            std::span<int32_t> r) const {
  const auto& m = *impl_;
  if (features.size() != n * static_cast<size_t>(m.card.features()))
    throw ModelError(fmt::format("INT8 reference: {} feature values for {} instructions of {} features",
                                 features.size(), n, m.card.features()));
  std::vector<int32_t> own;
  if (r.empty()) {
    own.resize(n * static_cast<size_t>(m.card.head_sets()));
    r = own;
  }
  run_device(m.codec.encode(features), n, r);
  m.decoder.decode(r, cycles);
}

std::vector<uint32_t> Int8Reference::predict(std::span<const int32_t> features, size_t n) const {
  std::vector<uint32_t> cycles(n * static_cast<size_t>(impl_->card.head_sets()));
  predict(features, n, cycles);
  return cycles;
}

Int8WindowTrace Int8Reference::trace_window(std::span<const int8_t> bytes, size_t n, size_t k) const {
  const auto& m = *impl_;
  m.check_inputs(bytes, n);
  const WindowPlan plan(n, m.card.window_length, m.card.window_target);
  if (k >= plan.count())
    throw ModelError(fmt::format("INT8 reference: window {} of an epoch with {} windows", k, plan.count()));
  Int8WindowTrace tr;
  tr.window = k;
  tr.first_position = plan.position(k, 0);
  tr.length = plan.length;
  tr.target = plan.target;
  tr.row_bytes = m.codec.row_bytes();
  std::vector<int32_t> r(n * static_cast<size_t>(m.card.head_sets()));
  Workspace ws;
  const size_t windows[1] = {k};
  m.run_batch(bytes, m.codec.padding_row(), plan, windows, ws, r, &tr);
  for (int d = 0; d < m.card.head_sets(); ++d) {
    auto& h = tr.heads[static_cast<size_t>(d)];
    for (int32_t v : h.r) h.cycles.push_back(int8::cycles_from_r(m.decoder.thresholds(d), v));
  }
  return tr;
}

}  // namespace ns::model
