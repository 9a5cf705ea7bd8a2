// The simulator's exception: a program that cannot run on the machine, named by what went wrong
// and where (stream, program counter, cycle, tile), as docs/neutrino.md section 7 requires.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ntr::csim {

enum class ErrorKind {
  IllegalInstruction,  // a word that does not decode, or a program that does not fit the machine
  OutOfBounds,         // an address outside its memory, an mvm crossing an LWB half, a bad bank
  Hazard,              // two units touching the same location while one of them writes it
  LoopMisuse,          // loops nested deeper than LoopDepth, halt inside a running loop
  SemaphoreOverflow,   // a signal beyond SemMax
  StoreConflict,       // two tiles storing to overlapping global bytes in one instruction
  Deadlock,            // every running stream blocked on a semaphore, no signal in flight
  CycleLimit,          // the run exceeded SimOptions::max_cycles
};
std::string_view kind_name(ErrorKind k);

// Where an error happened; -1 where a coordinate does not apply.
struct ErrorSite {
  int stream = -1;
  int64_t pc = -1;
  int64_t cycle = -1;
  int tile = -1;
};

class SimError : public std::runtime_error {
 public:
  SimError(ErrorKind kind, const std::string& detail, ErrorSite site = {});
  ErrorKind kind() const { return kind_; }
  const ErrorSite& site() const { return site_; }
  const std::string& detail() const { return detail_; }

 private:
  ErrorKind kind_;
  std::string detail_;
  ErrorSite site_;
};

}  // namespace ntr::csim
