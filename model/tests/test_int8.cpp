#include <gtest/gtest.h>

#include <cmath>

#include "ns/model/error.h"
#include "ns/model/int8.h"
#include "ns/model/package.h"
#include "test_util.h"

using namespace ns::model;
using namespace ns::model::int8;

TEST(Int8SpecTest, HelpersRoundHalfUpWithArithmeticShifts) {
  EXPECT_EQ(rshr(5, 0), 5);
  EXPECT_EQ(rshr(3, 1), 2);    // 1.5 -> 2
  EXPECT_EQ(rshr(-3, 1), -1);  // -1.5 -> -1 (half towards +infinity)
  EXPECT_EQ(rshr(-1, 1), 0);   // -0.5 -> 0
  EXPECT_EQ(rshr(-5, 2), -1);  // -1.25 -> -1
  EXPECT_EQ(rshr(-6, 2), -1);  // -1.5 -> -1
  EXPECT_EQ(rshr(-7, 2), -2);  // -1.75 -> -2
  EXPECT_EQ(sat8(200), 127);
  EXPECT_EQ(sat8(-129), -128);
  EXPECT_EQ(sat16(40000), 32767);
  // requant: 64-bit product, no overflow at the extremes.
  EXPECT_EQ(requant(INT32_MAX, INT32_MAX, 62), 1);
  EXPECT_EQ(requant(INT32_MIN, INT32_MAX, 31), -2147483647);
  EXPECT_EQ(requant(1000, 1 << 30, 31), 500);
  EXPECT_EQ(requant(-1001, 1 << 30, 31), -500);  // -500.5 -> -500
}

TEST(Int8SpecTest, ActivationTablesArePinned) {
  // Section 6 fixes the tables by formula; a libm that rounds differently must fail here.
  EXPECT_EQ(table_sha256(sigmoid_table()),
            "5ec149f4aaa7d9c91d60c63c3f9436e051ac8d08e4b6807d9bcba8835b5bf405");
  EXPECT_EQ(table_sha256(tanh_table()),
            "e91dd34e644c2e2e7ba7f2e1f69601e6c6184b47d98a92574af8cdc156914a6a");
  EXPECT_EQ(sigmoid_table()[128], 16384);  // sigmoid(0) = 0.5
  EXPECT_EQ(sigmoid_table()[0], 11);       // 32768 * sigmoid(-8) = 10.99
  EXPECT_EQ(sigmoid_table()[256], 32757);
  EXPECT_EQ(tanh_table()[128], 0);
  EXPECT_EQ(tanh_table()[0], -32768);  // -32767.96 rounds away to -32768
  EXPECT_EQ(tanh_table()[256], 32767);  // +32768 saturates
  for (int n = 1; n < kActEntries; ++n) {
    EXPECT_GE(sigmoid_table()[n], sigmoid_table()[n - 1]);
    EXPECT_GE(tanh_table()[n], tanh_table()[n - 1]);
  }
}

TEST(Int8SpecTest, ActivationInterpolatesBetweenEntries) {
  const auto& t = tanh_table();
  for (int n = 0; n < 256; ++n) EXPECT_EQ(activate(t, static_cast<int16_t>(n * 256 - 32768)), t[n]);
  // Halfway between entries 128 and 129 (p = 128 = 1/32 in Q3.12).
  EXPECT_EQ(activate(t, 128), t[128] + rshr(t[129] - t[128], 1));
  EXPECT_EQ(activate(t, 32767), t[255] + rshr((t[256] - t[255]) * 255, 8));
  // Against the real function: interpolation error stays below 0.2% of full scale.
  for (int p = -32768; p < 32768; p += 97) {
    const double x = p / 4096.0;
    EXPECT_NEAR(activate(t, static_cast<int16_t>(p)) / 32768.0, std::tanh(x), 2e-3) << p;
    EXPECT_NEAR(activate(sigmoid_table(), static_cast<int16_t>(p)) / 32768.0, 1 / (1 + std::exp(-x)),
                1e-3)
        << p;
  }
}

TEST(Int8SpecTest, CellUpdateFollowsSection5) {
  const auto& s = sigmoid_table();
  const auto& t = tanh_table();
  // Gates fully open, candidate 1: c grows by one (Q3.15 = 32768 per unit) minus rounding.
  const auto a = lstm_cell(32767, 32767, 32767, 32767, 0, s, t);
  EXPECT_EQ(a.i, activate(s, 32767));
  EXPECT_EQ(a.c, rshr(int64_t{a.i} * a.g, 15));
  EXPECT_EQ(a.h, sat8(rshr(a.h16, 8)));
  // The cell saturates at |c| < 8 and f * c needs 64 bits (2^15 * 2^18 > 2^31).
  const auto b = lstm_cell(32767, 32767, 32767, 32767, kCellMax, s, t);
  EXPECT_EQ(b.c, kCellMax);
  const auto c = lstm_cell(32767, 32767, -32768, 32767, -kCellMax - 1, s, t);
  EXPECT_EQ(c.c, -kCellMax - 1);
  EXPECT_LT(c.h, -120);
  EXPECT_EQ(tied_output(127, 127), 127);
  EXPECT_EQ(tied_output(-128, -128), -128);
  EXPECT_EQ(tied_output(3, -2), 1);    // 0.5 -> 1
  EXPECT_EQ(tied_output(-3, 2), 0);    // -0.5 -> 0
}

TEST(Int8SpecTest, FeatureCodecWritesSection3Bytes) {
  FeatureCodec c{{100, 0, -7}, {2, 0, 4}, {1, 1, 2}};
  EXPECT_EQ(c.row_bytes(), 4);
  const std::vector<int32_t> raw = {100 + 6, 5, -7 + 4096 + 8, 100 - 10000, 300, -7 - 2000000};
  const auto b = c.encode(raw);
  ASSERT_EQ(b.size(), 8u);
  EXPECT_EQ(b[0], 2);    // rshr(6, 2) = 1.5 -> 2
  EXPECT_EQ(b[1], 5);
  // Feature 2: v = rshr(4104, 4) = 257 (256.5 rounds up): low byte first.
  EXPECT_EQ(256 * b[3] + b[2] + 128, 257);
  EXPECT_EQ(b[4], -128);  // saturates
  EXPECT_EQ(b[5], 127);
  EXPECT_EQ(256 * b[7] + b[6] + 128, -32768);  // sat16
  EXPECT_EQ(c.padding_row(), c.encode(std::vector<int32_t>{0, 0, 0}));
  EXPECT_THROW(c.encode(std::vector<int32_t>{1, 2}), ModelError);
}

TEST(Int8SpecTest, ThresholdCyclesEqualRoundHalfUpExpm1OverTheWholeRange) {
  // cycles(r) is a step function that only changes at thresholds: checking both sides of every
  // threshold (and far below and above) covers every int32 r.
  for (double scale : {7.7e-6, 1.3e-4, 2.5e-3}) {
    const int clip = 1000;
    const auto theta = cycle_thresholds(scale, clip);
    auto rule = [&](int64_t r) {
      const long double v = std::floor(std::expm1(static_cast<long double>(r) * scale) + 0.5L);
      return static_cast<uint32_t>(std::clamp<long double>(v, 0, clip));
    };
    for (int n = 0; n < clip; ++n) {
      for (int64_t r : {int64_t{theta[n]} - 1, int64_t{theta[n]}, int64_t{theta[n]} + 1})
        EXPECT_EQ(cycles_from_r(theta, static_cast<int32_t>(r)), rule(r)) << "scale " << scale << " r " << r;
    }
    for (int32_t r : {INT32_MIN, -1, 0, 1, INT32_MAX})
      EXPECT_EQ(cycles_from_r(theta, r), rule(r)) << r;
  }
  EXPECT_THROW(cycle_thresholds(0.0, 10), ModelError);
  // A tiny scale pushes large thresholds to INT32_MAX instead of wrapping.
  const auto big = cycle_thresholds(1e-9, 1000);
  EXPECT_EQ(big.back(), INT32_MAX);
  EXPECT_EQ(cycles_from_r(big, INT32_MAX), 1000u);
}
