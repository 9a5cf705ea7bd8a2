// The attach path end to end: attach to the project's test program while it runs, capture
// epochs, detach, and check that the program then completes unharmed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "ns/trace/trace.h"
#include "ns/tracer/tracer.h"
#include "probe.h"

namespace ns::tracer {
namespace {

namespace fs = std::filesystem;
using testing::Probe;

// The probe, started with "wait": it says "ready" and blocks reading one byte on stdin.
class Child {
 public:
  explicit Child(uint64_t iterations) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      const std::string path = Probe::get().path.string(), n = std::to_string(iterations);
      execl(path.c_str(), path.c_str(), n.c_str(), "wait", nullptr);
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    char ready[6];
    EXPECT_EQ(read(stdout_, ready, 6), 6);
    EXPECT_EQ(std::string(ready, 6), "ready\n");
    // Wait until it blocks in read(2) (system call 0), so the attach point is known.
    for (int tries = 0; tries < 5000; ++tries) {
      std::ifstream f(fmt::format("/proc/{}/syscall", pid_));
      std::string nr;
      if (f >> nr && nr == "0") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdin_);
    close(stdout_);
  }
  pid_t pid() const { return pid_; }
  void go() { EXPECT_EQ(write(stdin_, "x", 1), 1); }
  // Waits for the process to end; returns its output after "ready".
  std::string finish(int& status) {
    std::string s;
    char buf[256];
    for (ssize_t n; (n = read(stdout_, buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return s;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  bool reaped_ = false;
};

class PtraceTracerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("ns_ptrace_{}", getpid());
    fs::create_directories(dir_);
    // Attaching to one's own child needs no privilege unless ptrace is disabled outright.
    std::ifstream scope("/proc/sys/kernel/yama/ptrace_scope");
    int level = 0;
    if (scope >> level && level >= 3) GTEST_SKIP() << "ptrace is disabled (ptrace_scope 3)";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(PtraceTracerTest, CapturesEpochsOfARunningProcessAndDetaches) {
  const Probe& p = Probe::get();
  const uint64_t n = 300'000'000;  // about a second natively: still running after the capture
  Child child(n);
  AttachOptions o;
  o.sampling = {.skip = 1000, .warmup = 200, .epoch = 2000, .epochs = 2, .interval = 5000};
  std::thread go([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    child.go();  // the attach interrupted the read; the tracer's first step restarts it
  });
  const TraceResult r = trace_attached(child.pid(), o, dir_ / "t.nstrace");
  go.join();
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.instructions, 1000u + 5000 + 200 + 2000);
  int status = 0;
  EXPECT_EQ(child.finish(status), Probe::output(n));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);

  const trace::Reader reader(dir_ / "t.nstrace");
  EXPECT_EQ(reader.metadata().value("tracer", ""), "ptrace");
  ASSERT_EQ(reader.epochs().size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    const trace::EpochInfo& e = reader.epochs()[k];
    EXPECT_EQ(e.first_instruction, 1000 + 200 + 5000 * k);
    EXPECT_EQ(e.records, 2000u);
    EXPECT_EQ(e.warmup_records, 200u);
    const auto rs = reader.read_epoch(k, true);
    // Find the first iteration start; its load address says which iteration it is (mod 64).
    size_t pos = 0;
    while (pos < rs.size() && rs[pos].pc != p.at("probe_i0")) ++pos;
    ASSERT_LT(pos + 2, rs.size());
    ASSERT_EQ(rs[pos + 2].pc, p.at("probe_i2"));
    const uint64_t i = (rs[pos + 2].mem_addr - p.at("probe_array")) / 8 + 64 * 1000;
    EXPECT_EQ(testing::check_loop(rs, pos, i, n), rs.size() - pos);
  }
}

TEST_F(PtraceTracerTest, StartsAtTheInterruptedSystemCall) {
  const Probe& p = Probe::get();
  Child child(50);
  AttachOptions o;
  o.sampling = {.skip = 0, .warmup = 0, .epoch = 100'000, .epochs = 1};
  std::thread go([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    child.go();
  });
  const TraceResult r = trace_attached(child.pid(), o, dir_ / "t.nstrace");
  go.join();
  // The process ended during the capture: its whole remaining run is in the trace.
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 7);
  int status = 0;
  child.finish(status);

  const trace::Reader reader(dir_ / "t.nstrace");
  ASSERT_EQ(reader.epochs().size(), 1u);
  const auto rs = reader.read_epoch(0);
  ASSERT_GT(rs.size(), 10u);
  EXPECT_EQ(rs[0].pc, p.at("probe_read"));  // the read, restarted
  EXPECT_EQ(rs[0].op(), trace::OpClass::Syscall);
  EXPECT_EQ(rs[0].next_pc, p.at("probe_start"));
  EXPECT_EQ(rs[1].pc, p.at("probe_start"));
  EXPECT_EQ(rs[4].pc, p.at("probe_i0"));
  EXPECT_EQ(testing::check_loop(rs, 4, 0, 50), 25u * 26 + 25u * 14);
  // The hex conversion and the two system calls follow; the last record is exit's syscall.
  EXPECT_EQ(rs.size(), 4 + 25u * 26 + 25u * 14 + 3 + 16 * 8 + 5 + 3);
  EXPECT_EQ(rs.size(), r.records);
  EXPECT_EQ(rs.back().op(), trace::OpClass::Syscall);
  EXPECT_EQ(rs.back().next_pc, 0u);
}

TEST_F(PtraceTracerTest, GapModeLetsTheProcessRunBetweenEpochs) {
  const uint64_t n = 300'000'000;
  Child child(n);
  child.go();
  AttachOptions o;
  o.sampling = {.skip = 0, .warmup = 100, .epoch = 500, .epochs = 3};
  o.gap_seconds = 0.05;
  const TraceResult r = trace_attached(child.pid(), o, dir_ / "t.nstrace");
  EXPECT_FALSE(r.exited);
  const trace::Reader reader(dir_ / "t.nstrace");
  ASSERT_EQ(reader.epochs().size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(reader.epochs()[k].first_instruction, 100 + 600 * k);  // stepped count
    EXPECT_EQ(reader.epochs()[k].records, 500u);
  }
  EXPECT_EQ(reader.metadata().value("gap_seconds", 0.0), 0.05);
  int status = 0;
  EXPECT_EQ(child.finish(status), Probe::output(n));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST_F(PtraceTracerTest, ExplainsWhatItCannotAttachTo) {
  auto error = [&](pid_t pid, AttachOptions o = {}) {
    try {
      trace_attached(pid, o, dir_ / "t.nstrace");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error(999'999'999).find("no process 999999999"), std::string::npos);
  EXPECT_NE(error(0).find("invalid process id"), std::string::npos);
  AttachOptions both;
  both.sampling.interval = 1'000'000;
  both.gap_seconds = 1;
  EXPECT_NE(error(getpid(), both).find("exclude each other"), std::string::npos);
  AttachOptions bad;
  bad.sampling.epochs = 0;
  EXPECT_NE(error(getpid(), bad).find("--epochs"), std::string::npos);
  // A process that ends before the first epoch leaves no trace file.
  Child child(10);
  std::thread go([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    child.go();
  });
  AttachOptions far;
  far.sampling.skip = 1'000'000;
  EXPECT_NE(error(child.pid(), far).find("before the first epoch"), std::string::npos);
  go.join();
  EXPECT_FALSE(fs::exists(dir_ / "t.nstrace"));
}

}  // namespace
}  // namespace ns::tracer
