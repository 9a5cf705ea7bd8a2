// Randomised programs on the tiny configs, cross-checked against csim instruction by instruction:
// every unit's datapath (MAC array, PPU element pipeline, DMA paths, bank contention and
// broadcast) and the front ends (loops, address registers, semaphores, sync).
#include "random_program.h"
#include "tb_util.h"

using namespace ntr;
using namespace ntr::tb;
using namespace ntr::tb::testing;

namespace {

void check(const std::string& cfg_name, const RandomProgram& p, uint32_t seed) {
  XcheckOptions o;
  o.compare_gwb = p.stores_gwb;
  const auto cfg = accel(cfg_name);
  const XcheckResult r = cross_check(&model(cfg_name), cfg, p.program, p.gwb, p.gib, o);
  ASSERT_FALSE(r.csim_error) << "seed " << seed << ": the generator made a failing program: " << r.csim_message << "\n"
                             << p.text();
  ASSERT_TRUE(r.ok) << cfg_name << " seed " << seed << ": " << r.mismatch << "\n" << p.text();
  EXPECT_GT(r.completions, 10u);
}

}  // namespace

TEST(RtlRandomTest, PipelinedUnitsOnOneTile) {
  for (uint32_t seed = 1; seed <= 40; ++seed) check("tiny", pipeline(accel("tiny"), seed), seed);
}

TEST(RtlRandomTest, PipelinedUnitsOnTwoTiles) {
  for (uint32_t seed = 101; seed <= 130; ++seed) check("tiny-2t", pipeline(accel("tiny-2t"), seed), seed);
}

TEST(RtlRandomTest, LoopsAndAddressRegisters) {
  for (uint32_t seed = 201; seed <= 260; ++seed) check("tiny", control(accel("tiny"), seed), seed);
  for (uint32_t seed = 301; seed <= 320; ++seed) check("tiny-2t", control(accel("tiny-2t"), seed), seed);
}
