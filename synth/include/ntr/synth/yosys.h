// The Yosys flow: synthesises the Neutrino RTL (rtl/, top `ntr_top` with the parameters of an
// accelerator config) to Yosys' generic gate library with every `ntr_sram` kept as a black box,
// keeps the hierarchy (each module is synthesised once and counted per instance), and reads back
// machine-readable statistics: generic cells per module (`stat -json`) and the parameters of
// every SRAM instance (`dump`). Runs are cached in a directory keyed by a SHA-256 of the script,
// every source file and the Yosys version (docs/ppa.md, "Logic synthesis").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ntr/isa/config.h"
#include "ntr/synth/tech.h"

namespace ntr::synth {

// One module of a `stat -json` report.
struct ModuleStats {
  std::string name;  // as Yosys names it ("\ntr_top", "$paramod\ntr_tile\Lanes=...", ...)
  std::string base;  // the RTL module name ("ntr_tile")
  std::map<std::string, int64_t> cells;       // generic cells ($_AND_, $_DFF_P_, ...) by type
  std::map<std::string, int64_t> submodules;  // synthesised child modules (by name) and counts
  std::map<std::string, int64_t> blackboxes;  // black-box instances by Yosys type (ntr_sram, a
                                              // black-boxed "$paramod\ntr_tile\...")
};

struct SynthStats {
  std::string creator;  // "Yosys 0.23 ..."
  std::string top;      // name of the top module
  std::map<std::string, ModuleStats> modules;
};

// Parses the output of `stat -json -top <top>`. Throws SynthError naming `origin` for anything
// that is not such a report (missing "modules", counts that are not non-negative integers, a top
// module that is not in the report, a hierarchy with a cycle).
SynthStats parse_yosys_stat(const nlohmann::json& j, const std::string& top, const std::string& origin);
// Reads a file, repairing what Yosys 0.23 gets wrong in `stat -json` (a stray hierarchy line
// after "modules" with -top, a trailing comma without it) first.
SynthStats parse_yosys_stat_file(const std::filesystem::path& path, const std::string& top);
std::string repair_yosys_stat_json(const std::string& text);

// The RTL module name of a Yosys module name.
std::string base_module_name(const std::string& yosys_name);

// Totals of a module and everything below it, each child counted per instance.
struct Rollup {
  int64_t cells = 0;
  double ge = 0;                 // NAND2-equivalents of the generic cells
  int64_t flops = 0;             // flip-flop and latch bits
  double flop_ge = 0;
  std::map<std::string, int64_t> cells_by_type;
  std::map<std::string, int64_t> blackboxes;  // by RTL module name
  // By RTL module name (base): ge and flops of that module's own cells, summed over instances.
  std::map<std::string, double> ge_by_module;
  std::map<std::string, int64_t> flops_by_module;
};
// Throws SynthError for a module not in the report or a cell type the technology cannot price.
Rollup rollup(const SynthStats& stats, const std::string& module, const Technology& tech);
// The first module whose base name is `base` (ntr_tile), or empty.
std::string find_module(const SynthStats& stats, const std::string& base);

// One `ntr_sram` instance of a module (parameters after defaults).
struct SramInstance {
  std::string module;    // Yosys name of the containing module
  std::string instance;  // instance name
  int64_t width = 0, depth = 0, rd_ports = 0, wr_ports = 0;
  int64_t bits() const { return width * depth; }
};
// Parses `dump -m t:*ntr_sram =A:blackbox` output (instances; the parameters of derived black
// boxes apply to instances of them, as after `read_verilog -defer`); `defaults` are ntr_sram's
// parameter defaults (Width, Depth,
// RdPorts, WrPorts).
std::vector<SramInstance> parse_sram_dump(const std::string& rtlil, const std::map<std::string, int64_t>& defaults);
// Total instances of every SRAM below `module`, by (containing module base name).
std::map<std::string, std::vector<SramInstance>> sram_inventory(const SynthStats& stats,
                                                                const std::vector<SramInstance>& srams,
                                                                const std::string& module);

// What a run synthesises: everything, or everything but the tiles (ntr_tile black-boxed: the
// shared logic of a many-tile config without synthesising the same tile again).
enum class SynthPart { Full, SharedOnly };

struct YosysFlow {
  // Every RTL source, packages first (rtl/CMakeLists.txt's NTR_RTL_SOURCES, generated packages
  // included); ntr_sram.sv among them is replaced by a black box.
  std::vector<std::filesystem::path> sources;
  std::filesystem::path cache_dir;   // runs are kept in <cache_dir>/<config>-<top>-<key>/
  std::string yosys = "yosys";
  std::string top = "ntr_top";
  bool quiet = false;  // no progress on stderr
};

// The flow's defaults for this build: the RTL source list written at configure time, the cache
// in the build tree. Throws SynthError when the build has no RTL.
YosysFlow default_flow();

struct SynthRun {
  std::filesystem::path dir;   // holds script.ys, yosys.log, stat.json, srams.rtlil
  std::string key;             // SHA-256 (hex) of the inputs
  bool cached = false;
  SynthPart part = SynthPart::Full;
  SynthStats stats;
  std::vector<SramInstance> srams;
  std::map<std::string, int64_t> sram_defaults;
};

// The Yosys script for a config (chparam of every config parameter on the top).
std::string yosys_script(const isa::AccelConfig& cfg, const std::vector<std::filesystem::path>& sources,
                         const std::string& top, SynthPart part = SynthPart::Full);
// Synthesises (or reuses a cached run). Throws SynthError naming the missing RTL, the Yosys error
// (the last lines of its log) or the problem with its output.
SynthRun synthesize(const isa::AccelConfig& cfg, const YosysFlow& flow, SynthPart part = SynthPart::Full);

}  // namespace ntr::synth
