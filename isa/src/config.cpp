#include "ntr/isa/config.h"

#include <map>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "read_file.h"

namespace ntr::isa {

namespace {

constexpr int64_t kKiB = 1024;

// The schema. Offsets in instructions bound several maxima: LIB and VS addresses are 14-bit,
// CB offsets 12-bit, global addresses 21-bit, LWB rows 9-bit (two halves of <= 256 rows).
constexpr ConfigParam kSchema[] = {
    {"tiles", "tiles", &AccelConfig::tiles, 1, 64, "", "tiles running the program in lockstep"},
    {"clock_mhz", "clock_mhz", &AccelConfig::clock_mhz, 1, 10000, "MHz", "clock frequency"},
    {"mac.lane_rows", "mac_lane_rows", &AccelConfig::mac_lane_rows, 1, 16, "",
     "MAC lanes are lane_rows x lane_cols; lanes = output columns of a block"},
    {"mac.lane_cols", "mac_lane_cols", &AccelConfig::mac_lane_cols, 1, 16, "", ""},
    {"mac.acc_banks", "mac_acc_banks", &AccelConfig::mac_acc_banks, 2, 8, "",
     "accumulator banks of lanes x int32"},
    {"mac.latency", "mac_latency", &AccelConfig::mac_latency, 0, 16, "cycles",
     "from an MVM's last row to its accumulators being readable"},
    {"lwb.bytes", "lwb_bytes", &AccelConfig::lwb_bytes, 2, 1024 * kKiB, "bytes",
     "local weight buffer, two halves of rows of `lanes` bytes"},
    {"lib.bytes", "lib_bytes", &AccelConfig::lib_bytes, 64, 16 * kKiB, "bytes",
     "local input buffer"},
    {"ppu.lanes", "ppu_lanes", &AccelConfig::ppu_lanes, 1, 256, "elements/cycle",
     "post-processing throughput"},
    {"ppu.latency", "ppu_latency", &AccelConfig::ppu_latency, 0, 32, "cycles",
     "post-processing pipeline depth (added to every PPU instruction)"},
    {"ppu.vs_words", "ppu_vs_words", &AccelConfig::ppu_vs_words, 16, 16 * kKiB, "int32",
     "vector scratch (cell state, gate temporaries, head logits)"},
    {"ppu.cb_rows", "ppu_cb_rows", &AccelConfig::ppu_cb_rows, 16, 4096, "rows",
     "constant buffer rows (bias, multiplier, shift per output row; 12 bytes each)"},
    {"gwb.bytes", "gwb_bytes", &AccelConfig::gwb_bytes, 1024, 2048 * kKiB, "bytes",
     "global weight buffer (one bank, shared by all tiles)"},
    {"gib.bytes", "gib_bytes", &AccelConfig::gib_bytes, 1024, 2048 * kKiB, "bytes",
     "global input buffer (epoch inputs, results, spills)"},
    {"gib.banks", "gib_banks", &AccelConfig::gib_banks, 1, 64, "",
     "equal banks of the global input buffer; each serves one transfer at a time"},
    {"dma.latency", "dma_latency", &AccelConfig::dma_latency, 0, 64, "cycles",
     "fixed cost of every DMA transfer"},
    {"dma.gwb_bytes_per_cycle", "dma_gwb_bytes_per_cycle", &AccelConfig::dma_gwb_bytes_per_cycle,
     1, 4096, "bytes/cycle", "global weight buffer read/write port"},
    {"dma.gib_bytes_per_cycle", "dma_gib_bytes_per_cycle", &AccelConfig::dma_gib_bytes_per_cycle,
     1, 4096, "bytes/cycle", "global input buffer port, per bank"},
    {"dma.lib_bytes_per_cycle", "dma_lib_bytes_per_cycle", &AccelConfig::dma_lib_bytes_per_cycle,
     1, 4096, "bytes/cycle", "local input buffer DMA port"},
    {"dma.cb_bytes_per_cycle", "dma_cb_bytes_per_cycle", &AccelConfig::dma_cb_bytes_per_cycle, 1,
     4096, "bytes/cycle", "constant buffer DMA port"},
    {"imem.words", "imem_words", &AccelConfig::imem_words, 16, 65536, "instructions",
     "instruction memory per stream"},
};

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw IsaError(fmt::format("{}: {}", origin, what));
}

}  // namespace

std::span<const ConfigParam> config_schema() { return kSchema; }

int64_t AccelConfig::cb_bytes() const { return ppu_cb_rows * 12; }

void validate(const AccelConfig& c, const std::string& origin) {
  if (c.name.empty()) fail(origin, "missing 'name'");
  for (char ch : c.name) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_'))
      fail(origin, fmt::format("name '{}' may hold only letters, digits, '-' and '_'", c.name));
  }
  for (const auto& p : kSchema) {
    const int64_t v = c.*(p.member);
    if (v < p.min || v > p.max)
      fail(origin, fmt::format("'{}' = {} is outside [{}, {}]", p.path, v, p.min, p.max));
  }
  const int64_t lanes = c.lanes();
  if (lanes > 256) fail(origin, fmt::format("lanes = {} exceeds 256", lanes));
  if (c.lwb_bytes % (2 * lanes) != 0)
    fail(origin, fmt::format("'lwb.bytes' = {} is not two halves of whole {}-byte rows",
                             c.lwb_bytes, lanes));
  if (c.lwb_half_rows() > 256)
    fail(origin, fmt::format("'lwb.bytes' = {} gives {} rows per half; at most 256", c.lwb_bytes,
                             c.lwb_half_rows()));
  if (c.mac_acc_banks * lanes > 16384)
    fail(origin, "mac.acc_banks x lanes exceeds the 14-bit accumulator address space");
  if (c.gib_bytes % c.gib_banks != 0)
    fail(origin, fmt::format("'gib.bytes' = {} is not divisible by 'gib.banks' = {}", c.gib_bytes,
                             c.gib_banks));
  if (c.gib_banks > c.tiles)
    fail(origin, fmt::format("'gib.banks' = {} exceeds 'tiles' = {}", c.gib_banks, c.tiles));
}

AccelConfig parse_accel_config(std::string_view yaml, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    fail(origin, fmt::format("not valid YAML: {}", e.what()));
  }
  if (!root.IsMap()) fail(origin, "expected a mapping at the top level");
  AccelConfig c;
  std::set<std::string> seen;
  auto scalar = [&](const YAML::Node& n, const std::string& path) -> std::string {
    if (!n.IsScalar()) fail(origin, fmt::format("'{}' must be a scalar", path));
    return n.Scalar();
  };
  // Walk every key so unknown ones are caught.
  std::map<std::string, const ConfigParam*> by_path;
  for (const auto& p : kSchema) by_path[p.path] = &p;
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n,
                                                                        const std::string& pre) {
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      const std::string path = pre.empty() ? key : pre + "." + key;
      if (pre.empty() && (key == "name" || key == "description")) {
        (key == "name" ? c.name : c.description) = scalar(kv.second, path);
        continue;
      }
      if (kv.second.IsMap()) {
        walk(kv.second, path);
        continue;
      }
      auto it = by_path.find(path);
      if (it == by_path.end()) fail(origin, fmt::format("unknown key '{}'", path));
      const std::string s = scalar(kv.second, path);
      std::size_t used = 0;
      int64_t v = 0;
      try {
        v = std::stoll(s, &used, 0);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != s.size() || s.empty())
        fail(origin, fmt::format("'{}' = '{}' is not an integer", path, s));
      c.*(it->second->member) = v;
      seen.insert(path);
    }
  };
  walk(root, "");
  for (const auto& p : kSchema) {
    if (!seen.count(p.path)) fail(origin, fmt::format("missing key '{}'", p.path));
  }
  validate(c, origin);
  return c;
}

AccelConfig load_accel_config(const std::filesystem::path& path) {
  return parse_accel_config(detail::read_file(path, "accelerator config"), path.string());
}

nlohmann::ordered_json to_json(const AccelConfig& c) {
  nlohmann::ordered_json j;
  j["name"] = c.name;
  j["description"] = c.description;
  for (const auto& p : kSchema) j[p.name] = c.*(p.member);
  j["lanes"] = c.lanes();
  j["lwb_half_rows"] = c.lwb_half_rows();
  j["gib_bank_bytes"] = c.gib_bank_bytes();
  return j;
}

uint64_t fingerprint(const AccelConfig& c) {
  // FNV-1a over the name and the parameters in schema order.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (char ch : c.name) mix(static_cast<unsigned char>(ch));
  for (const auto& p : kSchema) mix(static_cast<uint64_t>(c.*(p.member)));
  return h;
}

}  // namespace ntr::isa
