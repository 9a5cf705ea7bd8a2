// Full-size: one paper-bi-tied step (one run of 2 x 128 windows on one tile) on the neutrino-1t
// RTL, in lockstep with csim, bit-exact to the INT8 reference and within the paper's budget
// (docs/rtl.md, "Cross-check coverage"). Prints the simulation speeds for docs/results/rtl.md.
#include <cstdio>

#include "model_check.h"

using namespace ntr::tb::testing;

TEST(RtlFullTest, PaperBiTiedStepOnNeutrino1t) {
  const Outcome o = run_and_check(Case{"configs/model/paper-bi-tied.yaml", "neutrino-1t", 256});
  EXPECT_EQ(o.stats.runs, 1u);
  EXPECT_LE(o.stats.cycles, 8264u);
  const auto& c = o.counters;
  std::printf("paper-bi-tied on neutrino-1t: %llu cycles, %llu instructions compared; RTL %.2f s (%.0f clocks/s), csim %.3f s\n",
              static_cast<unsigned long long>(o.stats.cycles),
              static_cast<unsigned long long>(c.at("instructions_compared").get<uint64_t>()),
              c.at("rtl_seconds").get<double>(), c.at("clocks").get<double>() / c.at("rtl_seconds").get<double>(),
              c.at("csim_seconds").get<double>());
}
