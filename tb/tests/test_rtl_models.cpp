// The tiny models (compiler/tests/data) on the tiny configs, on the RTL through the host driver,
// each run in lockstep with csim (model_check.h): seconds per case.
#include "model_check.h"
#include "ns/model/backend.h"
#include "ns/model/error.h"

using namespace ntr;
using namespace ntr::tb::testing;

namespace {

class RtlModelTest : public ::testing::TestWithParam<Case> {};

TEST_P(RtlModelTest, BitExactAndOnScheduleInLockstepWithCsim) {
  const Outcome o = run_and_check(GetParam());
  EXPECT_GE(o.stats.runs, 1u);
}

INSTANTIATE_TEST_SUITE_P(Tiny, RtlModelTest,
                         ::testing::Values(Case{"compiler/tests/data/tiny-bi-tied.yaml", "tiny", 200},
                                           Case{"compiler/tests/data/tiny-bi.yaml", "tiny", 200},
                                           Case{"compiler/tests/data/tiny-uni.yaml", "tiny", 200},
                                           Case{"compiler/tests/data/tiny-bi-tied.yaml", "tiny-2t", 200},
                                           Case{"compiler/tests/data/tiny-uni.yaml", "tiny-2t", 200}),
                         name);

}  // namespace

// The neutrino-rtl prediction backend equals the int8 reference, cycle prediction for cycle
// prediction, and refuses bad options by name.
TEST(RtlBackendTest, PredictsAsTheInt8Reference) {
  const auto card = ns::model::load_model_config(source_dir() / "compiler/tests/data/tiny-bi-tied.yaml");
  const ns::model::ModelPackage pkg = ns::model::make_random_int8_package(card, 17);
  const size_t n = 100;
  const auto feats = ns::model::synthetic_features(pkg.card.encoding, n, 9);
  const size_t D = static_cast<size_t>(pkg.card.head_sets());
  std::vector<uint32_t> want(n * D), got(n * D, 0);
  ns::model::make_backend("int8", pkg)->predict_epoch(feats, n, want);
  ns::model::BackendOptions o;
  o.extra = {{"config", "tiny"}, {"check", "csim"}};
  const auto rtl = ns::model::make_backend("neutrino-rtl", pkg, o);
  rtl->predict_epoch(feats, n, got);
  EXPECT_EQ(got, want);
  const auto st = rtl->last_epoch_stats();
  EXPECT_TRUE(st.at("matches_schedule").get<bool>());
  EXPECT_GT(st.at("rtl").at("instructions_compared").get<uint64_t>(), 0u);

  o.extra = {{"config", "tiny"}, {"speed", "9"}};
  EXPECT_THROW(
      {
        try {
          ns::model::make_backend("neutrino-rtl", pkg, o);
        } catch (const ns::model::ModelError& e) {
          EXPECT_NE(std::string(e.what()).find("unknown option 'speed'"), std::string::npos) << e.what();
          throw;
        }
      },
      ns::model::ModelError);
  o.extra = {{"config", "no-such-accel"}};
  EXPECT_THROW(ns::model::make_backend("neutrino-rtl", pkg, o), ns::model::ModelError);
}
