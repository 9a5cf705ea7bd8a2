// The pieces of cross_check() that the cross-checking device (device.cpp) reuses on machines it
// keeps loaded between runs.
#pragma once

#include <array>
#include <span>
#include <string>
#include <vector>

#include "ntr/csim/machine.h"
#include "ntr/isa/isa.h"
#include "ntr/tb/xcheck.h"

namespace ntr::tb::detail {

// csim's completions, per stream, in completion order.
struct CsimRecorder : csim::Observer {
  std::array<std::vector<Completion>, 3> by_stream;
  void on_retire(const csim::Retired& r) override {
    const int s = static_cast<int>(r.stream);
    by_stream[static_cast<size_t>(s)].push_back(Completion{s, r.pc, r.start, r.done, isa::is_datapath(r.op)});
  }
};

// Runs the loaded machine (its global buffers as they are), recording completions into `rec`
// and the outcome into res's csim fields.
void run_csim(csim::Machine& m, CsimRecorder& rec, XcheckResult& res);
// Runs the loaded RTL and, with `rec`, compares every completion and the outcome (error, run
// length, busy and contention counters) with csim's; memories are the caller's to compare.
void run_rtl(RtlTop* rtl, const CsimRecorder* rec, XcheckResult& res, uint64_t max_clocks);
// "" when equal, else the first difference ("<what> byte i: csim a, RTL b").
std::string first_difference(const char* what, std::span<const uint8_t> want, std::span<const uint8_t> got);

}  // namespace ntr::tb::detail
