// Sampling plans, epoch assembly and the workload suite file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "ns/trace/trace.h"
#include "ns/tracer/sampling.h"
#include "ns/tracer/workloads.h"

namespace ns::tracer {
namespace {

namespace fs = std::filesystem;

std::string error_of(const SamplingOptions& o) {
  try {
    SamplingPlan p(o);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(SamplingPlanTest, PlacesWindowsPerTheFormat) {
  const SamplingPlan p({.skip = 1000, .warmup = 50, .epoch = 100, .epochs = 3, .interval = 500});
  EXPECT_EQ(p.period(), 500u);
  EXPECT_EQ(p.window_start(0), 1000u);
  EXPECT_EQ(p.epoch_start(0), 1050u);
  EXPECT_EQ(p.window_end(0), 1150u);
  EXPECT_EQ(p.window_start(2), 2000u);
  EXPECT_EQ(p.epoch_start(2), 2050u);
  EXPECT_EQ(p.window_at_or_after(0), 0u);
  EXPECT_EQ(p.window_at_or_after(1149), 0u);
  EXPECT_EQ(p.window_at_or_after(1150), 1u);
  EXPECT_EQ(p.window_at_or_after(1500), 1u);
  EXPECT_EQ(p.window_at_or_after(2149), 2u);
  EXPECT_EQ(p.window_at_or_after(2150), 3u);
  EXPECT_EQ(p.window_at_or_after(1u << 30), 3u);
  // Interval 0: back to back.
  const SamplingPlan b({.skip = 0, .warmup = 10, .epoch = 90, .epochs = 4});
  EXPECT_EQ(b.period(), 100u);
  EXPECT_EQ(b.window_start(3), 300u);
  EXPECT_EQ(b.window_at_or_after(299), 2u);
  const trace::TraceMeta m = p.meta();
  EXPECT_EQ(m.skip, 1000u);
  EXPECT_EQ(m.warmup, 50u);
  EXPECT_EQ(m.epoch_length, 100u);
  EXPECT_EQ(m.interval, 500u);
}

TEST(SamplingPlanTest, RejectsInconsistentOptions) {
  EXPECT_NE(error_of({.epoch = 0}).find("--epoch must be at least 1"), std::string::npos);
  EXPECT_NE(error_of({.epochs = 0}).find("--epochs must be at least 1"), std::string::npos);
  EXPECT_NE(error_of({.warmup = 10, .epoch = 100, .interval = 50}).find("overlap"),
            std::string::npos);
  EXPECT_NE(error_of({.epochs = 2'000'000}).find("limit"), std::string::npos);
  EXPECT_NE(error_of({.epoch = 2'000'000'000}).find("limit"), std::string::npos);
  EXPECT_NE(error_of({.skip = UINT64_MAX - 10, .epoch = 100}).find("2^64"), std::string::npos);
  EXPECT_EQ(error_of({.warmup = 10, .epoch = 100, .interval = 110}), "");
}

class AssemblerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() / fmt::format("ns_assembler_{}.nstrace", getpid());
  }
  void TearDown() override { fs::remove(path_); }

  // Feeds records [from, to) with pc = 0x1000 + index and returns the trace read back.
  std::unique_ptr<trace::Reader> run(const SamplingOptions& o,
                                     const std::vector<std::pair<uint64_t, uint64_t>>& spans,
                                     uint32_t* epochs = nullptr) {
    const SamplingPlan plan(o);
    trace::Writer w(path_, plan.meta());
    EpochAssembler a(plan, w);
    for (auto [from, to] : spans)
      for (uint64_t i = from; i < to; ++i) {
        trace::Record r;
        r.pc = 0x1000 + i;
        r.next_pc = r.pc + 1;
        r.inst_len = 1;
        r.opclass = uint8_t(trace::OpClass::IntAlu);
        a.add(i, r);
      }
    a.finish();
    if (epochs) *epochs = a.epochs();
    w.close();
    return std::make_unique<trace::Reader>(path_);
  }
  fs::path path_;
};

TEST_F(AssemblerTest, CutsEpochsAndFlagsWarmup) {
  const SamplingOptions o{.skip = 100, .warmup = 10, .epoch = 50, .epochs = 3, .interval = 200};
  const auto r = run(o, {{0, 1000}});
  ASSERT_EQ(r->epochs().size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const trace::EpochInfo& e = r->epochs()[k];
    EXPECT_EQ(e.first_instruction, 110 + 200 * k);
    EXPECT_EQ(e.records, 50u);
    EXPECT_EQ(e.warmup_records, 10u);
    const auto rs = r->read_epoch(k, true);
    ASSERT_EQ(rs.size(), 60u);
    for (size_t j = 0; j < rs.size(); ++j) {
      EXPECT_EQ(rs[j].pc, 0x1000 + 100 + 200 * k + j);
      EXPECT_EQ(rs[j].is_warmup(), j < 10);
    }
  }
}

TEST_F(AssemblerTest, LateCaptureShortensWarmupAndMovesTheEpochStart) {
  const SamplingOptions o{.skip = 100, .warmup = 10, .epoch = 50, .epochs = 3, .interval = 200};
  // Window 0 captured from inside its warm-up, window 1 from inside its epoch.
  const auto r = run(o, {{105, 160}, {320, 360}, {500, 560}});
  ASSERT_EQ(r->epochs().size(), 3u);
  EXPECT_EQ(r->epochs()[0].first_instruction, 110u);
  EXPECT_EQ(r->epochs()[0].warmup_records, 5u);
  EXPECT_EQ(r->epochs()[1].first_instruction, 320u);
  EXPECT_EQ(r->epochs()[1].warmup_records, 0u);
  EXPECT_EQ(r->epochs()[1].records, 40u);
  EXPECT_EQ(r->epochs()[2].records, 50u);
}

TEST_F(AssemblerTest, ProgramEndingInAWarmupDropsThatWindow) {
  const SamplingOptions o{.skip = 0, .warmup = 20, .epoch = 30, .epochs = 5};
  uint32_t epochs = 0;
  const auto r = run(o, {{0, 65}}, &epochs);  // ends 15 records into window 1's warm-up
  EXPECT_EQ(epochs, 1u);
  ASSERT_EQ(r->epochs().size(), 1u);
  EXPECT_EQ(r->epochs()[0].records, 30u);
  // Ending in an epoch keeps the short epoch.
  const auto s = run(o, {{0, 80}});
  ASSERT_EQ(s->epochs().size(), 2u);
  EXPECT_EQ(s->epochs()[1].records, 10u);
}

TEST_F(AssemblerTest, RefusesGapsInsideAnEpoch) {
  const SamplingPlan plan({.epoch = 100});
  trace::Writer w(path_, plan.meta());
  EpochAssembler a(plan, w);
  trace::Record r;
  a.add(0, r);
  a.add(1, r);
  EXPECT_THROW(a.add(5, r), trace::TraceError);
}

TEST(ParseCountTest, AcceptsSuffixesAndRejectsJunk) {
  EXPECT_EQ(parse_count("0"), 0u);
  EXPECT_EQ(parse_count("100000"), 100000u);
  EXPECT_EQ(parse_count("100k"), 100000u);
  EXPECT_EQ(parse_count("1.5M"), 1500000u);
  EXPECT_EQ(parse_count("2G"), 2000000000u);
  for (const char* bad : {"", "abc", "-5", "+5", "1.5", "10x", "1e30", "nan", "5 k"})
    EXPECT_THROW(parse_count(bad), std::invalid_argument) << bad;
}

class WorkloadFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() / fmt::format("ns_workloads_{}.yaml", getpid());
  }
  void TearDown() override { fs::remove(path_); }
  std::string error_of(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    try {
      load_workloads(path_);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }
  fs::path path_;
};

TEST_F(WorkloadFileTest, ReadsDefaultsAndOverrides) {
  std::ofstream(path_) << "defaults: {warmup: 5k, epoch: 100k, epochs: 3, env: {LC_ALL: C}}\n"
                          "workloads:\n"
                          "  - name: a\n    command: [true]\n    interval: 1M\n"
                          "  - name: b\n    command: [sh, -c, 'exit 3']\n    epochs: 7\n"
                          "    expect_status: 3\n    env: {X: y}\n";
  const auto ws = load_workloads(path_);
  ASSERT_EQ(ws.size(), 2u);
  EXPECT_EQ(ws[0].sampling.warmup, 5000u);
  EXPECT_EQ(ws[0].sampling.epoch, 100000u);
  EXPECT_EQ(ws[0].sampling.interval, 1000000u);
  EXPECT_EQ(ws[0].sampling.epochs, 3u);
  EXPECT_EQ(ws[1].sampling.epochs, 7u);
  EXPECT_EQ(ws[1].expect_status, 3);
  EXPECT_EQ(ws[1].env.at("LC_ALL"), "C");
  EXPECT_EQ(ws[1].env.at("X"), "y");
  EXPECT_EQ(ws[0].digest().size(), 64u);
  EXPECT_NE(ws[0].digest(), ws[1].digest());
}

TEST_F(WorkloadFileTest, ReadsTheThreadAndTheDatasetSplit) {
  std::ofstream(path_) << "workloads:\n"
                          "  - {name: a, command: [x]}\n"
                          "  - {name: b, command: [x], thread: 0, dataset_split: test}\n"
                          "  - {name: c, command: [x], thread: 2}\n";
  auto ws = load_workloads(path_);
  ASSERT_EQ(ws.size(), 3u);
  EXPECT_EQ(ws[0].thread, 0u);
  EXPECT_EQ(ws[0].dataset_split, "");
  EXPECT_EQ(ws[1].dataset_split, "test");
  EXPECT_EQ(ws[2].thread, 2u);
  // The split does not decide the trace, and thread 0 is the default: only the name differs.
  ws[1].name = ws[0].name;
  EXPECT_EQ(ws[1].digest(), ws[0].digest());
  ws[2].name = ws[0].name;
  EXPECT_NE(ws[2].digest(), ws[0].digest());
}

TEST_F(WorkloadFileTest, NamesTheProblem) {
  EXPECT_NE(error_of("workloads: 3").find("'workloads' list"), std::string::npos);
  EXPECT_NE(error_of("workloads:\n  - name: a\n").find("command must be a non-empty list"),
            std::string::npos);
  EXPECT_NE(error_of("workloads:\n  - name: A\n    command: [x]\n").find("name must be"),
            std::string::npos);
  EXPECT_NE(error_of("workloads:\n  - {name: a, command: [x]}\n  - {name: a, command: [y]}\n")
                .find("duplicate name"),
            std::string::npos);
  EXPECT_NE(error_of("workloads:\n  - {name: a, command: [x], epochz: 3}\n")
                .find("unknown key 'epochz'"),
            std::string::npos);
  EXPECT_NE(error_of("workloads:\n  - {name: a, command: [x], epoch: ten}\n")
                .find("epoch: 'ten' is not a count"),
            std::string::npos);
  EXPECT_NE(error_of("workloads:\n  - {name: a, command: [x], epoch: 100, interval: 10}\n")
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(error_of("workloads:\n  - {name: a, command: [x], dataset_split: dev}\n")
                .find("dataset_split 'dev' is not train, validation or test"),
            std::string::npos);
  EXPECT_NE(error_of("workloads:\n  - {name: a, command: [x], thread: -1}\n")
                .find("thread -1 is not a thread index"),
            std::string::npos);
  EXPECT_NE(error_of("workloads: [\n").find(path_.string()), std::string::npos);
}

TEST(WorkloadSuiteTest, TheProjectSuiteIsValidAndMirrorsSpec) {
  const auto ws = load_workloads("configs/workloads.yaml");
  EXPECT_GE(ws.size(), 16u);
  std::set<std::string> suites;
  for (const Workload& w : ws) {
    SCOPED_TRACE(w.name);
    EXPECT_FALSE(w.setup.empty()) << "each workload generates its own input";
    EXPECT_FALSE(w.suite.empty());
    EXPECT_GE(w.sampling.epochs, 10u);
    EXPECT_GT(w.sampling.warmup, 0u);
    suites.insert(w.suite);
  }
  for (const char* s : {"compiler", "compression", "interpreter", "database", "numeric"})
    EXPECT_TRUE(suites.count(s)) << s;
}

}  // namespace
}  // namespace ns::tracer
