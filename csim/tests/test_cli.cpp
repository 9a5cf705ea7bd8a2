// The simulator through the `neuroscalar` front door: predict with the neutrino-sim backend gives
// the same latency file as the INT8 reference, `sim` reports what docs/csim.md promises (JSON
// keys, timeline, latencies, bundles), and bad input gets a clear error and a non-zero exit.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ns/model/synthetic.h"
#include "ns/trace/trace.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

struct Result {
  int code = 0;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class CliTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { fs::remove_all(dir()); }
  static fs::path dir() {
    static const fs::path d = [] {
      const fs::path p = fs::temp_directory_path() / ("csim_cli_" + std::to_string(::getpid()));
      fs::create_directories(p);
      return p;
    }();
    return d;
  }
  // A trace of two epochs (150 and 300 instructions) of the synthetic program.
  static fs::path trace() {
    const fs::path p = dir() / "synthetic.nstrace";
    if (fs::exists(p)) return p;
    ns::trace::TraceMeta meta;
    meta.program = "synthetic";
    meta.epoch_length = 300;
    ns::trace::Writer w(p, meta);
    const auto recs = ns::model::synthetic_records(450, 7);
    w.begin_epoch(0);
    w.append(std::span(recs).first(150));
    w.end_epoch();
    w.begin_epoch(150);
    w.append(std::span(recs).subspan(150));
    w.end_epoch();
    w.close();
    return p;
  }
  static Result run(const std::string& args) {
    const fs::path out = dir() / "stdout", err = dir() / "stderr";
    const std::string cmd = std::string(NS_CLI_PATH) + " " + args + " > " + out.string() + " 2> " + err.string();
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
  static std::string src(const std::string& rel) { return (ntr::csim::testing::source_dir() / rel).string(); }
};

TEST_F(CliTest, PredictOnTheSimulatorEqualsTheInt8Reference) {
  for (const std::string model : {"compiler/tests/data/tiny-bi-tied.yaml --backend-opt config=tiny",
                                  "configs/model/paper-uni.yaml"}) {
    const std::string a = (dir() / "int8.bin").string(), b = (dir() / "sim.bin").string();
    const std::string base = "predict --quiet --model " + src(model.substr(0, model.find(' '))) + " " + trace().string();
    const Result r1 = run(base + " --backend int8 --dump-latencies " + a);
    ASSERT_EQ(r1.code, 0) << r1.err;
    const std::string opts = model.find(' ') == std::string::npos ? "" : model.substr(model.find(' '));
    const Result r2 = run(base + " --backend neutrino-sim --json --threads 2 --dump-latencies " + b + opts);
    ASSERT_EQ(r2.code, 0) << r2.err;
    EXPECT_EQ(slurp(a), slurp(b)) << model;
    EXPECT_EQ(slurp(a).size(), 450u * 4u * (model.find("tiny") != std::string::npos ? 1u : 5u));
    const auto j = nlohmann::json::parse(r2.out);
    for (const auto& e : j.at("epochs")) EXPECT_TRUE(e.at("backend_stats").at("matches_schedule").get<bool>()) << model;
  }
}

TEST_F(CliTest, SimReportsCyclesCountersTimelineAndLatencies) {
  const std::string tl = (dir() / "timeline.json").string(), lat = (dir() / "lat.bin").string();
  const Result r = run("sim --program " + src("compiler/tests/data/tiny-bi-tied.yaml") + " --config tiny --trace-epoch " +
                       trace().string() + ":1 --json --quiet --timeline " + tl + " --dump-latencies " + lat);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"cycles", "mac_utilization", "instructions", "tiles", "counters", "latencies", "simulator"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j.at("instructions").get<int>(), 300);
  EXPECT_EQ(j.at("tiles").get<int>(), 1);
  EXPECT_TRUE(j.at("matches_schedule").get<bool>());
  EXPECT_GT(j.at("cycles").get<uint64_t>(), 0u);
  EXPECT_EQ(j.at("counters").at("cycles"), j.at("cycles"));
  EXPECT_GT(j.at("counters").at("mac").at("macs").get<uint64_t>(), 0u);
  EXPECT_EQ(slurp(lat).size(), 300u * 4u);  // one design
  const auto t = nlohmann::json::parse(slurp(tl));
  EXPECT_GT(t.at("traceEvents").size(), 100u);
  EXPECT_EQ(t.at("traceEvents")[0].at("ph"), "M");

  // The same epoch through a compiled bundle gives the same cycles and latencies.
  const std::string bundle = (dir() / "bundle").string();
  ASSERT_EQ(run("compile --model " + src("compiler/tests/data/tiny-bi-tied.yaml") + " --accel " +
                src("configs/accel/tiny.yaml") + " --epoch 300 -o " + bundle).code, 0);
  const std::string lat2 = (dir() / "lat2.bin").string();
  const Result b = run("sim --program " + bundle + " --model " + src("compiler/tests/data/tiny-bi-tied.yaml") +
                       " --trace-epoch " + trace().string() + ":1 --json --quiet --dump-latencies " + lat2);
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(nlohmann::json::parse(b.out).at("cycles"), j.at("cycles"));
  EXPECT_EQ(slurp(lat2), slurp(lat));
  // A bundle for one tile does not run on two.
  const Result m = run("sim --program " + bundle + " --model " + src("compiler/tests/data/tiny-bi-tied.yaml") +
                       " --trace-epoch synthetic:100 --tiles 2 --quiet");
  EXPECT_NE(m.code, 0);
  EXPECT_NE(m.err.find("recompile"), std::string::npos) << m.err;
}

TEST_F(CliTest, SimRunsAHandWrittenProgram) {
  const fs::path s = dir() / "ok.s";
  std::ofstream(s) << ".stream dma\n dma ld g=gib:0 l=lib:0 len=8\n dma st g=gib:100 l=lib:0 len=8\n halt\n"
                      ".stream mac\n halt\n.stream ppu\n halt\n";
  std::string img(16, '\0');
  for (int i = 0; i < 8; ++i) img[static_cast<size_t>(i)] = static_cast<char>(10 + i);
  std::ofstream(dir() / "gib.bin", std::ios::binary) << img;
  const std::string out = (dir() / "gib_out.bin").string();
  const Result r = run("sim --program " + s.string() + " --config tiny --json --gib " + (dir() / "gib.bin").string() +
                       " --gib-out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  // ld: busy 2 + 1, st: busy 2 + 1, done at 6.
  EXPECT_EQ(nlohmann::json::parse(r.out).at("cycles").get<int>(), 6);
  const std::string g = slurp(out);
  ASSERT_EQ(g.size(), 65536u);
  EXPECT_EQ(g.substr(100, 8), img.substr(0, 8));
}

TEST_F(CliTest, BadInputGetsAClearError) {
  const fs::path oob = dir() / "oob.s";
  std::ofstream(oob) << ".stream dma\n halt\n.stream mac\n mvm x=2040 w=0 rows=16 bank=0\n halt\n.stream ppu\n halt\n";
  struct Case {
    std::string args, message;
  };
  const fs::path junk = dir() / "junk.bin";
  std::ofstream(junk, std::ios::binary) << std::string("NTRPROG\0\1\0\0\0", 12);
  const fs::path feats = dir() / "bad.i32";
  std::ofstream(feats, std::ios::binary) << std::string(10, 'x');
  const std::string tiny = src("compiler/tests/data/tiny-uni.yaml") + " --config tiny";
  const std::vector<Case> cases = {
      {"sim --program " + oob.string() + " --config tiny", "out of bounds: mvm reads LIB bytes 2040..2055"},
      {"sim --program " + oob.string() + " --config tiny", "(stream mac, pc 0, cycle 0, tile 0)"},
      {"sim --program " + junk.string(), "junk.bin"},
      {"sim --program " + oob.string() + " --config no-such-config", "neither a shipped config"},
      {"sim --program " + tiny, "--trace-epoch is needed"},
      {"sim --program " + tiny + " --trace-epoch " + trace().string() + ":7", "epoch 7 does not exist"},
      {"sim --program " + tiny + " --trace-epoch " + feats.string(), "not a whole number"},
      {"sim --program " + (dir() / "missing").string(), "no such file"},
      {"predict --quiet --model " + tiny.substr(0, tiny.find(' ')) + " --backend neutrino-sim --backend-opt tiles=0 " +
           trace().string(), "tiles=0"},
      {"predict --quiet --model " + tiny.substr(0, tiny.find(' ')) + " --backend neutrino-sim --backend-opt speed=9 " +
           trace().string(), "unknown option 'speed'"},
  };
  for (const auto& c : cases) {
    const Result r = run(c.args);
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
  }
}

}  // namespace
