// Full size: paper-bi-tied compiled for neutrino-1t and neutrino-8t (16x16 lanes, 1.25 MB global
// buffers) on the RTL, every instruction in lockstep with csim, the predictions bit-exact to the
// INT8 reference, the run length equal to the compiler's schedule and its LSTM step within the
// paper's budget of 8264 cycles (docs/rtl.md, "Cross-check coverage"). Prints the simulation
// speeds that docs/results/rtl.md quotes.
//
// Built twice: test_rtl_full (label xcheck) runs two windows of 8 steps per tile (the model's full
// layer sizes, a short window: seconds); test_rtl_full_window (label slow, NTR_FULL_WINDOW) runs one
// run of whole windows of the card (L = 512 steps, T = 128; 300 instructions: 3 windows, ~13 M
// cycles: minutes).
#include <cstdio>

#include "model_check.h"

using namespace ntr::tb::testing;

namespace {

void run(const Case& c) {
  const Outcome o = run_and_check(c);
  EXPECT_EQ(o.stats.runs, 1u);
  const double per_step = o.report.at("cycles_per_step").get<double>();
  EXPECT_LE(per_step, 8264.0);
  const auto& k = o.counters;
  const double rtl_s = k.at("rtl_seconds").get<double>(), csim_s = k.at("csim_seconds").get<double>();
  std::printf("%s on %s, window L=%d: %llu cycles in 1 run (%.1f per LSTM step), %llu instructions compared\n"
              "  RTL %.2f s = %.0f cycles/s; csim %.3f s = %.0f cycles/s; csim/RTL speed ratio %.0f\n",
              c.model.c_str(), c.accel.c_str(), o.report.at("window").at("length").get<int>(),
              static_cast<unsigned long long>(o.stats.cycles), per_step,
              static_cast<unsigned long long>(k.at("instructions_compared").get<uint64_t>()), rtl_s,
              static_cast<double>(o.stats.cycles) / rtl_s, csim_s, static_cast<double>(o.stats.cycles) / csim_s, rtl_s / csim_s);
}

}  // namespace

#ifndef NTR_FULL_WINDOW
TEST(RtlFullTest, PaperBiTiedShortWindowOnNeutrino1t) {
  run(Case{"configs/model/paper-bi-tied.yaml", "neutrino-1t", 8, 8, 4});
}

// Eight tiles in lockstep: lockstep weight broadcast, GIB bank contention, per-tile addresses.
TEST(RtlFullTest, PaperBiTiedShortWindowOnNeutrino8t) {
  run(Case{"configs/model/paper-bi-tied.yaml", "neutrino-8t", 64, 8, 4});
}
#else
TEST(RtlFullTest, PaperBiTiedWholeWindowOnNeutrino1t) {
  run(Case{"configs/model/paper-bi-tied.yaml", "neutrino-1t", 300});
}
#endif
