#include <gtest/gtest.h>

#include "ns/model/config.h"
#include "ns/model/error.h"
#include "test_util.h"

using namespace ns::model;
using ns::model::test::variant;

namespace {

std::string minimal(const std::string& arch = "type: lstm, input_proj: 256, hidden: 256, "
                                              "layers: 2, directions: 1, tied: false, head_hidden: 64",
                    const std::string& window = "length: 512, target: 128") {
  return "variant: v\narchitecture: {" + arch + "}\nencoding: {name: paper13}\nwindow: {" + window +
         "}\ntargets: {clip: 1000, threshold: 10, transform: log1p}\ndesigns: [8w]\n";
}

void expect_error(const std::string& yaml, const std::string& fragment) {
  try {
    parse_model_config(yaml, "cfg.yaml");
    FAIL() << "accepted: " << yaml;
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "message '" << e.what() << "' lacks '" << fragment << "'";
    EXPECT_NE(std::string(e.what()).find("cfg.yaml"), std::string::npos);
  }
}

}  // namespace

TEST(ModelConfigTest, LoadsTheThreeVariants) {
  for (const char* name : {"paper-uni", "paper-bi-tied", "bi-h128"}) {
    const ModelConfig c = variant(name);
    EXPECT_EQ(c.variant, name);
    EXPECT_EQ(c.format, PackageFormat::Config);
    EXPECT_EQ(c.features(), 13);
    EXPECT_EQ(c.arch.layers, 2);
    EXPECT_EQ(c.arch.output_width(), 256);
    EXPECT_EQ(c.window_length - c.window_target, 2 * c.context());
    EXPECT_EQ(c.designs, (std::vector<std::string>{"8w", "6w+ls", "rob", "lsq", "4w+mem"}));
    EXPECT_EQ(c.clip, 1000);
    EXPECT_EQ(c.threshold, 10);
    EXPECT_TRUE(c.training.contains("lr"));
  }
  EXPECT_EQ(variant("paper-uni").arch.weight_sets(), 1);
  EXPECT_EQ(variant("paper-bi-tied").arch.weight_sets(), 1);
  EXPECT_EQ(variant("bi-h128").arch.weight_sets(), 2);
}

TEST(ModelConfigTest, ParameterCountsMatchThePaperAppendix) {
  for (const char* name : {"paper-uni", "paper-bi-tied", "bi-h128"}) {
    ModelConfig c = variant(name);
    const int64_t five = parameter_count(c);
    c.designs = {"8w"};
    const int64_t one = parameter_count(c);
    // One head set: cls_fc1 64x256+64, cls_fc2 2x64+2, short and long 256+1 each.
    EXPECT_EQ(five - one, 4 * (64 * 256 + 64 + 2 * 64 + 2 + 2 * 257)) << name;
    if (std::string(name) == "bi-h128") {
      // 3,584 projection + 2 layers x 2 directions x (512x256 + 512x128 + 2x512) + 17,092 heads.
      EXPECT_EQ(one, 811204);
    } else {
      EXPECT_EQ(one, 1073348) << name;  // the paper's appendix table
    }
  }
}

TEST(ModelConfigTest, RoundTripsThroughYaml) {
  ModelConfig c = variant("bi-h128");
  c.format = PackageFormat::Int8;
  c.metrics = {{"mae", 0.25}, {"note", "8w"}, {"flag", true}, {"ints", {1, 2, 3}},
               {"quoted_number", "17"}};
  c.quantization = {{"scales", {{"u", 0.0123}}}};
  const ModelConfig back = parse_model_config(to_yaml(c), "roundtrip");
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.metrics["quoted_number"], "17");
  EXPECT_EQ(back.metrics["mae"].get<double>(), 0.25);
}

TEST(ModelConfigTest, RejectsBadConfigsNamingTheKey) {
  EXPECT_NO_THROW(parse_model_config(minimal(), "cfg.yaml"));
  expect_error("[1, 2]", "mapping");
  expect_error("variant: [", "YAML");
  expect_error(minimal() + "colour: red\n", "colour");
  expect_error(minimal("type: transformer, input_proj: 256, hidden: 256, layers: 2, "
                       "directions: 1, head_hidden: 64"),
               "unknown architecture");
  expect_error(minimal("type: lstm, input_proj: 256, hidden: 256, layers: 2, directions: 3, "
                       "head_hidden: 64"),
               "architecture.directions");
  expect_error(minimal("type: lstm, input_proj: 256, hidden: 256, layers: 2, directions: 1, "
                       "tied: true, head_hidden: 64"),
               "architecture.tied");
  expect_error(minimal("type: lstm, input_proj: 256, hidden: big, layers: 2, directions: 1, "
                       "head_hidden: 64"),
               "architecture.hidden");
  expect_error(minimal("type: lstm, input_proj: 256, hidden: 256, layers: 2, directions: 1, "
                       "head_hidden: 64, extra: 1"),
               "architecture.extra");
  expect_error(minimal(std::string("type: lstm, input_proj: 256, hidden: 256, layers: 2, "
                                   "directions: 1, head_hidden: 64"),
                       "length: 512, target: 127"),
               "must be even");
  expect_error(minimal(std::string("type: lstm, input_proj: 256, hidden: 256, layers: 2, "
                                   "directions: 1, head_hidden: 64"),
                       "length: 100, target: 128"),
               "window");
  std::string s = minimal();
  expect_error("format: neuroscalar-int4\n" + s, "unknown package format");
  expect_error(std::string(s).replace(s.find("designs: [8w]"), 13, "designs: [8w, 8w]"),
               "listed twice");
  expect_error(std::string(s).replace(s.find("designs: [8w]"), 13, "designs: []"), "designs");
  expect_error(std::string(s).replace(s.find("{name: paper13}"), 15, "{name: perfvec99}"),
               "encoding.name");
  expect_error(std::string(s).replace(s.find("{name: paper13}"), 15,
                                      "{name: paper13, features: [pc, opclass]}"),
               "encoding.features");
  expect_error(std::string(s).replace(s.find("transform: log1p"), 16, "transform: sqrt"),
               "targets.transform");
  expect_error(std::string(s).replace(s.find("threshold: 10"), 13, "threshold: 2000"),
               "targets.threshold");
}

TEST(ModelConfigTest, MissingFileIsAClearError) {
  EXPECT_THROW(load_model_config("no/such/config.yaml"), ModelError);
}

TEST(ModelConfigTest, EncodingDecidesTheFeatures) {
  std::string yaml = to_yaml(variant("paper-uni"));
  yaml.replace(yaml.find("name: paper13"), 13, "name: perfvec18");
  yaml.erase(yaml.find("  features: ["), yaml.find('\n', yaml.find("  features: [")) - yaml.find("  features: [") + 1);
  const ModelConfig c = parse_model_config(yaml, "perfvec.yaml");
  EXPECT_EQ(c.features(), 18);
  EXPECT_EQ(c.feature_names.back(), "global_entropy");
  ModelConfig one = c;
  one.designs = {"8w"};
  EXPECT_EQ(parameter_count(one), 1073348 + 5 * 256);  // five more input_proj columns
}
