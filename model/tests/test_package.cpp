#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ns/model/error.h"
#include "ns/model/int8.h"
#include "ns/model/package.h"
#include "test_util.h"

using namespace ns::model;
using ns::model::test::TempDir;
using ns::model::test::tiny_config;

namespace {

void expect_invalid(const ModelPackage& p, const std::string& fragment) {
  try {
    validate_package(p, "pkg");
    FAIL() << "accepted (expected '" << fragment << "')";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

void expect_load_refused(const std::filesystem::path& dir, const std::string& fragment) {
  try {
    load_package(dir);
    FAIL() << "loaded (expected '" << fragment << "')";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(PackageTest, ExpectedTensorsFollowTheDocumentedNames) {
  ModelConfig c = test::variant("bi-h128");
  c.format = PackageFormat::Fp32;
  int64_t params = 0;
  bool has_reverse = false;
  for (const auto& s : expected_tensors(c)) {
    int64_t n = 1;
    for (auto d : s.shape) n *= d;
    if (s.name.rfind("norm.", 0) != 0) params += n;
    has_reverse |= s.name == "rnn.weight_hh_l1_reverse";
    EXPECT_EQ(s.dtype, DType::F32);
  }
  EXPECT_TRUE(has_reverse);
  EXPECT_EQ(params, parameter_count(c));
  c.format = PackageFormat::Int8;
  const auto int8 = expected_tensors(c);
  auto find = [&](const std::string& n) {
    for (const auto& s : int8)
      if (s.name == n) return s;
    ADD_FAILURE() << "no " << n;
    return TensorSpec{};
  };
  EXPECT_EQ(find("rnn.bias_l0_reverse").shape, (std::vector<int64_t>{512}));
  EXPECT_EQ(find("heads.4.reg.weight").shape, (std::vector<int64_t>{2, 256}));
  EXPECT_EQ(find("heads.4.cycles_threshold").shape, (std::vector<int64_t>{1000}));
  EXPECT_EQ(find("act.tanh").dtype, DType::I16);
  EXPECT_EQ(find("input_proj.weight").dtype, DType::I8);
}

TEST(PackageTest, RandomFp32PackageRoundTrips) {
  for (bool tied : {true, false}) {
    const auto p = make_random_fp32_package(tiny_config(2, tied), 7);
    TempDir dir;
    save_package(p, dir.path());
    const auto back = load_package(dir.path());
    EXPECT_EQ(to_json(back.card), to_json(p.card));
    ASSERT_EQ(back.tensors.size(), p.tensors.size());
    for (const auto& [name, t] : p.tensors) {
      const auto a = t.bytes(), b = back.at(name).bytes();
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << name;
    }
    // Loading through model.yaml works as well.
    EXPECT_NO_THROW(load_package(dir / "model.yaml"));
  }
  // Same seed, same weights; another seed, other weights.
  const auto a = make_random_fp32_package(tiny_config(), 1), b = make_random_fp32_package(tiny_config(), 1),
             c = make_random_fp32_package(tiny_config(), 2);
  EXPECT_EQ(a.get<float>("rnn.weight_hh_l1")[5], b.get<float>("rnn.weight_hh_l1")[5]);
  EXPECT_NE(a.get<float>("rnn.weight_hh_l1")[5], c.get<float>("rnn.weight_hh_l1")[5]);
}

TEST(PackageTest, RefusesPackagesThatDisagreeWithTheCard) {
  const auto good = make_random_fp32_package(tiny_config(), 3);
  EXPECT_NO_THROW(validate_package(good, "pkg"));
  {
    auto p = good;
    p.tensors.erase("heads.2.cls_fc2.bias");
    expect_invalid(p, "missing tensor 'heads.2.cls_fc2.bias'");
  }
  {
    auto p = good;
    p.tensors["rnn.weight_ih_l0"] = Tensor({32, 15}, std::vector<float>(32 * 15, 0.f));
    expect_invalid(p, "'rnn.weight_ih_l0' has shape [32, 15], the card needs [32, 16]");
  }
  {
    auto p = good;
    p.tensors["rnn.weight_ih_l0_reverse"] = p.at("rnn.weight_ih_l0");  // tied: no _reverse
    expect_invalid(p, "unexpected tensor 'rnn.weight_ih_l0_reverse'");
  }
  {
    auto p = good;
    p.tensors["norm.std"] = Tensor({13}, std::vector<int32_t>(13, 1));
    expect_invalid(p, "dtype I32, the card needs F32");
  }
  {
    auto p = good;
    p.at("input_proj.bias").data<float>()[3] = std::numeric_limits<float>::quiet_NaN();
    expect_invalid(p, "NaN");
  }
  {
    auto p = good;
    p.at("norm.std").data<float>()[2] = 1e-4f;
    expect_invalid(p, "norm.std[2]");
  }
  {
    auto p = good;
    p.card.format = PackageFormat::Config;
    expect_invalid(p, "no format");
  }
}

TEST(PackageTest, LoadRefusesBrokenFilesWithClearErrors) {
  const auto p = make_random_fp32_package(tiny_config(), 4);
  TempDir dir;
  save_package(p, dir.path());
  const auto weights = dir / "model.safetensors";
  const auto size = std::filesystem::file_size(weights);
  std::filesystem::resize_file(weights, size - 10);
  expect_load_refused(dir.path(), "past the end");
  save_package(p, dir.path());
  // A card naming an architecture we do not know.
  std::string card = to_yaml(p.card);
  test::write_file(dir / "model.yaml", card.replace(card.find("type: lstm"), 10, "type: gru"));
  expect_load_refused(dir.path(), "unknown architecture 'gru'");
  // A card whose shapes disagree with the weights.
  ModelConfig wider = p.card;
  wider.arch.hidden = 9;
  test::write_file(dir / "model.yaml", to_yaml(wider));
  expect_load_refused(dir.path(), "the card needs");
  // A variant config is not a package; a directory without weights is not one either.
  test::write_file(dir / "model.yaml", to_yaml(tiny_config()));
  expect_load_refused(dir.path(), "not a package card");
  std::filesystem::remove(weights);
  test::write_file(dir / "model.yaml", to_yaml(p.card));
  expect_load_refused(dir.path(), "model.safetensors: missing");
}

TEST(PackageTest, RandomInt8PackageIsValidAndRoundTrips) {
  for (auto [dirs, tied] : {std::pair{1, false}, {2, true}, {2, false}}) {
    const auto q = make_random_int8_package(tiny_config(dirs, tied), 11);
    EXPECT_EQ(q.card.format, PackageFormat::Int8);
    EXPECT_TRUE(q.card.quantization.contains("scales"));
    TempDir dir;
    save_package(q, dir.path());
    const auto back = load_package(dir.path());
    EXPECT_EQ(to_json(back.card), to_json(q.card));
    for (const auto& [name, t] : q.tensors) {
      const auto a = t.bytes(), b = back.at(name).bytes();
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << name;
    }
    // Requantisation constants are normalised: m in [2^30, 2^31) whenever s < 62.
    for (int l = 0; l < 2; ++l) {
      const auto m = q.get<int32_t>(rnn_name("mult", l, 0));
      const auto s = q.get<int32_t>(rnn_name("shift", l, 0));
      for (size_t r = 0; r < m.size(); ++r)
        if (s[r] < 62) {
          EXPECT_GE(m[r], 1 << 30);
        }
    }
    // Weights use the int8 range but stay symmetric.
    int lo = 0, hi = 0;
    for (int8_t w : q.get<int8_t>("rnn.weight_ih_l1")) {
      lo = std::min<int>(lo, w);
      hi = std::max<int>(hi, w);
    }
    EXPECT_EQ(hi, 127);
    EXPECT_GE(lo, -127);
  }
}

TEST(PackageTest, RefusesOutOfRangeInt8Constants) {
  const auto good = make_random_int8_package(tiny_config(), 5);
  {
    auto p = good;
    p.at("features.bytes").data<int32_t>()[4] = 3;
    expect_invalid(p, "features.bytes[4] = 3");
  }
  {
    auto p = good;
    p.at("features.shift").data<int32_t>()[0] = 25;
    expect_invalid(p, "features.shift[0]");
  }
  {
    auto p = good;
    p.at("rnn.shift_l1").data<int32_t>()[0] = 63;
    expect_invalid(p, "rnn.shift_l1");
  }
  {
    auto p = good;
    p.at("heads.1.cls_fc1.mult").data<int32_t>()[0] = -1;
    expect_invalid(p, "heads.1.cls_fc1.mult");
  }
  {
    auto p = good;
    auto th = p.at("heads.0.cycles_threshold").data<int32_t>();
    std::swap(th[3], th[9]);
    expect_invalid(p, "cycles_threshold decreases");
  }
  {
    auto p = good;
    p.at("act.tanh").data<int16_t>()[100] += 1;
    expect_invalid(p, "act.sigmoid/act.tanh");
  }
  {
    auto p = good;
    p.at("rnn.bias_l0").data<int32_t>()[0] = 2147483000;
    expect_invalid(p, "overflow");
  }
}

TEST(PackageTest, OpenModelMakesRandomPackagesFromVariantConfigs) {
  const auto cfg = test::source_dir() / "configs/model/paper-bi-tied.yaml";
  const auto q = open_model(cfg, PackageFormat::Int8, 1);
  EXPECT_EQ(q.card.format, PackageFormat::Int8);
  EXPECT_EQ(q.card.variant, "paper-bi-tied");
  EXPECT_EQ(q.get<int8_t>("rnn.weight_ih_l1").size(), 1024u * 256u);
  EXPECT_EQ(q.get<int32_t>("heads.4.cycles_threshold").size(), 1000u);
  TempDir dir;
  save_package(q, dir.path());
  EXPECT_EQ(open_model(dir.path(), PackageFormat::Int8).card.variant, "paper-bi-tied");
  EXPECT_THROW(open_model(dir.path(), PackageFormat::Fp32), ModelError);
}
