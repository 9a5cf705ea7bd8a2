// A functional executor of Neutrino programs: the data semantics of docs/neutrino.md applied in
// the order the timing model starts instructions, on every tile, with a data-race checker. The
// compiler's tests use it to check compiled programs against the INT8 reference; it is not the
// cycle-level simulator (csim/), which models the hardware units themselves.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ntr/compiler/timing.h"
#include "ntr/isa/config.h"
#include "ntr/isa/program.h"
#include "ntr/isa/semantics.h"

namespace ntr::compiler {

struct ExecResult {
  TimingResult timing;
  std::vector<uint8_t> gwb, gib;         // global buffers after the run
  int64_t races = 0;                     // data races observed
  std::vector<std::string> race_reports; // the first few, described
};

// Runs one run of the program: gwb and gib are the global buffers as the host wrote them
// (gwb may be shorter than the buffer; the rest is zero). Throws CompileError on a runtime error
// (address out of range, bad bank, ...), naming stream, instruction, cycle and tile.
ExecResult execute(const isa::Program& p, const isa::AccelConfig& cfg, const isa::ActTables& tables,
                   std::span<const uint8_t> gwb, std::vector<uint8_t> gib, TimingOptions opt = {},
                   bool check_races = true);

}  // namespace ntr::compiler
