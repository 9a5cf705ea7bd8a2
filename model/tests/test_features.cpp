#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "ns/model/features.h"

using namespace ns;

TEST(FeaturesTest, Paper13SplitsAddressesInto22_22_20Bits) {
  trace::Record r;
  r.pc = 0xfedcba9876543210ull;
  r.mem_addr = 0x00007ffd12345678ull;
  r.mem_size = 8;
  r.flags = trace::kFlagLoad;
  r.opclass = static_cast<uint8_t>(trace::OpClass::MemRead);
  r.src1 = {1, 4};
  r.src2 = {0, 0};
  r.dst = {2, 17};
  std::array<int32_t, 13> f{};
  model::encode_paper13(r, f);
  EXPECT_EQ(f[0], static_cast<int32_t>(0xfedcba9876543210ull >> 42));
  EXPECT_EQ(f[1], static_cast<int32_t>((0xfedcba9876543210ull >> 20) & 0x3fffff));
  EXPECT_EQ(f[2], 0x43210);
  EXPECT_EQ(f[3], static_cast<int>(trace::OpClass::MemRead));
  EXPECT_EQ(f[4], 31);  // 0x7ffd12345678 >> 42
  EXPECT_EQ(f[5], static_cast<int32_t>((0x7ffd12345678ull >> 20) & 0x3fffff));
  EXPECT_EQ(f[6], 0x45678);
  EXPECT_EQ(f[7], 1);
  EXPECT_EQ(f[8], 4);
  EXPECT_EQ(f[11], 2);
  EXPECT_EQ(f[12], 17);
}

TEST(FeaturesTest, NoMemoryAccessEncodesZeroAddress) {
  trace::Record r;
  r.pc = 0x401000;
  r.mem_addr = 0x1234;  // stale value without a size must not leak into the features
  std::array<int32_t, 13> f{};
  model::encode_paper13(r, f);
  EXPECT_EQ(f[4] + f[5] + f[6], 0);
}

TEST(FeaturesTest, EncoderRejectsUnknownEncodingAndWrongOutputSize) {
  try {
    model::FeatureEncoder("nope");
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "unknown feature encoding 'nope' (known: paper13, perfvec18, perfvec18-trace, "
                 "perfvec12-trace)");
  }
  model::FeatureEncoder enc("paper13");
  EXPECT_EQ(enc.feature_count(), 13);
  std::vector<trace::Record> recs(3);
  std::vector<int32_t> out(38);
  EXPECT_THROW(enc.encode(recs, out), std::invalid_argument);
  out.resize(39);
  EXPECT_NO_THROW(enc.encode(recs, out));
}

namespace {
trace::Record rec(uint64_t pc, uint64_t mem = 0, uint16_t flags = 0) {
  trace::Record r;
  r.pc = pc;
  r.flags = flags;
  if (mem) {
    r.mem_addr = mem;
    r.mem_size = 8;
    r.flags |= trace::kFlagLoad;
  }
  return r;
}
constexpr uint16_t kCond = trace::kFlagBranch | trace::kFlagConditional;
}  // namespace

TEST(FeaturesTest, PerfVec18AddsExecutionFeatures) {
  model::FeatureEncoder enc("perfvec18");
  ASSERT_EQ(enc.feature_count(), 18);
  EXPECT_EQ(enc.feature_names()[13], "branch_taken");
  EXPECT_EQ(enc.feature_kinds()[13], model::FeatureKind::Categorical);
  EXPECT_EQ(enc.feature_kinds()[14], model::FeatureKind::Continuous);
  // Lines A = 0x1000, B = 0x2000 (64-byte granularity; 0x1008 is still line A).
  const std::vector<trace::Record> rs = {
      rec(0x400000, 0x1000),                        // A cold
      rec(0x400004, 0x2000),                        // B cold
      rec(0x400008, 0x1008),                        // A after B: d = 1 -> 2
      rec(0x40000c, 0x1010),                        // A again: d = 0 -> 1
      rec(0x400040),                                // new fetch line, no data
      rec(0x400010, 0, kCond | trace::kFlagTaken),  // branch X, first: p = 1/2
      rec(0x400010, 0, kCond | trace::kFlagTaken),  // X after one taken: p = 2/3
      rec(0x400010, 0, kCond),                      // X after two taken: p = 3/4, not taken
      rec(0x400014, 0, trace::kFlagBranch | trace::kFlagTaken),  // unconditional jump
  };
  std::vector<int32_t> f(rs.size() * 18);
  enc.encode(rs, f);
  auto at = [&](size_t i, int j) { return f[i * 18 + j]; };
  EXPECT_EQ(at(0, 14), model::kColdReuse);
  EXPECT_EQ(at(1, 14), model::kColdReuse);
  EXPECT_EQ(at(2, 14), 2);
  EXPECT_EQ(at(3, 14), 1);
  EXPECT_EQ(at(4, 14), 0);
  // Fetch lines: 0x400000 (cold), then the same line (d = 0), 0x400040 cold, back to 0x400000
  // after one other line: d = 1 -> 2.
  EXPECT_EQ(at(0, 15), model::kColdReuse);
  EXPECT_EQ(at(1, 15), 1);
  EXPECT_EQ(at(4, 15), model::kColdReuse);
  EXPECT_EQ(at(5, 15), 2);
  EXPECT_EQ(at(4, 13), 0);
  EXPECT_EQ(at(5, 13), 2);
  EXPECT_EQ(at(7, 13), 1);
  EXPECT_EQ(at(8, 13), 2);
  EXPECT_EQ(at(5, 16), 1000);  // H(1/2)
  EXPECT_EQ(at(6, 16), 918);   // H(2/3) = 0.9183
  EXPECT_EQ(at(7, 16), 811);   // H(3/4) = 0.8113
  EXPECT_EQ(at(8, 16), 0);     // not conditional
  // Global: the history differs each time (none, T, TT), so every lookup is a first one.
  EXPECT_EQ(at(6, 17), 1000);
  EXPECT_EQ(at(7, 17), 1000);
  // The paper13 part is unchanged.
  std::array<int32_t, 13> p13{};
  model::encode_paper13(rs[2], p13);
  EXPECT_TRUE(std::equal(p13.begin(), p13.end(), f.begin() + 2 * 18));
}

TEST(FeaturesTest, PerfVec18StateFollowsResetAndWarmUp) {
  model::FeatureEncoder enc("perfvec18");
  const std::vector<trace::Record> warm = {rec(0x400000, 0x1000)};
  const std::vector<trace::Record> one = {rec(0x400000, 0x1000)};
  std::vector<int32_t> f(18);
  enc.warm(warm);  // the warm-up access makes the epoch's first access a reuse
  enc.encode(one, f);
  EXPECT_EQ(f[14], 1);
  enc.reset();  // a new epoch forgets everything
  enc.encode(one, f);
  EXPECT_EQ(f[14], model::kColdReuse);
  // Stack distances stay exact past the tree's growth (thousands of distinct lines).
  std::vector<trace::Record> many;
  for (uint64_t i = 0; i < 5000; ++i) many.push_back(rec(0x400000, 0x100000 + 64 * i));
  many.push_back(rec(0x400000, 0x100000));  // 4,999 distinct lines since: 1 + floor(log2(5000))
  std::vector<int32_t> g(many.size() * 18);
  enc.reset();
  enc.encode(many, g);
  EXPECT_EQ(g[5000 * 18 + 14], 13);
  EXPECT_EQ(model::FeatureEncoder::known_encodings(),
            (std::vector<std::string>{"paper13", "perfvec18", "perfvec18-trace",
                                      "perfvec12-trace"}));
}

TEST(FeaturesTest, PerfVec18TraceHasTheSameFeaturesWithTraceWideState) {
  model::FeatureEncoder per_epoch("perfvec18"), trace_wide("perfvec18-trace");
  EXPECT_FALSE(per_epoch.spans_trace());
  EXPECT_TRUE(trace_wide.spans_trace());
  EXPECT_FALSE(model::FeatureEncoder("paper13").spans_trace());
  EXPECT_EQ(trace_wide.feature_names(), per_epoch.feature_names());
  EXPECT_EQ(trace_wide.feature_kinds(), per_epoch.feature_kinds());
  // Both compute the same features from the same state; what differs is only when their users
  // reset it (encode_epoch, `label --shard`): their end-to-end agreement is in test_uarch_cli.
  const std::vector<trace::Record> rs = {rec(0x400000, 0x1000), rec(0x400004, 0x2000),
                                         rec(0x400008, 0x1000)};
  std::vector<int32_t> a(rs.size() * 18), b(rs.size() * 18);
  per_epoch.encode(rs, a);
  trace_wide.encode(rs, b);
  EXPECT_EQ(a, b);
}

TEST(FeaturesTest, PerfVec12TraceIsPerfVec18TraceWithoutTheAddressParts) {
  model::FeatureEncoder full("perfvec18-trace"), lean("perfvec12-trace");
  EXPECT_TRUE(lean.spans_trace());
  ASSERT_EQ(lean.feature_count(), 12);
  EXPECT_EQ(lean.feature_names(),
            (std::vector<std::string>{"opclass", "src1_cls", "src1_idx", "src2_cls", "src2_idx",
                                      "dst_cls", "dst_idx", "branch_taken", "data_reuse",
                                      "inst_reuse", "local_entropy", "global_entropy"}));
  const std::vector<trace::Record> rs = {rec(0x400000, 0x1000), rec(0x400004, 0x2000),
                                         rec(0x400008, 0x1000)};
  std::vector<int32_t> a(rs.size() * 18), b(rs.size() * 12);
  full.encode(rs, a);
  lean.encode(rs, b);
  for (size_t i = 0; i < rs.size(); ++i) {
    std::vector<int32_t> kept;
    for (size_t j = 0; j < 18; ++j)
      if (std::find(model::kAddressParts.begin(), model::kAddressParts.end(), j) ==
          model::kAddressParts.end())
        kept.push_back(a[i * 18 + j]);
    EXPECT_EQ(kept, std::vector<int32_t>(b.begin() + i * 12, b.begin() + (i + 1) * 12)) << i;
  }
  EXPECT_EQ(lean.feature_kinds()[0], full.feature_kinds()[3]);  // opclass
  EXPECT_EQ(b[2 * 12 + 8], 2);  // data_reuse of the third record: one other line since
}
