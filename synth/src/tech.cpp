#include "ntr/synth/tech.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace ntr::synth {
namespace {

// Reads a YAML map with exactly the given keys (no more, no fewer), naming the path on errors.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, const std::string& origin,
          std::set<std::string> keys)
      : node_(node), path_(std::move(path)), origin_(origin) {
    if (!node_ || !node_.IsMap()) fail("is missing or not a map");
    for (const auto& kv : node_) {
      const auto k = kv.first.as<std::string>();
      if (!keys.count(k)) fail(fmt::format("has unknown key '{}'", k));
    }
    for (const auto& k : keys)
      if (!node_[k]) fail(fmt::format("lacks key '{}'", k));
  }

  double number(const std::string& key, double min = 0, bool inclusive = false) const {
    double v = 0;
    try {
      v = node_[key].as<double>();
    } catch (const YAML::Exception&) {
      fail(fmt::format("key '{}' is not a number", key));
    }
    if (!std::isfinite(v) || v < min || (!inclusive && v == min))
      fail(fmt::format("key '{}' = {} must be {} {}", key, v, inclusive ? ">=" : ">", min));
    return v;
  }
  int64_t integer(const std::string& key) const {
    const double v = number(key);
    if (v != std::floor(v)) fail(fmt::format("key '{}' = {} must be an integer", key, v));
    return static_cast<int64_t>(v);
  }
  std::string text(const std::string& key) const {
    try {
      return node_[key].as<std::string>();
    } catch (const YAML::Exception&) {
      fail(fmt::format("key '{}' is not a string", key));
    }
  }
  Section sub(const std::string& key, std::set<std::string> keys) const {
    return Section(node_[key], path_ + "." + key, origin_, std::move(keys));
  }
  // A map of name -> number (any names).
  std::map<std::string, double> number_map(const std::string& key) const {
    std::map<std::string, double> out;
    const auto& m = node_[key];
    if (!m.IsMap() || m.size() == 0) fail(fmt::format("key '{}' must be a non-empty map", key));
    for (const auto& kv : m) {
      const auto k = kv.first.as<std::string>();
      double v = 0;
      try {
        v = kv.second.as<double>();
      } catch (const YAML::Exception&) {
        fail(fmt::format("{}.{} is not a number", key, k));
      }
      if (!std::isfinite(v) || v < 0) fail(fmt::format("{}.{} = {} must be >= 0", key, k, v));
      out[k] = v;
    }
    return out;
  }
  // A map of name -> list of names.
  std::map<std::string, std::vector<std::string>> list_map(const std::string& key) const {
    std::map<std::string, std::vector<std::string>> out;
    const auto& m = node_[key];
    if (!m.IsMap() || m.size() == 0) fail(fmt::format("key '{}' must be a non-empty map", key));
    for (const auto& kv : m) {
      const auto k = kv.first.as<std::string>();
      if (!kv.second.IsSequence() || kv.second.size() == 0)
        fail(fmt::format("{}.{} must be a non-empty list", key, k));
      for (const auto& e : kv.second) out[k].push_back(e.as<std::string>());
    }
    return out;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw SynthError(fmt::format("{}: '{}' {}", origin_, path_, what));
  }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& origin_;
};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Letters between the cell prefix and the closing '_' ($_DFFE_PN0P_ -> "PN0P").
std::string_view flop_suffix(std::string_view type, std::string_view prefix) {
  auto rest = type.substr(prefix.size());
  if (!rest.empty() && rest.back() == '_') rest.remove_suffix(1);
  return rest;
}

// The flop features of a Yosys cell type, or empty when it is not a flop.
std::vector<std::string> flop_parts(std::string_view t) {
  if (starts_with(t, "$_DFFSRE_")) return {"async_set_reset", "enable"};
  if (starts_with(t, "$_DFFSR_")) return {"async_set_reset"};
  if (starts_with(t, "$_DFFE_"))
    return flop_suffix(t, "$_DFFE_").size() > 2 ? std::vector<std::string>{"async_reset", "enable"}
                                                 : std::vector<std::string>{"plain", "enable"};
  if (starts_with(t, "$_DFF_"))
    return flop_suffix(t, "$_DFF_").size() > 1 ? std::vector<std::string>{"async_reset"}
                                                : std::vector<std::string>{"plain"};
  if (starts_with(t, "$_SDFFCE_") || starts_with(t, "$_SDFFE_")) return {"plain", "sync_reset", "enable"};
  if (starts_with(t, "$_SDFF_")) return {"plain", "sync_reset"};
  if (starts_with(t, "$_ALDFFE_")) return {"async_set_reset", "enable"};
  if (starts_with(t, "$_ALDFF_")) return {"async_set_reset"};
  if (starts_with(t, "$_DLATCHSR_")) return {"latch", "sync_reset"};
  if (starts_with(t, "$_DLATCH_"))
    return flop_suffix(t, "$_DLATCH_").size() > 1 ? std::vector<std::string>{"latch", "sync_reset"}
                                                   : std::vector<std::string>{"latch"};
  if (starts_with(t, "$_SR_")) return {"latch"};
  if (starts_with(t, "$_FF_")) return {"plain"};
  return {};
}

const std::set<std::string> kFlopKinds = {"plain", "async_reset", "async_set_reset", "enable", "sync_reset", "latch"};
const std::set<std::string> kPrimitives = {"add8", "add32", "mul8", "mul16", "mul32"};

}  // namespace

bool is_yosys_flop(std::string_view type) { return !flop_parts(type).empty(); }

double Technology::nand2_um2() const {
  return nand2_width_cpp * cpp_nm * 1e-3 * cell_tracks * m1_pitch_nm * 1e-3;
}

double Technology::energy_scale() const {
  return (node_nm / ref_node_nm) * (vdd_v / ref_vdd_v) * (vdd_v / ref_vdd_v);
}

double Technology::primitive_pj(const std::string& primitive) const {
  if (primitive == "mul16") return primitive_pj("mul8") * mul16_from_mul8;
  const auto it = ref_pj.find(primitive);
  if (it == ref_pj.end()) throw SynthError(fmt::format("{}: unknown energy primitive '{}'", origin, primitive));
  return it->second * energy_scale();
}

double Technology::event_pj(const std::string& event) const {
  const auto it = events.find(event);
  if (it == events.end()) throw SynthError(fmt::format("{}: unknown activity event '{}'", origin, event));
  double e = 0;
  for (const auto& p : it->second) e += primitive_pj(p);
  return e;
}

double Technology::reference_ge(const std::string& cell) const {
  const auto it = reference_cells_um2.find(cell);
  if (it == reference_cells_um2.end())
    throw SynthError(fmt::format("{}: unknown reference cell '{}'", origin, cell));
  return it->second / reference_cells_um2.at("NAND2_X1");
}

double Technology::yosys_cell_ge(std::string_view type) const {
  double ge = 0;
  if (const auto it = yosys_cells.find(std::string(type)); it != yosys_cells.end()) {
    for (const auto& c : it->second) ge += reference_ge(c);
    return ge;
  }
  const auto parts = flop_parts(type);
  if (parts.empty())
    throw SynthError(fmt::format("{}: no area for Yosys cell type '{}' (logic.yosys_cells)", origin, type));
  for (const auto& p : parts)
    for (const auto& c : flops.at(p)) ge += reference_ge(c);
  return ge;
}

double Technology::wire_fj_per_bit_um() const {
  return wire_cap_ff_per_um * vdd_v * vdd_v * wire_activity;
}

Technology parse_technology(std::string_view yaml, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw SynthError(fmt::format("{}: not valid YAML: {}", origin, e.what()));
  }
  Technology t;
  t.origin = origin;
  const Section top(root, "<top>", t.origin, {"name", "description", "process", "logic", "energy", "sram"});
  t.name = top.text("name");
  t.description = top.text("description");

  const auto p = top.sub("process", {"node_nm", "vdd_v"});
  t.node_nm = p.number("node_nm");
  t.vdd_v = p.number("vdd_v");

  const auto l = top.sub("logic", {"cpp_nm", "m1_pitch_nm", "cell_tracks", "nand2_width_cpp",
                                   "placement_utilization", "leakage_nw_per_ge", "reference_cells_um2",
                                   "yosys_cells", "flops"});
  t.cpp_nm = l.number("cpp_nm");
  t.m1_pitch_nm = l.number("m1_pitch_nm");
  t.cell_tracks = l.number("cell_tracks");
  t.nand2_width_cpp = l.number("nand2_width_cpp");
  t.placement_utilization = l.number("placement_utilization");
  if (t.placement_utilization > 1) l.fail("key 'placement_utilization' must be <= 1");
  t.leakage_nw_per_ge = l.number("leakage_nw_per_ge", 0, true);
  t.reference_cells_um2 = l.number_map("reference_cells_um2");
  if (!t.reference_cells_um2.count("NAND2_X1") || t.reference_cells_um2.at("NAND2_X1") <= 0)
    l.fail("reference_cells_um2 lacks a positive NAND2_X1");
  t.yosys_cells = l.list_map("yosys_cells");
  t.flops = l.list_map("flops");
  for (const auto& k : kFlopKinds)
    if (!t.flops.count(k)) l.fail(fmt::format("flops lacks '{}'", k));
  for (const auto& [k, v] : t.flops)
    if (!kFlopKinds.count(k)) l.fail(fmt::format("flops has unknown kind '{}'", k));
  for (const auto* m : {&t.yosys_cells, &t.flops})
    for (const auto& [k, cells] : *m)
      for (const auto& c : cells)
        if (!t.reference_cells_um2.count(c)) l.fail(fmt::format("'{}' uses unknown reference cell '{}'", k, c));

  const auto e = top.sub("energy", {"reference", "mul16_from_mul8", "events", "ff_clock_fj", "ff_data_fj",
                                    "ff_toggle_rate", "wire_cap_ff_per_um", "wire_activity"});
  const auto r = e.sub("reference", {"node_nm", "vdd_v", "pj"});
  t.ref_node_nm = r.number("node_nm");
  t.ref_vdd_v = r.number("vdd_v");
  t.ref_pj = r.number_map("pj");
  for (const auto& k : {"add8", "add32", "mul8", "mul32"})
    if (!t.ref_pj.count(k)) r.fail(fmt::format("pj lacks '{}'", k));
  t.mul16_from_mul8 = e.number("mul16_from_mul8");
  t.events = e.list_map("events");
  for (const auto& [k, prims] : t.events)
    for (const auto& q : prims)
      if (!kPrimitives.count(q)) e.fail(fmt::format("event '{}' uses unknown primitive '{}'", k, q));
  t.ff_clock_fj = e.number("ff_clock_fj", 0, true);
  t.ff_data_fj = e.number("ff_data_fj", 0, true);
  t.ff_toggle_rate = e.number_map("ff_toggle_rate");
  for (const auto& [k, v] : t.ff_toggle_rate)
    if (v > 1) e.fail(fmt::format("ff_toggle_rate.{} = {} must be <= 1", k, v));
  if (!t.ff_toggle_rate.count("control")) e.fail("ff_toggle_rate lacks 'control'");
  t.wire_cap_ff_per_um = e.number("wire_cap_ff_per_um", 0, true);
  t.wire_activity = e.number("wire_activity", 0, true);

  const auto s = top.sub("sram", {"bitcell_um2", "two_port_cell_factor", "max_rows", "max_cols", "max_width_bits",
                                  "periphery_rows", "periphery_cols", "control_um2", "bitline_ff_per_cell",
                                  "wordline_ff_per_cell", "read_swing_v", "sense_fj_per_bit", "write_fj_per_bit",
                                  "decode_fj", "leakage_pw_per_bit"});
  auto& m = t.sram;
  m.bitcell_um2 = s.number("bitcell_um2");
  m.two_port_cell_factor = s.number("two_port_cell_factor");
  m.max_rows = s.integer("max_rows");
  m.max_cols = s.integer("max_cols");
  m.max_width_bits = s.integer("max_width_bits");
  if (m.max_rows < 16 || m.max_cols < 16) s.fail("max_rows and max_cols must be at least 16");
  if (m.max_width_bits > m.max_cols) s.fail("max_width_bits must be <= max_cols");
  m.periphery_rows = s.number("periphery_rows", 0, true);
  m.periphery_cols = s.number("periphery_cols", 0, true);
  m.control_um2 = s.number("control_um2", 0, true);
  m.bitline_ff_per_cell = s.number("bitline_ff_per_cell", 0, true);
  m.wordline_ff_per_cell = s.number("wordline_ff_per_cell", 0, true);
  m.read_swing_v = s.number("read_swing_v", 0, true);
  if (m.read_swing_v > t.vdd_v) s.fail("read_swing_v must be <= process.vdd_v");
  m.sense_fj_per_bit = s.number("sense_fj_per_bit", 0, true);
  m.write_fj_per_bit = s.number("write_fj_per_bit", 0, true);
  m.decode_fj = s.number("decode_fj", 0, true);
  m.leakage_pw_per_bit = s.number("leakage_pw_per_bit", 0, true);
  return t;
}

Technology load_technology(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SynthError(fmt::format("{}: cannot open technology file", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_technology(ss.str(), path.string());
}

Technology resolve_technology(const std::string& spec) {
  if (spec.empty() || spec == "n16") return parse_technology(builtin_technology_yaml(), "<builtin n16>");
  return load_technology(spec);
}

}  // namespace ntr::synth
