// Activity counters and timing statistics of a run: what the PPA model (synth/) multiplies by
// energies, and what reports print. Everything is counted per instruction, never per lane.
//
// Local memories (LWB, LIB, CB, VS, ACC) are counted for one tile: every tile executes the same
// instructions with the same sizes, so the machine's totals are these times `tiles` (to_json
// prints both). Global buffers (GWB, GIB) are counted once for the machine: a weight read
// broadcast to every tile is one read.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ntr/isa/config.h"
#include "ntr/isa/isa.h"

namespace ntr::csim {

// Accesses to one port of one memory, with a histogram by access width in bytes.
struct PortCounter {
  uint64_t accesses = 0;
  uint64_t bytes = 0;
  std::vector<std::pair<uint32_t, uint64_t>> by_width;  // (width in bytes, accesses), sorted

  void add(uint64_t count, uint32_t width);
  // `total` bytes moved through a port `port` bytes wide: full-width accesses plus one partial.
  void add_split(uint64_t total, uint32_t port);
  bool empty() const { return accesses == 0; }
};

enum class Buffer : uint8_t { Lwb, Lib, Cb, Vs, Acc, Gwb, Gib };
inline constexpr int kBuffers = 7;
enum class Port : uint8_t { Mac, Ppu, Dma, Host };
inline constexpr int kPorts = 4;
enum class Dir : uint8_t { Read, Write };
const char* buffer_name(Buffer b);
const char* port_name(Port p);

// DMA transfer kinds by (global space, direction, local space).
enum class DmaPath : uint8_t { GwbToLwb, GwbToCb, GwbToLib, GibToLib, LibToGib, LibToGwb };
inline constexpr int kDmaPaths = 6;
const char* dma_path_name(DmaPath p);

struct DmaPathCounter {
  uint64_t transfers = 0;       // instructions
  uint64_t local_bytes = 0;     // bytes arriving in (or leaving) the local memories, all tiles
  uint64_t global_bytes = 0;    // bytes read from (or written to) the global buffer
  uint64_t beats = 0;           // transfer beats before contention
};

// Post-processing operations, counted per element.
enum class PpuOp : uint8_t {
  Element,  // every element through the pipeline (ppu)
  RqRow, RqShift, Relu, Sat1, Sig, Tanh, Mul, Add, Oshift, Sat2,
  StoreVs, StoreLib8, StoreLib32,
  Select,   // psel pairs
};
inline constexpr int kPpuOps = 15;
const char* ppu_op_name(PpuOp op);

// Why a unit's front end was not executing, or its datapath not busy.
enum class Stall : uint8_t {
  Semaphore,  // a wait, or a datapath instruction's wait, on a zero semaphore
  Busy,       // a datapath instruction waiting for the datapath to free
  Sync,       // a sync waiting for earlier instructions to be done
  FrontEnd,   // (datapath idle) the front end was executing control instructions
  Halted,     // (datapath idle) the stream had halted, or had not yet issued anything
};
inline constexpr int kStalls = 5;
const char* stall_name(Stall s);

struct StreamStats {
  std::array<uint64_t, 64> by_opcode{};  // dynamic instruction count per opcode
  uint64_t control = 0, datapath = 0;    // executed instructions
  uint64_t halt_cycle = 0;
  std::array<uint64_t, kStalls> front_end_stall{};  // front-end cycles blocked, by cause
  uint64_t busy_cycles = 0;                          // datapath busy (sum of busy)
  std::array<uint64_t, kStalls> idle{};              // datapath idle cycles, by cause
};

struct Stats {
  int64_t tiles = 1;
  int64_t lanes = 0;
  double clock_mhz = 0;
  uint64_t cycles = 0;
  std::array<StreamStats, isa::kStreams> streams{};

  // MAC array (one tile)
  uint64_t mvm = 0, mvm_wide = 0, mvm_clear = 0;
  uint64_t mac_busy_cycles = 0;  // cycles the array multiplies (mvm busy; sync excluded)
  uint64_t mac_ops = 0;          // INT8 multiply-accumulates (busy x lanes)

  // Memories: [buffer][port][dir]; local buffers per tile, global ones per machine.
  std::array<std::array<std::array<PortCounter, 2>, kPorts>, kBuffers> mem{};

  // DMA
  std::array<DmaPathCounter, kDmaPaths> dma{};
  uint64_t contention_cycles = 0;   // extra cycles from global bank contention (beats x (c - 1))
  uint64_t max_contention = 1;
  uint64_t broadcast_saved_bytes = 0;  // global reads saved by broadcasting to several tiles
  uint64_t lwb_half_conflict_cycles = 0;  // cycles the DMA writes the LWB half the MAC reads

  // PPU
  std::array<uint64_t, kPpuOps> ppu{};
  uint64_t ppu_instructions = 0, psel_instructions = 0;

  // Semaphores
  uint64_t signals = 0, waits = 0;

  // Host traffic of the run (written before, read after)
  uint64_t host_bytes_in = 0, host_bytes_out = 0;

  PortCounter& at(Buffer b, Port p, Dir d) {
    return mem[static_cast<int>(b)][static_cast<int>(p)][static_cast<int>(d)];
  }
  double mac_utilization() const {
    return cycles ? static_cast<double>(mac_busy_cycles) / static_cast<double>(cycles) : 0.0;
  }
  // Adds another run's counters (epochs of several runs).
  void accumulate(const Stats& o);
};

// The JSON document of docs/csim.md ("Statistics"): cycles, utilisation, per-unit timing,
// per-buffer activity (per tile and for all tiles), DMA paths, PPU operations.
nlohmann::ordered_json to_json(const Stats& s);

}  // namespace ntr::csim
