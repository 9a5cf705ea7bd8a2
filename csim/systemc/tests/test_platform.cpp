// The SystemC/TLM-2.0 platform: the device suite through registers, DMA and the interrupt, plus
// the platform's own checks (register map, bus errors, simulated time) and the contract that a
// run on the platform equals a direct csim run (results, cycles and activity counters).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "device_suite.h"
#include "ns/model/int8_reference.h"
#include "ns/model/package.h"
#include "ns/runtime/bundle.h"
#include "ns/runtime/driver.h"
#include "ntr/compiler/compiler.h"
#include "ntr/csim/device.h"
#include "ntr/csim/systemc/platform.h"

// libsystemc defines main() and calls sc_main(); gtest's main is the one this binary runs, so
// sc_main is never called.
int sc_main(int, char**) { return 0; }

namespace {

using namespace ntr::csim::platform;
using ns::runtime::Device;

ntr::isa::AccelConfig tiny() {
  const char* s = std::getenv("NS_SOURCE_DIR");
  const std::filesystem::path root = s ? s : std::filesystem::current_path();
  return ntr::isa::load_accel_config(root / "configs" / "accel" / "tiny.yaml");
}

// SystemC elaborates once per process: every test shares one platform (the suite asks only for
// the tiny config), reached through non-owning handles.
SystemcDevice& platform_device() {
  static SystemcDevice* d = new SystemcDevice(tiny());
  return *d;
}

class Handle : public Device {
 public:
  std::string name() const override { return d().name(); }
  const ntr::isa::AccelConfig& config() const override { return d().config(); }
  void load_model(const ntr::isa::Program& p, std::span<const uint8_t> g) override { d().load_model(p, g); }
  void set_result_ranges(std::span<const ns::runtime::GibRange> r) override { d().set_result_ranges(r); }
  void write_inputs(uint64_t o, std::span<const uint8_t> b) override { d().write_inputs(o, b); }
  void start() override { d().start(); }
  ns::runtime::RunStatus wait() override { return d().wait(); }
  void read_results(std::span<uint8_t> out) override { d().read_results(out); }
  nlohmann::json counters() const override { return d().counters(); }
  void clear_counters() override { d().clear_counters(); }

 private:
  static SystemcDevice& d() { return platform_device(); }
};

}  // namespace

namespace ns::runtime::testing {
std::unique_ptr<Device> make_device_under_test(const ntr::isa::AccelConfig& cfg) {
  if (ntr::isa::fingerprint(cfg) != ntr::isa::fingerprint(tiny()))
    throw DeviceError("the SystemC test platform is built for the tiny config");
  return std::make_unique<Handle>();
}
}  // namespace ns::runtime::testing

TEST(PlatformTest, RegistersIdentifyNeutrinoAndBadAccessesAreBusErrors) {
  SystemcDevice& dev = platform_device();
  HostCpu& cpu = dev.platform().cpu;
  uint32_t id = 0, version = 0;
  cpu.call([&] {
    id = cpu.read32(kCsrBase + reg::kId);
    version = cpu.read32(kCsrBase + reg::kVersion);
  });
  EXPECT_EQ(id, kIdValue);
  EXPECT_EQ(version, kVersionValue);
  EXPECT_THROW(cpu.call([&] { cpu.read32(kCsrBase + 2); }), ns::runtime::DeviceError);          // misaligned
  EXPECT_THROW(cpu.call([&] { cpu.read32(kCsrBase + reg::kSize); }), ns::runtime::DeviceError); // unmapped
  EXPECT_THROW(cpu.call([&] { cpu.read32(0x7000'0000); }), ns::runtime::DeviceError);
  // A program image that does not decode is an error the device reports, not a crash; a start
  // after it is refused too.
  uint32_t status = 0, kind = 0, status2 = 0;
  cpu.call([&] {
    const std::vector<uint8_t> junk(64, 0xab);
    cpu.write(0x10'0000, junk);
    cpu.write64(kCsrBase + reg::kProgramBase, 0x10'0000);
    cpu.write32(kCsrBase + reg::kCtrl, kCtrlLoad);
    cpu.wait_irq();
    status = cpu.read32(kCsrBase + reg::kStatus);
    kind = cpu.read32(kCsrBase + reg::kErrorKind);
    cpu.write32(kCsrBase + reg::kStatus, kStatusDone | kStatusError);
    cpu.write32(kCsrBase + reg::kCtrl, kCtrlStart);
    cpu.wait_irq();
    status2 = cpu.read32(kCsrBase + reg::kStatus);
    cpu.write32(kCsrBase + reg::kStatus, kStatusDone | kStatusError);
  });
  EXPECT_EQ(status & kStatusError, kStatusError);
  EXPECT_EQ(status2 & kStatusError, kStatusError);
  EXPECT_EQ(kind, 1u + static_cast<uint32_t>(ntr::csim::ErrorKind::IllegalInstruction));
}

TEST(PlatformTest, ARunOnThePlatformEqualsADirectRun) {
  const auto cfg = tiny();
  const std::string yaml =
      "variant: tiny-test\narchitecture: {type: lstm, input_proj: 16, hidden: 4, layers: 2, directions: 2, tied: true, "
      "head_hidden: 8}\nencoding: {name: paper13}\nwindow: {length: 12, target: 4}\n"
      "targets: {clip: 1000, threshold: 10, transform: log1p}\ndesigns: [8w, 4w+mem]\n";
  const auto pkg = ns::model::make_random_int8_package(ns::model::parse_model_config(yaml, "tiny-test"), 4);
  const size_t n = 30;
  ntr::compiler::CompileOptions co;
  co.epoch = static_cast<int64_t>(n);
  co.max_windows_per_tile = 3;
  const auto bundle = ns::runtime::make_bundle(ntr::compiler::compile(pkg, cfg, co));
  const ns::model::Int8Reference ref(pkg);
  std::vector<int32_t> feats(n * 13);
  std::mt19937 rng(2);
  for (auto& f : feats) f = static_cast<int32_t>(rng() % 100000);
  const auto bytes = ref.codec().encode(feats);

  ntr::csim::CsimDevice direct(cfg);
  SystemcDevice& tlm = platform_device();
  std::vector<int32_t> r_direct(n * 2), r_tlm(n * 2);
  ns::runtime::Driver d1(direct, bundle), d2(tlm, bundle);
  const double t0 = tlm.simulated_seconds();
  const auto s1 = d1.run_epoch(bytes, n, r_direct);
  const auto s2 = d2.run_epoch(bytes, n, r_tlm);
  EXPECT_EQ(r_tlm, r_direct);
  EXPECT_EQ(s2.cycles, s1.cycles);
  EXPECT_EQ(s2.runs, s1.runs);
  auto c1 = direct.counters(), c2 = tlm.counters();
  c1.erase("host");
  c2.erase("host");
  EXPECT_EQ(c2, c1);
  // The platform's clock covers the compute time and the DMA around it.
  EXPECT_GT(tlm.simulated_seconds() - t0, s2.device_seconds);
}
