// Instruction-by-instruction comparison of another implementation (the Verilated RTL) with csim,
// in the manner of Ibex's cosim: the other side reports every instruction it completes (stream,
// pc, start and done cycles, the values it wrote); csim runs until it has completed the same
// instruction of that stream and the two are compared. Streams are compared independently, so
// the order in which one cycle's completions are reported does not matter.
#pragma once

#include <array>
#include <deque>
#include <string>

#include "ntr/csim/machine.h"

namespace ntr::csim {

class Lockstep : public Observer {
 public:
  // Attaches itself to `machine` as its observer (with writes) and resets it for a run; the
  // program and the global buffers must already be loaded.
  explicit Lockstep(Machine& machine);
  ~Lockstep() override;

  // The other side completed `other`: "" when csim completed the same instruction identically,
  // otherwise the first difference (stream, pc, cycles, the memory and element that differ).
  std::string check(const Retired& other);
  // After the other side's last instruction: "" when csim has nothing left to complete either.
  std::string finish();

  uint64_t checked() const { return checked_; }

  // Observer
  bool wants_writes() const override { return true; }
  void on_retire(const Retired& r) override;

 private:
  Machine& machine_;
  std::array<std::deque<Retired>, isa::kStreams> pending_;
  uint64_t checked_ = 0;
};

// "mac pc 12 mvm, cycles 100..358" (for messages).
std::string describe(const Retired& r);

}  // namespace ntr::csim
