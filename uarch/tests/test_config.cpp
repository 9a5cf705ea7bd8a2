// Core designs: the five Table 4 configurations and the errors bad configuration files get.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace ns::uarch {
namespace {

namespace fs = std::filesystem;
using test_support::design;
using test_support::source_dir;

struct Table4 {
  std::string name;
  uint32_t width, ls_units, lsq, regs, rob, l1d_kb, l1i_kb;
};

// Table 4 of the paper, column by column.
const Table4 kTable4[] = {
    {"8w", 8, 1, 32, 256, 192, 64, 64},     {"6w+ls", 6, 2, 32, 256, 192, 64, 64},
    {"rob", 8, 1, 32, 512, 384, 64, 64},    {"lsq", 8, 2, 64, 256, 192, 64, 64},
    {"4w+mem", 4, 2, 32, 256, 192, 128, 64},
};

TEST(UarchConfigTest, DesignsReproduceTable4) {
  for (const Table4& t : kTable4) {
    SCOPED_TRACE(t.name);
    const CoreConfig c = design(t.name);
    EXPECT_EQ(c.name, t.name);
    EXPECT_EQ(c.width, t.width);
    EXPECT_EQ(c.units[c.mem_unit].count, t.ls_units);
    EXPECT_EQ(c.lq, t.lsq);
    EXPECT_EQ(c.sq, t.lsq);
    EXPECT_EQ(c.phys_regs[kPoolInt], t.regs);
    EXPECT_EQ(c.phys_regs[kPoolFloat], t.regs);
    EXPECT_EQ(c.rob, t.rob);
    EXPECT_EQ(c.l1d.size_kb, t.l1d_kb);
    EXPECT_EQ(c.l1i.size_kb, t.l1i_kb);
    EXPECT_EQ(c.sha256.size(), 64u);
  }
}

// Everything Table 4 leaves open is identical across the five designs.
TEST(UarchConfigTest, DesignsShareEverythingElse) {
  auto shared = [](nlohmann::json t) {
    t.erase("name");
    for (const char* k : {"width", "rob", "lq", "sq"}) t["pipeline"].erase(k);
    t["pipeline"]["phys_regs"].erase("int");
    t["pipeline"]["phys_regs"].erase("float");
    t["functional_units"]["mem_port"].erase("count");
    t["memory"]["l1d"].erase("size_kb");
    t["memory"]["l1i"].erase("size_kb");
    return t;
  };
  const nlohmann::json ref = shared(design("8w").tree);
  for (const Table4& t : kTable4) EXPECT_EQ(shared(design(t.name).tree), ref) << t.name;
  EXPECT_EQ(shared(load_config(source_dir() / "configs/cpu/base.yaml").tree), ref);
}

TEST(UarchConfigTest, DerivedValues) {
  const CoreConfig c = design("8w");
  EXPECT_EQ(c.l1d.sets, 64u * 1024 / (2 * 64));
  EXPECT_EQ(c.l2.sets, 2048u * 1024 / (8 * 64));
  EXPECT_EQ(c.dram_latency_cycles, 110u);  // 55 ns at 2 GHz
  EXPECT_EQ(c.dram_burst_cycles, 10u);     // 64 B at 12.8 GB/s = 5 ns
  EXPECT_EQ(c.frontend_depth(), 4u);
  EXPECT_EQ(c.ops[size_t(trace::OpClass::IntDiv)].latency, 20);
  EXPECT_EQ(c.ops[size_t(trace::OpClass::IntDiv)].interval, 20);
  EXPECT_EQ(c.ops[size_t(trace::OpClass::Nop)].unit, -1);
  EXPECT_EQ(c.units[c.ops[size_t(trace::OpClass::BranchCond)].unit].name, "int_alu");
}

class UarchConfigErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ns_uarch_config_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    fs::copy_file(source_dir() / "configs/cpu/base.yaml", dir_ / "base.yaml");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a design file that includes base.yaml; returns the error message load_config gives.
  std::string error_of(const std::string& body, const std::string& file = "bad.yaml") {
    std::ofstream(dir_ / file) << body;
    try {
      load_config(dir_ / file);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  // Replaces text in the copied base.yaml.
  void edit_base(const std::string& from, const std::string& to) {
    std::ifstream in(dir_ / "base.yaml");
    std::string s((std::istreambuf_iterator<char>(in)), {});
    const auto at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    std::ofstream(dir_ / "base.yaml") << s;
  }
  fs::path dir_;
};

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST_F(UarchConfigErrorTest, AcceptsAValidOverride) {
  EXPECT_EQ(error_of("include: base.yaml\nname: x\npipeline: {rob: 100}\n"), "no error");
  EXPECT_EQ(load_config(dir_ / "bad.yaml").rob, 100u);
}

TEST_F(UarchConfigErrorTest, RejectsUnknownKeyInOverride) {
  const std::string e = error_of("include: base.yaml\nname: x\nmemory: {l1d: {size_kbb: 32}}\n");
  EXPECT_HAS(e, "bad.yaml");
  EXPECT_HAS(e, "unknown key 'memory.l1d.size_kbb'");
}

TEST_F(UarchConfigErrorTest, RejectsUnknownKeyInBase) {
  edit_base("  iq: 64\n", "  iq: 64\n  iqq: 3\n");
  const std::string e = error_of("include: base.yaml\nname: x\n");
  EXPECT_HAS(e, "pipeline.iqq: unknown key");
}

TEST_F(UarchConfigErrorTest, RejectsNegativeSize) {
  const std::string e = error_of("include: base.yaml\nname: x\nmemory: {l2: {size_kb: -64}}\n");
  EXPECT_HAS(e, "memory.l2.size_kb: must be in");
  EXPECT_HAS(e, "got -64");
}

TEST_F(UarchConfigErrorTest, RejectsNonPowerOfTwoSets) {
  const std::string e = error_of("include: base.yaml\nname: x\nmemory: {l1d: {size_kb: 48}}\n");
  EXPECT_HAS(e, "memory.l1d.size_kb");
  EXPECT_HAS(e, "power of two");
}

TEST_F(UarchConfigErrorTest, RejectsZeroAndOversizedStructures) {
  EXPECT_HAS(error_of("include: base.yaml\nname: x\npipeline: {rob: 0}\n"), "pipeline.rob");
  EXPECT_HAS(error_of("include: base.yaml\nname: x\npipeline: {rob: 100000}\n"), "pipeline.rob");
  EXPECT_HAS(error_of("include: base.yaml\nname: x\npipeline: {phys_regs: {int: 10}}\n"),
             "pipeline.phys_regs.int");
}

TEST_F(UarchConfigErrorTest, RejectsOversizedMemory) {
  EXPECT_HAS(error_of("include: base.yaml\nname: x\nmemory: {llc: {size_kb: 1048576}}\n"),
             "memory.llc.size_kb: must be in");
  EXPECT_HAS(error_of("include: base.yaml\nname: x\nmemory: {dram: {latency_ns: 9000}}\n"),
             "memory.dram.latency_ns: 9000 ns at 2 GHz is 18000 cycles");
  EXPECT_HAS(error_of("include: base.yaml\nname: x\nclock_ghz: .nan\n"), "clock_ghz: must be a number");
}

TEST_F(UarchConfigErrorTest, RejectsWrongTypes) {
  EXPECT_HAS(error_of("include: base.yaml\nname: x\npipeline: {width: wide}\n"),
             "pipeline.width: must be an integer");
  EXPECT_HAS(error_of("include: base.yaml\nname: x\npipeline: 8\n"), "'pipeline' must be a map");
  EXPECT_HAS(error_of("include: base.yaml\nname: x\nmemory: {prefetcher: {enabled: 1}}\n"),
             "must be true or false");
}

TEST_F(UarchConfigErrorTest, RejectsUnknownPredictor) {
  EXPECT_HAS(error_of("include: base.yaml\nname: x\nbranch: {predictor: perfect}\n"),
             "unknown predictor 'perfect'");
}

TEST_F(UarchConfigErrorTest, RejectsOpClassWithoutUnitOrWithTwo) {
  edit_base("    ops: {IntMult: 3, IntDiv: {latency: 20, interval: 20}}",
            "    ops: {IntMult: 3}");
  EXPECT_HAS(error_of("include: base.yaml\nname: x\n"), "opcode class IntDiv has no functional unit");
}

TEST_F(UarchConfigErrorTest, RejectsOpClassOnTwoUnits) {
  edit_base("    ops: {FloatAdd: 2,", "    ops: {IntAlu: 1, FloatAdd: 2,");
  EXPECT_HAS(error_of("include: base.yaml\nname: x\n"), "assigned to two functional units");
}

TEST_F(UarchConfigErrorTest, RejectsMissingKeyAndFiles) {
  edit_base("  iq: 64\n", "");
  EXPECT_HAS(error_of("include: base.yaml\nname: x\n"), "pipeline.iq: missing key");
  EXPECT_HAS(error_of("include: nowhere.yaml\nname: x\n"), "cannot open");
  EXPECT_HAS(error_of("name: [unclosed\n"), "not valid YAML");
  EXPECT_HAS(error_of("- a list\n"), "must be a YAML map");
  try {
    load_config(dir_ / "absent.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_HAS(e.what(), "absent.yaml: cannot open");
  }
}

TEST_F(UarchConfigErrorTest, RejectsIncludeCycles) {
  std::ofstream(dir_ / "a.yaml") << "include: b.yaml\nname: a\n";
  std::ofstream(dir_ / "b.yaml") << "include: a.yaml\nname: b\n";
  EXPECT_HAS(error_of("include: a.yaml\nname: c\n"), "nested too deeply");
}

}  // namespace
}  // namespace ns::uarch
