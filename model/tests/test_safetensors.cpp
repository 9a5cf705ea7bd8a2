#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "ns/model/error.h"
#include "ns/model/safetensors.h"
#include "test_util.h"

using namespace ns::model;

namespace {

std::vector<std::byte> file_with_header(const std::string& header, size_t data_bytes,
                                        std::byte fill = std::byte{0}) {
  std::vector<std::byte> f(8 + header.size() + data_bytes, fill);
  const uint64_t n = header.size();
  std::memcpy(f.data(), &n, 8);
  std::memcpy(f.data() + 8, header.data(), header.size());
  return f;
}

void expect_refused(std::span<const std::byte> file, const std::string& fragment) {
  try {
    parse_safetensors(file, "w.safetensors");
    FAIL() << "accepted a malformed file (expected '" << fragment << "')";
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_NE(msg.find("w.safetensors"), std::string::npos) << msg;
  }
}

SafetensorsFile sample() {
  SafetensorsFile f;
  f.tensors["a.weight"] = Tensor({2, 3}, std::vector<float>{1, -2, 3.5f, 0, 1e-3f, 7});
  f.tensors["b"] = Tensor({4}, std::vector<int8_t>{-128, 0, 1, 127});
  f.tensors["c"] = Tensor({3}, std::vector<int16_t>{-32768, 5, 32767});
  f.tensors["d"] = Tensor({1, 1}, std::vector<int32_t>{-7});
  f.metadata["format"] = "pt";
  return f;
}

}  // namespace

TEST(SafetensorsTest, RoundTripsEveryDtypeWeUse) {
  const auto f = sample();
  const auto bytes = serialize_safetensors(f);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);  // header padded to 8 bytes
  const auto back = parse_safetensors(bytes, "mem");
  ASSERT_EQ(back.tensors.size(), 4u);
  EXPECT_EQ(back.metadata.at("format"), "pt");
  const auto a = back.tensors.at("a.weight").data<float>();
  EXPECT_EQ(std::vector<float>(a.begin(), a.end()), (std::vector<float>{1, -2, 3.5f, 0, 1e-3f, 7}));
  EXPECT_EQ(back.tensors.at("a.weight").shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(back.tensors.at("b").data<int8_t>()[0], -128);
  EXPECT_EQ(back.tensors.at("c").data<int16_t>()[2], 32767);
  EXPECT_EQ(back.tensors.at("d").data<int32_t>()[0], -7);
  EXPECT_THROW(back.tensors.at("d").data<float>(), ModelError);
}

TEST(SafetensorsTest, ReadsAHandWrittenFileInPythonsLayout) {
  // What the Python safetensors package writes for {"x": tensor([1., 2.])} (no metadata).
  const std::string h = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  auto f = file_with_header(h, 8);
  const float v[2] = {1.0f, 2.0f};
  std::memcpy(f.data() + 8 + h.size(), v, 8);
  const auto parsed = parse_safetensors(f, "py");
  EXPECT_EQ(parsed.tensors.at("x").data<float>()[1], 2.0f);
}

TEST(SafetensorsTest, RefusesTruncation) {
  const auto good = serialize_safetensors(sample());
  expect_refused(std::span(good).first(5), "truncated");
  expect_refused(std::span(good).first(20), "truncated");  // header cut
  expect_refused(std::span(good).first(good.size() - 1), "past the end");
}

TEST(SafetensorsTest, RefusesMalformedHeaders) {
  expect_refused(file_with_header("{not json", 0), "not valid JSON");
  expect_refused(file_with_header("[1,2]", 0), "not a JSON object");
  expect_refused(file_with_header(R"({"x":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1),
                 "unknown dtype 'Q4'");
  expect_refused(file_with_header(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
                 "shape");
  expect_refused(file_with_header(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4),
                 "4 bytes for shape [2]");
  expect_refused(file_with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4),
                 "reversed");
  expect_refused(file_with_header(R"({"x":{"dtype":"F32","shape":[1]}})", 4), "data_offsets");
  expect_refused(
      file_with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"y":1}})", 4),
      "unknown key 'y'");
  expect_refused(file_with_header(R"({"__metadata__":{"a":1}})", 0), "__metadata__.a");
  expect_refused(
      file_with_header(R"({"x":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},)"
                       R"("x":{"dtype":"I8","shape":[1],"data_offsets":[1,2]}})",
                       2),
      "appears twice");
  auto huge = file_with_header("{}", 0);
  const uint64_t n = 1ull << 40;
  std::memcpy(huge.data(), &n, 8);
  expect_refused(huge, "implausible");
}

TEST(SafetensorsTest, RefusesOverlapsHolesAndTrailingBytes) {
  expect_refused(
      file_with_header(R"({"x":{"dtype":"I8","shape":[4],"data_offsets":[0,4]},)"
                       R"("y":{"dtype":"I8","shape":[4],"data_offsets":[2,6]}})",
                       6),
      "overlaps");
  expect_refused(
      file_with_header(R"({"x":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},)"
                       R"("y":{"dtype":"I8","shape":[2],"data_offsets":[4,6]}})",
                       6),
      "belong to no tensor");
  expect_refused(file_with_header(R"({"x":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})", 5),
                 "trailing bytes");
}

TEST(SafetensorsTest, RefusesNaNAndInfinity) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    SafetensorsFile f;
    f.tensors["w"] = Tensor({3}, std::vector<float>{0, bad, 1});
    expect_refused(serialize_safetensors(f), "tensor 'w': value 1 is NaN or infinite");
  }
  const std::string h = R"({"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})";
  expect_refused(file_with_header(h, 2, std::byte{0xff}), "NaN or infinite");  // 0xffff = NaN
}

TEST(SafetensorsTest, WritesAtomicallyAndReadsBack) {
  ns::model::test::TempDir dir;
  write_safetensors(dir / "m.safetensors", sample());
  EXPECT_FALSE(std::filesystem::exists(dir / "m.safetensors.tmp"));
  EXPECT_EQ(read_safetensors(dir / "m.safetensors").tensors.size(), 4u);
  EXPECT_THROW(read_safetensors(dir / "missing.safetensors"), ModelError);
}
