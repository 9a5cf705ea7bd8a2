#include <cmath>

#include <gtest/gtest.h>

#include "ntr/synth/ppa.h"
#include "test_util.h"

namespace ntr::synth {
namespace {

using csim::Buffer;
using csim::Dir;
using csim::Port;
using csim::PpuOp;

isa::AccelConfig accel(const std::string& name) {
  return isa::load_accel_config(testing::source_dir() / "configs/accel" / (name + ".yaml"));
}

// A run of the two-tile tiny config, every counter chosen by hand.
csim::Stats hand_stats() {
  csim::Stats s;
  s.tiles = 2;
  s.lanes = 16;
  s.clock_mhz = 500;
  s.cycles = 1000;
  s.mac_ops = 100;  // per tile
  s.mac_busy_cycles = 50;
  s.ppu[static_cast<size_t>(PpuOp::RqRow)] = 10;
  s.ppu[static_cast<size_t>(PpuOp::Sig)] = 4;
  s.ppu[static_cast<size_t>(PpuOp::Element)] = 99;  // pipeline passes: registers, not an event
  s.ppu[static_cast<size_t>(PpuOp::StoreVs)] = 7;   // a VS write, counted by the VS port
  s.at(Buffer::Lwb, Port::Mac, Dir::Read).add(50, 16);  // per tile
  s.at(Buffer::Gwb, Port::Dma, Dir::Read).add(10, 16);  // machine
  auto& dma = s.streams[static_cast<size_t>(isa::Stream::Dma)];
  dma.control = 5;
  dma.datapath = 5;
  dma.busy_cycles = 30;
  return s;
}

LogicInventory hand_logic() {
  LogicInventory l;
  l.source = "given";
  l.tile["mac"] = {1000, 100};
  l.tile["control"] = {500, 10};
  l.shared["control"] = {200, 20};
  l.shared["dma"] = {100, 8};
  return l;
}

// The example of docs/ppa.md ("A hand-computed example"), with the round-number technology of
// synth/tests/data/unit_tech.yaml: no scaling, SRAM 1 fJ per bit moved, no wires.
TEST(PowerTest, ReproducesTheHandComputedExample) {
  const Technology tech = testing::unit_tech();
  const auto p = evaluate_point(accel("tiny-2t"), 500, hand_stats(), 10, tech, hand_logic());
  const auto& e = p.energy.dynamic_pj;
  // MAC: 100 MACs x 2 tiles x (mul8 1 + add32 1) pJ.
  EXPECT_DOUBLE_EQ(e.at("mac"), 400);
  // PPU: 2 tiles x (10 rq_row x (1 + 10 + 1) + 4 sigmoid x (4 + 1 + 1)) pJ.
  EXPECT_DOUBLE_EQ(e.at("ppu"), 288);
  // SRAM: 50 reads x 128 bits x 1 fJ x 2 tiles; 10 GWB reads x 128 bits; 10 instruction fetches.
  EXPECT_NEAR(e.at("sram.lwb.read"), 12.8, 1e-9);
  EXPECT_NEAR(e.at("sram.gwb.read"), 1.28, 1e-9);
  EXPECT_NEAR(e.at("sram.imem.read"), 1.28, 1e-9);
  EXPECT_DOUBLE_EQ(e.at("sram.vs.write"), 0);
  EXPECT_DOUBLE_EQ(e.at("wires.lwb"), 0);
  // Registers: 100 flip-flops x 2 tiles x 50 MAC cycles x (1 + 0.5 x 2) fJ;
  // (10 x 2 + 20) control flip-flops x 1000 cycles x (1 + 0.1 x 2) fJ; 8 x 30 DMA cycles x 1.5 fJ.
  EXPECT_NEAR(e.at("registers.mac"), 20, 1e-9);
  EXPECT_NEAR(e.at("registers.control"), 48, 1e-9);
  EXPECT_NEAR(e.at("registers.dma"), 0.36, 1e-9);
  EXPECT_NEAR(p.energy.dynamic_total_pj(), 771.72, 1e-9);
  // Leakage: (1500 x 2 + 300) GE x 1 nW (SRAMs: no periphery, no bit-cell leakage) over
  // 1000 cycles at 500 MHz = 2 us.
  EXPECT_NEAR(p.energy.leakage_mw, 0.0033, 1e-12);
  EXPECT_NEAR(p.energy.seconds, 2e-6, 1e-18);
  EXPECT_NEAR(p.energy.total_pj(), 778.32, 1e-9);
  EXPECT_NEAR(p.energy.power_mw(), 0.38916, 1e-12);
  EXPECT_NEAR(p.energy_per_instr_nj(), 0.077832, 1e-12);
  EXPECT_NEAR(p.instr_per_s(), 5e6, 1e-6);
  // Area: logic 1500 GE x 0.1 um^2 / 0.5 utilisation per tile, 300 GE shared; SRAM = bits x
  // 0.1 um^2 (every buffer divides into whole macros): per tile LWB 2 KiB, LIB 2 KiB, CB 3 KiB,
  // VS 1 KiB; shared GWB 64 KiB, GIB 64 KiB, instruction memories 3 x 1024 x 16 B.
  EXPECT_NEAR(p.area.tile_logic_um2, 300, 1e-9);
  EXPECT_NEAR(p.area.shared_logic_um2, 60, 1e-9);
  EXPECT_NEAR(p.area.tile_sram_um2, (2048 + 2048 + 3072 + 1024) * 8 * 0.1, 1e-6);
  EXPECT_NEAR(p.area.shared_sram_um2, (65536 + 65536 + 49152) * 8 * 0.1, 1e-6);
  EXPECT_NEAR(p.area.total_um2(), 157946.4, 1e-6);
  const auto groups = p.energy.power_by_group_mw();
  EXPECT_NEAR(groups.at("mac"), 400e-9 / 2e-6 * 1e3 * 1e-3, 1e-12);  // 400 pJ in 2 us = 0.2 mW
  EXPECT_NEAR(groups.at("leakage"), 0.0033, 1e-12);
}

TEST(PowerTest, WithoutSynthesisLeavesRegistersAndLogicOut) {
  const auto p = evaluate_point(accel("tiny-2t"), 500, hand_stats(), 10, testing::unit_tech(), std::nullopt);
  EXPECT_FALSE(p.area.logic_known);
  EXPECT_EQ(p.energy.dynamic_pj.count("registers.mac"), 0u);
  EXPECT_NEAR(p.energy.dynamic_total_pj(), 771.72 - 20 - 48 - 0.36, 1e-9);
  EXPECT_DOUBLE_EQ(p.energy.leakage_mw, 0);
  EXPECT_TRUE(to_json(p)["logic"].is_null());
}

TEST(PowerTest, WiresCrossHalfTheServedRegion) {
  Technology tech = testing::unit_tech();
  tech.wire_cap_ff_per_um = 1;  // 1 fF/um x 1 V^2 x 0.25
  const auto p = evaluate_point(accel("tiny-2t"), 500, hand_stats(), 10, tech, hand_logic());
  const double tile_half = 0.5 * std::sqrt(p.area.tile_um2()), chip_half = 0.5 * std::sqrt(p.area.total_um2());
  EXPECT_NEAR(p.energy.dynamic_pj.at("wires.lwb"), 50 * 128 * 2 * 0.25 * tile_half * 1e-3, 1e-9);
  EXPECT_NEAR(p.energy.dynamic_pj.at("wires.gwb"), 10 * 128 * 0.25 * chip_half * 1e-3, 1e-9);
}

TEST(PowerTest, ClockSetsTimeNotEnergy) {
  const auto tech = testing::unit_tech();
  const auto slow = evaluate_point(accel("tiny-2t"), 250, hand_stats(), 10, tech, hand_logic());
  const auto fast = evaluate_point(accel("tiny-2t"), 500, hand_stats(), 10, tech, hand_logic());
  EXPECT_DOUBLE_EQ(slow.energy.dynamic_total_pj(), fast.energy.dynamic_total_pj());
  EXPECT_NEAR(slow.energy.seconds, 2 * fast.energy.seconds, 1e-18);
  EXPECT_NEAR(slow.instr_per_s(), fast.instr_per_s() / 2, 1e-6);
  EXPECT_THROW(evaluate_point(accel("tiny-2t"), 0, hand_stats(), 10, tech, hand_logic()), SynthError);
  csim::Stats one = hand_stats();
  one.tiles = 1;
  EXPECT_THROW(evaluate_point(accel("tiny-2t"), 500, one, 10, tech, hand_logic()), SynthError);
}

TEST(PowerTest, JsonHasTheInterfaceKeysAndThePapersFigures) {
  const auto tech = resolve_technology("n16");
  for (const char* name : {"neutrino-1t", "neutrino-8t", "tiny-2t"}) {
    const auto cfg = accel(name);
    csim::Stats s = hand_stats();
    s.tiles = cfg.tiles;
    const auto j = to_json(evaluate_point(cfg, 1000, s, 10, tech, hand_logic()));
    for (const char* k : {"tiles", "area_mm2", "tile_area_mm2", "power_mw", "instr_per_s", "energy_per_instr_nj",
                          "sampling_interval_epochs"})
      EXPECT_TRUE(j.contains(k) && j[k].is_number()) << name << ": " << k;
    EXPECT_EQ(j["tiles"], cfg.tiles);
    const bool paper = cfg.tiles == 1 || cfg.tiles == 8;
    EXPECT_EQ(j.contains("paper_power_mw"), paper) << name;
    if (cfg.tiles == 8) {
      EXPECT_DOUBLE_EQ(j["paper_area_mm2"].get<double>(), 3.15);
      EXPECT_DOUBLE_EQ(j["paper_tile_area_mm2"].get<double>(), 1.26);
      EXPECT_DOUBLE_EQ(j["paper_power_mw"].get<double>(), 226);
      EXPECT_DOUBLE_EQ(j["paper_instr_per_s"].get<double>(), 157000);
      EXPECT_DOUBLE_EQ(j["paper_sampling_interval_epochs"].get<double>(), 19080);
    }
    // The tiles' area is every tile's (the paper's "Tile Area" row).
    EXPECT_NEAR(j["tile_area_mm2"].get<double>(), cfg.tiles * j["area_per_tile_mm2"].get<double>(), 1e-12);
  }
}

}  // namespace
}  // namespace ntr::synth
