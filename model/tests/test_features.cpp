#include <gtest/gtest.h>

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
  EXPECT_THROW(model::FeatureEncoder("nope"), std::invalid_argument);
  model::FeatureEncoder enc("paper13");
  EXPECT_EQ(enc.feature_count(), 13);
  std::vector<trace::Record> recs(3);
  std::vector<int32_t> out(38);
  EXPECT_THROW(enc.encode(recs, out), std::invalid_argument);
  out.resize(39);
  EXPECT_NO_THROW(enc.encode(recs, out));
}
