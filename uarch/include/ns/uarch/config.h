// A core design for the reference out-of-order model, loaded from configs/cpu/*.yaml.
// The YAML file is the only source of these values; this struct is its validated, typed form.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/trace/record.h"

namespace ns::uarch {

// Anything wrong with a configuration file: the message names the file and the key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CacheConfig {
  uint32_t size_kb = 0;
  uint32_t ways = 0;
  uint32_t latency = 0;  // cycles this level adds to an access that reaches it
  uint32_t mshrs = 0;    // outstanding misses
  uint32_t sets = 0;     // derived: size / (ways * line), a power of two
};

struct PrefetcherConfig {
  bool enabled = false;
  uint32_t table_entries = 0;
  uint32_t degree = 0;
  uint32_t confidence = 0;
};

enum class PredictorKind : uint8_t { Bimodal, Gshare, Tournament, Tage };

struct BranchConfig {
  PredictorKind predictor = PredictorKind::Tournament;
  uint32_t bimodal_entries = 0;
  uint32_t gshare_entries = 0, gshare_history_bits = 0;
  uint32_t local_history_entries = 0, local_history_bits = 0, global_entries = 0,
           choice_entries = 0;
  uint32_t tage_base_entries = 0, tage_tables = 0, tage_table_entries = 0, tage_tag_bits = 0,
           tage_min_history = 0, tage_max_history = 0;
  uint32_t btb_entries = 0, btb_ways = 0;
  uint32_t ras_entries = 0;
  uint32_t indirect_sets = 0, indirect_ways = 0, indirect_path_length = 0;
};

// How one opcode class executes. unit < 0: needs no functional unit (Nop, No_OpClass,
// Syscall, Serializing).
struct OpTiming {
  int8_t unit = -1;
  uint16_t latency = 1;
  uint16_t interval = 1;  // cycles before the unit accepts another op (1 = pipelined)
};

struct UnitConfig {
  std::string name;
  uint32_t count = 0;
};

// Physical register pools. Trace register classes map onto them: int -> Int; vec, x87, mask ->
// Float; flags -> Flags; segment and misc are not renamed.
enum RegPool : int { kPoolInt = 0, kPoolFloat = 1, kPoolFlags = 2, kPoolCount = 3 };
inline constexpr std::array<uint32_t, kPoolCount> kArchRegs = {16, 48, 1};

struct CoreConfig {
  std::string name;
  std::filesystem::path source;  // the file it was loaded from (empty if built in memory)
  nlohmann::json tree;           // the merged key tree, as the YAML would read
  std::string sha256;            // of tree.dump(): identifies the design in labels/manifests

  double clock_ghz = 0;
  // pipeline
  uint32_t width = 0;
  uint32_t fetch_queue = 0, fetch_block_bytes = 0;
  uint32_t fetch_to_decode = 0, decode_to_rename = 0, rename_to_dispatch = 0,
           dispatch_to_issue = 0, execute_to_commit = 0, branch_redirect = 0;
  uint32_t rob = 0, iq = 0, lq = 0, sq = 0, store_drain_width = 0;
  std::array<uint32_t, kPoolCount> phys_regs{};

  BranchConfig branch;

  std::vector<UnitConfig> units;
  std::array<OpTiming, trace::kOpClassCount> ops{};
  int mem_unit = -1;  // the unit that executes MemRead: the load/store ports

  uint32_t line_bytes = 0;
  CacheConfig l1i, l1d, l2, llc;
  PrefetcherConfig prefetcher;
  double dram_latency_ns = 0, dram_bandwidth_gb_s = 0;
  uint32_t dram_latency_cycles = 0;  // derived with clock_ghz
  uint32_t dram_burst_cycles = 0;    // derived: one line over the channel

  // Cycles from fetch to the earliest dispatch.
  uint32_t frontend_depth() const { return fetch_to_decode + decode_to_rename + rename_to_dispatch; }
};

// Limits the model is built for (validated on load).
inline constexpr uint32_t kMaxRob = 1024, kMaxQueue = 1024, kMaxPhysRegs = 4096, kMaxWidth = 16,
                          kMaxUnits = 11, kMaxMemoryCycles = 8192;

// Loads a design file: `include: other.yaml` (relative to the file) is loaded first and the
// file's other keys override it; an override may only name keys the included tree has, with the
// same kind of value. Throws ConfigError naming the file and the key for any problem: unknown
// or missing key, wrong type, out-of-range value, cache sets not a power of two, an opcode class
// without a functional unit, ...
CoreConfig load_config(const std::filesystem::path& path);

// Validates a merged key tree (what load_config does after merging); `origin` names it in errors.
CoreConfig config_from_tree(const nlohmann::json& tree, const std::string& origin);

// Applies `overrides` to `tree` with load_config's rules (tests derive variants this way).
nlohmann::json merge_tree(const nlohmann::json& tree, const nlohmann::json& overrides,
                          const std::string& origin);

}  // namespace ns::uarch
