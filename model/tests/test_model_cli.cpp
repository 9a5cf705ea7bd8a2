// End to end: `neuroscalar predict`, `quantize` and `eval` on a synthetic trace and dataset.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "ns/model/dataset.h"
#include "ns/model/features.h"
#include "ns/model/fp32_model.h"
#include "ns/model/int8_reference.h"
#include "ns/model/safetensors.h"
#include "ns/model/synthetic.h"
#include "ns/trace/trace.h"
#include "test_util.h"

using namespace ns::model;
namespace fs = std::filesystem;

namespace {

struct Result {
  int status;
  std::string out;
};

// Runs the CLI with stderr folded into the output.
Result cli(const std::string& args) {
  const char* b = std::getenv("NS_BUILD_DIR");
  const std::string cmd = std::string(b ? b : "build/release") + "/sw/cli/neuroscalar " + args + " 2>&1";
  Result r{0, ""};
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
  r.status = pclose(p);
  return r;
}

nlohmann::json json_of(const Result& r) {
  const auto start = r.out.find("{\n");
  EXPECT_NE(start, std::string::npos) << r.out;
  return nlohmann::json::parse(r.out.substr(start));
}

std::vector<uint32_t> read_u32(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<uint32_t> v(fs::file_size(p) / 4);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * 4));
  return v;
}

class ModelCliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const auto cfg = test::tiny_config();  // designs a, b, c
    save_package(make_random_fp32_package(cfg, 1), *dir_ / "fp32");
    // A trace of two epochs (150 and 97 records) with warm-up records.
    ns::trace::TraceMeta meta;
    meta.program = "synthetic";
    meta.warmup = 20;
    ns::trace::Writer w(*dir_ / "t.nstrace", meta);
    const auto recs = synthetic_records(20 + 150 + 20 + 97, 3);
    size_t at = 0;
    for (size_t len : {150u, 97u}) {
      w.begin_epoch(at);
      for (size_t i = 0; i < 20; ++i) {
        auto r = recs[at++];
        r.flags |= ns::trace::kFlagWarmup;
        w.append(r);
      }
      for (size_t i = 0; i < len; ++i) w.append(recs[at++]);
      w.end_epoch();
    }
    w.close();
    // A dataset of one program whose labels are the FP32 model's own predictions for designs a
    // and c (and junk for an unused column), so eval must report perfect agreement.
    const ns::trace::Reader reader(*dir_ / "t.nstrace");
    FeatureEncoder enc("paper13");
    const Fp32Model model(load_package(*dir_ / "fp32"));
    std::vector<int32_t> feats;
    std::vector<uint32_t> labels;
    std::vector<uint64_t> epochs = {0};
    for (size_t k = 0; k < 2; ++k) {
      const auto f = encode_epoch(enc, reader, k);
      const size_t n = f.size() / 13;
      const auto pred = model.predict(f, n);
      for (size_t i = 0; i < n; ++i)
        labels.insert(labels.end(), {pred[i * 3 + 2], 77u, pred[i * 3 + 0], pred[i * 3 + 1]});  // c, junk, a, b
      feats.insert(feats.end(), f.begin(), f.end());
      epochs.push_back(epochs.back() + n);
    }
    fs::create_directories(*dir_ / "ds/prog");
    auto put = [&](const std::string& f, const void* p, size_t bytes) {
      std::ofstream(*dir_ / "ds/prog" / f, std::ios::binary).write(static_cast<const char*>(p), std::streamsize(bytes));
    };
    put("features.i32", feats.data(), feats.size() * 4);
    put("labels.u32", labels.data(), labels.size() * 4);
    put("epochs.u64", epochs.data(), epochs.size() * 8);
    std::ofstream(*dir_ / "ds/manifest.json")
        << nlohmann::json({{"version", 1},
                           {"encoding", "paper13"},
                           {"feature_names", enc.feature_names()},
                           {"configs", {"c", "junk", "a", "b"}},
                           {"programs", {{{"name", "prog"}, {"split", "train"}}}}})
               .dump();
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string p(const std::string& s) { return (*dir_ / s).string(); }
  static test::TempDir* dir_;
};
test::TempDir* ModelCliTest::dir_ = nullptr;

}  // namespace

TEST_F(ModelCliTest, PredictReportsEpochsAndDumpsLatencies) {
  const auto r = cli("predict --model " + p("fp32") + " " + p("t.nstrace") + " --json --quiet --dump-latencies " +
                     p("fp32.bin"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = json_of(r);
  ASSERT_EQ(j["epochs"].size(), 2u);
  EXPECT_EQ(j["epochs"][0]["instructions"], 150);
  EXPECT_EQ(j["epochs"][1]["instructions"], 97);
  EXPECT_EQ(j["total"]["instructions"], 247);
  const auto dump = read_u32(p("fp32.bin"));
  ASSERT_EQ(dump.size(), 247u * 3);
  uint64_t sum_a = 0;
  for (size_t i = 0; i < 150; ++i) sum_a += dump[i * 3];
  EXPECT_EQ(j["epochs"][0]["cycles"]["a"].get<uint64_t>(), sum_a);
  // --epochs limits the work; the text report names every design.
  const auto t = cli("predict --model " + p("fp32") + " " + p("t.nstrace") + " --epochs 1 --quiet");
  ASSERT_EQ(t.status, 0) << t.out;
  EXPECT_NE(t.out.find("a cyc"), std::string::npos);
  EXPECT_NE(t.out.find("total"), std::string::npos);
}

TEST_F(ModelCliTest, QuantizedPackageRunsBitExactThroughTheInt8Backend) {
  const auto q = cli("quantize --model " + p("fp32") + " --calib " + p("ds") + " --calib " + p("t.nstrace") +
                     " -o " + p("int8") + " --quiet --json");
  ASSERT_EQ(q.status, 0) << q.out;
  EXPECT_EQ(json_of(q)["device_bytes_per_instruction"], 13);
  const auto r = cli("predict --model " + p("int8") + " --backend int8 " + p("t.nstrace") +
                     " --quiet --dump-latencies " + p("int8.bin"));
  ASSERT_EQ(r.status, 0) << r.out;
  // The CLI's host conversions and the library's give the same bits.
  const ns::trace::Reader reader(p("t.nstrace"));
  FeatureEncoder enc("paper13");
  const Int8Reference ref(load_package(p("int8")));
  std::vector<uint32_t> want;
  for (size_t k = 0; k < 2; ++k) {
    const auto f = encode_epoch(enc, reader, k);
    const auto c = ref.predict(f, f.size() / 13);
    want.insert(want.end(), c.begin(), c.end());
  }
  EXPECT_EQ(read_u32(p("int8.bin")), want);
  // Wider features change the device row.
  const auto w = cli("quantize --model " + p("fp32") + " --calib " + p("ds") + " -o " + p("int8w") +
                     " --wide-feature pc_lo --wide-feature mem_lo --quiet --json");
  ASSERT_EQ(w.status, 0) << w.out;
  EXPECT_EQ(json_of(w)["device_bytes_per_instruction"], 15);
}

TEST_F(ModelCliTest, EvalAgainstItsOwnPredictionsIsPerfect) {
  const auto r = cli("eval --model " + p("fp32") + " --shards " + p("ds") + " --split train --json --quiet");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = json_of(r);
  ASSERT_EQ(j["programs"].size(), 1u);
  for (const char* d : {"a", "b", "c"}) {
    const auto& m = j["overall"]["designs"][d];
    EXPECT_EQ(m["exact"], 1.0) << d;
    EXPECT_EQ(m["mae"], 0.0) << d;
    EXPECT_EQ(m["cpi_error"], 0.0) << d;
  }
  EXPECT_EQ(j["overall"]["ranking"]["full_match"], 1.0);
  EXPECT_EQ(j["overall"]["instructions"], 247);
  const auto t = cli("eval --model " + p("fp32") + " --shards " + p("ds") + " --split train --quiet");
  EXPECT_NE(t.out.find("Kendall tau"), std::string::npos) << t.out;
}

TEST_F(ModelCliTest, BadInputsFailWithClearMessages) {
  struct Case {
    std::string args, message;
  };
  // A corrupt copy of the trace and an FP32 package holding a NaN.
  fs::copy_file(p("t.nstrace"), p("bad.nstrace"), fs::copy_options::overwrite_existing);
  {
    std::fstream f(p("bad.nstrace"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3000);
    f.put('\x55');
  }
  fs::create_directories(p("nan"));
  fs::copy_file(p("fp32/model.yaml"), p("nan/model.yaml"), fs::copy_options::overwrite_existing);
  auto st = read_safetensors(p("fp32/model.safetensors"));
  st.tensors["rnn.weight_hh_l0"].data<float>()[7] = std::nanf("");
  write_safetensors(p("nan/model.safetensors"), st);
  const std::vector<Case> cases = {
      {"predict --model " + p("fp32") + " --backend int8 " + p("t.nstrace"), "but neuroscalar-int8 is needed"},
      {"predict --model " + p("fp32") + " --backend tpu " + p("t.nstrace"), "unknown backend 'tpu'"},
      {"predict --model " + p("fp32") + " " + p("bad.nstrace"), "bad.nstrace"},
      {"predict --model " + p("nan") + " " + p("t.nstrace"), "NaN"},
      {"predict --model " + p("nowhere") + " " + p("t.nstrace"), "nowhere"},
      {"quantize --model " + p("nan") + " --calib " + p("ds") + " -o " + p("x"), "NaN"},
      {"quantize --model " + p("fp32") + " --calib " + p("ds") + " --split test -o " + p("x"), "no programs in split 'test'"},
      {"quantize --model " + p("fp32") + " --calib " + p("ds") + " --wide-feature pc -o " + p("x"), "no such feature"},
      {"eval --model " + p("fp32") + " --shards " + p("ds") + " --split train --programs nope", "no program 'nope'"},
      {"eval --model " + p("fp32"), "either --shards"},
  };
  for (const auto& c : cases) {
    const auto r = cli(c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_NE(r.out.find("error"), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
  }
}
