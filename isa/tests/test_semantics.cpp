#include <gtest/gtest.h>

#include <cmath>

#include "ntr/isa/semantics.h"

using namespace ntr::isa;

namespace {

// Tables by the formula of docs/int8-spec.md section 6.
ActTables spec_tables() {
  ActTables t;
  for (int n = 0; n <= 256; ++n) {
    const double x = -8.0 + n / 16.0;
    auto q = [](double v) {
      const double r = std::round(32768.0 * v);  // round half away from zero
      return static_cast<int16_t>(std::min(32767.0, std::max(-32768.0, r)));
    };
    t.sig[static_cast<std::size_t>(n)] = q(1.0 / (1.0 + std::exp(-x)));
    t.tanh[static_cast<std::size_t>(n)] = q(std::tanh(x));
  }
  return t;
}

}  // namespace

TEST(SemanticsTest, IntegerHelpersFollowTheSpec) {
  EXPECT_EQ(rshr(5, 1), 3);     // 2.5 rounds up
  EXPECT_EQ(rshr(-5, 1), -2);   // -2.5 rounds towards +inf
  EXPECT_EQ(rshr(-6, 2), -1);   // -1.5 -> -1
  EXPECT_EQ(rshr(7, 0), 7);
  EXPECT_EQ(rshr(INT64_MAX, 63), 1);
  EXPECT_EQ(rshr(INT64_MIN, 63), -1);
  EXPECT_EQ(wrap32(int64_t{1} << 32), 0);
  EXPECT_EQ(wrap32(0x80000000LL), INT32_MIN);
}

TEST(SemanticsTest, ActivationLookupInterpolates) {
  const ActTables t = spec_tables();
  EXPECT_EQ(act_lookup(t.sig, 0), t.sig[128]);  // sigmoid(0) = 0.5
  EXPECT_EQ(t.sig[128], 16384);
  EXPECT_EQ(act_lookup(t.tanh, 0), 0);
  // Halfway between two entries.
  const int64_t mid = act_lookup(t.sig, 128);  // 128 / 4096 = 1/32 = half a step of 1/16
  EXPECT_EQ(mid, t.sig[128] + rshr((t.sig[129] - t.sig[128]) * 128, 8));
  // Saturates its input to int16.
  EXPECT_EQ(act_lookup(t.tanh, 1 << 20), act_lookup(t.tanh, 32767));
}

TEST(SemanticsTest, PpuElementPipeline) {
  const ActTables t = spec_tables();
  const CbRow cb{100, 1 << 30, 31};  // (acc + 100) / 2
  Ppu p;
  p.rq = Rq::Row;
  p.sat1 = Sat1::S8;
  EXPECT_EQ(ppu_element(p, 500, 0, 0, cb, t), 127);  // 300 saturates
  EXPECT_EQ(ppu_element(p, -101, 0, 0, cb, t), 0);   // -0.5 rounds up to 0
  p.relu = true;
  EXPECT_EQ(ppu_element(p, -1000, 0, 0, cb, t), 0);
  // Gate: SIG of 0 is 16384; times c = 1000 in Q0.15 -> 500; plus old 7; oshift 1 -> 254 (rshr 253.5)
  Ppu g;
  g.a_space = Asrc::Zero;
  g.act = Act::Sig;
  g.mul = true;
  g.add = true;
  g.oshift = 1;
  EXPECT_EQ(ppu_element(g, 0, 1000, 7, CbRow{}, t), 254);
  // C19 saturation of the cell state.
  Ppu c;
  c.add = true;
  c.sat2 = Sat2::C19;
  EXPECT_EQ(ppu_element(c, 300000, 0, 0, CbRow{}, t), 262143);
  EXPECT_EQ(ppu_element(c, -300000, 0, 0, CbRow{}, t), -262144);
  // SHIFT requantisation: tc = TANH(sat16(rshr(c, 3))).
  Ppu tc;
  tc.a_space = Asrc::Vs;
  tc.rq = Rq::Shift;
  tc.rshift = 3;
  tc.sat1 = Sat1::S16;
  tc.act = Act::Tanh;
  EXPECT_EQ(ppu_element(tc, 8 * 4096, 0, 0, CbRow{}, t), act_lookup(t.tanh, 4096));
  EXPECT_EQ(store_narrow(Pdst::Lib8, 200), -56);
  EXPECT_EQ(store_narrow(Pdst::Vs, (int64_t{1} << 32) + 5), 5);
  EXPECT_EQ(psel_element(3, 4, 10, 20), 20);
  EXPECT_EQ(psel_element(4, 4, 10, 20), 10);
}

TEST(SemanticsTest, CbRowsAndMacInputs) {
  uint8_t b[12];
  pack_cb_row(CbRow{-5, 1234567890, 40}, b);
  const CbRow r = unpack_cb_row(b);
  EXPECT_EQ(r.bias, -5);
  EXPECT_EQ(r.mult, 1234567890);
  EXPECT_EQ(r.shift, 40);
  const uint8_t lib[4] = {0xff, 0x01, 0x80, 0x7f};
  EXPECT_EQ(mvm_input(lib, 0, 0, false), -1);
  EXPECT_EQ(mvm_input(lib, 0, 2, false), -128);
  EXPECT_EQ(mvm_input(lib, 0, 0, true), -1 + 256 * 1);
  EXPECT_EQ(mvm_input(lib, 0, 1, true), -128 + 256 * 127);
}
