#include "ns/model/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "ns/model/error.h"
#include "ns/model/features.h"

namespace ns::model {

namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view kFp32 = "neuroscalar-fp32";
constexpr std::string_view kInt8 = "neuroscalar-int8";

class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ModelError(fmt::format("{}: {}: {}", origin_, key, what));
  }

  void only_keys(const YAML::Node& map, const std::string& where,
                 std::initializer_list<std::string_view> keys) const {
    for (const auto& kv : map) {
      const auto k = kv.first.as<std::string>();
      bool known = false;
      for (auto allowed : keys) known |= (k == allowed);
      if (!known) {
        std::string list;
        for (auto allowed : keys) list += (list.empty() ? "" : ", ") + std::string(allowed);
        fail(where.empty() ? k : where + "." + k, "unknown key (known: " + list + ")");
      }
    }
  }

  YAML::Node map(const YAML::Node& parent, const std::string& key, const std::string& where,
                 bool required = true) const {
    const auto n = parent[key];
    if (!n) {
      if (required) fail(where, "missing");
      return {};
    }
    if (!n.IsMap()) fail(where, "must be a mapping");
    return n;
  }

  int integer(const YAML::Node& parent, const std::string& key, const std::string& where, int lo,
              int hi, std::optional<int> dflt = std::nullopt) const {
    const auto n = parent[key];
    if (!n) {
      if (dflt) return *dflt;
      fail(where, "missing");
    }
    long long v = 0;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v) || n.Tag() == "!")
      fail(where, "must be an integer, not '" + scalar_text(n) + "'");
    if (v < lo || v > hi) fail(where, fmt::format("{} is out of range [{}, {}]", v, lo, hi));
    return static_cast<int>(v);
  }

  YAML::Node sequence(const YAML::Node& parent, const std::string& key,
                      const std::string& where) const {
    const auto n = parent[key];
    if (!n) fail(where, "missing");
    if (!n.IsSequence()) fail(where, "must be a list");
    return n;
  }

  int integer_value(const YAML::Node& n, const std::string& where, int lo, int hi) const {
    long long v = 0;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v) || n.Tag() == "!")
      fail(where, "must be integers, not '" + scalar_text(n) + "'");
    if (v < lo || v > hi) fail(where, fmt::format("{} is out of range [{}, {}]", v, lo, hi));
    return static_cast<int>(v);
  }

  double number_value(const YAML::Node& n, const std::string& where) const {
    double v = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || n.Tag() == "!")
      fail(where, "must be numbers, not '" + scalar_text(n) + "'");
    return v;
  }

  bool boolean(const YAML::Node& parent, const std::string& key, const std::string& where,
               std::optional<bool> dflt = std::nullopt) const {
    const auto n = parent[key];
    if (!n) {
      if (dflt) return *dflt;
      fail(where, "missing");
    }
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
      fail(where, "must be true or false, not '" + scalar_text(n) + "'");
    return v;
  }

  std::string string(const YAML::Node& parent, const std::string& key, const std::string& where,
                     std::optional<std::string> dflt = std::nullopt) const {
    const auto n = parent[key];
    if (!n) {
      if (dflt) return *dflt;
      fail(where, "missing");
    }
    if (!n.IsScalar() || n.Scalar().empty()) fail(where, "must be a non-empty string");
    return n.Scalar();
  }

  std::vector<std::string> strings(const YAML::Node& parent, const std::string& key,
                                   const std::string& where, bool required) const {
    const auto n = parent[key];
    if (!n) {
      if (required) fail(where, "missing");
      return {};
    }
    if (!n.IsSequence()) fail(where, "must be a list of strings");
    std::vector<std::string> out;
    for (const auto& e : n) {
      if (!e.IsScalar() || e.Scalar().empty()) fail(where, "must be a list of non-empty strings");
      out.push_back(e.Scalar());
    }
    return out;
  }

  static std::string scalar_text(const YAML::Node& n) {
    if (n.IsScalar()) return n.Scalar();
    return n.IsSequence() ? "<list>" : n.IsMap() ? "<mapping>" : "<null>";
  }

 private:
  std::string origin_;
};

// Free-form sections: YAML scalars become JSON integers, floats, booleans or strings (a quoted
// YAML scalar stays a string).
ojson yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      ojson a = ojson::array();
      for (const auto& e : n) a.push_back(yaml_to_json(e));
      return a;
    }
    case YAML::NodeType::Map: {
      ojson o = ojson::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;
  long long i = 0;
  if (YAML::convert<long long>::decode(n, i)) return i;
  double d = 0;
  if (YAML::convert<double>::decode(n, d)) return d;
  bool b = false;
  if (YAML::convert<bool>::decode(n, b)) return b;
  if (s == "~" || s == "null") return nullptr;
  return s;
}

void emit_json(YAML::Emitter& e, const ojson& j) {
  if (j.is_object()) {
    e << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      e << YAML::Key << k << YAML::Value;
      emit_json(e, v);
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    const bool flat = std::all_of(j.begin(), j.end(), [](const ojson& v) { return v.is_primitive(); });
    e << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& v : j) emit_json(e, v);
    e << YAML::EndSeq;
  } else if (j.is_string()) {
    // Quote strings that YAML would otherwise read back as another type.
    const auto s = j.get<std::string>();
    bool plain = false;
    try {
      const YAML::Node probe = YAML::Load(s);
      plain = !s.empty() && probe.IsScalar() && probe.Scalar() == s &&
              yaml_to_json(probe).is_string();
    } catch (const YAML::Exception&) {
    }
    if (plain) e << s;
    else e << YAML::DoubleQuoted << s;
  } else if (j.is_boolean()) {
    e << j.get<bool>();
  } else if (j.is_number_integer()) {
    e << j.get<long long>();
  } else if (j.is_number_float()) {
    e << YAML::Precision(17) << j.get<double>();
  } else {
    e << YAML::Null;
  }
}

}  // namespace

std::string_view format_name(PackageFormat f) {
  switch (f) {
    case PackageFormat::Fp32: return kFp32;
    case PackageFormat::Int8: return kInt8;
    case PackageFormat::Config: break;
  }
  return "";
}

ModelConfig parse_model_config(std::string_view yaml, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ModelError(fmt::format("{}: not valid YAML: {}", origin, e.what()));
  }
  if (!root.IsMap()) throw ModelError(origin + ": a model config must be a YAML mapping");
  const Reader r(origin);
  r.only_keys(root, "",
              {"format", "variant", "description", "architecture", "encoding", "window",
               "targets", "designs", "training", "metrics", "quantization"});
  ModelConfig c;
  if (root["format"]) {
    const auto f = r.string(root, "format", "format");
    if (f == kFp32) c.format = PackageFormat::Fp32;
    else if (f == kInt8) c.format = PackageFormat::Int8;
    else r.fail("format", fmt::format("unknown package format '{}' (known: {}, {})", f, kFp32, kInt8));
  }
  c.variant = r.string(root, "variant", "variant");
  c.description = r.string(root, "description", "description", std::string());

  const auto a = r.map(root, "architecture", "architecture");
  r.only_keys(a, "architecture",
              {"type", "input_proj", "hidden", "layers", "directions", "tied", "head_hidden"});
  c.arch.type = r.string(a, "type", "architecture.type");
  if (c.arch.type != "lstm")
    r.fail("architecture.type", "unknown architecture '" + c.arch.type + "' (known: lstm)");
  c.arch.input_proj = r.integer(a, "input_proj", "architecture.input_proj", 1, 4096);
  c.arch.hidden = r.integer(a, "hidden", "architecture.hidden", 1, 4096);
  c.arch.layers = r.integer(a, "layers", "architecture.layers", 1, 16);
  c.arch.directions = r.integer(a, "directions", "architecture.directions", 1, 2);
  c.arch.tied = r.boolean(a, "tied", "architecture.tied", false);
  c.arch.head_hidden = r.integer(a, "head_hidden", "architecture.head_hidden", 1, 4096);

  const auto enc = r.map(root, "encoding", "encoding");
  r.only_keys(enc, "encoding", {"name", "features"});
  c.encoding = r.string(enc, "name", "encoding.name");
  c.feature_names = r.strings(enc, "features", "encoding.features", false);

  const auto w = r.map(root, "window", "window");
  r.only_keys(w, "window", {"length", "target"});
  c.window_length = r.integer(w, "length", "window.length", 1, 1 << 20);
  c.window_target = r.integer(w, "target", "window.target", 1, 1 << 20);

  const auto t = r.map(root, "targets", "targets");
  r.only_keys(t, "targets", {"clip", "threshold", "transform", "summed"});
  c.clip = r.integer(t, "clip", "targets.clip", 1, 1 << 20);
  c.threshold = r.integer(t, "threshold", "targets.threshold", 1, 1 << 20, 10);
  c.transform = r.string(t, "transform", "targets.transform", std::string("log1p"));

  c.designs = r.strings(root, "designs", "designs", true);
  if (t["summed"]) {
    const auto s = r.map(t, "summed", "targets.summed");
    r.only_keys(s, "targets.summed", {"heads", "edges", "scale"});
    if (s["heads"]) {
      if (s["edges"] || s["scale"])
        r.fail("targets.summed", "holds either heads or a table (edges, scale), not both");
      if (!r.boolean(s, "heads", "targets.summed.heads", false))
        r.fail("targets.summed.heads", "must be true when given (sum heads)");
      c.summed.heads = true;
    } else {
      for (const auto& v : r.sequence(s, "edges", "targets.summed.edges"))
        c.summed.edges.push_back(r.integer_value(v, "targets.summed.edges", 0, (1 << 20) + 1));
      const auto sc = r.map(s, "scale", "targets.summed.scale");
      for (const auto& kv : sc) {
        const auto k = kv.first.as<std::string>();
        if (std::find(c.designs.begin(), c.designs.end(), k) == c.designs.end())
          r.fail("targets.summed.scale." + k,
                 fmt::format("not a design of the card ({})", fmt::join(c.designs, ", ")));
      }
      for (const auto& d : c.designs) {
        auto& row = c.summed.scale.emplace_back();
        for (const auto& v : r.sequence(sc, d, "targets.summed.scale." + d))
          row.push_back(r.number_value(v, "targets.summed.scale." + d));
      }
    }
  }
  for (const char* k : {"training", "metrics", "quantization"}) {
    const auto n = root[k];
    if (!n) continue;
    if (!n.IsMap()) r.fail(k, "must be a mapping");
    (k[0] == 't' ? c.training : k[0] == 'm' ? c.metrics : c.quantization) = yaml_to_json(n);
  }

  if (c.feature_names.empty()) {
    try {
      c.feature_names = FeatureEncoder(c.encoding).feature_names();
    } catch (const std::invalid_argument& e) {
      r.fail("encoding.name", e.what());
    }
  }
  validate_config(c, origin);
  return c;
}

ModelConfig load_model_config(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ModelError(path.string() + ": cannot open model config");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_model_config(ss.str(), path.string());
}

void validate_config(const ModelConfig& c, const std::string& origin) {
  const Reader r(origin);
  if (c.variant.empty()) r.fail("variant", "missing");
  const auto& a = c.arch;
  if (a.type != "lstm") r.fail("architecture.type", "unknown architecture '" + a.type + "'");
  if (a.directions != 1 && a.directions != 2)
    r.fail("architecture.directions", fmt::format("{} is not 1 or 2", a.directions));
  if (a.tied && a.directions != 2)
    r.fail("architecture.tied", "tied weights need 2 directions");
  if (a.hidden < 1 || a.layers < 1 || a.input_proj < 1 || a.head_hidden < 1)
    r.fail("architecture", "sizes must be positive");

  std::vector<std::string> names;
  try {
    names = FeatureEncoder(c.encoding).feature_names();
  } catch (const std::invalid_argument& e) {
    r.fail("encoding.name", e.what());
  }
  if (c.feature_names != names)
    r.fail("encoding.features",
           fmt::format("do not match encoding '{}' ({} features: {})", c.encoding, names.size(),
                       fmt::join(names, ", ")));

  const int L = c.window_length, T = c.window_target;
  if (L < 1 || T < 1 || T > L)
    r.fail("window", fmt::format("need 1 <= target ({}) <= length ({})", T, L));
  if ((L - T) % 2 != 0)
    r.fail("window", fmt::format("length - target ({} - {}) must be even (centred target)", L, T));
  if (c.clip < 1) r.fail("targets.clip", "must be positive");
  if (c.threshold < 1 || c.threshold > c.clip)
    r.fail("targets.threshold", fmt::format("{} is not in [1, clip = {}]", c.threshold, c.clip));
  if (c.transform != "log1p")
    r.fail("targets.transform", "unknown transform '" + c.transform + "' (known: log1p)");
  if (const auto& s = c.summed; !s.empty() && !s.heads) {
    const auto& e = s.edges;
    bool ok = e.size() >= 2 && e.front() == 0 && e.back() == c.clip + 1;
    for (size_t i = 1; ok && i < e.size(); ++i) ok = e[i - 1] < e[i];
    if (!ok)
      r.fail("targets.summed.edges",
             fmt::format("must be increasing integers from 0 to clip + 1 = {}", c.clip + 1));
    if (s.scale.size() != c.designs.size())
      r.fail("targets.summed.scale",
             fmt::format("{} rows for {} designs", s.scale.size(), c.designs.size()));
    for (size_t d = 0; d < s.scale.size(); ++d) {
      const bool good = s.scale[d].size() == e.size() - 1 &&
                        std::all_of(s.scale[d].begin(), s.scale[d].end(),
                                    [](double v) { return std::isfinite(v) && v > 0; });
      if (!good)
        r.fail("targets.summed.scale." + c.designs[d],
               fmt::format("must be {} positive finite numbers, one per bin", e.size() - 1));
    }
  }

  if (c.designs.empty()) r.fail("designs", "at least one design is needed");
  std::set<std::string> seen;
  for (const auto& d : c.designs) {
    if (d.empty() || d.find_first_of(" \t\n/\\") != std::string::npos)
      r.fail("designs", "'" + d + "' is not a valid design name");
    if (!seen.insert(d).second) r.fail("designs", "'" + d + "' is listed twice");
  }
}

nlohmann::ordered_json to_json(const ModelConfig& c) {
  ojson j = ojson::object();
  if (c.format != PackageFormat::Config) j["format"] = format_name(c.format);
  j["variant"] = c.variant;
  if (!c.description.empty()) j["description"] = c.description;
  j["architecture"] = {{"type", c.arch.type},
                       {"input_proj", c.arch.input_proj},
                       {"hidden", c.arch.hidden},
                       {"layers", c.arch.layers},
                       {"directions", c.arch.directions},
                       {"tied", c.arch.tied},
                       {"head_hidden", c.arch.head_hidden}};
  j["encoding"] = {{"name", c.encoding}, {"features", c.feature_names}};
  j["window"] = {{"length", c.window_length}, {"target", c.window_target}};
  j["targets"] = {{"clip", c.clip}, {"threshold", c.threshold}, {"transform", c.transform}};
  if (c.summed.heads) {
    j["targets"]["summed"] = {{"heads", true}};
  } else if (!c.summed.empty()) {
    ojson scale = ojson::object();
    for (size_t d = 0; d < c.designs.size(); ++d) scale[c.designs[d]] = c.summed.scale[d];
    j["targets"]["summed"] = {{"edges", c.summed.edges}, {"scale", scale}};
  }
  j["designs"] = c.designs;
  if (!c.training.empty()) j["training"] = c.training;
  if (!c.metrics.empty()) j["metrics"] = c.metrics;
  if (!c.quantization.empty()) j["quantization"] = c.quantization;
  return j;
}

std::string to_yaml(const ModelConfig& c) {
  YAML::Emitter e;
  emit_json(e, to_json(c));
  return std::string(e.c_str()) + "\n";
}

double SummedCycles::expected(size_t design, uint32_t predicted) const {
  if (empty()) return predicted;
  // A prediction above the clip (external predictions) falls in the last bin.
  const auto it = std::upper_bound(edges.begin(), edges.end(), static_cast<int64_t>(predicted));
  const auto bin = static_cast<size_t>(it - edges.begin() - 1);
  const auto& row = scale[design];
  return std::max(0.0, (double(predicted) + 1.0) * row[std::min(bin, row.size() - 1)] - 1.0);
}

double SummedCycles::value(size_t design, std::span<const uint32_t> row, size_t designs) const {
  return heads ? double(row[designs + design]) : expected(design, row[design]);
}

std::vector<double> SummedCycles::sums(std::span<const uint32_t> cycles, size_t designs) const {
  const size_t k = columns(designs);
  std::vector<double> s(designs, 0.0);
  for (size_t i = 0; i + k <= cycles.size(); i += k)
    for (size_t d = 0; d < designs; ++d) s[d] += value(d, cycles.subspan(i, k), designs);
  return s;
}

std::vector<std::string> ModelConfig::head_names() const {
  std::vector<std::string> n = designs;
  if (summed.heads)
    for (const auto& d : designs) n.push_back(d + ".sum");
  return n;
}

int64_t parameter_count(const ModelConfig& c) {
  const auto& a = c.arch;
  const int64_t F = c.features(), H = a.hidden, G = 4 * H, Y = a.output_width();
  int64_t n = a.input_proj * F + a.input_proj;
  for (int l = 0; l < a.layers; ++l)
    n += a.weight_sets() * (G * a.layer_input(l) + G * H + 2 * G);
  const int64_t head = a.head_hidden * Y + a.head_hidden + 2 * a.head_hidden + 2 + 2 * (Y + 1);
  return n + c.head_sets() * head;
}

}  // namespace ns::model
