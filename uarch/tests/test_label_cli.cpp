// `neuroscalar label` and `neuroscalar dataset-manifest` end to end: outputs, and clear errors
// with a non-zero exit for bad designs and bad traces.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "kernels.h"
#include "ns/model/features.h"
#include "ns/trace/trace.h"
#include "ns/uarch/labeler.h"
#include "ns/uarch/labels.h"
#include "test_support.h"

namespace ns::uarch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::design;
using test_support::source_dir;

struct Result {
  int status = -1;
  std::string out;  // stdout and stderr
};

Result run_cli(const std::string& args) {
  const char* build = std::getenv("NS_BUILD_DIR");
  const fs::path bin = fs::path(build ? build : "build/release") / "sw/cli/neuroscalar";
  Result r;
  const std::string cmd = bin.string() + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class UarchLabelCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ns_uarch_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    trace_ = dir_ / "prog.nstrace";
    auto recs = kernels::mixed_workload(3 * 12000, 3);
    trace::TraceMeta meta;
    meta.program = "prog";
    meta.epoch_length = 10000;
    meta.warmup = 2000;
    trace::Writer w(trace_, meta);
    for (int e = 0; e < 3; ++e) {
      w.begin_epoch(uint64_t(e) * 12000 + 2000);
      for (int k = 0; k < 12000; ++k) {
        trace::Record r = recs[size_t(e) * 12000 + size_t(k)];
        if (k < 2000) r.flags |= trace::kFlagWarmup;
        w.append(r);
      }
      w.end_epoch();
    }
    w.close();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string cpu(const std::string& name) const {
    return "--cpu " + (source_dir() / "configs/cpu" / (name + ".yaml")).string();
  }
  fs::path dir_, trace_;
};

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

TEST_F(UarchLabelCliTest, WritesLabelsThatMatchTheLibrary) {
  const fs::path out = dir_ / "prog.labels";
  const Result r = run_cli("label -q " + cpu("8w") + " " + cpu("rob") + " " + trace_.string() +
                           " -o " + out.string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_HAS(r.out, "8w");
  const LabelReader labels(out);
  EXPECT_EQ(labels.configs(), (std::vector<std::string>{"8w", "rob"}));
  EXPECT_EQ(labels.epoch_count(), 3u);
  EXPECT_EQ(labels.rows(), 30000u);
  EXPECT_EQ(labels.metadata()["designs"][1]["sha256"], design("rob").sha256);
  EXPECT_EQ(labels.metadata()["epoch_summaries"].size(), 3u);

  const trace::Reader reader(trace_);
  Labeler lib({design("8w"), design("rob")}, 1);
  lib.run(reader, 10, [&](const EpochLabels& e) {
    std::vector<uint32_t> l;
    std::vector<uint8_t> s;
    labels.read_epoch(e.info->index, l, s);
    EXPECT_TRUE(std::equal(l.begin(), l.end(), e.labels.begin(), e.labels.end()));
    EXPECT_TRUE(std::equal(s.begin(), s.end(), e.side.begin(), e.side.end()));
  });
}

TEST_F(UarchLabelCliTest, JsonPrintsPerDesignTotals) {
  const Result r = run_cli("label -q --json " + cpu("8w") + " " + cpu("4w+mem") + " " +
                           trace_.string());
  ASSERT_EQ(r.status, 0) << r.out;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["configs"].size(), 2u);
  for (const char* key : {"config", "instructions", "cycles", "ipc", "branch_mpki", "l1d_mpki"})
    EXPECT_TRUE(j["configs"][0].contains(key)) << key;
  EXPECT_EQ(j["configs"][1]["config"], "4w+mem");
  EXPECT_EQ(j["configs"][0]["instructions"], 30000);
  const double ipc = j["configs"][0]["ipc"];
  EXPECT_NEAR(ipc, 30000.0 / j["configs"][0]["cycles"].get<double>(), 1e-12);
}

TEST_F(UarchLabelCliTest, RejectsBadDesigns) {
  std::ofstream(dir_ / "unknown.yaml")
      << "include: " << (source_dir() / "configs/cpu/base.yaml").string()
      << "\nname: x\npipeline: {robb: 3}\n";
  std::ofstream(dir_ / "negative.yaml")
      << "include: " << (source_dir() / "configs/cpu/base.yaml").string()
      << "\nname: x\nmemory: {l1d: {size_kb: -32}}\n";
  std::ofstream(dir_ / "sets.yaml")
      << "include: " << (source_dir() / "configs/cpu/base.yaml").string()
      << "\nname: x\nmemory: {llc: {size_kb: 6000}}\n";
  const std::pair<const char*, const char*> cases[] = {
      {"unknown.yaml", "unknown key 'pipeline.robb'"},
      {"negative.yaml", "memory.l1d.size_kb: must be in"},
      {"sets.yaml", "must be a power of two"}};
  for (const auto& [file, message] : cases) {
    const Result r = run_cli("label --cpu " + (dir_ / file).string() + " " + trace_.string());
    EXPECT_EQ(r.status, 1) << file;
    EXPECT_HAS(r.out, "neuroscalar: error:");
    EXPECT_HAS(r.out, message);
  }
  const Result twice = run_cli("label " + cpu("8w") + " " + cpu("8w") + " " + trace_.string());
  EXPECT_EQ(twice.status, 1);
  EXPECT_HAS(twice.out, "given twice");
  const Result missing = run_cli("label --cpu nowhere.yaml " + trace_.string());
  EXPECT_NE(missing.status, 0);
  EXPECT_HAS(missing.out, "nowhere.yaml");
}

TEST_F(UarchLabelCliTest, RejectsBadTraces) {
  std::vector<char> bytes;
  {
    std::ifstream in(trace_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const fs::path cut = dir_ / "cut.nstrace", flipped = dir_ / "flipped.nstrace";
  std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  bytes[bytes.size() / 2] ^= 0x40;
  std::ofstream(flipped, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  std::ofstream(dir_ / "text.nstrace") << "not a trace\n";
  const std::pair<fs::path, const char*> cases[] = {
      {cut, "truncat"}, {flipped, "checksum"}, {dir_ / "text.nstrace", "nstrace"},
      {dir_ / "absent.nstrace", "absent.nstrace"}};
  for (const auto& [file, message] : cases) {
    const Result r = run_cli("label -q " + cpu("8w") + " " + file.string() + " -o " +
                             (dir_ / "x.labels").string());
    EXPECT_EQ(r.status, 1) << file;
    EXPECT_HAS(r.out, "neuroscalar: error:");
    EXPECT_HAS(r.out, message);
  }
}

TEST_F(UarchLabelCliTest, ShardsAndManifestFollowTheDatasetLayout) {
  const fs::path ds = dir_ / "dataset";
  for (const char* name : {"a", "b", "c"}) {
    const Result r = run_cli("label -q " + cpu("8w") + " " + cpu("lsq") + " --name " + name +
                             " --shard " + (ds / name).string() + " " + trace_.string());
    ASSERT_EQ(r.status, 0) << r.out;
  }
  const Result m = run_cli("dataset-manifest " + ds.string());
  ASSERT_EQ(m.status, 0) << m.out;
  const json j = json::parse(std::ifstream(ds / "manifest.json"));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["encoding"], "paper13");
  EXPECT_EQ(j["feature_names"].size(), 13u);
  EXPECT_EQ(j["configs"], json({"8w", "lsq"}));
  ASSERT_EQ(j["programs"].size(), 3u);
  std::set<std::string> splits;
  for (const json& p : j["programs"]) {
    splits.insert(p["split"].get<std::string>());
    EXPECT_EQ(p["instructions"], 30000);
    EXPECT_EQ(p["epochs"], 3);
    EXPECT_EQ(p["trace"], "prog.nstrace");
    EXPECT_TRUE(p["ipc"].contains("lsq"));
  }
  EXPECT_EQ(splits, (std::set<std::string>{"train", "validation", "test"}));
  EXPECT_EQ(fs::file_size(ds / "a/features.i32"), 30000u * 13 * 4);
  EXPECT_EQ(fs::file_size(ds / "a/labels.u32"), 30000u * 2 * 4);
  EXPECT_EQ(fs::file_size(ds / "a/side.u8"), 30000u * 2);
  std::vector<uint64_t> offsets(4);
  std::ifstream(ds / "a/epochs.u64", std::ios::binary)
      .read(reinterpret_cast<char*>(offsets.data()), 32);
  EXPECT_EQ(offsets, (std::vector<uint64_t>{0, 10000, 20000, 30000}));
  EXPECT_FALSE(fs::exists(ds / "a.partial"));

  // A damaged shard is refused by the manifest.
  fs::resize_file(ds / "b/labels.u32", 100);
  const Result bad = run_cli("dataset-manifest " + ds.string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_HAS(bad.out, "labels.u32: 100 bytes, expected 240000");
}

// A shard's features are what encode_epoch gives for each epoch, whether the encoder visits the
// epochs in order or jumps to one (which replays the earlier epochs when its state spans the
// trace); perfvec18-trace carries the state across epochs where perfvec18 resets it, and
// perfvec12-trace is perfvec18-trace without the address parts.
TEST_F(UarchLabelCliTest, ShardFeaturesAreTheEncoderOfEachEpoch) {
  std::map<std::string, std::vector<int32_t>> shards;
  for (const std::string enc : {"perfvec18", "perfvec18-trace", "perfvec12-trace"}) {
    const fs::path shard = dir_ / enc;
    const Result r = run_cli("label -q " + cpu("8w") + " --encoding " + enc + " --shard " +
                             shard.string() + " " + trace_.string());
    ASSERT_EQ(r.status, 0) << r.out;
    const size_t per_epoch =
        10000 * static_cast<size_t>(model::FeatureEncoder(enc).feature_count());
    std::vector<int32_t> f(3 * per_epoch);
    ASSERT_EQ(fs::file_size(shard / "features.i32"), f.size() * 4);
    std::ifstream(shard / "features.i32", std::ios::binary)
        .read(reinterpret_cast<char*>(f.data()), static_cast<std::streamsize>(f.size() * 4));
    const trace::Reader reader(trace_);
    model::FeatureEncoder in_order(enc);
    const auto epoch = [&](size_t k) {
      return std::vector<int32_t>(f.begin() + k * per_epoch, f.begin() + (k + 1) * per_epoch);
    };
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(model::encode_epoch(in_order, reader, k), epoch(k)) << enc << " epoch " << k;
      model::FeatureEncoder jump(enc);
      EXPECT_EQ(model::encode_epoch(jump, reader, k), epoch(k))
          << enc << " epoch " << k << " alone";
    }
    model::FeatureEncoder back(enc);  // going back to an earlier epoch replays from the start
    model::encode_epoch(back, reader, 2);
    EXPECT_EQ(model::encode_epoch(back, reader, 1), epoch(1)) << enc;
    shards[enc] = std::move(f);
  }
  const auto& lean = shards["perfvec12-trace"];
  const auto& parts = model::kAddressParts;
  for (size_t i = 0; i < 30000; ++i)  // the lean rows are the full rows less the address parts
    for (size_t j = 0, k = 0; j < 18; ++j) {
      if (std::find(parts.begin(), parts.end(), j) == parts.end()) {
        ASSERT_EQ(lean[i * 12 + k++], shards["perfvec18-trace"][i * 18 + j]) << i;
      }
    }
  // Epoch 0 starts from nothing either way; later ones see earlier ones only with perfvec18-trace.
  const auto& a = shards["perfvec18"];
  const auto& b = shards["perfvec18-trace"];
  EXPECT_TRUE(std::equal(a.begin(), a.begin() + 180000, b.begin()));
  size_t seen_before = 0;  // rows cold in their epoch but touched by an earlier one
  for (size_t i = 10000; i < 30000; ++i) {
    const bool cold_a = a[i * 18 + 14] == model::kColdReuse;
    const bool cold_b = b[i * 18 + 14] == model::kColdReuse;
    seen_before += cold_a && !cold_b;
    EXPECT_FALSE(cold_b && !cold_a) << "row " << i;  // trace-wide history only removes cold reads
  }
  EXPECT_GT(seen_before, 0u);
}

}  // namespace
}  // namespace ns::uarch
