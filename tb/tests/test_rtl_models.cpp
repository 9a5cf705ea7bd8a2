// The tiny models (compiler/tests/data) on the tiny configs, on the RTL through the host driver,
// each run in lockstep with csim (model_check.h): seconds per case.
#include "model_check.h"

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
