// Neutrino's area, power and energy from three inputs (docs/ppa.md):
//   * logic: NAND2-equivalents and flip-flops per unit, from the Yosys flow (yosys.h);
//   * memories: every buffer of the accelerator config through the SRAM model (sram.h);
//   * activity: csim's counters of a run (MACs, buffer accesses by port and width, PPU
//     operations, busy cycles per unit), times per-event energies of the technology (tech.h),
//     plus leakage over the run's time at the config's clock.
// And the paper's sampling arithmetic and Table 3, for the side-by-side report.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ntr/csim/stats.h"
#include "ntr/isa/config.h"
#include "ntr/synth/sram.h"
#include "ntr/synth/tech.h"
#include "ntr/synth/yosys.h"

namespace ntr::synth {

// Activity classes of logic: whose busy cycles clock a unit's flip-flops (clock-gated when idle).
// mac: MAC busy cycles; ppu, dma: that unit's busy cycles; control: every cycle of the run.
inline constexpr const char* kActivityClasses[] = {"mac", "ppu", "dma", "control"};
// The class of an RTL module (ntr_mac_array -> mac, ...); everything else is control.
std::string activity_class(const std::string& rtl_module);

struct LogicClass {
  double ge = 0;
  int64_t flops = 0;
};

// Synthesised logic (SRAM arrays excluded), split into one tile and the shared rest.
struct LogicInventory {
  std::string source;  // where the numbers come from ("yosys <run dir>", "given")
  std::map<std::string, LogicClass> tile;    // one tile, by activity class
  std::map<std::string, LogicClass> shared;  // everything outside the tiles, by activity class
  nlohmann::ordered_json detail = nlohmann::ordered_json::object();  // per module, SRAMs of the RTL

  double tile_ge() const;
  double shared_ge() const;
  int64_t tile_flops() const;
  int64_t shared_flops() const;
};

// From a full synthesis run of ntr_top: the ntr_tile subtree is one tile (the top instantiates
// it `tiles` times), the rest is shared. Throws SynthError when the report has no ntr_tile.
LogicInventory logic_from_synthesis(const SynthRun& run, const Technology& tech);
// The tile from a full run (of any tile count) and the shared logic from a run of the config at
// hand, which may have the tiles black-boxed (SynthPart::SharedOnly). Throws SynthError when the
// two runs' tiles are not the same module (different tile parameters).
LogicInventory logic_from_synthesis(const SynthRun& tile_run, const SynthRun& shared_run, const Technology& tech);

// Every buffer of a config as SRAM macros (docs/ppa.md, "Buffers"): per tile LWB (two halves,
// a row wide), LIB (two-port, DMA-port wide), CB (PPU-lanes rows wide), VS (two-port, PPU-lanes
// words wide); shared GWB (DMA-port wide), GIB (gib.banks banks), instruction memories.
struct Buffer {
  std::string name;  // lwb, lib, cb, vs, gwb, gib, imem (csim's buffer names where csim has them)
  bool per_tile = false;
  SramEstimate sram;
};
std::vector<Buffer> plan_buffers(const isa::AccelConfig& cfg, const Technology& tech);

struct AreaReport {
  int64_t tiles = 0;
  double tile_logic_um2 = 0;    // one tile
  double tile_sram_um2 = 0;     // one tile
  double shared_logic_um2 = 0;
  double shared_sram_um2 = 0;
  bool logic_known = false;     // false: no synthesis, logic area is missing from the totals
  double tile_um2() const { return tile_logic_um2 + tile_sram_um2; }
  double tiles_um2() const { return static_cast<double>(tiles) * tile_um2(); }
  double shared_um2() const { return shared_logic_um2 + shared_sram_um2; }
  double total_um2() const { return tiles_um2() + shared_um2(); }
};
AreaReport estimate_area(const isa::AccelConfig& cfg, const Technology& tech, const std::vector<Buffer>& buffers,
                         const std::optional<LogicInventory>& logic);

// Energy of one run (or a sum of runs) and the resulting power.
struct EnergyReport {
  double seconds = 0;             // cycles at the clock
  double clock_mhz = 0;
  // Dynamic energy by component, pJ: mac, ppu, sram.<buffer>.read/write, wires.<buffer>,
  // registers.<class>. All tiles.
  std::map<std::string, double> dynamic_pj;
  double leakage_mw = 0;
  double dynamic_total_pj() const;
  double leakage_pj() const { return leakage_mw * 1e9 * seconds; }
  double total_pj() const { return dynamic_total_pj() + leakage_pj(); }
  double power_mw() const { return seconds > 0 ? total_pj() * 1e-9 / seconds : 0.0; }
  // Grouped by the first name component (mac, ppu, sram, wires, registers, leakage), mW.
  std::map<std::string, double> power_by_group_mw() const;
};
// `stats`: csim counters (local buffers per tile, global ones per machine, as csim counts them);
// the run takes stats.cycles at `clock_mhz`. Without `logic`, register energy and logic leakage
// are left out (and the JSON says so).
EnergyReport estimate_energy(const csim::Stats& stats, double clock_mhz, const Technology& tech,
                             const std::vector<Buffer>& buffers, const AreaReport& area,
                             const std::optional<LogicInventory>& logic);

// --- The paper's sampling arithmetic (NeuroScalar section 4.2 and Table 3) ----------------------
//
// With the accelerator always busy, one epoch is sampled every time it finishes the previous
// one: the host retires host_ips x (epoch / accel_ips) instructions meanwhile, i.e.
// host_ips / accel_ips epochs. This reproduces Table 3 (1/152642 and 1/19080) from the paper's
// own speeds. Section 4.2 budgets a *shared* engine (the GPU) at `overhead` of the host's time,
// which multiplies the interval by 1 / overhead (the GPU's "one epoch every 0.75 M epochs").
struct HostModel {
  double host_ips = 3e9;     // 3 GHz, IPC 1
  int64_t epoch = 100000;    // instructions per epoch
  double overhead = 0.001;   // 0.1%
};
double sampling_interval_epochs(double accel_ips, const HostModel& host = {});
double shared_budget_interval_epochs(double accel_ips, const HostModel& host = {});
// Seconds of host execution between two sampled epochs.
double sampling_period_s(double accel_ips, const HostModel& host = {});

// The paper's Table 3 (16 nm, commercial P&R flow). tile_area_mm2 is the area of all tiles.
struct PaperRow {
  int64_t tiles = 0;
  double area_mm2 = 0, tile_area_mm2 = 0, power_mw = 0, instr_per_s = 0, sampling_interval_epochs = 0;
};
const std::vector<PaperRow>& paper_table3();
std::optional<PaperRow> paper_row(int64_t tiles);

// One row of the sweep: everything `neuroscalar ppa --json` prints for one tile count.
struct PpaPoint {
  isa::AccelConfig config;
  double clock_mhz = 0;
  int64_t instructions = 0;   // predicted instructions of the simulated epoch
  uint64_t cycles = 0;        // device cycles for them
  uint64_t schedule_cycles = 0;  // what the compiler's schedule report predicts
  double mac_utilization = 0;
  AreaReport area;
  EnergyReport energy;
  std::vector<Buffer> buffers;
  std::optional<LogicInventory> logic;
  HostModel host;

  double instr_per_s() const;
  double energy_per_instr_nj() const;
};
PpaPoint evaluate_point(const isa::AccelConfig& cfg, double clock_mhz, const csim::Stats& stats,
                        int64_t instructions, const Technology& tech, const std::optional<LogicInventory>& logic,
                        const HostModel& host = {});
// The JSON object of docs/ppa.md ("Output"): tiles, area_mm2, tile_area_mm2, power_mw,
// instr_per_s, energy_per_instr_nj, sampling_interval_epochs, paper_* where the paper has them,
// and the breakdowns.
nlohmann::ordered_json to_json(const PpaPoint& p);

}  // namespace ntr::synth
