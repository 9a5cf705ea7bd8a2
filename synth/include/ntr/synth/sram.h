// The SRAM model: area, access energies and leakage of an on-chip buffer built from compiled SRAM
// macros, as functions of capacity, access width, banks and ports, from the technology's public
// constants (bit-cell area, periphery, bit-line and word-line capacitance; docs/ppa.md, "SRAM
// model"). No black boxes: every figure is the formula of docs/ppa.md applied to those constants.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ntr/synth/tech.h"

namespace ntr::synth {

// A buffer as the architecture sees it.
struct SramSpec {
  std::string name;
  int64_t bytes = 0;       // capacity of the whole buffer (all banks)
  int64_t width_bits = 0;  // one access of one bank (the port width)
  int64_t banks = 1;       // independent banks of equal size, each with its own port(s)
  int ports = 1;           // 1: single-port 6T macros; 2: two-port (one read + one write) 8T
};

// How one bank is built: macros_wide x macros_deep macros of rows x cols bit cells, each macro
// macro_width_bits wide with a column mux of `mux` (cols = macro_width_bits x mux).
struct SramOrganisation {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t mux = 1;
  int64_t macro_width_bits = 0;
  int64_t macros_wide = 1;
  int64_t macros_deep = 1;
  int64_t macros() const { return macros_wide * macros_deep; }
};

struct SramEstimate {
  SramSpec spec;
  SramOrganisation org;  // of one bank
  double area_um2 = 0;         // all banks
  double cell_area_um2 = 0;    // bit cells only (bits x cell area)
  double efficiency = 0;       // cell area / area
  double macro_um2 = 0;        // one macro
  double bank_um2 = 0;         // one bank
  double wire_um = 0;          // mean data wire from a macro to the bank's port: half its side
  // Energies of one full-width access of one bank, pJ.
  double read_pj = 0;
  double write_pj = 0;
  double leakage_uw = 0;       // all banks: every bit cell built + periphery (as logic)

  // Energy of reading / writing `bits` bits of one bank in one request: ceil(bits / width)
  // accesses, the last one partial (a partial access activates only the macros it touches).
  double read_pj_bits(int64_t bits) const;
  double write_pj_bits(int64_t bits) const;

 private:
  friend SramEstimate estimate_sram(const SramSpec&, const Technology&);
  double access_pj(int64_t bits, bool write) const;
  double read_fixed_pj_ = 0, write_fixed_pj_ = 0;      // per macro touched
  double read_bit_pj_ = 0, write_bit_pj_ = 0;          // per bit moved
};

// Chooses the organisation a memory compiler would (the column mux and macro split of least
// area within the technology's row, column and width limits) and evaluates it. Throws SynthError
// for a spec that is not positive, or whose banks do not divide the capacity into whole words.
SramEstimate estimate_sram(const SramSpec& spec, const Technology& tech);

nlohmann::ordered_json to_json(const SramEstimate& e);

}  // namespace ntr::synth
