// The fast path end to end: QEMU + the tracer plugin on the project's own test program, whose
// every instruction is known (tests/data/probe.S), and on real programs.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "ns/trace/trace.h"
#include "ns/tracer/tracer.h"
#include "probe.h"

namespace ns::tracer {
namespace {

namespace fs = std::filesystem;
using testing::Probe;

class QemuTracerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("ns_qemu_tracer_{}_{}", getpid(),
                                                    ::testing::UnitTest::GetInstance()
                                                        ->current_test_info()
                                                        ->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Program probe(uint64_t iterations) {
    Program p;
    p.argv = {Probe::get().path.string(), std::to_string(iterations)};
    p.stdout_path = (dir_ / "stdout.txt").string();
    return p;
  }
  std::string stdout_text() {
    std::ifstream f(dir_ / "stdout.txt");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  static std::vector<trace::Record> all(const trace::Reader& r, size_t epoch, bool warm = false) {
    return r.read_epoch(epoch, warm);
  }

  fs::path dir_;
};

TEST_F(QemuTracerTest, ReproducesEveryInstructionOfTheProbe) {
  const Probe& p = Probe::get();
  const uint64_t n = 200;
  QemuOptions o;
  o.sampling.epoch = 100000;  // more than the whole run: one short epoch
  const TraceResult r = trace_program(probe(n), o, dir_ / "t.nstrace");
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(stdout_text(), Probe::output(n));

  const trace::Reader reader(dir_ / "t.nstrace");
  ASSERT_EQ(reader.epochs().size(), 1u);
  EXPECT_EQ(reader.epochs()[0].first_instruction, 0u);
  const auto rs = all(reader, 0);
  EXPECT_EQ(rs.size(), r.instructions);
  EXPECT_EQ(r.records, rs.size());
  ASSERT_GT(rs.size(), 100u);
  EXPECT_EQ(rs[0].pc, p.at("_start"));
  const size_t loop = Probe::prologue(3);
  ASSERT_EQ(rs[loop].pc, p.at("probe_i0"));
  const size_t checked = testing::check_loop(rs, loop, 0, n);
  // 100 even iterations of 26 instructions, 100 odd ones of 14.
  EXPECT_EQ(checked, 100u * 26 + 100u * 14);
  // The hex conversion and the two system calls follow; the last record is exit's syscall.
  EXPECT_EQ(rs.size(), loop + checked + 3 + 16 * 8 + 5 + 3);
  EXPECT_EQ(rs.back().op(), trace::OpClass::Syscall);
  EXPECT_EQ(rs.back().next_pc, 0u);
  EXPECT_EQ(rs.back().src1, (trace::RegRef{1, 0}));
}

TEST_F(QemuTracerTest, SamplesEpochsWithWarmupAcrossModeSwitches) {
  const uint64_t n = 1'500'000;  // ~30 M instructions
  QemuOptions o;
  // The loop repeats every 40 instructions; 10,000,010 apart, epochs start at different phases.
  o.sampling = {.skip = 5'000'000, .warmup = 1000, .epoch = 5000, .epochs = 3,
                .interval = 10'000'010};
  const TraceResult r = trace_program(probe(n), o, dir_ / "t.nstrace");
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(stdout_text(), Probe::output(n));
  // count -> capture -> count for each window.
  EXPECT_GE(r.mode_switches, 6u);

  const trace::Reader reader(dir_ / "t.nstrace");
  ASSERT_EQ(reader.epochs().size(), 3u);
  EXPECT_EQ(reader.header().skip, 5'000'000u);
  EXPECT_EQ(reader.header().warmup, 1000u);
  std::set<std::string> signatures;
  const uint64_t loop = Probe::prologue(7);
  for (size_t k = 0; k < 3; ++k) {
    const trace::EpochInfo& e = reader.epochs()[k];
    EXPECT_EQ(e.first_instruction, 5'000'000 + 1000 + k * 10'000'010);
    EXPECT_EQ(e.records, 5000u);
    EXPECT_EQ(e.warmup_records, 1000u);
    signatures.insert(trace::to_hex(e.signature));
    const auto rs = all(reader, k, true);
    ASSERT_EQ(rs.size(), 6000u);
    for (size_t j = 0; j < rs.size(); ++j) EXPECT_EQ(rs[j].is_warmup(), j < 1000) << j;
    // Locate the first record in the loop: an even iteration takes 26 instructions, an odd one
    // 14; check from the next iteration start on.
    const uint64_t q = e.first_instruction - 1000 - loop, offset = q % 40;
    uint64_t start = 0, iteration = 2 * (q / 40);
    if (offset > 0 && offset <= 26) start = 26 - offset, iteration += 1;
    if (offset > 26) start = 40 - offset, iteration += 2;
    EXPECT_EQ(testing::check_loop(rs, start, iteration, n), rs.size() - start);
  }
  EXPECT_EQ(signatures.size(), 3u);
}

TEST_F(QemuTracerTest, SameProgramAndInputGiveTheSameTrace) {
  fs::path input = dir_ / "input.txt";
  {
    std::ofstream f(input);
    for (int i = 0; i < 20000; ++i) f << (i * 7919) % 10007 << " line " << i % 97 << "\n";
  }
  QemuOptions o;
  o.sampling = {.skip = 200'000, .warmup = 500, .epoch = 2000, .epochs = 2, .interval = 300'000};
  Program p;
  p.argv = {"sort", "-n", input.string()};
  p.stdout_path = "/dev/null";
  p.env = {{"LC_ALL", "C"}};
  trace_program(p, o, dir_ / "a.nstrace");
  trace_program(p, o, dir_ / "b.nstrace");
  const trace::Reader a(dir_ / "a.nstrace"), b(dir_ / "b.nstrace");
  ASSERT_EQ(a.epochs().size(), 2u);
  ASSERT_EQ(b.epochs().size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(trace::to_hex(a.epochs()[k].signature), trace::to_hex(b.epochs()[k].signature));
    EXPECT_EQ(a.read_epoch(k), b.read_epoch(k));
  }
}

TEST_F(QemuTracerTest, ForkedChildrenDoNotDisturbTheTrace) {
  QemuOptions o;
  o.sampling = {.skip = 0, .warmup = 0, .epoch = 20000, .epochs = 5};
  Program p;
  p.argv = {"sh", "-c", "echo one; /bin/true; (echo two); echo three"};
  p.stdout_path = (dir_ / "stdout.txt").string();
  const TraceResult r = trace_program(p, o, dir_ / "t.nstrace");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(stdout_text(), "one\ntwo\nthree\n");
  const trace::Reader reader(dir_ / "t.nstrace");  // checksums and signatures verified
  EXPECT_GE(reader.epochs().size(), 1u);
  for (size_t k = 0; k < reader.epochs().size(); ++k) {
    const auto rs = all(reader, k);
    for (size_t j = 0; j + 1 < rs.size(); ++j) ASSERT_EQ(rs[j].next_pc, rs[j + 1].pc) << j;
  }
}

TEST_F(QemuTracerTest, KeepsCapturedEpochsWhenTheProgramIsKilled) {
  QemuOptions o;
  o.sampling = {.skip = 0, .warmup = 0, .epoch = 3000, .epochs = 2};
  Program p;
  p.argv = {"sh", "-c", "i=0; while [ $i -lt 200 ]; do i=$((i+1)); done; kill -SEGV $$"};
  const TraceResult r = trace_program(p, o, dir_ / "t.nstrace");
  EXPECT_EQ(r.signal, SIGSEGV);
  const trace::Reader reader(dir_ / "t.nstrace");
  EXPECT_EQ(reader.epochs().size(), 2u);
  EXPECT_EQ(reader.epochs()[1].records, 3000u);
}

TEST_F(QemuTracerTest, RefusesAProgramThatEndsBeforeTheFirstEpoch) {
  QemuOptions o;
  o.sampling.skip = 1'000'000'000;
  try {
    trace_program(probe(10), o, dir_ / "t.nstrace");
    FAIL() << "expected an error";
  } catch (const TracerError& e) {
    EXPECT_NE(std::string(e.what()).find("ended before the first epoch"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "t.nstrace"));
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << entry.path();
}

TEST_F(QemuTracerTest, CountsInstructions) {
  QemuOptions o;
  o.count_only = true;
  const TraceResult r = trace_program(probe(1000), o, {});
  EXPECT_EQ(r.instructions, Probe::prologue(4) + 500u * 26 + 500u * 14 + 3 + 16 * 8 + 5 + 3);
  EXPECT_EQ(r.exit_code, 7);
}

// The thread of tests/data/probe_thread.S: its instructions, in order, from its first.
struct ThreadProbe {
  static constexpr uint64_t kIterations = 20000;
  std::map<std::string, uint64_t> symbols = testing::symbols_of(NS_PROBE_THREAD_PATH);

  uint64_t at(const std::string& s) const {
    const auto it = symbols.find(s);
    return it == symbols.end() ? 0 : it->second;
  }
  static uint64_t instructions() { return 2 + 2 + 8 * kIterations + 3; }
  static std::string output() {
    return fmt::format("sum {:016x}\n", 10 * (kIterations * (kIterations - 1) / 2));
  }
  // Checks rs against the thread's instructions first .. first + rs.size() - 1: PCs, next_pc,
  // the taken flag of the loop branch and the array's load and store addresses.
  void check(const std::vector<trace::Record>& rs, uint64_t first) const {
    const uint64_t array = at("probe_t_array"), loop = at("probe_t_i0");
    ASSERT_NE(loop, 0u) << "probe_thread has no symbols";
    for (size_t j = 0; j < rs.size(); ++j) {
      const trace::Record& r = rs[j];
      const uint64_t n = first + j;
      SCOPED_TRACE(fmt::format("instruction {} of the thread, pc {:#x}", n, r.pc));
      if (j + 1 < rs.size()) {
        EXPECT_EQ(r.next_pc, rs[j + 1].pc);
      }
      const uint16_t mem = r.flags & (trace::kFlagLoad | trace::kFlagStore);
      if (n < 4) {
        const uint64_t start = at("probe_t_start");
        const uint64_t pcs[] = {at("probe_t_cloned"), 0, start, 0};
        if (pcs[n]) {
          EXPECT_EQ(r.pc, pcs[n]);
        }
        if (n == 1) {  // jz probe_t_start, taken in the thread
          EXPECT_EQ(r.op(), trace::OpClass::BranchCond);
          EXPECT_TRUE(r.has(trace::kFlagTaken));
          EXPECT_EQ(r.next_pc, start);
        }
        EXPECT_EQ(mem, 0);
      } else if (n < 4 + 8 * kIterations) {
        const uint64_t i = (n - 4) / 8, step = (n - 4) % 8;
        if (r.pc != at(fmt::format("probe_t_i{}", step))) {
          ADD_FAILURE() << "expected probe_t_i" << step << " of iteration " << i;
          return;
        }
        if (step == 2 || step == 4) {
          EXPECT_EQ(r.op(), step == 2 ? trace::OpClass::MemRead : trace::OpClass::MemWrite);
          EXPECT_EQ(mem, step == 2 ? trace::kFlagLoad : trace::kFlagStore);
          EXPECT_EQ(r.mem_addr, array + 8 * (i % 16));
          EXPECT_EQ(r.mem_size, 8);
        } else {
          EXPECT_EQ(mem, 0);
        }
        if (step == 7) {
          EXPECT_EQ(r.has(trace::kFlagTaken), i + 1 < kIterations);
          EXPECT_EQ(r.next_pc, i + 1 < kIterations ? loop : at("probe_t_i7") + r.inst_len);
        }
      } else {
        const uint64_t k = n - 4 - 8 * kIterations;  // mov eax, 60; xor edi, edi; syscall
        ASSERT_LT(k, 3u) << "past the thread's exit";
        if (k == 2) {
          EXPECT_EQ(r.pc, at("probe_t_exit"));
          EXPECT_EQ(r.op(), trace::OpClass::Syscall);
          EXPECT_EQ(r.next_pc, 0u);  // the thread ends here
        }
        EXPECT_EQ(mem, 0);
      }
    }
  }
};

TEST_F(QemuTracerTest, TracesTheChosenThreadExactly) {
  const ThreadProbe t;
  Program p;
  p.argv = {NS_PROBE_THREAD_PATH};
  p.stdout_path = (dir_ / "stdout.txt").string();
  QemuOptions o;
  o.thread = 1;
  o.sampling.epoch = 1'000'000;  // more than the thread's whole run: one short epoch
  const TraceResult r = trace_program(p, o, dir_ / "t.nstrace");
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(stdout_text(), ThreadProbe::output());
  EXPECT_EQ(r.instructions, ThreadProbe::instructions());
  const trace::Reader reader(dir_ / "t.nstrace");
  ASSERT_EQ(reader.epochs().size(), 1u);
  EXPECT_EQ(reader.epochs()[0].first_instruction, 0u);
  const auto rs = all(reader, 0);
  ASSERT_EQ(rs.size(), ThreadProbe::instructions());
  t.check(rs, 0);
}

TEST_F(QemuTracerTest, SamplesAThreadFromCountingMode) {
  const ThreadProbe t;
  Program p;
  p.argv = {NS_PROBE_THREAD_PATH};
  p.stdout_path = (dir_ / "stdout.txt").string();
  QemuOptions o;
  o.thread = 1;
  // Far enough in to start counting; odd offsets land mid-iteration.
  o.sampling = {.skip = 70'001, .warmup = 100, .epoch = 803, .epochs = 3, .interval = 30'007};
  const TraceResult r = trace_program(p, o, dir_ / "t.nstrace");
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(stdout_text(), ThreadProbe::output());
  EXPECT_GE(r.mode_switches, 1u);
  const trace::Reader reader(dir_ / "t.nstrace");
  ASSERT_EQ(reader.epochs().size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const trace::EpochInfo& e = reader.epochs()[k];
    EXPECT_EQ(e.first_instruction, 70'001 + 100 + k * 30'007);
    EXPECT_EQ(e.records, 803u);
    EXPECT_EQ(e.warmup_records, 100u);
    const auto rs = all(reader, k, true);
    ASSERT_EQ(rs.size(), 903u);
    t.check(rs, e.first_instruction - 100);
  }
}

TEST_F(QemuTracerTest, TheMainThreadOfAThreadedProgramExcludesTheOthers) {
  const ThreadProbe t;
  Program p;
  p.argv = {NS_PROBE_THREAD_PATH};
  p.stdout_path = (dir_ / "stdout.txt").string();
  QemuOptions o;
  o.sampling.epoch = 1'000'000;
  const TraceResult r = trace_program(p, o, dir_ / "t.nstrace");
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(stdout_text(), ThreadProbe::output());
  const trace::Reader reader(dir_ / "t.nstrace");
  ASSERT_EQ(reader.epochs().size(), 1u);
  const auto rs = all(reader, 0);
  ASSERT_GT(rs.size(), 7u + 16 * 10 * 4);
  EXPECT_EQ(rs[0].pc, t.at("_start"));
  EXPECT_EQ(rs[7].pc, t.at("probe_t_cloned"));
  EXPECT_FALSE(rs[8].has(trace::kFlagTaken));  // jz: the main thread got the thread's id
  size_t sums = 0;
  for (size_t j = 0; j < rs.size(); ++j) {
    EXPECT_TRUE(rs[j].pc < t.at("probe_t_start") || rs[j].pc > t.at("probe_t_exit"))
        << fmt::format("record {}: pc {:#x} is the other thread's", j, rs[j].pc);
    if (j + 1 < rs.size()) {
      ASSERT_EQ(rs[j].next_pc, rs[j + 1].pc) << j;
    }
    sums += rs[j].pc == t.at("probe_t_sum");
  }
  EXPECT_EQ(sums, 16u * 10);
  EXPECT_EQ(rs.back().op(), trace::OpClass::Syscall);  // exit_group
  EXPECT_EQ(rs.back().next_pc, 0u);
}

TEST_F(QemuTracerTest, RefusesAThreadThatNeverRuns) {
  Program p;
  p.argv = {NS_PROBE_THREAD_PATH};
  p.stdout_path = "/dev/null";
  QemuOptions o;
  o.thread = 2;
  try {
    trace_program(p, o, dir_ / "t.nstrace");
    FAIL() << "expected an error";
  } catch (const TracerError& e) {
    EXPECT_NE(std::string(e.what()).find("retired 0 instructions in thread 2"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "t.nstrace"));
}

TEST_F(QemuTracerTest, ExplainsProgramsItCannotRun) {
  auto error = [&](const std::string& program) {
    try {
      resolve_program(program, dir_);
    } catch (const TracerError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("no-such-program-anywhere").find("not found in PATH"), std::string::npos);
  EXPECT_NE(error("/no/such/file").find("does not exist"), std::string::npos);
  std::ofstream(dir_ / "script.sh") << "#!/bin/sh\necho hi\n";
  fs::permissions(dir_ / "script.sh", fs::perms::owner_all);
  EXPECT_NE(error((dir_ / "script.sh").string()).find("not an ELF executable"), std::string::npos);
  std::ofstream(dir_ / "data.bin") << "data";
  EXPECT_NE(error((dir_ / "data.bin").string()).find("not executable"), std::string::npos);
  EXPECT_TRUE(resolve_program("sh", dir_).is_absolute()) << "sh resolves through PATH";
}

}  // namespace
}  // namespace ns::tracer
