// Flat code generation: every instruction of a window with absolute addresses, the semaphore
// channel tokens it waits for and signals, and an ideal start time used to order each stream.
// Internal to the compiler; compress.h turns the flat code into loops.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ntr/compiler/timing.h"
#include "ntr/isa/isa.h"
#include "plan.h"

namespace ntr::compiler {

// Semaphore channels: one producer unit, one consumer unit, a fixed semaphore number.
enum Channel : int {
  kWFull, kWFree,          // weight block loaded / LWB half free
  kAFull0, kAFull1,        // accumulation complete, per bank
  kAFree0, kAFree1,        // bank drained, per bank
  kUReady,                 // projection row written (U ring)
  kHReady0, kHReady1,      // hidden state written, per chain
  kXLoaded, kXFree,        // raw input rows of a burst
  kYLoaded0, kYLoaded1,    // layer-1 input row loaded, per chain
  kYFree0, kYFree1,
  kSReady0, kSReady1,      // a row ready to store, per chain
  kSDone0, kSDone1,        // h store finished (h may be overwritten), per chain
  kPLoaded0, kPLoaded1,    // combine partner loaded, per chain
  kCbLoaded,               // constant buffer loaded
  kHyLoaded, kHyFree,      // head input rows
  kA2Ready,                // cls_fc1 outputs of a position written
  kResReady, kResDone,     // results of a head chunk
  kChannelCount
};
struct ChannelInfo {
  const char* name;
  isa::Stream producer, consumer;
  int credits;  // tokens available before anything is produced (free slots of a resource)
};
const ChannelInfo& channel_info(int ch);

struct Token {
  int ch = 0;
  int64_t id = 0;
};

// An address field of an instruction: value = c + tile * tile_id + win * window (within a run).
struct AddrTerm {
  int field = 0;  // index of the *_off field; the *_ar field is field - 1
  int64_t c = 0;
  int64_t tile = 0;
  int64_t win = 0;
};

struct GenOp {
  isa::Fields f;                 // absolute addresses (ar fields 0), no sync fields set
  std::vector<AddrTerm> addr;
  std::vector<Token> waits;
  std::vector<Token> sigs;
  int64_t t = 0;                 // ideal start
  int64_t seq = 0;               // generation order
  int unit = 0;                  // unit (step/chunk) it is emitted in
  Cat cat = Cat::Other;          // what it works for (report)
  bool step_start = false;       // first MVM of an LSTM step (report: steady-state step)
  std::string note;              // for the listing
};

using StreamOps = std::array<std::vector<GenOp>, isa::kStreams>;

struct WindowCode {
  StreamOps ops;                        // per stream, in emission order
  std::vector<std::string> unit_names;  // per unit
};

struct GenResult {
  std::array<int, kChannelCount> credits{};  // semaphore counts at the start of every window
  std::array<WindowCode, 3> windows;          // windows 0, 1, 2 (1 is the loop body)
  int64_t ideal_window_cycles = 0;
};

GenResult generate(const Plan& p);

}  // namespace ntr::compiler
