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

// A card with designs a and b, clip 4 and the given targets.summed.
static std::string summed_card(const std::string& summed) {
  return "variant: v\narchitecture: {type: lstm, input_proj: 8, hidden: 8, layers: 1, "
         "directions: 1, head_hidden: 4}\nencoding: {name: paper13}\nwindow: {length: 4, "
         "target: 2}\ndesigns: [a, b]\ntargets: {clip: 4, threshold: 2, summed: " +
         summed + "}\n";
}

TEST(ModelConfigTest, SummedCyclesTable) {
  // clip 4: bins {0}, {1, 2}, {3, 4}; designs a and b.
  const auto& card = summed_card;
  const ModelConfig c = parse_model_config(
      card("{edges: [0, 1, 3, 5], scale: {a: [1.5, 1, 0.5], b: [2, 2, 2]}}"), "cfg.yaml");
  EXPECT_EQ(c.summed.edges, (std::vector<int>{0, 1, 3, 5}));
  EXPECT_DOUBLE_EQ(c.summed.expected(0, 0), 0.5);            // (0 + 1) * 1.5 - 1
  EXPECT_DOUBLE_EQ(c.summed.expected(0, 2), 2.0);            // scale 1: the value itself
  EXPECT_DOUBLE_EQ(c.summed.expected(0, 4), 1.5);            // (4 + 1) * 0.5 - 1
  EXPECT_DOUBLE_EQ(c.summed.expected(1, 3), 7.0);            // (3 + 1) * 2 - 1
  const std::vector<uint32_t> cycles = {0, 3, 4, 0};         // 2 instructions x designs a, b
  EXPECT_EQ(c.summed.sums(cycles, 2), (std::vector<double>{0.5 + 1.5, 7.0 + 1.0}));
  EXPECT_EQ(to_json(parse_model_config(to_yaml(c), "roundtrip")), to_json(c));
  EXPECT_DOUBLE_EQ(SummedCycles{}.expected(0, 7), 7.0);      // no table: the prediction
  const SummedCycles low{{0, 1, 5}, {{1.0, 0.1}}};
  EXPECT_DOUBLE_EQ(low.expected(0, 3), 0.0);                 // (3 + 1) * 0.1 - 1 < 0: none
  EXPECT_DOUBLE_EQ(low.expected(0, 9), 0.0);                 // above the clip: the last bin
  EXPECT_EQ(SummedCycles{}.sums(cycles, 2), (std::vector<double>{4.0, 3.0}));

  const std::string a_b = "scale: {a: [1, 1, 1], b: [1, 1, 1]}}";
  expect_error(card("{edges: [0, 1, 3, 6], " + a_b), "clip + 1 = 5");
  expect_error(card("{edges: [0, 3, 1, 5], " + a_b), "targets.summed.edges");
  expect_error(card("{edges: [0, 1, x, 5], " + a_b), "targets.summed.edges");
  expect_error(card("{edges: [0, 1, 3, 5], scale: {a: [1, 1, 1]}}"), "targets.summed.scale.b");
  expect_error(card("{edges: [0, 1, 3, 5], scale: {a: [1, 1, 1], b: [1, 1, 1], c: [1, 1, 1]}}"),
               "targets.summed.scale.c");
  expect_error(card("{edges: [0, 1, 3, 5], scale: {a: [1, 1], b: [1, 1, 1]}}"), "3 positive finite");
  expect_error(card("{edges: [0, 1, 3, 5], scale: {a: [1, .nan, 1], b: [1, 1, 1]}}"), "positive finite");
  expect_error(card("{edges: [0, 1, 3, 5], scale: {a: [1, 0, 1], b: [1, 1, 1]}}"), "positive finite");
  expect_error(card("{edges: [0, 1, 3, 5], scale: {a: [1, 1, 1], b: [1, 1, 1]}, bins: 3}"),
               "targets.summed.bins");
}

TEST(ModelConfigTest, SumHeads) {
  const auto& card = summed_card;
  const ModelConfig c = parse_model_config(card("{heads: true}"), "cfg.yaml");
  EXPECT_TRUE(c.summed.heads);
  EXPECT_EQ(c.head_sets(), 4);
  EXPECT_EQ(c.head_names(), (std::vector<std::string>{"a", "b", "a.sum", "b.sum"}));
  ModelConfig plain = c;
  plain.summed = {};
  // two more head sets of 4 x 8 + 4 (cls_fc1), 2 x 4 + 2 (cls_fc2), 2 x (8 + 1) (regressors)
  EXPECT_EQ(parameter_count(c), parameter_count(plain) + 2 * 64);
  // 2 instructions x (latencies a, b, then sum heads a, b): sums add the sum heads' values.
  const std::vector<uint32_t> cycles = {1, 2, 5, 7, 0, 3, 4, 6};
  EXPECT_EQ(c.summed.sums(cycles, 2), (std::vector<double>{9.0, 13.0}));
  EXPECT_DOUBLE_EQ(c.summed.value(1, std::span(cycles).first(4), 2), 7.0);
  EXPECT_EQ(to_json(parse_model_config(to_yaml(c), "roundtrip")), to_json(c));
  EXPECT_NE(to_yaml(c).find("heads: true"), std::string::npos);

  expect_error(card("{heads: false}"), "targets.summed.heads");
  expect_error(card("{heads: 1x}"), "targets.summed.heads");
  expect_error(card("{heads: true, edges: [0, 5], scale: {a: [1], b: [1]}}"), "not both");
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
