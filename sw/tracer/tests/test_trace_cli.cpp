// `neuroscalar trace` as users run it: results, JSON, the workload suite and clear errors for
// bad arguments.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ns/trace/trace.h"

namespace {

namespace fs = std::filesystem;

struct CliResult {
  int code = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class TraceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("ns_trace_cli_{}", getpid());
    fs::create_directories(dir_);
    ASSERT_TRUE(fs::exists(NS_CLI_PATH)) << "build the CLI first";
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliResult run(const std::string& args) {
    const fs::path err = dir_ / "stderr.txt";
    const std::string cmd =
        fmt::format("{} {} 2> {}", quote(NS_CLI_PATH), args, quote(err.string()));
    CliResult r;
    FILE* p = popen(cmd.c_str(), "r");
    std::array<char, 4096> buf;
    for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
    const int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream e(err);
    r.err.assign(std::istreambuf_iterator<char>(e), {});
    return r;
  }
  // Expects a clean failure: exit status 1, one "neuroscalar: error:" line naming the problem.
  void refuses(const std::string& args, const std::string& message) {
    SCOPED_TRACE(args);
    const CliResult r = run(args);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("neuroscalar: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  std::string probe() const { return quote(NS_PROBE_PATH); }
  std::string out(const char* name = "t.nstrace") const { return quote((dir_ / name).string()); }

  fs::path dir_;
};

TEST_F(TraceCliTest, TracesAProgramAndReportsJson) {
  const CliResult r = run(fmt::format("trace -o {} --epoch 500 --epochs 2 --warmup 100 --json "
                                "--stdout {} -- {} 1000",
                                out(), quote((dir_ / "stdout.txt").string()), probe()));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["trace"]["epochs"], 2);
  EXPECT_EQ(j["trace"]["records"], 1200);
  EXPECT_EQ(j["trace"]["exit_code"], 7);
  EXPECT_EQ(j["summary"]["records"], 1000);
  EXPECT_EQ(j["summary"]["warmup_records"], 200);
  EXPECT_EQ(j["summary"]["epochs"].size(), 2u);
  EXPECT_EQ(j["summary"]["epochs"][1]["first_instruction"], 100 + 600);
  std::ifstream so(dir_ / "stdout.txt");
  std::string line;
  std::getline(so, line);
  EXPECT_EQ(line.substr(0, 4), "sum ");
  // trace-info reads it back.
  const CliResult info = run("trace-info " + out());
  EXPECT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("1000 (+ 200 warm-up) in 2 epochs"), std::string::npos) << info.out;
}

TEST_F(TraceCliTest, CountsInstructions) {
  const CliResult r = run(fmt::format("trace --count --json --stdout /dev/null -- {} 1000", probe()));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["instructions"], 45 + 500 * 26 + 500 * 14 + 139);
  EXPECT_EQ(j["ending"], "exit status 7");
}

TEST_F(TraceCliTest, RefusesBadArguments) {
  refuses("trace", "give exactly one of");
  refuses("trace -o x --pid 1 -- true", "give exactly one of");
  refuses("trace -- true", "-o/--output is required");
  refuses("trace -o " + out() + " --epochs 0 -- true", "--epochs must be at least 1");
  refuses("trace -o " + out() + " --epoch 100 --interval 50 -- true", "overlap");
  refuses("trace -o " + out() + " --skip ten -- true", "--skip: 'ten' is not a count");
  refuses("trace -o " + out() + " --warmup 5X -- true", "--warmup: '5X': unknown suffix");
  refuses("trace --count", "give exactly one of");
  refuses("trace --gap-ms 10 -o " + out() + " -- true", "--gap-ms needs --pid");
  refuses("trace --thread 1 --pid 1 -o " + out(), "--thread needs -- PROGRAM");
  refuses("trace --stdin /dev/null --pid 1 -o " + out(), "--stdin/--stdout/--stderr need");
  refuses("trace --pid -5 -o " + out(), "--pid -5: not a process id");
  refuses("trace --pid 999999999 -o " + out(), "no process 999999999");
  refuses("trace --pid 1 --gap-ms 5 --interval 1M --epoch 100 -o " + out(),
          "--gap-ms and --interval exclude each other");
  // CLI11's own checks exit with its usual status; they still name the option.
  const CliResult bad_number = run("trace --pid abc -o x");
  EXPECT_NE(bad_number.code, 0);
  EXPECT_NE(bad_number.err.find("--pid"), std::string::npos) << bad_number.err;
}

TEST_F(TraceCliTest, RefusesProgramsItCannotTrace) {
  refuses("trace -o " + out() + " -- no-such-program-anywhere",
          "program 'no-such-program-anywhere' not found in PATH");
  refuses("trace -o " + out() + " -- /no/such/program", "program '/no/such/program' does not exist");
  std::ofstream(dir_ / "script.sh") << "#!/bin/sh\necho hi\n";
  fs::permissions(dir_ / "script.sh", fs::perms::owner_all);
  refuses("trace -o " + out() + " -- " + quote((dir_ / "script.sh").string()),
          "is not an ELF executable");
  refuses(fmt::format("trace -o {} --skip 1G -- {} 10", out(), probe()),
          "ended before the first epoch");
  EXPECT_FALSE(fs::exists(dir_ / "t.nstrace"));
  refuses(fmt::format("trace -o {} -- {} 10", quote("/no/such/dir/t.nstrace"), probe()),
          "cannot write the trace /no/such/dir/t.nstrace");
}

TEST_F(TraceCliTest, TracesWorkloadsOnceUntilTheyChange) {
  const fs::path yaml = dir_ / "suite.yaml";
  auto write_suite = [&](int epochs) {
    std::ofstream(yaml) << fmt::format(
        "defaults: {{warmup: 100, epoch: 1000, epochs: {}}}\n"
        "workloads:\n"
        "  - name: probe\n"
        "    suite: test\n"
        "    setup: echo 2000 > n.txt\n"
        "    command: [{}, '2000']\n"
        "    stdout: out.txt\n"
        "    expect_status: 7\n"
        "    interval: 5000\n"
        "  - name: fails\n"
        "    setup: 'true'\n"
        "    command: [{}, '2000']\n",
        epochs, NS_PROBE_PATH, NS_PROBE_PATH);
  };
  write_suite(3);
  const std::string common = fmt::format("--workloads {} --trace-dir {}", quote(yaml.string()),
                                         quote((dir_ / "traces").string()));
  const CliResult list = run("trace --list-workloads " + common);
  EXPECT_EQ(list.out, "probe\nfails\n");

  const CliResult first = run("trace -q --workload probe " + common);
  ASSERT_EQ(first.code, 0) << first.err;
  const fs::path trace = dir_ / "traces" / "probe.nstrace";
  ASSERT_TRUE(fs::exists(trace));
  EXPECT_TRUE(fs::exists(dir_ / "traces" / "work" / "probe" / "n.txt"));
  {
    const ns::trace::Reader r(trace);
    EXPECT_EQ(r.epochs().size(), 3u);
    EXPECT_EQ(r.metadata().value("workload", ""), "probe");
  }
  const CliResult again = run("trace --workload probe " + common);
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.out.find("probe: up to date"), std::string::npos) << again.out;
  write_suite(4);  // a changed definition is traced again
  const CliResult changed = run("trace -q --workload probe " + common);
  ASSERT_EQ(changed.code, 0) << changed.err;
  EXPECT_EQ(ns::trace::Reader(trace).epochs().size(), 4u);

  refuses("trace --workload fails " + common,
          "workload fails: the program ended with exit status 7, expected exit status 0");
  refuses("trace --workload nope " + common, "no workload 'nope'");
  refuses("trace --list-workloads --workloads /no/such.yaml", "/no/such.yaml");
}

}  // namespace
