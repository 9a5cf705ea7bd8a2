// The unit models of a Neutrino tile, as reusable classes with a transaction interface: the
// machine (machine.h) drives them with its timing, and the RTL benches drive them directly as the
// reference models of their per-module randomised tests (one model, not a second one in tb/).
//
// Every datapath instruction is a transaction in two phases, matching docs/neutrino.md: operands
// are read when it starts (compute: nothing changes) and results land when it is done (commit).
// Addresses arrive resolved (address register + offset, formed when the instruction starts).
// check() returns "" or a message naming the problem (the caller adds stream, pc, cycle, tile).
//
// The arithmetic is docs/int8-spec.md through isa/semantics.h (ppu_element, psel_element, the MAC
// input element): there is no second implementation of the numerics here.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ntr/csim/tile.h"
#include "ntr/isa/config.h"
#include "ntr/isa/isa.h"
#include "ntr/isa/semantics.h"

namespace ntr::csim {

// The activation ROMs of docs/int8-spec.md section 6 (the model library's tables).
const isa::ActTables& act_tables();

// ---------------------------------------------------------------------------------- MAC array
struct MvmArgs {
  int64_t x = 0;     // LIB byte address of x_0
  int64_t w = 0;     // first LWB row
  int64_t rows = 1;  // 1..256
  int64_t bank = 0;
  bool clr = false;
  bool wide = false;
  static MvmArgs from(const isa::Mvm& m, int64_t x_addr, int64_t w_addr);
};

class MacArray {
 public:
  explicit MacArray(const isa::AccelConfig& cfg);
  int64_t lanes() const { return lanes_; }
  std::string check(const MvmArgs& a) const;
  int64_t busy(const MvmArgs& a) const { return a.rows * (a.wide ? 2 : 1); }
  int64_t tail() const { return latency_; }
  // sums[j] = sum over r of int8 W[w + r][j] * x_r, in int32 with wraparound (j < lanes).
  void multiply(const MvmArgs& a, const TileState& t, std::span<int32_t> sums) const;
  // The same block on several tiles at once, when their weight rows are the same memory (a
  // broadcast load): sums is tiles x lanes. x[i] is tile i's LIB.
  void multiply_shared(const MvmArgs& a, const WeightBuffer& lwb,
                       std::span<const uint8_t* const> x, std::span<int32_t> sums) const;
  // acc[bank][j] = (clr ? 0 : acc[bank][j]) + sums[j].
  void accumulate(const MvmArgs& a, TileState& t, std::span<const int32_t> sums) const;

 private:
  int64_t lanes_, half_rows_, banks_, latency_, lib_bytes_;
};

// Name of the MAC kernel in use ("avx512", "avx2" or "scalar"; NTR_CSIM_KERNEL forces one).
const char* mac_kernel_name();

// ---------------------------------------------------------------------- post-processing unit
struct PpuArgs {
  isa::Ppu insn;       // fields (for psel: the same fields, no pipeline options)
  bool select = false; // psel
  int64_t a = 0, b = 0, d = 0, cb = 0;  // resolved addresses (b and cb are plain offsets)
  static PpuArgs from(const isa::Ppu& p, int64_t a_addr, int64_t d_addr);
  static PpuArgs from(const isa::Psel& p, int64_t a_addr, int64_t d_addr);
};

class PostProcessor {
 public:
  PostProcessor(const isa::AccelConfig& cfg, const isa::ActTables& tables = act_tables());
  std::string check(const PpuArgs& a) const;
  int64_t busy(const PpuArgs& a) const;
  // The n destination values, already narrowed to the destination (int8 for LIB8).
  void compute(const PpuArgs& a, const TileState& t, std::span<int32_t> out) const;
  void store(const PpuArgs& a, TileState& t, std::span<const int32_t> values) const;

 private:
  int64_t lanes_, mac_lanes_, banks_, latency_, lib_bytes_, vs_words_, cb_rows_;
  const isa::ActTables& tables_;
};

// ------------------------------------------------------------------------------ DMA engine
struct DmaArgs {
  isa::Dma insn;
  int64_t g = 0, l = 0;  // resolved global byte address and local address (row or byte)
  static DmaArgs from(const isa::Dma& d, int64_t g_addr, int64_t l_addr);
  int64_t global_bytes() const;  // bytes of the global range
  int64_t local_bytes() const;   // bytes arriving in (leaving) the local memory
};

class DmaEngine {
 public:
  explicit DmaEngine(const isa::AccelConfig& cfg);
  std::string check(const DmaArgs& a) const;
  // Transfer beats without contention; busy = latency + contention x beats.
  int64_t beats(const DmaArgs& a) const;
  int64_t busy(const DmaArgs& a, int64_t contention) const;
  // A load (global to local), applied when it is done. `global` is the whole GWB or GIB.
  // LWB rows loaded whole refer to the global bytes (WeightBuffer::refer_row).
  void load(const DmaArgs& a, std::span<const uint8_t> global, TileState& t) const;
  // A store: the LIB bytes, read when it starts, then written to the global buffer when done.
  void read_local(const DmaArgs& a, const TileState& t, std::span<uint8_t> out) const;
  void store(const DmaArgs& a, std::span<const uint8_t> data, std::span<uint8_t> global) const;

 private:
  isa::AccelConfig cfg_;
};

// ------------------------------------------------------------------------- front end
// One stream's sequencer: program counter, loop stack, address registers (one set per tile: the
// `tile` instruction is the only one whose effect differs between tiles). Shared by the tiles,
// which run in lockstep.
class Sequencer {
 public:
  Sequencer() = default;
  Sequencer(std::span<const isa::Fields> code, int tiles);

  int64_t pc() const { return pc_; }
  const isa::Fields& insn() const { return code_[static_cast<size_t>(pc_)]; }
  int tiles() const { return tiles_; }
  int loop_depth() const { return depth_; }
  int32_t ar(int tile, int64_t r) const { return ar_[static_cast<size_t>(tile * isa::kArCount + r)]; }
  // ar[r] + off, as an instruction operand (a0 reads 0).
  int64_t address(int tile, int64_t r, int64_t off) const { return int64_t{ar(tile, r)} + off; }

  // Executes the control instruction at pc (nop, loop, seti, addi, tile; wait, signal and halt
  // only move on) and moves to the next pc. Returns "" or the misuse (loop nesting too deep).
  std::string execute_control();
  // Moves past the instruction at pc (a datapath instruction that started, a wait that
  // succeeded) by the loop rule of docs/neutrino.md. Returns "" or a misuse.
  std::string advance();
  // For halt: "" when no loop would run again, else the misuse.
  std::string check_halt() const;
  void reset();

 private:
  struct Frame {
    int64_t first, last, left;
  };
  std::span<const isa::Fields> code_;
  int tiles_ = 1;
  int64_t pc_ = 0;
  Frame frames_[isa::kLoopDepth + 1]{};
  int depth_ = 0;
  std::vector<int32_t> ar_;
};

}  // namespace ntr::csim
