// Yosys statistics of a toy design with Neutrino's module names (synth/tests/data/toy.sv, outputs
// of Yosys 0.23 checked in by regen.sh): three tiles, each a MAC array plus control, and two
// kinds of ntr_sram black box.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "ntr/isa/config.h"
#include "ntr/synth/ppa.h"
#include "ntr/synth/yosys.h"
#include "test_util.h"

namespace ntr::synth {
namespace {

using testing::data_dir;
using testing::slurp;

void spill_text(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

const Technology& n16() {
  static const Technology t = resolve_technology("n16");
  return t;
}

SynthStats toy() { return parse_yosys_stat_file(data_dir() / "toy_stat.json", "ntr_top"); }

TEST(YosysStatsTest, RepairsYosys023JsonAndParsesTheHierarchy) {
  // The raw file has Yosys 0.23's stray hierarchy line after "modules": not JSON as written.
  EXPECT_FALSE(nlohmann::json::accept(slurp(data_dir() / "toy_stat.json")));
  const SynthStats s = toy();
  EXPECT_EQ(s.top, "\\ntr_top");
  EXPECT_NE(s.creator.find("Yosys 0.23"), std::string::npos);
  ASSERT_EQ(s.modules.size(), 3u);
  const auto& top = s.modules.at(s.top);
  EXPECT_EQ(top.base, "ntr_top");
  EXPECT_EQ(top.blackboxes.at("ntr_sram"), 1);
  ASSERT_EQ(top.submodules.size(), 1u);
  EXPECT_EQ(top.submodules.begin()->second, 3);
  EXPECT_EQ(top.cells.at("$_DFF_P_"), 7);
  const std::string tile = find_module(s, "ntr_tile");
  EXPECT_EQ(tile, "$paramod\\ntr_tile\\W=s32'00000000000000000000000000000100");
  EXPECT_EQ(find_module(s, "ntr_mac_array").substr(0, 23), "$paramod\\ntr_mac_array\\");
  EXPECT_EQ(find_module(s, "ntr_dma"), "");
  // The repair leaves valid JSON as it is.
  const std::string good = repair_yosys_stat_json(slurp(data_dir() / "toy_stat.json"));
  EXPECT_EQ(repair_yosys_stat_json(good), good);
}

TEST(YosysStatsTest, BaseModuleNames) {
  EXPECT_EQ(base_module_name("\\ntr_top"), "ntr_top");
  EXPECT_EQ(base_module_name("$paramod\\ntr_tile\\Lanes=32'1"), "ntr_tile");
  EXPECT_EQ(base_module_name("$paramod$5d41402abc4b2a76\\ntr_wmem"), "ntr_wmem");
  EXPECT_EQ(base_module_name("ntr_sram"), "ntr_sram");
}

TEST(YosysStatsTest, RollsUpPerInstance) {
  const SynthStats s = toy();
  const Rollup r = rollup(s, s.top, n16());
  // 47 cells in the top, 17 in each tile and 114 in each tile's MAC array; the report's own
  // hierarchy total (444) also counts the four ntr_sram instances.
  EXPECT_EQ(r.cells, 47 + 3 * (17 + 114));
  EXPECT_EQ(r.blackboxes.at("ntr_sram"), 4);
  EXPECT_EQ(r.flops, 7 + 3 * (6 + 8));
  const double nand2 = 0.798;
  EXPECT_NEAR(r.flop_ge, (7 * 4.522 + 18 * 5.32 + 24 * (5.32 + 1.862)) / nand2, 1e-9);
  EXPECT_EQ(r.flops_by_module.at("ntr_mac_array"), 24);
  EXPECT_GT(r.ge_by_module.at("ntr_mac_array"), r.ge_by_module.at("ntr_tile"));
  double sum = 0;
  for (const auto& [m, g] : r.ge_by_module) sum += g;
  EXPECT_NEAR(sum, r.ge, 1e-9);
  EXPECT_THROW(rollup(s, "\\nope", n16()), SynthError);
}

TEST(YosysStatsTest, ParsesSramInstancesWithDefaults) {
  const std::map<std::string, int64_t> defaults = {{"Width", 32}, {"Depth", 256}, {"RdPorts", 1}, {"WrPorts", 1}};
  const auto srams = parse_sram_dump(slurp(data_dir() / "toy_srams.rtlil"), defaults);
  ASSERT_EQ(srams.size(), 2u);
  const auto& w = srams[0].instance == "\\u_w" ? srams[0] : srams[1];
  const auto& imem = srams[0].instance == "\\u_w" ? srams[1] : srams[0];
  EXPECT_EQ(w.width, 4);
  EXPECT_EQ(w.depth, 64);
  EXPECT_EQ(w.rd_ports, 1);
  EXPECT_EQ(w.wr_ports, 1);  // default
  EXPECT_EQ(imem.bits(), 32 * 128);
  const auto inv = sram_inventory(toy(), srams, "\\ntr_top");
  EXPECT_EQ(inv.at("ntr_tile").size(), 3u);
  EXPECT_EQ(inv.at("ntr_top").size(), 1u);
}

// What `read_verilog -defer` gives: a module without parameters is a cell type "x" of module
// "\\x", and black-box cells carry no parameters (their derived module does).
TEST(YosysStatsTest, ParsesDeferredElaboration) {
  const auto j = nlohmann::json::parse(R"({"modules": {
      "\\ntr_top": {"num_cells": 3, "num_cells_by_type": {"ntr_sem": 2, "$paramod$ab\\ntr_sram": 1}},
      "\\ntr_sem": {"num_cells": 3, "num_cells_by_type": {"$_AND_": 3}}},
    "design": {"num_cells": 7}})");
  const SynthStats s = parse_yosys_stat(j, "ntr_top", "r.json");
  EXPECT_EQ(s.modules.at("\\ntr_top").submodules.at("\\ntr_sem"), 2);
  EXPECT_EQ(s.modules.at("\\ntr_top").blackboxes.at("$paramod$ab\\ntr_sram"), 1);
  EXPECT_EQ(rollup(s, s.top, n16()).cells, 6);
  const std::string dump = R"(
module $abstract\ntr_sram
  parameter \Width
  parameter \Depth
end
module $paramod$ab\ntr_sram
  parameter \Width 72
  parameter \Depth 32'00000000000000000000000010000000
  parameter \RdPorts 2
end
module \ntr_top
  cell $paramod$ab\ntr_sram \u_m
    connect \clk_i \clk_i
  end
end
)";
  const auto srams = parse_sram_dump(dump, {{"Width", 32}, {"Depth", 256}, {"RdPorts", 1}, {"WrPorts", 1}});
  ASSERT_EQ(srams.size(), 1u);
  EXPECT_EQ(srams[0].module, "\\ntr_top");
  EXPECT_EQ(srams[0].width, 72);
  EXPECT_EQ(srams[0].depth, 128);
  EXPECT_EQ(srams[0].rd_ports, 2);
  EXPECT_EQ(srams[0].wr_ports, 1);  // the default
}

TEST(YosysStatsTest, SplitsOneTileFromTheSharedLogic) {
  SynthRun run;
  run.dir = "runs/toy";
  run.stats = toy();
  run.srams = parse_sram_dump(slurp(data_dir() / "toy_srams.rtlil"),
                              {{"Width", 32}, {"Depth", 256}, {"RdPorts", 1}, {"WrPorts", 1}});
  const LogicInventory inv = logic_from_synthesis(run, n16());
  EXPECT_EQ(inv.tile.at("mac").flops, 8);       // the MAC array's accumulator
  EXPECT_EQ(inv.tile.at("control").flops, 6);   // the tile's address counter
  EXPECT_EQ(inv.shared.at("control").flops, 7);
  EXPECT_EQ(inv.shared.count("mac"), 0u);
  EXPECT_NEAR(inv.tile_ge() * 3 + inv.shared_ge(), rollup(run.stats, run.stats.top, n16()).ge, 1e-6);
  EXPECT_EQ(inv.detail["tiles_in_netlist"], 3);
  EXPECT_EQ(inv.detail["rtl_srams"]["total_bytes"], (3 * 4 * 64 + 32 * 128) / 8);
  EXPECT_EQ(inv.detail["rtl_srams"]["one_tile_bytes"], 4 * 64 / 8);
  EXPECT_EQ(activity_class("ntr_mac_array"), "mac");
  EXPECT_EQ(activity_class("ntr_ppu_lane"), "ppu");
  EXPECT_EQ(activity_class("ntr_seq"), "control");
}

void expect_rejected(const std::string& json, const std::string& what) {
  try {
    parse_yosys_stat(nlohmann::json::parse(json), "ntr_top", "r.json");
    FAIL() << "accepted " << json;
  } catch (const SynthError& e) {
    EXPECT_NE(std::string(e.what()).find("r.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(YosysStatsTest, RejectsWhatIsNotAStatReport) {
  expect_rejected("{}", "no \"modules\"");
  expect_rejected(R"({"modules": {"\\ntr_top": {}}})", "num_cells_by_type");
  expect_rejected(R"({"modules": {"\\ntr_top": {"num_cells_by_type": {"$_AND_": -1}}}})", "non-negative");
  expect_rejected(R"({"modules": {"\\ntr_top": {"num_cells_by_type": {"$_AND_": 1.5}}}})", "non-negative");
  expect_rejected(R"({"modules": {"\\ntr_top": {"num_cells_by_type": {"$mem_v2": 1}}}})", "$mem_v2");
  expect_rejected(R"({"modules": {"\\other": {"num_cells_by_type": {}}}})", "no module 'ntr_top'");
  expect_rejected(R"({"modules": {"\\ntr_top": {"num_cells": 3, "num_cells_by_type": {"$_AND_": 2}}}})",
                  "num_cells");
  expect_rejected(R"({"modules": {"\\ntr_top": {"num_cells_by_type": {"$_AND_": 2}}}, "design": {"num_cells": 5}})",
                  "design total");
  expect_rejected(R"({"modules": {"\\ntr_top": {"num_cells_by_type": {"\\ntr_top": 1}}}})", "instantiates itself");
  EXPECT_THROW(parse_yosys_stat_file(data_dir() / "nope.json", "ntr_top"), SynthError);
  EXPECT_THROW(parse_yosys_stat_file(data_dir() / "toy.sv", "ntr_top"), SynthError);
}

// The run cache with a stand-in for Yosys that writes the toy's checked-in outputs: runs of one
// config in parallel (as CTest -j does) and a folder left by an interrupted run.
TEST(SynthCacheTest, ParallelRunsAndInterruptedRunsLeaveOneCompleteRun) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / fmt::format("ns_synth_cache_{}", ::getpid());
  fs::remove_all(root);
  fs::create_directories(root / "cache");
  const fs::path fake = root / "yosys";
  {
    std::ofstream f(fake);
    // Fails when another run is under way in its folder.
    f << "#!/bin/sh\n[ \"$1\" = -V ] && { echo 'Yosys 0.0 (stand-in)'; exit 0; }\n"
      << "[ -e running ] && exit 1\ntouch running\nsleep 1\n"
      << "cp '" << (data_dir() / "toy_stat.json").string() << "' stat.raw.json\n"
      << "cp '" << (data_dir() / "toy_srams.rtlil").string() << "' srams.rtlil\nrm running\n";
  }
  fs::permissions(fake, fs::perms::owner_all);
  YosysFlow flow;
  flow.sources = {data_dir() / "toy.sv", testing::source_dir() / "rtl" / "ntr_sram.sv"};
  flow.cache_dir = root / "cache";
  flow.yosys = fake.string();
  flow.quiet = true;
  const auto cfg = isa::load_accel_config(testing::source_dir() / "configs/accel/tiny.yaml");

  std::vector<SynthRun> runs(3);
  std::vector<std::thread> threads;
  for (auto& r : runs) threads.emplace_back([&] { r = synthesize(cfg, flow); });
  for (auto& t : threads) t.join();
  std::vector<fs::path> left;
  for (const auto& e : fs::directory_iterator(flow.cache_dir)) left.push_back(e.path());
  ASSERT_EQ(left.size(), 1u);  // no private folder remains
  for (const auto& r : runs) {
    EXPECT_EQ(r.dir, left[0]);
    EXPECT_EQ(r.stats.modules.size(), runs[0].stats.modules.size());
    EXPECT_GT(r.stats.modules.size(), 0u);
  }
  EXPECT_TRUE(synthesize(cfg, flow).cached);

  // An interrupted run left its folder without "done" and a truncated report: it is redone.
  fs::remove(left[0] / "done");
  spill_text(left[0] / "stat.json", "{\"modules\": {");
  const SynthRun redone = synthesize(cfg, flow);
  EXPECT_FALSE(redone.cached);
  EXPECT_EQ(redone.stats.modules.size(), runs[0].stats.modules.size());
  EXPECT_TRUE(fs::exists(redone.dir / "done"));

  // A Yosys that fails without writing a log: a SynthError, and the cached run is untouched.
  std::ofstream(fake) << "#!/bin/sh\n[ \"$1\" = -V ] && { echo 'Yosys 0.1 (stand-in)'; exit 0; }\nexit 3\n";
  try {
    synthesize(cfg, flow);
    ADD_FAILURE() << "expected SynthError";
  } catch (const SynthError& e) {
    EXPECT_NE(std::string(e.what()).find("Yosys failed"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(redone.dir / "done"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace ntr::synth
