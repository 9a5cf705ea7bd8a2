// Synthetic instruction streams for the validation suite and the benchmarks: a small builder of
// well-formed trace records, and kernels whose timing has an analytical expectation.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ns/trace/record.h"

namespace ns::uarch::kernels {

using trace::OpClass;
using trace::Record;
using trace::RegRef;

inline RegRef gpr(int i) { return {1, static_cast<uint8_t>(i)}; }
inline RegRef vec(int i) { return {2, static_cast<uint8_t>(i)}; }
inline RegRef flags() { return {3, 0}; }

// Appends records at consecutive 4-byte PCs; next_pc of each record is set when the next one is
// appended (so control flow is consistent), taken branches included.
class Builder {
 public:
  explicit Builder(uint64_t pc = 0x400000) : pc_(pc) {}

  Record& op(OpClass c, RegRef dst = {}, RegRef s1 = {}, RegRef s2 = {});
  Record& load(RegRef dst, RegRef addr_reg, uint64_t addr, uint16_t size = 8);
  Record& store(RegRef data, RegRef addr_reg, uint64_t addr, uint16_t size = 8);
  // A load + operation (x86 `add rax, [mem]`): ALU class with the load flag.
  Record& load_op(OpClass c, RegRef dst, RegRef addr_reg, uint64_t addr);
  // Conditional branch reading the flags; taken goes to `target`.
  Record& branch(bool taken, uint64_t target);
  Record& jump(uint64_t target);  // unconditional direct
  Record& call(uint64_t target);
  Record& ret(uint64_t target);
  Record& serializing();

  // A loop: `iterations` times, pc returns to the loop head, body(i) appends the body, and a
  // conditional branch (taken back to the head except after the last iteration) closes it.
  void loop(int iterations, const std::function<void(int)>& body);

  uint64_t pc() const { return pc_; }
  void set_pc(uint64_t pc) { pc_ = pc; }
  // Marks the records appended from now on as warm-up records (or not).
  void set_warmup(bool w) { warm_ = w; }
  std::vector<Record>& records() { return r_; }
  std::vector<Record> take();

 private:
  Record& append(Record r);
  uint64_t pc_;
  uint64_t sp_ = 0x7fff0000;  // stack pointer for call/return addresses
  bool warm_ = false;
  std::vector<Record> r_;
};

// A random cyclic permutation of `lines` cache lines of 64 bytes starting at `base`: the
// addresses a pointer chase visits (every line once per cycle, no stride to learn).
std::vector<uint64_t> chase_ring(uint64_t base, size_t lines, uint64_t seed);

// A mixed workload for throughput measurements and end-to-end runs: loops over arrays
// (streaming loads and stores), pointer chasing over a mid-size working set, data-dependent
// branches, calls and returns, integer and FP arithmetic. Deterministic for a seed.
std::vector<Record> mixed_workload(size_t instructions, uint64_t seed);

}  // namespace ns::uarch::kernels
