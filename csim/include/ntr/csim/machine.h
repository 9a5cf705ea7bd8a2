// The cycle-level Neutrino machine: 1-16 tiles running one program in lockstep, sharing the
// global buffers. It executes the timing rules of docs/neutrino.md exactly, but evaluates only
// the cycles at which something can happen (an instruction can issue, a semaphore arrives, a
// result lands): a 256-row mvm is one event, computed at once, not 256 cycles of 256 lanes.
//
// Tiles execute the same instructions at the same cycles (their timing cannot differ: only
// addresses differ between tiles, and DMA contention is computed over all tiles), so the front
// ends, semaphores and timing are simulated once and every datapath instruction is applied to
// every tile's memories.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ntr/csim/error.h"
#include "ntr/csim/stats.h"
#include "ntr/csim/tile.h"
#include "ntr/isa/config.h"
#include "ntr/isa/program.h"

namespace ntr::csim {

struct SimOptions {
  // Report data races between units (docs/neutrino.md "Data races"; docs/csim.md says exactly
  // which accesses count) as ErrorKind::Hazard. Off, racy programs give implementation-defined
  // results (operands are read when an instruction starts).
  bool check_hazards = true;
  int64_t max_cycles = 0;  // 0: no limit; otherwise a run longer than this is an error
};

// Memories named in reports of writes (lockstep interface) and hazards.
enum class Space : uint8_t { Lwb, Lib, Cb, Vs, Acc, Gwb, Gib, Ar };
const char* space_name(Space s);

// One write of a completed instruction: `values` elements from `offset`, in the space's unit
// (LWB: byte row * lanes + column; LIB, CB, GWB, GIB: bytes; VS, ACC: int32 words; AR: register).
struct Write {
  Space space = Space::Lib;
  int tile = 0;
  int64_t offset = 0;
  std::vector<int64_t> values;
  friend bool operator==(const Write&, const Write&) = default;
};

// An instruction that completed: control instructions when they execute (start = done), wait
// when it succeeds, datapath instructions when they are done. The lockstep interface of the RTL
// cross-check compares these one by one.
struct Retired {
  isa::Stream stream = isa::Stream::Dma;
  int64_t pc = 0;
  isa::Opcode op = isa::Opcode::Nop;
  int64_t start = 0, done = 0;
  std::vector<Write> writes;  // filled when the observer wants writes
};

// A datapath instruction that started (for timelines and profiles).
struct Issue {
  isa::Stream stream = isa::Stream::Dma;
  int64_t pc = 0;
  isa::Opcode op = isa::Opcode::Nop;
  int64_t start = 0, busy = 0, done = 0;
  int64_t contention = 1;  // dma only
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual bool wants_writes() const { return false; }
  virtual void on_issue(const Issue&) {}
  virtual void on_retire(const Retired&) {}
};

class Machine {
 public:
  explicit Machine(const isa::AccelConfig& cfg, SimOptions options = {});
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  const isa::AccelConfig& config() const;
  int tiles() const;

  // Decodes and checks the program (legal words, nesting, halts, each stream within
  // imem.words); throws SimError(IllegalInstruction) naming the stream and instruction.
  void load_program(const isa::Program& program);
  void load_program(const isa::DecodedProgram& program);
  bool has_program() const;

  // The global buffers, as the host sees them between runs.
  std::span<uint8_t> gwb();
  std::span<uint8_t> gib();
  const TileState& tile(int i) const;

  void set_observer(Observer* observer);  // not owned; nullptr to remove

  // Prepares a run: every local memory, semaphore, address register and counter zero, every
  // pc 0 (the global buffers keep what the host wrote).
  void reset();
  // Runs to the end of the program; throws SimError. Calls reset() first when `fresh`.
  const Stats& run(bool fresh = true);
  // Lockstep: advances to the next cycle at which some instruction completes and reports the
  // completions to the observer. Returns false (doing nothing) once the run has ended.
  bool step();
  bool finished() const;
  int64_t cycle() const;  // the last evaluated cycle
  const Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ntr::csim
