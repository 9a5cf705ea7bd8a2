#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "ntr/isa/accel_configs_gen.h"
#include "ntr/isa/config.h"
#include "ntr/isa/isa.h"

namespace fs = std::filesystem;
using namespace ntr::isa;

namespace {

fs::path source_dir() {
  const char* s = std::getenv("NS_SOURCE_DIR");
  return s ? fs::path(s) : fs::current_path();
}
fs::path build_dir() {
  const char* s = std::getenv("NS_BUILD_DIR");
  return s ? fs::path(s) : fs::current_path() / "build";
}
std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
std::string camel(const std::string& s) {
  std::string out;
  bool up = true;
  for (char c : s) {
    if (c == '_' || c == '-') {
      up = true;
      continue;
    }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
              : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    up = false;
  }
  return out;
}
// localparam NAME = VALUE of a generated SV package.
std::map<std::string, int64_t> sv_params(const fs::path& p) {
  std::map<std::string, int64_t> m;
  const std::string text = slurp(p);
  const std::regex re(R"(localparam int unsigned (\w+) = (\d+);)");
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it)
    m[(*it)[1]] = std::stoll((*it)[2]);
  return m;
}
const char* kGood = R"(
name: good
description: test
tiles: 2
clock_mhz: 500
mac: {lane_rows: 4, lane_cols: 4, acc_banks: 2, latency: 1}
lwb: {bytes: 2048}
lib: {bytes: 1024}
ppu: {lanes: 4, latency: 2, vs_words: 64, cb_rows: 64}
gwb: {bytes: 4096}
gib: {bytes: 4096, banks: 2}
dma: {latency: 2, gwb_bytes_per_cycle: 16, gib_bytes_per_cycle: 8, lib_bytes_per_cycle: 8, cb_bytes_per_cycle: 12}
imem: {words: 64}
)";
std::string error_of(const std::string& yaml) {
  try {
    parse_accel_config(yaml, "cfg.yaml");
  } catch (const IsaError& e) {
    return e.what();
  }
  return "no error";
}
std::string replace(std::string s, const std::string& a, const std::string& b) {
  s.replace(s.find(a), a.size(), b);
  return s;
}

}  // namespace

TEST(ConfigTest, ShippedConfigsLoadAndMatchTheCompiledInCopies) {
  int n = 0;
  for (const auto& c : shipped_accel_configs()) {
    const AccelConfig loaded = load_accel_config(source_dir() / "configs/accel" / (c.name + ".yaml"));
    EXPECT_EQ(to_json(loaded), to_json(c));
    EXPECT_EQ(fingerprint(loaded), fingerprint(c));
    ++n;
  }
  EXPECT_GE(n, 3);
  const AccelConfig one = load_accel_config(source_dir() / "configs/accel/neutrino-1t.yaml");
  EXPECT_EQ(one.lanes(), 256);
  EXPECT_EQ(one.lwb_half_rows(), 256);
  EXPECT_EQ(one.lwb_bytes, 128 * 1024);
  EXPECT_EQ(one.lib_bytes, 16 * 1024);
  EXPECT_EQ(one.gwb_bytes, 1310720);
  EXPECT_EQ(one.gib_bytes, 1310720);
  const AccelConfig eight = load_accel_config(source_dir() / "configs/accel/neutrino-8t.yaml");
  EXPECT_EQ(eight.tiles, 8);
  EXPECT_EQ(eight.gib_bank_bytes(), 163840);
  const AccelConfig tiny = load_accel_config(source_dir() / "configs/accel/tiny.yaml");
  EXPECT_EQ(tiny.lanes(), 16);
  EXPECT_EQ(cfg_tiny::kLanes, 16);
  EXPECT_EQ(cfg_neutrino_8t::kTiles, 8);
}

TEST(ConfigTest, RejectsBadConfigsNamingTheKey) {
  EXPECT_EQ(error_of(kGood), "no error");
  EXPECT_EQ(error_of(replace(kGood, "imem: {words: 64}\n", "")), "cfg.yaml: missing key 'imem.words'");
  EXPECT_EQ(error_of(replace(kGood, "latency: 1}", "latency: 1, speed: 3}")),
            "cfg.yaml: unknown key 'mac.speed'");
  EXPECT_EQ(error_of(replace(kGood, "clock_mhz: 500", "clock_mhz: fast")),
            "cfg.yaml: 'clock_mhz' = 'fast' is not an integer");
  EXPECT_EQ(error_of(replace(kGood, "lane_rows: 4", "lane_rows: 17")),
            "cfg.yaml: 'mac.lane_rows' = 17 is outside [1, 16]");
  EXPECT_EQ(error_of(replace(kGood, "lwb: {bytes: 2048}", "lwb: {bytes: 2050}")),
            "cfg.yaml: 'lwb.bytes' = 2050 is not two halves of whole 16-byte rows");
  EXPECT_EQ(error_of(replace(kGood, "gib: {bytes: 4096, banks: 2}", "gib: {bytes: 4096, banks: 3}")),
            "cfg.yaml: 'gib.bytes' = 4096 is not divisible by 'gib.banks' = 3");
  EXPECT_EQ(error_of("name: [x"), error_of("name: [x"));  // stable message
  EXPECT_NE(error_of("name: [x").find("not valid YAML"), std::string::npos);
  EXPECT_EQ(error_of("- 1\n- 2\n"), "cfg.yaml: expected a mapping at the top level");
  EXPECT_THROW(load_accel_config("/nonexistent/x.yaml"), IsaError);
}

// The generated SystemVerilog constants agree with the C++ ones: both come from the YAML, and this
// reads the generated SV text back.
TEST(ConfigTest, GeneratedSvConstantsAgreeWithCpp) {
  const fs::path sv = build_dir() / "gen/sv";
  const auto isa = sv_params(sv / "ntr_isa_pkg.sv");
  ASSERT_FALSE(isa.empty()) << "no generated package under " << sv;
  EXPECT_EQ(isa.at("IsaVersion"), kIsaVersion);
  EXPECT_EQ(isa.at("WordBits"), kWordBits);
  EXPECT_EQ(isa.at("OpcodeBits"), kOpcodeBits);
  EXPECT_EQ(isa.at("SemCount"), kSemCount);
  EXPECT_EQ(isa.at("SemLatency"), kSemLatency);
  EXPECT_EQ(isa.at("ArCount"), kArCount);
  EXPECT_EQ(isa.at("LoopDepth"), kLoopDepth);
  EXPECT_EQ(isa.at("CbRowBytes"), kCbRowBytes);
  int checked = 0;
  for (const auto& d : kInsns) {
    for (int i = 0; i < d.nfields; ++i) {
      const std::string p = camel(std::string(d.name)) + camel(std::string(d.fields[i].name));
      EXPECT_EQ(isa.at(p + "Lsb"), d.fields[i].lsb) << p;
      EXPECT_EQ(isa.at(p + "Width"), d.fields[i].width) << p;
      ++checked;
    }
  }
  EXPECT_GT(checked, 80);
  // Opcodes.
  const std::string text = slurp(sv / "ntr_isa_pkg.sv");
  for (const auto& d : kInsns) {
    const std::regex re("Op" + camel(std::string(d.name)) + R"( = 6'h([0-9a-f]+))");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(text, m, re)) << d.name;
    EXPECT_EQ(std::stoi(m[1], nullptr, 16), static_cast<int>(d.opcode)) << d.name;
  }
  // Every shipped config.
  for (const auto& c : shipped_accel_configs()) {
    std::string id = c.name;
    for (auto& ch : id)
      if (ch == '-') ch = '_';
    const auto p = sv_params(sv / ("ntr_cfg_" + id + "_pkg.sv"));
    for (const auto& s : config_schema()) EXPECT_EQ(p.at(camel(s.name)), c.*(s.member)) << c.name << " " << s.name;
    EXPECT_EQ(p.at("Lanes"), c.lanes());
    EXPECT_EQ(p.at("LwbHalfRows"), c.lwb_half_rows());
    const std::string ys = slurp(build_dir() / "gen/yosys" / ("ntr_cfg_" + id + ".ys"));
    EXPECT_NE(ys.find("-set Tiles " + std::to_string(c.tiles) + " "), std::string::npos);
  }
}

// docs/isa.md and docs/neutrino.md carry tables generated from the YAML files; regenerate them
// with `cmake --build <build> --target isa-doc` when the ISA or a config changes.
TEST(ConfigTest, GeneratedDocTablesAreCurrent) {
  auto section = [](const std::string& doc, const std::string& name) {
    const std::string begin = "<!-- " + name + ":begin -->\n", end = "<!-- " + name + ":end -->";
    const auto b = doc.find(begin), e = doc.find(end);
    if (b == std::string::npos || e == std::string::npos) return std::string("<missing markers>");
    return doc.substr(b + begin.size(), e - b - begin.size());
  };
  EXPECT_EQ(section(slurp(source_dir() / "docs/isa.md"), "isa-table"),
            slurp(build_dir() / "gen/doc/isa_table.md"))
      << "docs/isa.md is stale: run `cmake --build <build> --target isa-doc`";
  EXPECT_EQ(section(slurp(source_dir() / "docs/neutrino.md"), "config-table"),
            slurp(build_dir() / "gen/doc/config_table.md"))
      << "docs/neutrino.md is stale: run `cmake --build <build> --target isa-doc`";
}
