#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "ns/model/backend.h"
#include "ns/model/dataset.h"
#include "ns/model/error.h"
#include "ns/model/features.h"
#include "ns/model/fp32_model.h"
#include "ns/model/synthetic.h"
#include "test_util.h"

using namespace ns::model;

namespace {

// What a device backend from another part looks like: only run_device, bytes in, r out.
class ForwardingDevice : public Int8DevicePredictor {
 public:
  explicit ForwardingDevice(const ModelPackage& p) : Int8DevicePredictor(p), ref_(p) {}
  int calls = 0;

 protected:
  void run_device(std::span<const int8_t> bytes, size_t n, std::span<int32_t> r) override {
    ++calls;
    EXPECT_EQ(bytes.size(), n * static_cast<size_t>(codec().row_bytes()));
    ref_.run_device(bytes, n, r);
  }

 private:
  Int8Reference ref_;
};

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    FAIL() << "no error (expected '" << fragment << "')";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(BackendTest, BuiltInsAreRegistered) {
  const auto list = backends();
  ASSERT_GE(list.size(), 2u);
  EXPECT_EQ(find_backend("fp32").format, PackageFormat::Fp32);
  EXPECT_EQ(find_backend("int8").format, PackageFormat::Int8);
  expect_error([] { find_backend("gpu9000"); }, "unknown backend 'gpu9000' (known: fp32, int8");
}

TEST(BackendTest, BackendsMatchTheirModels) {
  const auto cfg = test::tiny_config();
  const auto fp = make_random_fp32_package(cfg, 2);
  const auto q = make_random_int8_package(cfg, 2);
  const size_t n = 57;
  const auto x = synthetic_features("paper13", n, 3);
  std::vector<uint32_t> got(n * 3);
  make_backend("fp32", fp)->predict_epoch(x, n, got);
  EXPECT_EQ(got, Fp32Model(fp).predict(x, n));
  make_backend("int8", q)->predict_epoch(x, n, got);
  EXPECT_EQ(got, Int8Reference(q).predict(x, n));
  expect_error([&] { make_backend("int8", fp); }, "backend 'int8' runs neuroscalar-int8 packages");
  expect_error([&] { make_backend("fp32", q); }, "the model is neuroscalar-int8");
}

TEST(BackendTest, OtherPartsRegisterDeviceBackends) {
  static int made = 0;
  register_backend({"test-device", "forwards to the INT8 reference", PackageFormat::Int8,
                    [](const ModelPackage& p, const BackendOptions& o) {
                      ++made;
                      EXPECT_EQ(o.extra.value("accel", ""), "tiny.yaml");
                      return std::make_unique<ForwardingDevice>(p);
                    }});
  expect_error([] {
    register_backend({"test-device", "again", PackageFormat::Int8,
                      [](const ModelPackage& p, const BackendOptions&) { return std::make_unique<ForwardingDevice>(p); }});
  }, "registered twice");
  const auto q = make_random_int8_package(test::tiny_config(1, false), 4);
  const size_t n = 31;
  const auto x = synthetic_features("paper13", n, 5);
  auto dev = make_backend("test-device", q, {.extra = {{"accel", "tiny.yaml"}}});
  std::vector<uint32_t> got(n * 3);
  dev->predict_epoch(x, n, got);
  EXPECT_EQ(made, 1);
  EXPECT_EQ(static_cast<ForwardingDevice&>(*dev).calls, 1);
  EXPECT_EQ(got, Int8Reference(q).predict(x, n));
  std::vector<uint32_t> wrong(n);
  EXPECT_THROW(dev->predict_epoch(x, n, wrong), ModelError);
}

TEST(DatasetTest, ReadsShardsEpochByEpoch) {
  test::TempDir dir;
  const std::vector<uint64_t> epochs = {0, 5, 5, 12};  // an empty epoch in the middle
  const size_t n = 12;
  const auto x = synthetic_features("paper13", n, 7);
  std::vector<uint32_t> labels(n * 2);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint32_t>(i * 3);
  std::filesystem::create_directories(dir / "prog");
  auto put = [&](const std::string& f, const void* p, size_t bytes) {
    std::ofstream(dir / "prog" / f, std::ios::binary).write(static_cast<const char*>(p), std::streamsize(bytes));
  };
  put("features.i32", x.data(), x.size() * 4);
  put("labels.u32", labels.data(), labels.size() * 4);
  put("epochs.u64", epochs.data(), epochs.size() * 8);
  nlohmann::json m = {{"version", 1},
                      {"encoding", "paper13"},
                      {"feature_names", FeatureEncoder("paper13").feature_names()},
                      {"configs", {"8w", "rob"}},
                      {"programs", {{{"name", "prog"}, {"split", "test"}}}}};
  std::ofstream(dir / "manifest.json") << m.dump();
  const Dataset ds(dir.path());
  EXPECT_EQ(ds.names("test"), std::vector<std::string>{"prog"});
  EXPECT_TRUE(ds.names("train").empty());
  EXPECT_EQ(ds.design_columns({"rob", "8w"}), (std::vector<int>{1, 0}));
  expect_error([&] { ds.design_columns({"8w", "lsq"}); }, "designs lsq are not labelled");
  const auto shard = ds.program("prog");
  EXPECT_EQ(shard.rows(), 12u);
  EXPECT_EQ(shard.epoch_count(), 3u);
  std::vector<int32_t> f;
  std::vector<uint32_t> l;
  shard.read_epoch(2, f, &l);
  EXPECT_EQ(f, std::vector<int32_t>(x.begin() + 5 * 13, x.end()));
  EXPECT_EQ(l.front(), 30u);  // row 5, column 0
  shard.read_epoch(1, f, &l);
  EXPECT_TRUE(f.empty());
  expect_error([&] { ds.program("other"); }, "no program 'other'");

  // Sizes that disagree with epochs.u64, bad offsets, bad manifests.
  put("labels.u32", labels.data(), labels.size() * 4 - 4);
  expect_error([&] { ds.program("prog"); }, "labels.u32: 92 bytes, expected 96");
  const std::vector<uint64_t> bad = {1, 12};
  put("epochs.u64", bad.data(), 16);
  expect_error([&] { ds.program("prog"); }, "must start at 0");
  std::ofstream(dir / "manifest.json") << R"({"version": 2})";
  expect_error([&] { Dataset d(dir.path()); }, "version");
  std::ofstream(dir / "manifest.json") << "{";
  expect_error([&] { Dataset d(dir.path()); }, "not valid JSON");
  expect_error([&] { Dataset d(dir / "nothing"); }, "cannot read");
}
