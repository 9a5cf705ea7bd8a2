#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "ntr/synth/tech.h"
#include "test_util.h"

namespace ntr::synth {
namespace {

using testing::slurp;
using testing::source_dir;

TEST(TechTest, BuiltinIsTheShippedFile) {
  EXPECT_EQ(builtin_technology_yaml(), slurp(source_dir() / "synth/tech/n16.yaml"));
  const Technology t = resolve_technology("");
  EXPECT_EQ(t.name, "n16");
  EXPECT_EQ(resolve_technology("n16").name, "n16");
}

TEST(TechTest, DerivesNand2AreaFromPitches) {
  const Technology t = resolve_technology("n16");
  // 3 poly pitches x 9 tracks of the metal pitch: 3 x 0.090 um x 9 x 0.064 um.
  EXPECT_NEAR(t.nand2_um2(), 0.15552, 1e-12);
  EXPECT_NEAR(t.ge_to_um2(1000), 155.52, 1e-9);
}

TEST(TechTest, ScalesHorowitzEnergiesByFeatureSizeAndVoltageSquared) {
  const Technology t = resolve_technology("n16");
  const double scale = (16.0 / 45.0) * (0.8 / 0.9) * (0.8 / 0.9);
  EXPECT_NEAR(t.energy_scale(), scale, 1e-12);
  EXPECT_NEAR(t.primitive_pj("mul8"), 0.2 * scale, 1e-12);
  EXPECT_NEAR(t.primitive_pj("mul16"), 0.8 * scale, 1e-12);  // mul8 x (16/8)^2
  EXPECT_NEAR(t.event_pj("mac"), (0.2 + 0.1) * scale, 1e-12);
  EXPECT_NEAR(t.event_pj("ppu_rq_row"), (0.1 + 3.1 + 0.1) * scale, 1e-12);
  EXPECT_THROW(t.event_pj("nope"), SynthError);
  // 0.2 fF/um x 0.8 V^2 x 1/4 of the bits switching up.
  EXPECT_NEAR(t.wire_fj_per_bit_um(), 0.032, 1e-12);
}

TEST(TechTest, PricesYosysCellsAsReferenceCells) {
  const Technology t = resolve_technology("n16");
  const double nand2 = 0.798;
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_NAND_"), 1.0);
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_NOT_"), 0.532 / nand2);
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_ANDNOT_"), (0.532 + 0.798) / nand2);
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_DFF_P_"), 4.522 / nand2);
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_DFF_PN0_"), 5.32 / nand2);             // async reset
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_DFFE_PP_"), (4.522 + 1.862) / nand2);   // + enable mux
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_DFFE_PN0P_"), (5.32 + 1.862) / nand2);
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_SDFF_PP0_"), (4.522 + 1.064) / nand2);  // + reset gate
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_SDFFCE_PP0P_"), (4.522 + 1.064 + 1.862) / nand2);
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_DFFSR_PPP_"), 6.384 / nand2);
  EXPECT_DOUBLE_EQ(t.yosys_cell_ge("$_DLATCH_P_"), 2.394 / nand2);
  EXPECT_TRUE(is_yosys_flop("$_SDFFE_PN1N_"));
  EXPECT_FALSE(is_yosys_flop("$_MUX_"));
  try {
    t.yosys_cell_ge("$_MUX16_");
    FAIL() << "expected SynthError";
  } catch (const SynthError& e) {
    EXPECT_NE(std::string(e.what()).find("$_MUX16_"), std::string::npos) << e.what();
  }
}

// Replaces the first "key: value" of the shipped file's text (a line edit keeps the test short).
std::string with_line(const std::string& from, const std::string& to) {
  std::string y(builtin_technology_yaml());
  const auto p = y.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return y.replace(p, from.size(), to);
}

void expect_rejected(const std::string& yaml, const std::string& what) {
  try {
    parse_technology(yaml, "t.yaml");
    FAIL() << "accepted; expected an error naming " << what;
  } catch (const SynthError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("t.yaml"), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
  }
}

TEST(TechTest, RejectsBadFilesNamingTheKey) {
  expect_rejected("process: [", "not valid YAML");
  expect_rejected(with_line("vdd_v: 0.8", "vdd_v: -0.8"), "vdd_v");
  expect_rejected(with_line("vdd_v: 0.8", "vdd_v: .nan"), "vdd_v");
  expect_rejected(with_line("vdd_v: 0.8", "vdd: 0.8"), "unknown key 'vdd'");
  expect_rejected(with_line("  node_nm: 16 ", "  nodes: 16 "), "unknown key 'nodes'");
  expect_rejected(with_line("  node_nm: 16 ", "  # node_nm: 16 "), "lacks key 'node_nm'");
  expect_rejected(with_line("placement_utilization: 0.7", "placement_utilization: 1.5"), "placement_utilization");
  expect_rejected(with_line("max_rows: 512", "max_rows: 511.5"), "max_rows");
  expect_rejected(with_line("$_NOR_: [NOR2_X1]", "$_NOR_: [NOR9_X1]"), "NOR9_X1");
  expect_rejected(with_line("mac: [mul8, add32]", "mac: [mul8, add64]"), "add64");
  expect_rejected(with_line("read_swing_v: 0.1", "read_swing_v: 2"), "read_swing_v");
  EXPECT_THROW(load_technology(source_dir() / "no/such/tech.yaml"), SynthError);
}

// Every number of the shipped technology file is stated in docs/ppa.md, on the line that names
// its key (in backquotes), with the same value.
TEST(TechTest, DocsStateEveryConstant) {
  const std::string doc = slurp(source_dir() / "docs/ppa.md");
  ASSERT_FALSE(doc.empty());
  const YAML::Node root = YAML::Load(std::string(builtin_technology_yaml()));
  int checked = 0;
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n, const std::string& path) {
    if (n.IsMap()) {
      for (const auto& kv : n) walk(kv.second, path.empty() ? kv.first.as<std::string>() : path + "." + kv.first.as<std::string>());
      return;
    }
    if (!n.IsScalar()) return;
    double v = 0;
    if (!YAML::convert<double>::decode(n, v)) return;  // names and descriptions
    const std::string key = "| `" + path + "` |";  // the row of the constants table
    const auto at = doc.find(key);
    ASSERT_NE(at, std::string::npos) << path << " is not in docs/ppa.md";
    const auto eol = doc.find('\n', at);
    const std::string line = doc.substr(at, eol - at);
    EXPECT_NE(line.find(" " + n.as<std::string>() + " "), std::string::npos)
        << path << " = " << n.as<std::string>() << " but docs/ppa.md says: " << line;
    ++checked;
  };
  walk(root, "");
  EXPECT_GT(checked, 50);
}

}  // namespace
}  // namespace ntr::synth
