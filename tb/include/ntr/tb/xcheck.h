// The RTL-vs-csim cross-check (STYLE.md, "Cross-checking"): one run of a program on csim and on
// the Verilated RTL from the same global buffer images, compared instruction by instruction -
// every control instruction, successful wait and halt at the cycle its front end executed it,
// every datapath instruction with its start and done cycles - and then the run length, the
// error (kind, stream, pc, tile, cycle), the busy counters and the global buffers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ntr/csim/machine.h"
#include "ntr/isa/program.h"
#include "ntr/tb/rtl_top.h"

namespace ntr::tb {

// One completed instruction.
struct Completion {
  int stream = 0;
  int64_t pc = 0;
  int64_t start = 0, done = 0;
  bool datapath = false;
  friend bool operator==(const Completion&, const Completion&) = default;
};
std::string describe(const Completion& c);

enum class Mode { CrossCheck, CsimOnly, RtlOnly };

struct XcheckOptions {
  Mode mode = Mode::CrossCheck;
  bool compare_gwb = false;     // the GWB is read back only when a program stores to it
  uint64_t max_clocks = 0;      // RTL run limit (0: none)
};

struct XcheckResult {
  bool ok = true;               // everything compared equal
  std::string mismatch;         // the first difference, described
  // csim
  bool csim_error = false;
  std::optional<csim::ErrorKind> csim_kind;
  csim::ErrorSite csim_site;
  std::string csim_message;
  uint64_t csim_cycles = 0;
  std::vector<uint64_t> csim_busy;  // per stream
  uint64_t csim_contention = 0;
  double csim_seconds = 0;      // host time of the csim run
  // RTL
  RunResult rtl;
  double rtl_seconds = 0;       // host time of the RTL run (clocks included: rtl.clocks)
  uint64_t completions = 0;     // instructions compared
  std::vector<uint8_t> gib;     // the GIB after the run (RTL's when it ran, else csim's)
};

// Runs `program` once. gwb: the global weight buffer image from byte 0; gib: the whole global
// input buffer (empty: zeros). The RTL model is reset and loaded by this call.
XcheckResult cross_check(RtlTop* rtl, const isa::AccelConfig& cfg, const isa::Program& program,
                         std::span<const uint8_t> gwb, std::span<const uint8_t> gib,
                         const XcheckOptions& opt = {});

}  // namespace ntr::tb
