// Helpers shared by the uarch tests: load the project's designs, derive variants, run kernels.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "kernels.h"
#include "ns/uarch/config.h"
#include "ns/uarch/core.h"

namespace ns::uarch::test_support {

inline std::filesystem::path source_dir() {
  const char* s = std::getenv("NS_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::current_path();
}

inline CoreConfig design(const std::string& name) {
  return load_config(source_dir() / "configs" / "cpu" / (name + ".yaml"));
}

// A design with some keys overridden, e.g. variant("8w", {{"pipeline", {{"rob", 384}}}}).
inline CoreConfig variant(const std::string& name, const nlohmann::json& overrides) {
  const CoreConfig base = design(name);
  return config_from_tree(merge_tree(base.tree, overrides, "test variant"), "test variant");
}

struct SimRun {
  EpochStats stats;
  std::vector<uint32_t> labels;
  std::vector<uint8_t> side;
  double cpi() const { return 1.0 / stats.ipc(); }
};

// Runs records as one epoch on a fresh core.
inline SimRun run(const CoreConfig& c, const std::vector<trace::Record>& records) {
  size_t rows = 0;
  for (const auto& r : records) rows += !r.is_warmup();
  SimRun out;
  out.labels.resize(rows);
  out.side.resize(rows);
  Core core(c);
  out.stats = core.run_epoch(records, {out.labels.data(), out.side.data(), 1});
  return out;
}

// Asserts |measured - expected| <= rel * |expected| and prints both, so that the figures of the
// validation suite in docs/uarch.md can be read from a test run.
#define EXPECT_WITHIN(measured, expected, rel)                                                  \
  do {                                                                                          \
    const double m_ = (measured), e_ = (expected), r_ = (rel);                                  \
    std::cout << "[ measured ] " << ::testing::UnitTest::GetInstance()->current_test_info()->name() \
              << ": " #measured " = " << m_ << " (expected " << e_ << " +- " << r_ * 100          \
              << "%)\n";                                                                       \
    EXPECT_NEAR(m_, e_, std::fabs(e_) * r_) << #measured;                                       \
  } while (0)

}  // namespace ns::uarch::test_support
