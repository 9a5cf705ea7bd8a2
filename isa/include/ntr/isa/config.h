// Accelerator instance configurations (configs/accel/*.yaml): named sets of identical keys,
// validated on load. One schema table (config.cpp) drives the loader, the generated C++ and
// SystemVerilog constants, the Yosys parameter file and docs/neutrino.md's configuration table.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ntr::isa {

// A user-caused problem with an ISA artefact (config, program, assembly text). The message names
// the file, key, line or offset.
class IsaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AccelConfig {
  std::string name;
  std::string description;
  // Every parameter is an integer; member names are the schema's flat names.
  int64_t tiles = 0;
  int64_t clock_mhz = 0;
  int64_t mac_lane_rows = 0;
  int64_t mac_lane_cols = 0;
  int64_t mac_acc_banks = 0;
  int64_t mac_latency = 0;
  int64_t lwb_bytes = 0;
  int64_t lib_bytes = 0;
  int64_t ppu_lanes = 0;
  int64_t ppu_latency = 0;
  int64_t ppu_vs_words = 0;
  int64_t ppu_cb_rows = 0;
  int64_t gwb_bytes = 0;
  int64_t gib_bytes = 0;
  int64_t gib_banks = 0;
  int64_t dma_latency = 0;
  int64_t dma_gwb_bytes_per_cycle = 0;
  int64_t dma_gib_bytes_per_cycle = 0;
  int64_t dma_lib_bytes_per_cycle = 0;
  int64_t dma_cb_bytes_per_cycle = 0;
  int64_t imem_words = 0;

  // Derived quantities.
  int64_t lanes() const { return mac_lane_rows * mac_lane_cols; }
  int64_t lwb_half_rows() const { return lwb_bytes / (2 * lanes()); }
  int64_t lwb_rows() const { return 2 * lwb_half_rows(); }
  int64_t gib_bank_bytes() const { return gib_bytes / gib_banks; }
  int64_t cb_bytes() const;
  double clock_hz() const { return static_cast<double>(clock_mhz) * 1e6; }
};

// One schema entry: the YAML path (dotted), the flat name, bounds and meaning.
struct ConfigParam {
  const char* path;
  const char* name;
  int64_t AccelConfig::*member;
  int64_t min;
  int64_t max;
  const char* unit;
  const char* doc;
};
std::span<const ConfigParam> config_schema();

// Loads and validates a config file; throws IsaError naming the file and the key.
AccelConfig load_accel_config(const std::filesystem::path& path);
AccelConfig parse_accel_config(std::string_view yaml, const std::string& origin);
// Checks bounds and cross-parameter rules; throws IsaError naming `origin` and the problem.
void validate(const AccelConfig& c, const std::string& origin);

nlohmann::ordered_json to_json(const AccelConfig& c);
// Stable 64-bit fingerprint of the parameters (not the description), for manifests.
uint64_t fingerprint(const AccelConfig& c);

}  // namespace ntr::isa
