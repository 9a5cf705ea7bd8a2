// A compiled model on the RTL through the host driver (sw/runtime), every run cross-checked
// against csim instruction by instruction (RtlDevice with check): the predictions must equal the
// INT8 reference's bit for bit and the device cycles the compiler's schedule report.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ns/model/config.h"
#include "ns/model/int8_reference.h"
#include "ns/model/package.h"
#include "ns/model/synthetic.h"
#include "ns/runtime/bundle.h"
#include "ns/runtime/driver.h"
#include "ntr/compiler/compiler.h"
#include "ntr/tb/device.h"
#include "tb_util.h"

namespace ntr::tb::testing {

struct Case {
  std::string model;  // a model config, relative to the source tree
  std::string accel;
  size_t instructions;
  int window_length = 0, window_target = 0;  // 0: the card's
};

inline void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " on " << c.accel << ", " << c.instructions << " instructions"; }

inline std::string name(const ::testing::TestParamInfo<Case>& i) {
  std::string v = std::filesystem::path(i.param.model).stem().string() + "_" + i.param.accel;
  for (auto& c : v)
    if (c == '-') c = '_';
  return v;
}

struct Outcome {
  ns::runtime::EpochStats stats;
  nlohmann::json counters;        // RtlDevice::counters()
  nlohmann::ordered_json report;  // the compiler's schedule report
};

inline Outcome run_and_check(const Case& c) {
  const auto card = ns::model::load_model_config(source_dir() / c.model);
  ns::model::ModelPackage pkg = ns::model::make_random_int8_package(card, 17);
  if (c.window_length) {
    pkg.card.window_length = c.window_length;
    pkg.card.window_target = c.window_target;
  }
  const auto cfg = accel(c.accel);
  compiler::CompileOptions co;
  co.epoch = static_cast<int64_t>(c.instructions);
  const compiler::CompiledProgram compiled = compiler::compile(pkg, cfg, co);
  const auto bundle = ns::runtime::make_bundle(compiled);

  const ns::model::Int8Reference ref(pkg);
  const auto feats = ns::model::synthetic_features(pkg.card.encoding, c.instructions, 5);
  const auto bytes = ref.codec().encode(feats);
  const size_t D = static_cast<size_t>(pkg.card.head_sets());
  std::vector<int32_t> want(c.instructions * D), got(c.instructions * D, -1);
  ref.run_device(bytes, c.instructions, want);

  RtlDevice dev(cfg, /*check=*/true);
  ns::runtime::Driver drv(dev, bundle);
  Outcome o;
  o.report = compiled.report;
  o.stats = drv.run_epoch(bytes, c.instructions, got);  // throws on any RTL/csim difference
  EXPECT_EQ(got, want);
  EXPECT_EQ(o.stats.cycles, o.stats.expected_cycles);
  o.counters = dev.counters();
  EXPECT_GT(o.counters.at("instructions_compared").get<uint64_t>(), 0u);
  return o;
}

}  // namespace ntr::tb::testing
