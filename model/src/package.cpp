#include "ns/model/package.h"

#include <cmath>
#include <fstream>
#include <random>
#include <set>

#include <fmt/format.h>

#include "ns/model/error.h"
#include "ns/model/fp32_model.h"
#include "ns/model/int8.h"
#include "ns/model/quantize.h"
#include "ns/model/synthetic.h"

namespace ns::model {

namespace {

constexpr int64_t kAccLimit = int64_t{1} << 31;

std::string shape_text(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// Largest |accumulator| a row can reach: |bias| + sum_k |W_k| * max|input_k|.
void check_accumulators(const ModelPackage& p, const std::string& weight, const std::string& bias,
                        const std::vector<int64_t>& input_max, const std::string& origin) {
  const auto w = p.get<int8_t>(weight);
  const auto b = p.get<int32_t>(bias);
  const size_t cols = input_max.size();
  for (size_t r = 0; r < b.size(); ++r) {
    int64_t bound = std::abs(int64_t{b[r]});
    for (size_t k = 0; k < cols; ++k) bound += std::abs(int64_t{w[r * cols + k]}) * input_max[k];
    if (bound >= kAccLimit)
      throw ModelError(fmt::format("{}: {} row {}: the int32 accumulator could overflow (bound {})",
                                   origin, weight, r, bound));
  }
}

void check_requant(const ModelPackage& p, const std::string& prefix, const std::string& origin) {
  for (int32_t m : p.get<int32_t>(prefix + "mult"))
    if (m < 0) throw ModelError(fmt::format("{}: {}mult {} is negative", origin, prefix, m));
  for (int32_t s : p.get<int32_t>(prefix + "shift"))
    if (s < 0 || s > 62)
      throw ModelError(fmt::format("{}: {}shift {} is outside 0..62", origin, prefix, s));
}

void validate_int8_values(const ModelPackage& p, const std::string& origin) {
  const auto& c = p.card;
  const auto& a = c.arch;
  const auto bytes = p.get<int32_t>("features.bytes");
  const auto shift = p.get<int32_t>("features.shift");
  std::vector<int64_t> proj_in;
  for (int j = 0; j < c.features(); ++j) {
    if (bytes[j] != 1 && bytes[j] != 2)
      throw ModelError(fmt::format("{}: features.bytes[{}] = {} (must be 1 or 2)", origin, j, bytes[j]));
    if (shift[j] < 0 || shift[j] > 24)
      throw ModelError(fmt::format("{}: features.shift[{}] = {} (must be 0..24)", origin, j, shift[j]));
    proj_in.push_back(bytes[j] == 1 ? 128 : 32768 + 128);
  }
  check_requant(p, "input_proj.", origin);
  check_accumulators(p, "input_proj.weight", "input_proj.bias", proj_in, origin);
  for (int l = 0; l < a.layers; ++l)
    for (int s = 0; s < a.weight_sets(); ++s) {
      for (const char* what : {"mult", "shift"}) {
        const auto name = rnn_name(what, l, s);
        for (int32_t v : p.get<int32_t>(name))
          if (v < 0 || (what[0] == 's' && v > 62))
            throw ModelError(fmt::format("{}: {} holds {} (out of range)", origin, name, v));
      }
      // One accumulator over W_ih x + W_hh h: check the concatenated row.
      const int in = a.layer_input(l), H = a.hidden;
      const auto wih = p.get<int8_t>(rnn_name("weight_ih", l, s));
      const auto whh = p.get<int8_t>(rnn_name("weight_hh", l, s));
      const auto bias = p.get<int32_t>(rnn_name("bias", l, s));
      for (int r = 0; r < 4 * H; ++r) {
        int64_t bound = std::abs(int64_t{bias[r]});
        for (int k = 0; k < in; ++k) bound += 128 * std::abs(int64_t{wih[size_t(r) * in + k]});
        for (int k = 0; k < H; ++k) bound += 128 * std::abs(int64_t{whh[size_t(r) * H + k]});
        if (bound >= kAccLimit)
          throw ModelError(fmt::format("{}: {} row {}: the int32 accumulator could overflow",
                                       origin, rnn_name("weight_ih", l, s), r));
      }
    }
  const std::vector<int64_t> y_in(static_cast<size_t>(a.output_width()), 128);
  for (int d = 0; d < c.head_sets(); ++d) {
    check_requant(p, head_name(d, "cls_fc1."), origin);
    check_accumulators(p, head_name(d, "cls_fc1.weight"), head_name(d, "cls_fc1.bias"), y_in, origin);
    check_accumulators(p, head_name(d, "cls_fc2.weight"), head_name(d, "cls_fc2.bias"),
                       std::vector<int64_t>(static_cast<size_t>(a.head_hidden), 128), origin);
    check_accumulators(p, head_name(d, "reg.weight"), head_name(d, "reg.bias"), y_in, origin);
    const auto theta = p.get<int32_t>(head_name(d, "cycles_threshold"));
    for (size_t n = 1; n < theta.size(); ++n)
      if (theta[n] < theta[n - 1])
        throw ModelError(fmt::format("{}: {} decreases at entry {}", origin,
                                     head_name(d, "cycles_threshold"), n));
  }
  const auto sig = p.get<int16_t>("act.sigmoid");
  const auto tnh = p.get<int16_t>("act.tanh");
  if (!std::equal(sig.begin(), sig.end(), int8::sigmoid_table().begin()) ||
      !std::equal(tnh.begin(), tnh.end(), int8::tanh_table().begin()))
    throw ModelError(origin + ": act.sigmoid/act.tanh differ from the tables of docs/int8-spec.md "
                              "section 6");
}

}  // namespace

std::string rnn_name(const std::string& what, int layer, int set) {
  return fmt::format("rnn.{}_l{}{}", what, layer, set ? "_reverse" : "");
}
std::string head_name(int design, const std::string& what) {
  return fmt::format("heads.{}.{}", design, what);
}

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  const auto& a = c.arch;
  const int64_t F = c.features(), P = a.input_proj, G = 4 * int64_t{a.hidden}, H = a.hidden,
                Y = a.output_width(), A = a.head_hidden;
  std::vector<TensorSpec> s;
  auto add = [&](std::string name, DType d, std::vector<int64_t> shape) {
    s.push_back({std::move(name), d, std::move(shape)});
  };
  if (c.format == PackageFormat::Fp32) {
    const DType f = DType::F32;
    add("norm.mean", f, {F});
    add("norm.std", f, {F});
    add("input_proj.weight", f, {P, F});
    add("input_proj.bias", f, {P});
    for (int l = 0; l < a.layers; ++l)
      for (int set = 0; set < a.weight_sets(); ++set) {
        add(rnn_name("weight_ih", l, set), f, {G, a.layer_input(l)});
        add(rnn_name("weight_hh", l, set), f, {G, H});
        add(rnn_name("bias_ih", l, set), f, {G});
        add(rnn_name("bias_hh", l, set), f, {G});
      }
    for (int d = 0; d < c.head_sets(); ++d) {
      add(head_name(d, "cls_fc1.weight"), f, {A, Y});
      add(head_name(d, "cls_fc1.bias"), f, {A});
      add(head_name(d, "cls_fc2.weight"), f, {2, A});
      add(head_name(d, "cls_fc2.bias"), f, {2});
      add(head_name(d, "output_layer_short.weight"), f, {1, Y});
      add(head_name(d, "output_layer_short.bias"), f, {1});
      add(head_name(d, "output_layer_long.weight"), f, {1, Y});
      add(head_name(d, "output_layer_long.bias"), f, {1});
    }
  } else if (c.format == PackageFormat::Int8) {
    const DType i8 = DType::I8, i32 = DType::I32;
    for (const char* k : {"zero", "shift", "bytes"}) add(std::string("features.") + k, i32, {F});
    add("input_proj.weight", i8, {P, F});
    for (const char* k : {"bias", "mult", "shift"}) add(std::string("input_proj.") + k, i32, {P});
    for (int l = 0; l < a.layers; ++l)
      for (int set = 0; set < a.weight_sets(); ++set) {
        add(rnn_name("weight_ih", l, set), i8, {G, a.layer_input(l)});
        add(rnn_name("weight_hh", l, set), i8, {G, H});
        for (const char* k : {"bias", "mult", "shift"}) add(rnn_name(k, l, set), i32, {G});
      }
    for (int d = 0; d < c.head_sets(); ++d) {
      add(head_name(d, "cls_fc1.weight"), i8, {A, Y});
      for (const char* k : {"bias", "mult", "shift"})
        add(head_name(d, std::string("cls_fc1.") + k), i32, {A});
      add(head_name(d, "cls_fc2.weight"), i8, {2, A});
      add(head_name(d, "cls_fc2.bias"), i32, {2});
      add(head_name(d, "reg.weight"), i8, {2, Y});
      add(head_name(d, "reg.bias"), i32, {2});
      add(head_name(d, "cycles_threshold"), i32, {c.clip});
    }
    add("act.sigmoid", DType::I16, {int8::kActEntries});
    add("act.tanh", DType::I16, {int8::kActEntries});
  }
  return s;
}

const Tensor& ModelPackage::at(const std::string& name) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw ModelError("model package has no tensor '" + name + "'");
  return it->second;
}
Tensor& ModelPackage::at(const std::string& name) {
  return const_cast<Tensor&>(static_cast<const ModelPackage&>(*this).at(name));
}

void validate_package(const ModelPackage& p, const std::string& origin) {
  validate_config(p.card, origin);
  if (p.card.format == PackageFormat::Config)
    throw ModelError(origin + ": the card has no format (a variant config is not a package)");
  std::set<std::string> expected;
  for (const auto& spec : expected_tensors(p.card)) {
    expected.insert(spec.name);
    const auto it = p.tensors.find(spec.name);
    if (it == p.tensors.end())
      throw ModelError(fmt::format("{}: missing tensor '{}' ({} {})", origin, spec.name,
                                   dtype_name(spec.dtype), shape_text(spec.shape)));
    const Tensor& t = it->second;
    if (t.dtype() != spec.dtype)
      throw ModelError(fmt::format("{}: tensor '{}' has dtype {}, the card needs {}", origin,
                                   spec.name, dtype_name(t.dtype()), dtype_name(spec.dtype)));
    if (t.shape() != spec.shape)
      throw ModelError(fmt::format("{}: tensor '{}' has shape {}, the card needs {}", origin,
                                   spec.name, shape_text(t.shape()), shape_text(spec.shape)));
    if (t.dtype() == DType::F32)
      for (float v : t.data<float>())
        if (!std::isfinite(v))
          throw ModelError(fmt::format("{}: tensor '{}' holds NaN or infinity", origin, spec.name));
  }
  for (const auto& [name, t] : p.tensors)
    if (!expected.count(name))
      throw ModelError(fmt::format("{}: unexpected tensor '{}' for a {} {} model", origin, name,
                                   format_name(p.card.format), p.card.variant));
  if (p.card.format == PackageFormat::Fp32) {
    const auto sd = p.get<float>("norm.std");
    for (size_t j = 0; j < sd.size(); ++j)
      if (!(sd[j] >= 1e-3f))
        throw ModelError(fmt::format("{}: norm.std[{}] = {} is below 1e-3", origin, j, sd[j]));
  } else {
    validate_int8_values(p, origin);
  }
}

ModelPackage load_package(const std::filesystem::path& path) {
  const bool is_dir = std::filesystem::is_directory(path);
  const auto dir = is_dir ? path : path.parent_path();
  const auto card_path = is_dir ? dir / "model.yaml" : path;
  ModelPackage p;
  p.card = load_model_config(card_path);
  if (p.card.format == PackageFormat::Config)
    throw ModelError(card_path.string() + ": a variant config, not a package card (no format:)");
  const auto weights = dir / "model.safetensors";
  if (!std::filesystem::exists(weights))
    throw ModelError(weights.string() + ": missing (a package holds model.yaml and model.safetensors)");
  p.tensors = read_safetensors(weights).tensors;
  validate_package(p, dir.string());
  return p;
}

void save_package(const ModelPackage& p, const std::filesystem::path& dir) {
  validate_package(p, dir.string());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw ModelError(dir.string() + ": cannot create: " + ec.message());
  SafetensorsFile f;
  f.tensors = p.tensors;
  f.metadata["format"] = std::string(format_name(p.card.format));
  write_safetensors(dir / "model.safetensors", f);
  const auto tmp = dir / "model.yaml.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << to_yaml(p.card);
    if (!out.flush()) throw ModelError(tmp.string() + ": write failed");
  }
  std::filesystem::rename(tmp, dir / "model.yaml", ec);
  if (ec) throw ModelError((dir / "model.yaml").string() + ": cannot write: " + ec.message());
}

ModelPackage make_random_fp32_package(const ModelConfig& config, uint64_t seed) {
  validate_config(config, "random package config");
  ModelPackage p;
  p.card = config;
  p.card.format = PackageFormat::Fp32;
  p.card.training = {{"random_weights", true}, {"seed", seed}};
  p.card.metrics = nlohmann::ordered_json::object();
  p.card.quantization = nlohmann::ordered_json::object();
  std::mt19937_64 rng(seed);
  // Feature statistics of a synthetic program, as training would compute them.
  const int F = config.features();
  const size_t rows = 4096;
  const auto x = synthetic_features(config.encoding, rows, seed ^ 0x5eedull);
  std::vector<float> mean(F), sd(F);
  for (int j = 0; j < F; ++j) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < rows; ++i) {
      s += x[i * F + j];
      s2 += double(x[i * F + j]) * x[i * F + j];
    }
    const double m = s / rows;
    mean[j] = static_cast<float>(m);
    // Raw features are integers: a feature constant in this sample gets std 1 rather than 1e-3,
    // so another program's values normalise to a few units instead of thousands.
    sd[j] = std::max(1.0f, static_cast<float>(std::sqrt(std::max(0.0, s2 / rows - m * m))));
  }
  p.tensors["norm.mean"] = Tensor({F}, mean);
  p.tensors["norm.std"] = Tensor({F}, sd);
  // PyTorch's defaults: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for Linear, U(-1/sqrt(H), ..) for LSTM.
  const auto& a = config.arch;
  for (const auto& spec : expected_tensors(p.card)) {
    if (spec.name.rfind("norm.", 0) == 0) continue;
    const int fan = spec.name.rfind("rnn.", 0) == 0           ? a.hidden
                    : spec.name.rfind("input_proj.", 0) == 0  ? F
                    : spec.name.find("cls_fc2.") != std::string::npos ? a.head_hidden
                                                                      : a.output_width();
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan));
    std::uniform_real_distribution<float> u(-bound, bound);
    int64_t n = 1;
    for (auto d : spec.shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& e : v) e = u(rng);
    p.tensors[spec.name] = Tensor(spec.shape, std::move(v));
  }
  validate_package(p, "random FP32 package");
  return p;
}

ModelPackage make_random_int8_package(const ModelConfig& config, uint64_t seed) {
  const ModelPackage fp32 = make_random_fp32_package(config, seed);
  const Fp32Model model(fp32);
  Calibrator cal(model);
  const size_t n = static_cast<size_t>(config.window_target) * 8;
  cal.add_epoch(synthetic_features(config.encoding, n, seed ^ 0xca1bull), n, 4);
  QuantizeOptions opt;
  opt.calibration_source = {{"synthetic", true}, {"seed", seed}};
  ModelPackage q = quantize(fp32, cal.stats(), opt);
  q.card.training = {{"random_weights", true}, {"seed", seed}};
  return q;
}

ModelPackage open_model(const std::filesystem::path& path, PackageFormat format, uint64_t seed) {
  const bool is_dir = std::filesystem::is_directory(path);
  const auto card_path = is_dir ? path / "model.yaml" : path;
  const ModelConfig card = load_model_config(card_path);
  if (card.format == PackageFormat::Config)
    return format == PackageFormat::Int8 ? make_random_int8_package(card, seed)
                                         : make_random_fp32_package(card, seed);
  ModelPackage p = load_package(path);
  if (format != PackageFormat::Config && p.card.format != format)
    throw ModelError(fmt::format("{}: a {} package, but {} is needed", path.string(),
                                 format_name(p.card.format), format_name(format)));
  return p;
}

}  // namespace ns::model
