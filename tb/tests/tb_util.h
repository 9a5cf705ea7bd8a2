// Shared helpers of the RTL benches.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ntr/isa/asm.h"
#include "ntr/isa/config.h"
#include "ntr/tb/rtl_top.h"
#include "ntr/tb/xcheck.h"

namespace ntr::tb::testing {

inline std::filesystem::path source_dir() {
  const char* s = std::getenv("NS_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::current_path();
}

inline isa::AccelConfig accel(const std::string& name) {
  return isa::load_accel_config(source_dir() / "configs" / "accel" / (name + ".yaml"));
}

inline isa::Program program(const std::string& text) { return isa::assemble(text, "test.s"); }

// One model per config per test process (building a model allocates its memories). Never
// destroyed: a Verilated model must not outlive Verilator's own statics, whose destruction order
// at exit is unspecified (destroying it from an exit handler can block on a dead mutex).
inline RtlTop& model(const std::string& name) {
  static auto& models = *new std::map<std::string, std::unique_ptr<RtlTop>>;
  auto& m = models[name];
  if (!m) m = RtlTop::create(accel(name));
  return *m;
}

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Cross-checks and fails the test with the first difference.
inline XcheckResult expect_match(const std::string& cfg_name, const isa::Program& p, const std::vector<uint8_t>& gwb,
                                  const std::vector<uint8_t>& gib, const XcheckOptions& opt = {}) {
  const auto cfg = accel(cfg_name);
  XcheckResult r = cross_check(&model(cfg_name), cfg, p, gwb, gib, opt);
  EXPECT_TRUE(r.ok) << r.mismatch;
  return r;
}

}  // namespace ntr::tb::testing
