// The technology constants of the PPA model (synth/tech/*.yaml): logic cell areas as
// NAND2-equivalents, per-event energies scaled from a reference node, and the SRAM macro
// parameters. Sources of every number: docs/ppa.md. The shipped file (n16) is compiled into the
// library, so tools find it from any directory; another file can be given by path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ntr/synth/error.h"

namespace ntr::synth {

struct SramTech {
  double bitcell_um2 = 0;
  double two_port_cell_factor = 1;
  int64_t max_rows = 0;
  int64_t max_cols = 0;
  int64_t max_width_bits = 0;
  double periphery_rows = 0;
  double periphery_cols = 0;
  double control_um2 = 0;
  double bitline_ff_per_cell = 0;
  double wordline_ff_per_cell = 0;
  double read_swing_v = 0;
  double sense_fj_per_bit = 0;
  double write_fj_per_bit = 0;
  double decode_fj = 0;
  double leakage_pw_per_bit = 0;
};

struct Technology {
  std::string name;
  std::string description;
  std::string origin;  // file it came from ("<builtin n16>" for the compiled-in copy)

  double node_nm = 0;
  double vdd_v = 0;

  // Logic.
  double cpp_nm = 0;
  double m1_pitch_nm = 0;
  double cell_tracks = 0;
  double nand2_width_cpp = 0;
  double placement_utilization = 1;
  double leakage_nw_per_ge = 0;
  std::map<std::string, double> reference_cells_um2;
  std::map<std::string, std::vector<std::string>> yosys_cells;
  std::map<std::string, std::vector<std::string>> flops;  // plain, async_reset, ...

  // Energy.
  double ref_node_nm = 0;
  double ref_vdd_v = 0;
  std::map<std::string, double> ref_pj;  // primitives at the reference node
  double mul16_from_mul8 = 0;
  std::map<std::string, std::vector<std::string>> events;
  double ff_clock_fj = 0;
  double ff_data_fj = 0;
  std::map<std::string, double> ff_toggle_rate;  // by activity class
  double wire_cap_ff_per_um = 0;
  double wire_activity = 0;

  SramTech sram;

  // --- derived -------------------------------------------------------------------------------
  // NAND2 area at this node: nand2_width_cpp x cpp x cell_tracks x m1_pitch.
  double nand2_um2() const;
  // Reference-node energy to this node: (node / ref node) x (vdd / ref vdd)^2.
  double energy_scale() const;
  // A primitive (add8, add32, mul8, mul16, mul32) at this node, pJ.
  double primitive_pj(const std::string& name) const;
  // An activity event of `events` at this node, pJ. Throws SynthError for an unknown event.
  double event_pj(const std::string& name) const;
  // NAND2-equivalents of a reference cell (area / NAND2_X1 area).
  double reference_ge(const std::string& cell) const;
  // NAND2-equivalents of a Yosys generic cell ($_AND_, $_DFFE_PN0P_, ...). Throws SynthError
  // naming the cell for a type the table does not cover.
  double yosys_cell_ge(std::string_view type) const;
  // Energy of moving one bit over one micrometre of wire, fJ.
  double wire_fj_per_bit_um() const;
  double ge_to_um2(double ge) const { return ge * nand2_um2(); }
};

// True for Yosys generic flip-flop and latch cells ($_DFF*, $_SDFF*, $_ALDFF*, $_DLATCH*, $_SR*).
bool is_yosys_flop(std::string_view type);

// Parses a technology file; throws SynthError naming the origin and the key.
Technology parse_technology(std::string_view yaml, const std::string& origin);
Technology load_technology(const std::filesystem::path& path);
// "n16" (or empty): the compiled-in synth/tech/n16.yaml; otherwise a file path.
Technology resolve_technology(const std::string& spec);
// The text of the compiled-in technology file.
std::string_view builtin_technology_yaml();

}  // namespace ntr::synth
