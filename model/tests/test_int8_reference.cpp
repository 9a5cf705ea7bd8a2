#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include <fmt/format.h>

#include "ns/model/error.h"
#include "ns/model/fp32_model.h"
#include "ns/model/int8_reference.h"
#include "ns/model/quantize.h"
#include "ns/model/features.h"
#include "ns/model/synthetic.h"
#include "ns/model/window.h"
#include "test_util.h"

using namespace ns::model;

namespace {

// --- An independent oracle: docs/int8-spec.md transcribed literally, one window at a time, one
// scalar at a time, int64 everywhere, no shared helpers. ------------------------------------------
namespace spec {
int64_t sat(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : x > hi ? hi : x; }
int64_t rshr(int64_t x, int64_t s) { return s == 0 ? x : (x + (int64_t{1} << (s - 1))) >> s; }
int64_t requant(int64_t acc, int64_t m, int64_t s) { return rshr(acc * m, s); }
int64_t act(std::span<const int16_t> T, int64_t p) {
  const int64_t idx = (p + 32768) >> 8, frac = (p + 32768) & 255;
  return T[idx] + rshr((T[idx + 1] - T[idx]) * frac, 8);
}
int32_t i32(int64_t acc) {
  EXPECT_LT(std::abs(acc), int64_t{1} << 31);
  return static_cast<int32_t>(acc);
}

struct Trace {  // the values the oracle compares against Int8WindowTrace
  std::vector<int64_t> u, y_last, a, r;
  std::vector<std::vector<int64_t>> c, h;  // per direction, L x H (position order)
};

std::vector<int32_t> oracle(const ModelPackage& q, std::span<const int32_t> raw, size_t n,
                            Trace* keep = nullptr, size_t keep_window = 0) {
  const auto& cd = q.card;
  const auto& A = cd.arch;
  const int F = cd.features(), P = A.input_proj, H = A.hidden, Y = A.output_width(),
            L = cd.window_length, T = cd.window_target, C = (L - T) / 2, D = cd.head_sets();
  auto I8 = [&](const std::string& s) { return q.get<int8_t>(s); };
  auto I32 = [&](const std::string& s) { return q.get<int32_t>(s); };
  const auto zero = I32("features.zero"), shift = I32("features.shift"), nb = I32("features.bytes");
  const auto sig = q.get<int16_t>("act.sigmoid"), tnh = q.get<int16_t>("act.tanh");
  std::vector<int32_t> out(n * D);
  const size_t windows = (n + T - 1) / T;
  for (size_t k = 0; k < windows; ++k) {
    // Section 3: bytes of every position; section 4: projection.
    std::vector<std::vector<int64_t>> in(L, std::vector<int64_t>(P));
    for (int t = 0; t < L; ++t) {
      const int64_t pos = int64_t(k) * T - C + t;
      std::vector<int64_t> x(F, 0);
      if (pos >= 0 && pos < int64_t(n))
        for (int j = 0; j < F; ++j) x[j] = raw[pos * F + j];
      std::vector<std::vector<int64_t>> e(F);
      for (int j = 0; j < F; ++j) {
        const int64_t v = rshr(x[j] - zero[j], shift[j]);
        if (nb[j] == 1) {
          e[j] = {sat(v, -128, 127)};
        } else {
          const int64_t v16 = sat(v, -32768, 32767);
          e[j] = {(v16 & 255) - 128, v16 >> 8};
        }
      }
      const auto w = I8("input_proj.weight");
      for (int i = 0; i < P; ++i) {
        int64_t acc = I32("input_proj.bias")[i];
        for (int j = 0; j < F; ++j)
          for (size_t b = 0; b < e[j].size(); ++b) acc += (int64_t{w[i * F + j]} * e[j][b]) << (8 * b);
        in[t][i] = sat(requant(i32(acc), I32("input_proj.mult")[i], I32("input_proj.shift")[i]), -128, 127);
      }
    }
    if (keep && k == keep_window)
      for (const auto& row : in) keep->u.insert(keep->u.end(), row.begin(), row.end());
    // Section 5, layer by layer.
    for (int l = 0; l < A.layers; ++l) {
      const int K = A.layer_input(l);
      std::vector<std::vector<std::vector<int64_t>>> hd(A.directions,
                                                        std::vector<std::vector<int64_t>>(L));
      for (int d = 0; d < A.directions; ++d) {
        const int set = A.weight_sets() == 2 ? d : 0;
        const auto wih = I8(rnn_name("weight_ih", l, set)), whh = I8(rnn_name("weight_hh", l, set));
        const auto bias = I32(rnn_name("bias", l, set)), m = I32(rnn_name("mult", l, set)),
                   s = I32(rnn_name("shift", l, set));
        std::vector<int64_t> h(H, 0), c(H, 0);
        for (int st = 0; st < L; ++st) {
          const int t = d == 0 ? st : L - 1 - st;
          std::vector<int64_t> pre(4 * H);
          for (int r = 0; r < 4 * H; ++r) {
            int64_t acc = bias[r];
            for (int kk = 0; kk < K; ++kk) acc += int64_t{wih[r * K + kk]} * in[t][kk];
            for (int kk = 0; kk < H; ++kk) acc += int64_t{whh[r * H + kk]} * h[kk];
            pre[r] = sat(requant(i32(acc), m[r], s[r]), -32768, 32767);
          }
          for (int r = 0; r < H; ++r) {
            const int64_t i = act(sig, pre[r]), f = act(sig, pre[H + r]), g = act(tnh, pre[2 * H + r]),
                          o = act(sig, pre[3 * H + r]);
            c[r] = sat(rshr(f * c[r], 15) + rshr(i * g, 15), -(1 << 18), (1 << 18) - 1);
            const int64_t tc = act(tnh, sat(rshr(c[r], 3), -32768, 32767));
            const int64_t h16 = rshr(o * tc, 15);
            h[r] = sat(rshr(h16, 8), -128, 127);
          }
          hd[d][t] = h;
          if (keep && k == keep_window) {
            if (keep->c.size() <= size_t(l * A.directions + d)) {
              keep->c.emplace_back();
              keep->h.emplace_back();
            }
            keep->c[l * A.directions + d].insert(keep->c[l * A.directions + d].end(), c.begin(), c.end());
            keep->h[l * A.directions + d].insert(keep->h[l * A.directions + d].end(), h.begin(), h.end());
          }
        }
      }
      // Section 2: layer output.
      std::vector<std::vector<int64_t>> y(L, std::vector<int64_t>(Y));
      for (int t = 0; t < L; ++t)
        for (int r = 0; r < Y; ++r) {
          if (A.directions == 1) y[t][r] = hd[0][t][r];
          else if (A.tied) y[t][r] = sat(rshr(hd[0][t][r] + hd[1][t][r], 1), -128, 127);
          else y[t][r] = r < H ? hd[0][t][r] : hd[1][t][r - H];
        }
      in = y;
    }
    if (keep && k == keep_window)
      for (const auto& row : in) keep->y_last.insert(keep->y_last.end(), row.begin(), row.end());
    // Section 7: heads on the targets.
    for (int tt = 0; tt < T; ++tt) {
      const size_t i = k * T + tt;
      const auto& yv = in[C + tt];
      for (int d = 0; d < D; ++d) {
        const auto w1 = I8(head_name(d, "cls_fc1.weight")), w2 = I8(head_name(d, "cls_fc2.weight")),
                   wr = I8(head_name(d, "reg.weight"));
        std::vector<int64_t> a(A.head_hidden);
        for (int j = 0; j < A.head_hidden; ++j) {
          int64_t acc = I32(head_name(d, "cls_fc1.bias"))[j];
          for (int kk = 0; kk < Y; ++kk) acc += int64_t{w1[j * Y + kk]} * yv[kk];
          a[j] = sat(requant(i32(std::max<int64_t>(acc, 0)), I32(head_name(d, "cls_fc1.mult"))[j],
                             I32(head_name(d, "cls_fc1.shift"))[j]),
                     -128, 127);
        }
        int64_t z[2], rr[2];
        for (int cc = 0; cc < 2; ++cc) {
          z[cc] = I32(head_name(d, "cls_fc2.bias"))[cc];
          for (int j = 0; j < A.head_hidden; ++j) z[cc] += int64_t{w2[cc * A.head_hidden + j]} * a[j];
          rr[cc] = I32(head_name(d, "reg.bias"))[cc];
          for (int kk = 0; kk < Y; ++kk) rr[cc] += int64_t{wr[cc * Y + kk]} * yv[kk];
        }
        const int64_t r = z[1] > z[0] ? rr[1] : rr[0];
        if (keep && k == keep_window) {
          keep->a.insert(keep->a.end(), a.begin(), a.end());
          keep->r.push_back(r);
        }
        if (i < n) out[i * D + d] = i32(r);
      }
    }
  }
  return out;
}
}  // namespace spec

std::string sha256_hex(std::span<const std::byte> b) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(b.data(), b.size(), md, &len, EVP_sha256(), nullptr);
  std::string s;
  for (unsigned int i = 0; i < len; ++i) s += "0123456789abcdef"[md[i] >> 4], s += "0123456789abcdef"[md[i] & 15];
  return s;
}

// An INT8 package built from raw mt19937_64 bits only (no floating point anywhere), so the pinned
// digest below depends on nothing but the INT8 arithmetic. Requant shifts are set so activations
// land in their useful ranges; some features are two bytes wide.
ModelPackage integer_package(ModelConfig c, uint64_t seed) {
  c.format = PackageFormat::Int8;
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % uint64_t(hi - lo + 1)); };
  ModelPackage p;
  p.card = c;
  const auto kinds = FeatureEncoder(c.encoding).feature_kinds();
  for (const auto& spec : expected_tensors(c)) {
    int64_t numel = 1;
    for (auto d : spec.shape) numel *= d;
    const std::string& nm = spec.name;
    auto ends = [&](const char* s) {
      return nm.size() >= std::strlen(s) && nm.compare(nm.size() - std::strlen(s), std::string::npos, s) == 0;
    };
    if (spec.dtype == DType::I8) {
      std::vector<int8_t> v(numel);
      for (auto& e : v) e = static_cast<int8_t>(pick(-127, 127));
      p.tensors[nm] = Tensor(spec.shape, v);
    } else if (spec.dtype == DType::I32) {
      std::vector<int32_t> v(numel);
      for (size_t i = 0; i < v.size(); ++i) {
        if (nm == "features.zero") v[i] = kinds[i] == FeatureKind::Categorical ? 0 : int32_t(pick(0, 1 << 20));
        else if (nm == "features.shift") v[i] = kinds[i] == FeatureKind::Categorical ? 0 : int32_t(pick(8, 14));
        else if (nm == "features.bytes") v[i] = kinds[i] == FeatureKind::Categorical ? 1 : int32_t(pick(1, 2));
        else if (ends("cycles_threshold")) v[i] = int32_t(-20000 + int64_t(i) * int64_t(i) * 40000 / (numel * numel));
        else if (nm.find("mult") != std::string::npos) v[i] = int32_t(pick(1 << 30, (int64_t{1} << 31) - 1));
        else if (nm.find("shift") != std::string::npos) v[i] = nm.rfind("rnn.", 0) == 0 ? 33 : nm.rfind("input_proj", 0) == 0 ? 40 : 39;
        else v[i] = int32_t(pick(-20000, 20000));  // biases
      }
      p.tensors[nm] = Tensor(spec.shape, v);
    }
  }
  const auto& s = int8::sigmoid_table();
  const auto& t = int8::tanh_table();
  p.tensors["act.sigmoid"] = Tensor({257}, std::vector<int16_t>(s.begin(), s.end()));
  p.tensors["act.tanh"] = Tensor({257}, std::vector<int16_t>(t.begin(), t.end()));
  validate_package(p, "integer package");
  return p;
}

std::vector<int32_t> integer_features(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> x(n * 13);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t pc = 0x401000 + (rng() % 4096), mem = (rng() & 1) ? 0x7ffd12340000ull + (rng() % 65536) : 0;
    const int32_t v[13] = {int32_t(pc >> 42), int32_t((pc >> 20) & 0x3fffff), int32_t(pc & 0xfffff),
                           int32_t(rng() % 46), int32_t(mem >> 42), int32_t((mem >> 20) & 0x3fffff),
                           int32_t(mem & 0xfffff), int32_t(rng() % 3), int32_t(rng() % 16),
                           int32_t(rng() % 3), int32_t(rng() % 16), int32_t(rng() % 3), int32_t(rng() % 16)};
    std::copy(v, v + 13, x.begin() + static_cast<std::ptrdiff_t>(i * 13));
  }
  return x;
}

}  // namespace

TEST(Int8ReferenceTest, MatchesALiteralTranscriptionOfTheSpec) {
  for (auto [dirs, tied] : {std::pair{1, false}, {2, true}, {2, false}}) {
    SCOPED_TRACE(testing::Message() << "directions " << dirs << " tied " << tied);
    const ModelConfig c = test::tiny_config(dirs, tied);
    for (const auto& q : {make_random_int8_package(c, 21), integer_package(c, 22)}) {
      for (size_t n : {1, 4, 23}) {
        const auto x = n == 23 ? synthetic_features("paper13", n, 5) : integer_features(n, 6);
        std::vector<uint32_t> cycles(n * 3);
        std::vector<int32_t> r(n * 3);
        const Int8Reference ref(q, {.threads = 2, .batch_windows = 2});
        ref.predict(x, n, cycles, r);
        EXPECT_EQ(r, spec::oracle(q, x, n));
        for (size_t i = 0; i < r.size(); ++i)
          EXPECT_EQ(cycles[i], int8::cycles_from_r(q.get<int32_t>(head_name(int(i % 3), "cycles_threshold")), r[i]));
      }
    }
  }
}

TEST(Int8ReferenceTest, WindowTraceHoldsEveryIntermediateValue) {
  for (auto [dirs, tied] : {std::pair{1, false}, {2, true}, {2, false}}) {
    const ModelConfig c = test::tiny_config(dirs, tied);
    const auto q = integer_package(c, 31);
    const size_t n = 10;
    const auto x = integer_features(n, 32);
    const Int8Reference ref(q);
    const auto bytes = ref.codec().encode(x);
    for (size_t k = 0; k < 3; ++k) {
      spec::Trace want;
      std::vector<int32_t> r_all(n * 3);
      spec::oracle(q, x, n, &want, k);
      const auto tr = ref.trace_window(bytes, n, k);
      EXPECT_EQ(tr.first_position, int64_t(k) * 4 - 5);
      EXPECT_EQ(tr.bytes.size(), size_t(14 * ref.codec().row_bytes()));
      EXPECT_EQ(std::vector<int64_t>(tr.u.begin(), tr.u.end()), want.u);
      ASSERT_EQ(tr.directions.size(), size_t(2 * dirs));
      for (size_t d = 0; d < tr.directions.size(); ++d) {
        const auto& td = tr.directions[d];
        // Oracle rows are in step order; trace rows in position order.
        const int H = c.arch.hidden, L = 14;
        for (int st = 0; st < L; ++st) {
          const int t = td.direction == 0 ? st : L - 1 - st;
          for (int r = 0; r < H; ++r) {
            EXPECT_EQ(td.c[size_t(t) * H + r], want.c[d][size_t(st) * H + r]);
            EXPECT_EQ(td.h[size_t(t) * H + r], want.h[d][size_t(st) * H + r]);
            EXPECT_EQ(td.h[size_t(t) * H + r], int8::sat8(int8::rshr(td.h16[size_t(t) * H + r], 8)));
          }
          for (int g = 0; g < 4 * H; ++g) {
            const int16_t pre = td.pre[size_t(t) * 4 * H + g];
            EXPECT_EQ(pre, int8::sat16(int8::requant(td.acc[size_t(t) * 4 * H + g],
                                                     q.get<int32_t>(rnn_name("mult", td.layer, td.weight_set))[g],
                                                     q.get<int32_t>(rnn_name("shift", td.layer, td.weight_set))[g])));
            EXPECT_EQ(td.gates[size_t(t) * 4 * H + g],
                      int8::activate(g / H == 2 ? int8::tanh_table() : int8::sigmoid_table(), pre));
          }
        }
      }
      EXPECT_EQ(std::vector<int64_t>(tr.y.back().begin(), tr.y.back().end()), want.y_last);
      // Heads: oracle stores per target, per design; the trace per design, per target.
      for (int d = 0; d < 3; ++d)
        for (int tt = 0; tt < 4; ++tt) {
          EXPECT_EQ(tr.heads[d].r[tt], want.r[size_t(tt) * 3 + d]);
          for (int j = 0; j < 6; ++j) EXPECT_EQ(tr.heads[d].a[size_t(tt) * 6 + j], want.a[(size_t(tt) * 3 + d) * 6 + j]);
          EXPECT_EQ(tr.heads[d].r[tt], tr.heads[d].logits[2 * tt + 1] > tr.heads[d].logits[2 * tt]
                                           ? tr.heads[d].reg[2 * tt + 1] : tr.heads[d].reg[2 * tt]);
        }
    }
    EXPECT_THROW(ref.trace_window(bytes, n, 3), ModelError);
  }
}

TEST(Int8ReferenceTest, IsDeterministicAcrossRunsThreadsAndBatches) {
  const auto q = make_random_int8_package(test::tiny_config(2, false), 41);
  const size_t n = 517;
  const auto x = synthetic_features("paper13", n, 42);
  const auto first = Int8Reference(q, {.threads = 1, .batch_windows = 1}).predict(x, n);
  for (int rep = 0; rep < 2; ++rep)
    for (int threads : {1, 2, 4})
      for (int batch : {3, 64})
        EXPECT_EQ(Int8Reference(q, {.threads = threads, .batch_windows = batch}).predict(x, n), first);
}

TEST(Int8ReferenceTest, OutputDigestIsPinned) {
  // Integer-only package and features: any change to the INT8 arithmetic, or a build that alters a
  // bit of it, changes this digest. Update it only with a deliberate change of docs/int8-spec.md.
  struct Case {
    int dirs;
    bool tied;
    int hidden;
    const char* digest;
  };
  for (const Case& k : {Case{1, false, 16, "ba3083a2568b57dc9704f618e93d7ad05407f5faf5a7f5a71ac8bcf445f1ca20"}, Case{2, true, 16, "a6e5a53aebcb070e6ab23fce937520d23c6ff230f7430194e2958b491a10c12f"},
                        Case{2, false, 12, "5254d1f8d93c9e40fc3beb6848d6b37b045400756c6309d3d9edcb635d5c5096"}}) {
    const auto q = integer_package(test::tiny_config(k.dirs, k.tied, k.hidden), 1234);
    const size_t n = 97;
    std::vector<int32_t> r(n * 3);
    std::vector<uint32_t> cycles(n * 3);
    Int8Reference(q).predict(integer_features(n, 99), n, cycles, r);
    EXPECT_EQ(sha256_hex(std::as_bytes(std::span(r))), k.digest) << k.dirs << k.tied;
    // The outputs are not degenerate: both regimes and many cycle values occur.
    std::set<uint32_t> distinct(cycles.begin(), cycles.end());
    EXPECT_GT(distinct.size(), 10u);
  }
}

TEST(Int8ReferenceTest, MeasuresAgreementWithFp32OnRandomWeights) {
  // Random weights are not a trained model: this measures (does not tightly bound) how close the
  // quantised package stays to its FP32 original. Regressor biases are spread (as the training
  // side's cross-check packages do) so predictions are a few cycles instead of all ~0.
  for (auto [dirs, tied] : {std::pair{1, false}, {2, true}, {2, false}}) {
    const ModelConfig c = test::tiny_config(dirs, tied, 32);
    auto fp = make_random_fp32_package(c, 51);
    for (int d = 0; d < 3; ++d) {
      fp.at(head_name(d, "output_layer_short.bias")).data<float>()[0] = 0.9f + 0.2f * d;
      fp.at(head_name(d, "output_layer_long.bias")).data<float>()[0] = 3.2f + 0.3f * d;
      for (float& w : fp.at(head_name(d, "output_layer_long.weight")).data<float>()) w *= 4;
      for (float& w : fp.at(head_name(d, "output_layer_short.weight")).data<float>()) w *= 4;
    }
    const Fp32Model fm(fp);
    Calibrator cal(fm);
    const size_t n = 4000;
    const auto x = synthetic_features("paper13", n, 52);
    cal.add_epoch(x, n, 0);
    const auto q = quantize(fp, cal.stats(), {});
    std::vector<uint32_t> c32(n * 3), c8(n * 3);
    std::vector<float> p32(n * 3);
    std::vector<uint8_t> long32(n * 3);
    std::vector<int32_t> r8(n * 3);
    fm.predict(x, n, Fp32Outputs{.cycles = c32, .pred = p32, .regime = long32});
    Int8Reference(q).predict(x, n, c8, r8);
    size_t exact = 0, within1 = 0;
    double log_err = 0;
    std::set<uint32_t> values;
    for (size_t i = 0; i < c8.size(); ++i) {
      exact += c8[i] == c32[i];
      within1 += std::abs(int64_t(c8[i]) - int64_t(c32[i])) <= 1;
      const double scale = q.card.quantization["scales"]["heads"][i % 3]["regressor"].get<double>();
      log_err += std::fabs(r8[i] * scale - p32[i]);
      values.insert(c32[i]);
    }
    const double m = double(c8.size());
    std::printf("[ measured ] directions %d tied %d: %zu distinct FP32 cycle values; INT8 == FP32 "
                "cycles %.3f, within 1 cycle %.3f, mean |log1p error| %.4f\n",
                dirs, tied, values.size(), exact / m, within1 / m, log_err / m);
    RecordProperty(fmt::format("d{}_t{}_exact", dirs, tied), std::to_string(exact / m));
    EXPECT_GT(within1 / m, 0.3);  // a loose sanity bound, far below the measured figures
  }
}

TEST(Int8ReferenceTest, ConstantTrainingFeaturesDoNotCollapseTheProjection) {
  // Trained packages have features that never vary in the training data (pc_hi = 0 for every
  // program below 2^42): their std is clamped to 1e-3 and their device-unit weights are huge.
  // The projection must still carry the other features.
  const auto c = test::tiny_config(2, true, 16);
  auto fp = make_random_fp32_package(c, 61);
  fp.at("norm.mean").data<float>()[0] = 0;
  fp.at("norm.std").data<float>()[0] = 1e-3f;
  const size_t n = 600;
  const auto x = synthetic_features("paper13", n, 62);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(x[i * 13], 0);  // pc_hi is constant
  const Fp32Model fm(fp);
  Calibrator cal(fm);
  cal.add_epoch(x, n, 0);
  const auto q = quantize(fp, cal.stats(), {});
  const Int8Reference ref(q);
  const auto tr = ref.trace_window(ref.codec().encode(x), n, 20);
  const double s_u = q.card.quantization["scales"]["input_proj_output"].get<double>();
  const auto W = fp.get<float>("input_proj.weight"), b = fp.get<float>("input_proj.bias"),
             mean = fp.get<float>("norm.mean"), sd = fp.get<float>("norm.std");
  double err = 0;
  int count = 0;
  for (int t = 0; t < tr.length; ++t) {
    const int64_t pos = tr.first_position + t;
    if (pos < 0 || pos >= int64_t(n)) continue;
    for (int i = 0; i < 16; ++i) {
      double u = b[i];
      for (int j = 0; j < 13; ++j) u += W[i * 13 + j] * (x[pos * 13 + j] - mean[j]) / sd[j];
      err += std::fabs(tr.u[size_t(t) * 16 + i] * s_u - u) / s_u;
      ++count;
    }
  }
  EXPECT_LT(err / count, 1.5) << "mean |u error| in quantisation steps";
}
