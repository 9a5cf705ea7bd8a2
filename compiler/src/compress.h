// Loop compression: turns the flat code of a window (gen.h) into hardware loops whose addresses
// advance through address registers, then emits the three streams of the program (prologue,
// window loop, halt). Internal to the compiler.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "gen.h"
#include "ntr/isa/program.h"

namespace ntr::compiler {

struct EmitResult {
  isa::Program program;
  // Per stream and instruction: a comment for the listing (unit or operation name).
  std::array<std::vector<std::string>, isa::kStreams> notes;
  std::array<std::vector<Cat>, isa::kStreams> cats;       // per instruction
  std::vector<bool> mac_step_start;                       // per mac instruction
  std::array<int64_t, isa::kStreams> window_loop_pc{};    // index of each stream's window LOOP
  std::array<int, isa::kStreams> ar_used{};  // address registers used per stream
  std::array<int, isa::kStreams> max_depth{}; // deepest loop nesting per stream
};

// `windows` is the number of window-loop iterations (windows per tile per run).
EmitResult emit_program(const Plan& p, const GenResult& g, int64_t windows);

}  // namespace ntr::compiler
