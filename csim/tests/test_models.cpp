// The two contracts on full-size models and the real accelerator configs: csim's outputs are bit
// for bit the INT8 reference's, and its cycle count (and unit busy cycles, instruction counts,
// MAC rows, contention) equal the compiler's schedule report, for every model variant on 1, 2
// and 8 tiles, with a few windows per test (a full epoch is a benchmark, not a test).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>

#include "ns/model/config.h"
#include "ns/model/int8_reference.h"
#include "ns/model/package.h"
#include "ns/model/synthetic.h"
#include "ns/runtime/bundle.h"
#include "ns/runtime/driver.h"
#include "ntr/compiler/compiler.h"
#include "ntr/csim/accel.h"
#include "ntr/csim/device.h"
#include "test_util.h"

using namespace ntr;

namespace {

// A variant config (configs/model/<variant>.yaml) with random weights, or, for a path, that
// INT8 package (a shipped model: its weights, designs and sum heads).
const ns::model::ModelPackage& package(const std::string& variant) {
  static std::map<std::string, std::unique_ptr<ns::model::ModelPackage>> cache;
  auto& p = cache[variant];
  if (!p) {
    const auto root = csim::testing::source_dir();
    p = std::make_unique<ns::model::ModelPackage>(
        variant.find('/') != std::string::npos
            ? ns::model::open_model(root / variant, ns::model::PackageFormat::Int8, 0)
            : ns::model::make_random_int8_package(
                  ns::model::load_model_config(root / "configs" / "model" / (variant + ".yaml")),
                  17));
  }
  return *p;
}

struct Case {
  std::string variant;
  int64_t tiles;
  size_t instructions;
  int64_t max_windows_per_tile;  // 0: as the compiler chooses
  int window_length = 0, window_target = 0;  // 0: the card's
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.variant << " on " << c.tiles << " tile(s), " << c.instructions << " instructions";
}

std::string name(const ::testing::TestParamInfo<Case>& i) {
  std::string v = i.param.variant.substr(i.param.variant.rfind('/') + 1);
  for (auto& c : v)
    if (c == '-') c = '_';
  return v + "_" + std::to_string(i.param.tiles) + "tiles";
}

class ModelTest : public ::testing::TestWithParam<Case> {};

TEST_P(ModelTest, BitExactAndOnSchedule) {
  const Case& c = GetParam();
  // The bidirectional variants at L = 512 do not fit 8 tiles' global buffers (each tile spills
  // its layer-0 outputs, 128 KiB, and neither the GWB nor a 160 KiB GIB bank has room): they run
  // there with a shorter window, on the reference too.
  ns::model::ModelPackage pkg = package(c.variant);
  if (c.window_length) {
    pkg.card.window_length = c.window_length;
    pkg.card.window_target = c.window_target;
  }
  const auto cfg = csim::resolve_accel("", c.tiles);
  compiler::CompileOptions co;
  co.epoch = static_cast<int64_t>(c.instructions);
  co.max_windows_per_tile = c.max_windows_per_tile;
  const auto bundle = ns::runtime::make_bundle(compiler::compile(pkg, cfg, co));

  const ns::model::Int8Reference ref(pkg);
  const auto feats = ns::model::synthetic_features(pkg.card.encoding, c.instructions, 5);
  const auto bytes = ref.codec().encode(feats);
  const size_t D = static_cast<size_t>(pkg.card.head_sets());
  std::vector<int32_t> want(c.instructions * D), got(c.instructions * D, -1);
  ref.run_device(bytes, c.instructions, want);

  csim::CsimDevice dev(cfg);
  ns::runtime::Driver drv(dev, bundle);
  const auto st = drv.run_epoch(bytes, c.instructions, got);
  ASSERT_EQ(got, want);

  // The schedule report's figures for one run, against csim's.
  EXPECT_EQ(st.cycles, st.expected_cycles);
  const auto& e = bundle.manifest.at("expected");
  const auto& s = dev.totals();
  const uint64_t runs = st.runs;
  const char* units[] = {"dma", "mac", "ppu"};
  for (int u = 0; u < 3; ++u) {
    EXPECT_EQ(s.streams[static_cast<size_t>(u)].busy_cycles, runs * e.at("busy").at(units[u]).get<uint64_t>()) << units[u];
    EXPECT_EQ(s.streams[static_cast<size_t>(u)].datapath, runs * e.at("datapath_instructions").at(units[u]).get<uint64_t>())
        << units[u];
  }
  EXPECT_EQ(s.mac_busy_cycles / runs >= e.at("mac_rows").get<uint64_t>(), true);
  EXPECT_EQ(s.contention_cycles, runs * e.at("bank_contention_cycles").get<uint64_t>());
}

INSTANTIATE_TEST_SUITE_P(
    Variants, ModelTest,
    ::testing::Values(Case{"paper-bi-tied", 1, 300, 0}, Case{"paper-uni", 1, 300, 2},
                      Case{"bi-h128", 1, 300, 2}, Case{"paper-bi-tied", 2, 5 * 128 + 3, 0},
                      Case{"paper-uni", 2, 5 * 128 + 3, 0}, Case{"bi-h128", 2, 5 * 128 + 3, 0},
                      Case{"paper-bi-tied", 8, 24 * 64 - 20, 0, 256, 64},
                      Case{"paper-uni", 8, 8 * 128 + 40, 0},
                      Case{"bi-h128", 8, 24 * 64 - 20, 0, 256, 64},
                      // the shipped default: L = 128, T = 64, 5 designs with their sum heads
                      Case{"data/models/paper-bi-tied-l128-int8", 1, 200, 0},
                      Case{"data/models/paper-bi-tied-l128-int8", 8, 16 * 64 + 5, 0}),
    name);

}  // namespace
