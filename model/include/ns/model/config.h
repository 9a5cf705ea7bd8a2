// Model variant configs (configs/model/*.yaml) and package cards (model.yaml): one structure,
// validated on load. docs/model-package.md lists the keys; docs/model.md the semantics.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ns::model {

// A variant config has no format; a package card says which tensors its package holds.
enum class PackageFormat { Config, Fp32, Int8 };
std::string_view format_name(PackageFormat f);  // "", "neuroscalar-fp32", "neuroscalar-int8"

struct Architecture {
  std::string type = "lstm";  // the only known type
  int input_proj = 256;       // input_proj output width (layer 0's input)
  int hidden = 256;           // H per direction
  int layers = 2;
  int directions = 1;         // 1 or 2
  bool tied = false;          // 2 directions sharing one set of weights per layer
  int head_hidden = 64;       // cls_fc1 rows

  bool bidirectional() const { return directions == 2; }
  // Sets of LSTM weights per layer: 2 for an untied bidirectional model (the _reverse copies).
  int weight_sets() const { return directions == 2 && !tied ? 2 : 1; }
  // Width of a layer's output y_t (next layer's input, heads' input).
  int output_width() const { return directions == 2 && !tied ? 2 * hidden : hidden; }
  int layer_input(int l) const { return l == 0 ? input_proj : output_width(); }
};

// targets.summed (docs/model-package.md; `python3 -m model.train calibrate --summed` or
// `--sum-heads`): how predictions are summed into an epoch's or a program's cycles. Per-instruction
// latencies are the predictions themselves; rounding makes each the likeliest value, which is not
// the mean of what it stands for. Two forms:
// * a table: the cycles a predicted value stands for in a sum, per design and bin of p;
// * sum heads: the package holds a second head set per design (head sets D..2D-1, the same
//   network with calibrated biases) whose predictions are what sums add up.
// Empty (neither): a sum is the predictions' sum.
struct SummedCycles {
  std::vector<int> edges;                  // table: bins [edges[b], edges[b + 1]), 0..clip + 1
  std::vector<std::vector<double>> scale;  // table: [design][bin], positive
  bool heads = false;                      // sum heads

  bool empty() const { return !heads && edges.empty(); }
  // Predictions per instruction for D designs: D, or 2D with sum heads (latencies first).
  size_t columns(size_t designs) const { return heads ? 2 * designs : designs; }
  // Table: max(0, (p + 1) * scale[design][bin of p] - 1); without a table: p.
  double expected(size_t design, uint32_t predicted) const;
  // What one instruction adds to a design's sum; row: its columns(D) predictions.
  double value(size_t design, std::span<const uint32_t> row, size_t designs) const;
  // Per design, the summed cycles of n x columns(designs) predictions (instruction-major).
  std::vector<double> sums(std::span<const uint32_t> cycles, size_t designs) const;
};

struct ModelConfig {
  PackageFormat format = PackageFormat::Config;
  std::string variant;  // e.g. paper-bi-tied
  Architecture arch;
  std::string encoding = "paper13";
  std::vector<std::string> feature_names;  // filled from the encoder when a config omits them
  int window_length = 512;                 // L
  int window_target = 128;                 // T
  int clip = 1000;
  int threshold = 10;
  std::string transform = "log1p";
  SummedCycles summed;
  std::vector<std::string> designs;
  // Free-form sections, kept verbatim (key order preserved) through load and save.
  nlohmann::ordered_json training = nlohmann::ordered_json::object();
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
  nlohmann::ordered_json quantization = nlohmann::ordered_json::object();  // INT8 cards
  std::string description;

  int features() const { return static_cast<int>(feature_names.size()); }
  int designs_count() const { return static_cast<int>(designs.size()); }
  // Head sets the network computes: one per design, twice that with sum heads.
  int head_sets() const { return static_cast<int>(summed.columns(designs.size())); }
  // Their names: the designs, then "<design>.sum" for the sum heads.
  std::vector<std::string> head_names() const;
  int context() const { return (window_length - window_target) / 2; }  // C
};

// Reads and validates a variant config or a package card; throws ModelError naming the file and
// the key.
ModelConfig load_model_config(const std::filesystem::path& path);
ModelConfig parse_model_config(std::string_view yaml, const std::string& origin);
// Throws ModelError naming `origin` and the first problem.
void validate_config(const ModelConfig& c, const std::string& origin);

std::string to_yaml(const ModelConfig& c);
nlohmann::ordered_json to_json(const ModelConfig& c);

// Trainable parameters of the FP32 model (norm.* excluded): 1,073,348 for a one-design paper-uni.
int64_t parameter_count(const ModelConfig& c);

}  // namespace ns::model
