// The Yosys flow on the real RTL with the tiny configs (label rtl: needs Yosys; a few minutes on
// two loaded cores the first time, then cached in the build tree).
#include <gtest/gtest.h>

#include "ntr/isa/config.h"
#include "ntr/synth/ppa.h"
#include "ntr/synth/yosys.h"
#include "test_util.h"

namespace ntr::synth {
namespace {

isa::AccelConfig accel(const std::string& name) {
  return isa::load_accel_config(testing::source_dir() / "configs/accel" / (name + ".yaml"));
}

YosysFlow flow() { return default_flow(); }

bool have_rtl() {
  for (const auto& f : flow().sources)
    if (f.filename() == "ntr_top.sv") return std::filesystem::exists(f);
  return false;
}

TEST(SynthFlowTest, SynthesisesTheTinyConfig) {
  if (!have_rtl()) GTEST_SKIP() << "no rtl/ntr_top.sv in this build";
  const Technology tech = resolve_technology("n16");
  const auto cfg = accel("tiny");
  const SynthRun run = synthesize(cfg, flow());
  const LogicInventory inv = logic_from_synthesis(run, tech);
  EXPECT_EQ(inv.detail["tiles_in_netlist"], 1);
  // The accumulators alone are acc_banks x lanes x 32 flip-flops in the MAC class.
  EXPECT_GE(inv.tile.at("mac").flops, cfg.mac_acc_banks * cfg.lanes() * 32);
  EXPECT_GT(inv.tile.at("ppu").ge, 0);
  EXPECT_GT(inv.shared_ge(), 0);
  // Every byte the config declares for the tile's buffers is an ntr_sram bit in the RTL (the RTL
  // may add banks or ports, never lose capacity); coefficient rows are packed narrower in the RTL
  // (70 bits) than csim's 12-byte rows, so they count 8 bytes each here.
  const int64_t tile_bytes = cfg.lwb_bytes + cfg.lib_bytes + cfg.ppu_cb_rows * 8 + cfg.ppu_vs_words * 4;
  EXPECT_GE(inv.detail["rtl_srams"]["one_tile_bytes"].get<int64_t>(), tile_bytes);
  EXPECT_GE(inv.detail["rtl_srams"]["total_bytes"].get<int64_t>(), tile_bytes + cfg.gwb_bytes + cfg.gib_bytes);
  // A second call reuses the run.
  const SynthRun again = synthesize(cfg, flow());
  EXPECT_TRUE(again.cached);
  EXPECT_EQ(again.key, run.key);
}

// tiny-2t's two tiles are one module, instantiated twice, with tiny's tile parameters. Its gate
// count matches tiny's tile to within ABC's mapping noise, not exactly: Yosys maps the same
// parameterised module to slightly different gates depending on the design around it (in these
// two runs ntr_ppu_lane gives 26,984 and 26,955 cells, the shared ntr_sem 38,953 and 38,959), and
// the tiles differ by 124.7 of 283,164 GE (0.044%). Flip-flops are not remapped, so they match.
TEST(SynthFlowTest, TilesShareOneTileModule) {
  if (!have_rtl()) GTEST_SKIP() << "no rtl/ntr_top.sv in this build";
  const Technology tech = resolve_technology("n16");
  const SynthRun one_run = synthesize(accel("tiny"), flow()), two_run = synthesize(accel("tiny-2t"), flow());
  EXPECT_EQ(find_module(one_run.stats, "ntr_tile"), find_module(two_run.stats, "ntr_tile"));
  const auto one = logic_from_synthesis(one_run, tech);
  const auto two = logic_from_synthesis(two_run, tech);
  EXPECT_EQ(two.detail["tiles_in_netlist"], 2);
  // The same modules below the tile, as many of each.
  for (const auto& [name, m] : one.detail["modules_one_tile"].items())
    EXPECT_EQ(two.detail["modules_one_tile"].at(name)["instances"], m["instances"]) << name;
  EXPECT_EQ(two.detail["modules_one_tile"].size(), one.detail["modules_one_tile"].size());
  EXPECT_EQ(two.tile_flops(), one.tile_flops());
  EXPECT_NEAR(two.tile_ge(), one.tile_ge(), 1e-3 * one.tile_ge());
  EXPECT_EQ(two.detail["rtl_srams"]["one_tile_bytes"], one.detail["rtl_srams"]["one_tile_bytes"]);
}

TEST(SynthFlowTest, ReportsAMissingRtlSource) {
  YosysFlow f = flow();
  f.sources.push_back(testing::source_dir() / "no-such-rtl" / "ntr_x.sv");
  try {
    synthesize(accel("tiny"), f);
    FAIL() << "expected SynthError";
  } catch (const SynthError& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-rtl"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ntr::synth
