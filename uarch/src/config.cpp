#include "ns/uarch/config.h"

#include <openssl/sha.h>
#include <yaml-cpp/yaml.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace ns::uarch {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// YAML scalars carry no type: integers, then floats, then booleans, else strings.
json scalar_to_json(const std::string& s) {
  int64_t i = 0;
  const char* end = s.data() + s.size();
  if (auto [p, ec] = std::from_chars(s.data(), end, i); ec == std::errc() && p == end && !s.empty())
    return i;
  double d = 0;
  if (auto [p, ec] = std::from_chars(s.data(), end, d); ec == std::errc() && p == end && !s.empty())
    return d;
  if (s == "true") return true;
  if (s == "false") return false;
  return s;
}

json yaml_to_json(const YAML::Node& n, const std::string& where) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar_to_json(n.Scalar());
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) a.push_back(yaml_to_json(e, where));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) {
        const std::string key = kv.first.as<std::string>();
        if (o.contains(key)) throw ConfigError(fmt::format("{}: duplicate key '{}'", where, key));
        o[key] = yaml_to_json(kv.second, where);
      }
      return o;
    }
  }
  return nullptr;
}

std::string kind_of(const json& j) {
  if (j.is_object()) return "a map";
  if (j.is_array()) return "a list";
  return "a value";
}

void merge_into(json& base, const json& over, const std::string& path, const std::string& origin) {
  for (const auto& [key, value] : over.items()) {
    const std::string here = path.empty() ? key : path + "." + key;
    if (!base.contains(key))
      throw ConfigError(fmt::format("{}: unknown key '{}' (the included configuration has no such key)",
                                    origin, here));
    json& b = base[key];
    if (b.is_object() && value.is_object()) {
      merge_into(b, value, here, origin);
    } else if (b.is_object() || value.is_object() || b.is_array() != value.is_array()) {
      throw ConfigError(fmt::format("{}: '{}' must be {} as in the included configuration", origin,
                                    here, kind_of(b)));
    } else {
      b = value;
    }
  }
}

json load_tree(const fs::path& path, int depth) {
  if (depth > 8) throw ConfigError(fmt::format("{}: includes nested too deeply", path.string()));
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    throw ConfigError(fmt::format("{}: cannot open the configuration file", path.string()));
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: not valid YAML: {}", path.string(), e.what()));
  }
  json tree = yaml_to_json(root, path.string());
  if (!tree.is_object())
    throw ConfigError(fmt::format("{}: a configuration must be a YAML map", path.string()));
  if (!tree.contains("include")) return tree;
  if (!tree["include"].is_string())
    throw ConfigError(fmt::format("{}: 'include' must be a file name", path.string()));
  const fs::path inc = path.parent_path() / tree["include"].get<std::string>();
  json base = load_tree(inc, depth + 1);
  tree.erase("include");
  return merge_tree(base, tree, path.string());
}

// Reads one map of the tree, tracking which keys were used so that leftovers are errors.
class Section {
 public:
  Section(const json& j, std::string path, const std::string& origin)
      : j_(j), path_(std::move(path)), origin_(origin) {
    if (!j_.is_object()) fail("", "must be a map");
  }
  ~Section() = default;

  Section sub(const std::string& key) { return Section(get(key), name(key), origin_); }

  uint32_t u32(const std::string& key, uint64_t lo, uint64_t hi) {
    const json& v = get(key);
    if (!v.is_number_integer())
      fail(key, fmt::format("must be an integer (got {})", v.dump()));
    const int64_t x = v.get<int64_t>();
    if (x < 0 || static_cast<uint64_t>(x) < lo || static_cast<uint64_t>(x) > hi)
      fail(key, fmt::format("must be in [{}, {}] (got {})", lo, hi, x));
    return static_cast<uint32_t>(x);
  }
  uint32_t pow2(const std::string& key, uint64_t lo, uint64_t hi) {
    const uint32_t x = u32(key, lo, hi);
    if (!std::has_single_bit(x)) fail(key, fmt::format("must be a power of two (got {})", x));
    return x;
  }
  double real(const std::string& key, double lo, double hi) {
    const json& v = get(key);
    if (!v.is_number()) fail(key, fmt::format("must be a number (got {})", v.dump()));
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi)
      fail(key, fmt::format("must be in [{}, {}] (got {})", lo, hi, x));
    return x;
  }
  bool boolean(const std::string& key) {
    const json& v = get(key);
    if (!v.is_boolean()) fail(key, fmt::format("must be true or false (got {})", v.dump()));
    return v.get<bool>();
  }
  std::string str(const std::string& key) {
    const json& v = get(key);
    if (!v.is_string() || v.get<std::string>().empty())
      fail(key, fmt::format("must be a non-empty string (got {})", v.dump()));
    return v.get<std::string>();
  }
  const json& raw(const std::string& key) { return get(key); }
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    for (const auto& [key, v] : j_.items()) k.push_back(key);
    return k;
  }
  // Every key must have been read.
  void done() const {
    for (const auto& [key, v] : j_.items())
      if (!used_.count(key)) fail(key, "unknown key");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(fmt::format("{}: {}: {}", origin_, key.empty() ? path_ : name(key), what));
  }

 private:
  std::string name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const json& get(const std::string& key) {
    if (!j_.contains(key)) fail(key, "missing key");
    used_.insert(key);
    return j_.at(key);
  }

  const json& j_;
  std::string path_;
  const std::string& origin_;
  std::set<std::string> used_;
};

CacheConfig read_cache(Section s, uint32_t line) {
  CacheConfig c;
  c.size_kb = s.u32("size_kb", 1, 256u << 10);  // up to 256 MB (the model keeps tag state)
  c.ways = s.u32("ways", 1, 64);
  c.latency = s.u32("latency", 1, 1000);
  c.mshrs = s.u32("mshrs", 1, 256);
  const uint64_t lines = uint64_t(c.size_kb) * 1024 / line;
  if (lines % c.ways != 0 || !std::has_single_bit(lines / c.ways))
    s.fail("size_kb", fmt::format("{} KB / ({} ways x {} B lines) = {} sets: the number of sets "
                                  "must be a power of two",
                                  c.size_kb, c.ways, line, double(lines) / c.ways));
  c.sets = static_cast<uint32_t>(lines / c.ways);
  s.done();
  return c;
}

std::string sha256_hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  std::string hex;
  for (unsigned char c : d) hex += fmt::format("{:02x}", c);
  return hex;
}

}  // namespace

json merge_tree(const json& tree, const json& overrides, const std::string& origin) {
  json out = tree;
  merge_into(out, overrides, "", origin);
  return out;
}

CoreConfig config_from_tree(const json& tree, const std::string& origin) {
  using trace::OpClass;
  CoreConfig c;
  c.tree = tree;
  c.sha256 = sha256_hex(tree.dump());
  Section root(tree, "", origin);
  c.name = root.str("name");
  c.clock_ghz = root.real("clock_ghz", 0.1, 20);

  {
    Section p = root.sub("pipeline");
    c.width = p.u32("width", 1, kMaxWidth);
    c.fetch_queue = p.u32("fetch_queue", 1, 1024);
    c.fetch_block_bytes = p.pow2("fetch_block_bytes", 4, 4096);
    c.fetch_to_decode = p.u32("fetch_to_decode", 0, 64);
    c.decode_to_rename = p.u32("decode_to_rename", 0, 64);
    c.rename_to_dispatch = p.u32("rename_to_dispatch", 0, 64);
    c.dispatch_to_issue = p.u32("dispatch_to_issue", 0, 64);
    c.execute_to_commit = p.u32("execute_to_commit", 0, 64);
    c.branch_redirect = p.u32("branch_redirect", 0, 64);
    c.rob = p.u32("rob", 4, kMaxRob);  // at least one instruction of 3 micro-ops
    c.iq = p.u32("iq", 4, kMaxQueue);
    c.lq = p.u32("lq", 1, kMaxQueue);
    c.sq = p.u32("sq", 1, kMaxQueue);
    c.store_drain_width = p.u32("store_drain_width", 1, kMaxWidth);
    Section r = p.sub("phys_regs");
    const char* names[kPoolCount] = {"int", "float", "flags"};
    for (int k = 0; k < kPoolCount; ++k)
      c.phys_regs[k] = r.u32(names[k], kArchRegs[k] + 1, kMaxPhysRegs);
    r.done();
    p.done();
  }

  {
    Section b = root.sub("branch");
    const std::string kind = b.str("predictor");
    if (kind == "bimodal") c.branch.predictor = PredictorKind::Bimodal;
    else if (kind == "gshare") c.branch.predictor = PredictorKind::Gshare;
    else if (kind == "tournament") c.branch.predictor = PredictorKind::Tournament;
    else if (kind == "tage") c.branch.predictor = PredictorKind::Tage;
    else b.fail("predictor", fmt::format("unknown predictor '{}' (known: bimodal, gshare, "
                                         "tournament, tage)", kind));
    auto& br = c.branch;
    {
      Section s = b.sub("bimodal");
      br.bimodal_entries = s.pow2("entries", 16, 1u << 24);
      s.done();
    }
    {
      Section s = b.sub("gshare");
      br.gshare_entries = s.pow2("entries", 16, 1u << 24);
      br.gshare_history_bits = s.u32("history_bits", 1, 60);
      s.done();
    }
    {
      Section s = b.sub("tournament");
      br.local_history_entries = s.pow2("local_history_entries", 16, 1u << 20);
      br.local_history_bits = s.u32("local_history_bits", 1, 20);
      br.global_entries = s.pow2("global_entries", 16, 1u << 24);
      br.choice_entries = s.pow2("choice_entries", 16, 1u << 24);
      s.done();
    }
    {
      Section s = b.sub("tage");
      br.tage_base_entries = s.pow2("base_entries", 16, 1u << 24);
      br.tage_tables = s.u32("tables", 1, 16);
      br.tage_table_entries = s.pow2("table_entries", 16, 1u << 20);
      br.tage_tag_bits = s.u32("tag_bits", 4, 16);
      br.tage_min_history = s.u32("min_history", 1, 1024);
      br.tage_max_history = s.u32("max_history", br.tage_min_history, 1024);
      s.done();
    }
    {
      Section s = b.sub("btb");
      br.btb_entries = s.pow2("entries", 1, 1u << 20);
      br.btb_ways = s.pow2("ways", 1, 64);
      if (br.btb_ways > br.btb_entries) s.fail("ways", "more ways than entries");
      s.done();
    }
    br.ras_entries = b.u32("ras_entries", 1, 1024);
    {
      Section s = b.sub("indirect");
      br.indirect_sets = s.pow2("sets", 1, 1u << 20);
      br.indirect_ways = s.u32("ways", 1, 64);
      br.indirect_path_length = s.u32("path_length", 0, 16);
      s.done();
    }
    b.done();
  }

  {
    Section fu = root.sub("functional_units");
    std::array<bool, trace::kOpClassCount> seen{};
    for (const std::string& unit : fu.keys()) {
      Section u = fu.sub(unit);
      if (c.units.size() >= kMaxUnits)
        u.fail("", fmt::format("at most {} functional-unit kinds", kMaxUnits));
      const int index = static_cast<int>(c.units.size());
      c.units.push_back({unit, u.u32("count", 1, 64)});
      Section ops = u.sub("ops");
      for (const std::string& op : ops.keys()) {
        const auto cls = trace::parse_opclass(op);
        if (!cls) ops.fail(op, "not an opcode class (docs/trace-format.md lists them)");
        const auto k = static_cast<size_t>(*cls);
        if (*cls == OpClass::No_OpClass || *cls == OpClass::Nop || *cls == OpClass::Syscall ||
            *cls == OpClass::Serializing)
          ops.fail(op, "this class needs no functional unit");
        if (seen[k]) ops.fail(op, "opcode class assigned to two functional units");
        seen[k] = true;
        OpTiming t;
        t.unit = static_cast<int8_t>(index);
        if (ops.raw(op).is_object()) {
          Section d = ops.sub(op);
          t.latency = static_cast<uint16_t>(d.u32("latency", 1, 1000));
          t.interval = static_cast<uint16_t>(d.u32("interval", 1, 1000));
          d.done();
        } else {
          t.latency = static_cast<uint16_t>(ops.u32(op, 1, 1000));
        }
        c.ops[k] = t;
      }
      ops.done();
      u.done();
    }
    fu.done();
    for (int k = 0; k < trace::kOpClassCount; ++k) {
      const auto cls = static_cast<OpClass>(k);
      if (cls == OpClass::No_OpClass || cls == OpClass::Nop || cls == OpClass::Syscall ||
          cls == OpClass::Serializing)
        continue;
      if (!seen[k])
        fu.fail("", fmt::format("opcode class {} has no functional unit", trace::opclass_name(cls)));
    }
    c.mem_unit = c.ops[static_cast<size_t>(OpClass::MemRead)].unit;
    for (OpClass m : {OpClass::MemWrite, OpClass::FloatMemRead, OpClass::FloatMemWrite})
      if (c.ops[static_cast<size_t>(m)].unit != c.mem_unit)
        fu.fail("", "MemRead, MemWrite, FloatMemRead and FloatMemWrite must share one unit (the "
                    "load/store ports)");
  }

  {
    Section m = root.sub("memory");
    c.line_bytes = m.pow2("line_bytes", 16, 4096);
    c.l1i = read_cache(m.sub("l1i"), c.line_bytes);
    c.l1d = read_cache(m.sub("l1d"), c.line_bytes);
    c.l2 = read_cache(m.sub("l2"), c.line_bytes);
    c.llc = read_cache(m.sub("llc"), c.line_bytes);
    {
      Section p = m.sub("prefetcher");
      c.prefetcher.enabled = p.boolean("enabled");
      c.prefetcher.table_entries = p.pow2("table_entries", 1, 1u << 16);
      c.prefetcher.degree = p.u32("degree", 1, 64);
      c.prefetcher.confidence = p.u32("confidence", 1, 16);
      p.done();
    }
    {
      Section d = m.sub("dram");
      c.dram_latency_ns = d.real("latency_ns", 1, 10000);
      c.dram_bandwidth_gb_s = d.real("bandwidth_gb_s", 0.1, 10000);
      d.done();
    }
    m.done();
  }
  root.done();

  c.dram_latency_cycles =
      static_cast<uint32_t>(std::lround(c.dram_latency_ns * c.clock_ghz));
  // bytes / (GB/s) = ns per line; at least one cycle.
  c.dram_burst_cycles = std::max<uint32_t>(
      1, static_cast<uint32_t>(std::lround(c.line_bytes / c.dram_bandwidth_gb_s * c.clock_ghz)));
  if (c.dram_latency_cycles > kMaxMemoryCycles)
    throw ConfigError(fmt::format("{}: memory.dram.latency_ns: {} ns at {} GHz is {} cycles, more "
                                  "than the {} the model supports",
                                  origin, c.dram_latency_ns, c.clock_ghz, c.dram_latency_cycles,
                                  kMaxMemoryCycles));
  if (c.dram_burst_cycles > c.dram_latency_cycles)
    throw ConfigError(fmt::format("{}: memory.dram: one line takes {} cycles on the channel, more "
                                  "than the {}-cycle latency",
                                  origin, c.dram_burst_cycles, c.dram_latency_cycles));
  return c;
}

CoreConfig load_config(const fs::path& path) {
  json tree = load_tree(path, 0);
  CoreConfig c = config_from_tree(tree, path.string());
  c.source = path;
  return c;
}

}  // namespace ns::uarch
