#include <gtest/gtest.h>

#include <cmath>

#include "ns/model/error.h"
#include "ns/model/fp32_model.h"
#include "ns/model/safetensors.h"
#include "ns/model/synthetic.h"
#include "ns/model/window.h"
#include "test_util.h"

using namespace ns::model;

namespace {

// |got - want| <= 1e-4 * max(|want|, 1e-2); returns the worst relative error seen.
double expect_close(std::span<const float> got, std::span<const float> want, const std::string& what) {
  EXPECT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    const double err = std::fabs(double(got[i]) - want[i]) / std::max(std::fabs(double(want[i])), 1e-2);
    worst = std::max(worst, err);
    EXPECT_LE(err, 1e-4) << what << "[" << i << "]: " << got[i] << " vs " << want[i];
  }
  return worst;
}

// [D, N, k] (the vectors' layout) to [N, D, k] (ours).
std::vector<float> design_major_to_instruction_major(std::span<const float> v, size_t D, size_t N,
                                                     size_t k) {
  std::vector<float> out(v.size());
  for (size_t d = 0; d < D; ++d)
    for (size_t i = 0; i < N; ++i)
      for (size_t j = 0; j < k; ++j) out[(i * D + d) * k + j] = v[(d * N + i) * k + j];
  return out;
}

}  // namespace

// model/tests/data/crosscheck/: tiny packages with expected outputs from the training side's
// float64 reference, which PyTorch's module reproduces (`python3 -m model.train crosscheck --check`).
TEST(Fp32ModelTest, MatchesTheTrainingReferenceToOneInTenThousand) {
  for (const char* variant : {"tiny-uni", "tiny-bi-tied", "tiny-bi"}) {
    SCOPED_TRACE(variant);
    const auto dir = test::source_dir() / "model/tests/data/crosscheck" / variant;
    const ModelPackage pkg = load_package(dir);
    const auto vec = read_safetensors(dir / "vectors.safetensors");
    const auto feats = vec.tensors.at("features").data<int32_t>();
    const auto epochs = vec.tensors.at("epochs").data<int32_t>();
    const size_t F = 13, N = feats.size() / F, D = pkg.card.designs.size(),
                 Y = static_cast<size_t>(pkg.card.arch.output_width());
    ASSERT_EQ(static_cast<size_t>(epochs.back()), N);
    std::vector<uint32_t> cycles(N * D);
    std::vector<float> pred(N * D), logits(2 * N * D), reg(2 * N * D), y(N * Y);
    for (int batch : {1, 2, 32}) {
      const Fp32Model model(pkg, RunOptions{.threads = 2, .batch_windows = batch});
      for (size_t e = 0; e + 1 < epochs.size(); ++e) {
        const size_t a = static_cast<size_t>(epochs[e]), n = static_cast<size_t>(epochs[e + 1]) - a;
        model.predict(feats.subspan(a * F, n * F), n,
                      Fp32Outputs{.cycles = std::span(cycles).subspan(a * D, n * D),
                                  .pred = std::span(pred).subspan(a * D, n * D),
                                  .logits = std::span(logits).subspan(2 * a * D, 2 * n * D),
                                  .regressors = std::span(reg).subspan(2 * a * D, 2 * n * D),
                                  .y = std::span(y).subspan(a * Y, n * Y)});
      }
      std::vector<float> want_reg(2 * N * D);
      const auto s = vec.tensors.at("short").data<float>(), l = vec.tensors.at("long").data<float>();
      for (size_t d = 0; d < D; ++d)
        for (size_t i = 0; i < N; ++i) {
          want_reg[(i * D + d) * 2] = s[d * N + i];
          want_reg[(i * D + d) * 2 + 1] = l[d * N + i];
        }
      double worst = 0;
      worst = std::max(worst, expect_close(y, vec.tensors.at("y").data<float>(), "y"));
      worst = std::max(worst, expect_close(logits, design_major_to_instruction_major(
                                                       vec.tensors.at("logits").data<float>(), D, N, 2),
                                           "logits"));
      worst = std::max(worst, expect_close(reg, want_reg, "regressors"));
      worst = std::max(worst, expect_close(pred, design_major_to_instruction_major(
                                                     vec.tensors.at("pred").data<float>(), D, N, 1),
                                           "pred"));
      const auto want_cycles = vec.tensors.at("cycles").data<int32_t>();
      for (size_t d = 0; d < D; ++d)
        for (size_t i = 0; i < N; ++i)
          EXPECT_EQ(cycles[i * D + d], static_cast<uint32_t>(want_cycles[d * N + i])) << i << "," << d;
      RecordProperty(std::string(variant) + "_worst_relative_error", std::to_string(worst));
    }
  }
}

TEST(Fp32ModelTest, BatchingAndThreadsDoNotChangeResults) {
  const auto pkg = make_random_fp32_package(test::tiny_config(2, false), 3);
  const size_t n = 301;
  const auto x = synthetic_features("paper13", n, 9);
  const auto ref = Fp32Model(pkg, {.threads = 1, .batch_windows = 1}).predict(x, n);
  for (int threads : {1, 2, 3})
    for (int batch : {2, 7, 100})
      EXPECT_EQ(Fp32Model(pkg, {.threads = threads, .batch_windows = batch}).predict(x, n), ref);
}

TEST(Fp32ModelTest, PredictsEveryInstructionExactlyOnce) {
  // Windowing (docs/model.md): windows k = 0..ceil(N/T)-1 cover every position exactly once.
  for (size_t n : {1, 3, 4, 5, 17, 100}) {
    const WindowPlan plan(n, 14, 4);
    std::vector<int> seen(n, 0);
    for (size_t k = 0; k < plan.count(); ++k)
      for (int t = plan.context(); t < plan.context() + plan.targets_in(k); ++t) {
        ASSERT_FALSE(plan.is_padding(k, t));
        ++seen[static_cast<size_t>(plan.position(k, t))];
      }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(n)) << n;
    EXPECT_TRUE(plan.is_padding(0, plan.context() - 1));
  }
  // Every output slot is written: poison them and check no poison survives.
  const auto pkg = make_random_fp32_package(test::tiny_config(), 4);
  const size_t n = 23;
  const auto x = synthetic_features("paper13", n, 1);
  std::vector<uint32_t> cycles(n * 3, 0xdeadbeef);
  Fp32Model(pkg).predict(x, n, Fp32Outputs{.cycles = cycles});
  for (uint32_t c : cycles) EXPECT_LE(c, 60u);
}

TEST(Fp32ModelTest, RefusesMismatchedInputs) {
  const Fp32Model model(make_random_fp32_package(test::tiny_config(), 4));
  std::vector<int32_t> x(13 * 5);
  std::vector<uint32_t> cycles(5 * 3);
  EXPECT_THROW(model.predict(x, 6, Fp32Outputs{.cycles = cycles}), ModelError);
  std::vector<uint32_t> short_out(4);
  EXPECT_THROW(model.predict(x, 5, Fp32Outputs{.cycles = short_out}), ModelError);
  EXPECT_THROW(Fp32Model(make_random_int8_package(test::tiny_config(), 4)), ModelError);
}

TEST(Fp32ModelTest, CyclesFollowTheRoundHalfUpRule) {
  EXPECT_EQ(cycles_from_pred(-3.0f, 1000), 0u);
  EXPECT_EQ(cycles_from_pred(std::log1p(2.49f), 1000), 2u);
  EXPECT_EQ(cycles_from_pred(std::log1p(2.51f), 1000), 3u);
  EXPECT_EQ(cycles_from_pred(20.0f, 1000), 1000u);
  EXPECT_EQ(cycles_from_pred(std::numeric_limits<float>::infinity(), 7), 7u);
}
