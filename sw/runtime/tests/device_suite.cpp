// End-to-end tests of a Neutrino device through sw/runtime's interface: a hand-written program
// with hand-computed timing, repeated runs, run errors, bad requests, and the driver running a
// compiled model bit-exactly against the INT8 reference with the schedule's cycle count. Written
// once, run per backend (csim, the SystemC platform, later the RTL).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "device_suite.h"
#include "ns/model/config.h"
#include "ns/model/int8_reference.h"
#include "ns/model/package.h"
#include "ns/runtime/bundle.h"
#include "ns/runtime/driver.h"
#include "ntr/compiler/compiler.h"
#include "ntr/isa/asm.h"
#include "ntr/isa/semantics.h"

namespace ns::runtime::testing {
namespace {

std::filesystem::path source_root() {
  const char* s = std::getenv("NS_SOURCE_DIR");
  return s ? s : std::filesystem::current_path();
}

ntr::isa::AccelConfig tiny() { return ntr::isa::load_accel_config(source_root() / "configs" / "accel" / "tiny.yaml"); }

// y = sat8(requant(W x + b)) on 8 inputs and 16 outputs (csim/tests/data/dense_layer.s, 54 cycles):
// the weights and constants in the GWB, x at GIB 0, y stored to GIB 64.
ntr::isa::Program dense_layer() {
  return ntr::isa::assemble_file(source_root() / "csim" / "tests" / "data" / "dense_layer.s");
}

struct Dense {
  std::vector<uint8_t> gwb = std::vector<uint8_t>(448, 0);
  std::vector<ntr::isa::CbRow> cb = std::vector<ntr::isa::CbRow>(16);
  explicit Dense(uint32_t seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 128; ++i) gwb[static_cast<size_t>(i)] = static_cast<uint8_t>(rng());
    for (int j = 0; j < 16; ++j) {
      cb[static_cast<size_t>(j)] = {static_cast<int32_t>(rng() % 20001) - 10000,
                                    static_cast<int32_t>((1u << 30) + rng() % (1u << 30)), static_cast<uint8_t>(36 + j % 4)};
      ntr::isa::pack_cb_row(cb[static_cast<size_t>(j)], &gwb[static_cast<size_t>(256 + 12 * j)]);
    }
  }
  std::vector<uint8_t> expect(const std::vector<uint8_t>& x) const {
    std::vector<uint8_t> y(16);
    for (int j = 0; j < 16; ++j) {
      int64_t acc = 0;
      for (int r = 0; r < 8; ++r)
        acc += int64_t{static_cast<int8_t>(gwb[static_cast<size_t>(16 * r + j)])} * static_cast<int8_t>(x[static_cast<size_t>(r)]);
      const auto& c = cb[static_cast<size_t>(j)];
      y[static_cast<size_t>(j)] = static_cast<uint8_t>(
          ntr::isa::sat(ntr::isa::rshr(int64_t{ntr::isa::wrap32(acc + c.bias)} * c.mult, c.shift), -128, 127));
    }
    return y;
  }
};

TEST(DeviceSuite, RunsAHandWrittenProgramWithItsCycleCount) {
  auto dev = make_device_under_test(tiny());
  const Dense d(21);
  dev->load_model(dense_layer(), d.gwb);
  const GibRange out{64, 16};
  dev->set_result_ranges(std::span<const GibRange>(&out, 1));
  for (uint32_t run = 0; run < 3; ++run) {
    std::vector<uint8_t> x(8);
    std::mt19937 rng(100 + run);
    for (auto& b : x) b = static_cast<uint8_t>(rng());
    dev->write_inputs(0, x);
    dev->start();
    const RunStatus s = dev->wait();
    EXPECT_EQ(s.cycles, 54u);
    EXPECT_DOUBLE_EQ(s.device_seconds, 54e-9);
    std::vector<uint8_t> y(16);
    dev->read_results(y);
    EXPECT_EQ(y, d.expect(x)) << "run " << run;
  }
  const auto c = dev->counters();
  if (!c.empty()) {
    EXPECT_EQ(c.at("cycles").get<uint64_t>(), 3u * 54u);
    EXPECT_EQ(c.at("mac").at("macs").get<uint64_t>(), 3u * 8u * 16u);
  }
}

TEST(DeviceSuite, ReportsARunErrorWithStreamAndPc) {
  auto dev = make_device_under_test(tiny());
  dev->load_model(ntr::isa::assemble(".stream dma\n halt\n.stream mac\n nop\n mvm x=2040 w=0 rows=16 bank=0\n halt\n"
                                     ".stream ppu\n halt\n", "oob.s"),
                  {});
  dev->set_result_ranges({});
  dev->start();
  try {
    dev->wait();
    FAIL() << "the run did not fail";
  } catch (const DeviceError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("out of bounds"), std::string::npos) << m;
    EXPECT_NE(m.find("stream mac, pc 1, cycle 1, tile 0"), std::string::npos) << m;
  }
  // The device is usable again after an error.
  const Dense d(5);
  dev->load_model(dense_layer(), d.gwb);
  const GibRange out{64, 16};
  dev->set_result_ranges(std::span<const GibRange>(&out, 1));
  const std::vector<uint8_t> x = {1, 2, 3, 4, 5, 6, 7, 8};
  dev->write_inputs(0, x);
  dev->start();
  EXPECT_EQ(dev->wait().cycles, 54u);
  std::vector<uint8_t> y(16);
  dev->read_results(y);
  EXPECT_EQ(y, d.expect(x));
}

TEST(DeviceSuite, RefusesBadRequests) {
  auto dev = make_device_under_test(tiny());
  const auto cfg = tiny();
  std::vector<uint8_t> too_big(static_cast<size_t>(cfg.gwb_bytes) + 1);
  EXPECT_THROW(dev->load_model(dense_layer(), too_big), DeviceError);
  dev->load_model(dense_layer(), {});
  const std::vector<uint8_t> x(16);
  EXPECT_THROW(dev->write_inputs(static_cast<uint64_t>(cfg.gib_bytes) - 8, x), DeviceError);
}

// A small model on the tiny accelerator: every part of the compiled schedule (projection, both
// layers, heads, spills, several windows and runs) on a handful of instructions.
ns::model::ModelPackage tiny_model(const std::string& arch, uint64_t seed) {
  const std::string yaml = "variant: tiny-test\narchitecture: " + arch +
                           "\nencoding: {name: paper13}\nwindow: {length: 12, target: 4}\n"
                           "targets: {clip: 1000, threshold: 10, transform: log1p}\ndesigns: [8w, 4w+mem]\n";
  return ns::model::make_random_int8_package(ns::model::parse_model_config(yaml, "tiny-test"), seed);
}

TEST(DeviceSuite, DriverRunsACompiledModelBitExactlyInTheScheduledCycles) {
  const auto cfg = tiny();
  auto dev = make_device_under_test(cfg);
  for (const std::string arch : {"{type: lstm, input_proj: 16, hidden: 4, layers: 2, directions: 2, tied: true, head_hidden: 8}",
                                 "{type: lstm, input_proj: 16, hidden: 4, layers: 2, directions: 1, head_hidden: 8}"}) {
    const auto pkg = tiny_model(arch, 3);
    const size_t n = 45;  // 12 windows of T = 4, the last one partial
    ntr::compiler::CompileOptions co;
    co.epoch = static_cast<int64_t>(n);
    co.max_windows_per_tile = 5;  // three runs
    const Bundle b = make_bundle(ntr::compiler::compile(pkg, cfg, co));
    Driver drv(*dev, b);
    EXPECT_EQ(drv.runs_for(n), 3);
    const ns::model::Int8Reference ref(pkg);
    std::vector<int32_t> feats(n * 13);
    std::mt19937 rng(9);
    for (auto& f : feats) f = static_cast<int32_t>(rng() % 4096);
    const auto bytes = ref.codec().encode(feats);
    std::vector<int32_t> want(n * 2), got(n * 2, -1);
    ref.run_device(bytes, n, want);
    const EpochStats st = drv.run_epoch(bytes, n, got);
    EXPECT_EQ(got, want) << arch;
    EXPECT_EQ(st.runs, 3u);
    EXPECT_EQ(st.cycles, st.expected_cycles) << arch;
    EXPECT_GT(st.cycles, 0u);
  }
}

}  // namespace
}  // namespace ns::runtime::testing
