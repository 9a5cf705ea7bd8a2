// Shared helpers of the csim tests: configs from configs/accel, programs from assembly text.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "ntr/isa/asm.h"
#include "ntr/isa/config.h"

namespace ntr::csim::testing {

inline std::filesystem::path source_dir() {
  const char* s = std::getenv("NS_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::current_path();
}

inline isa::AccelConfig accel(const std::string& name) {
  return isa::load_accel_config(source_dir() / "configs" / "accel" / (name + ".yaml"));
}

inline isa::Program program(const std::string& text) { return isa::assemble(text, "test.s"); }

// The hand-timed dense layer shared with sw/runtime's device suite and the RTL bench (54 cycles).
inline isa::Program dense_layer_program() {
  return isa::assemble_file(source_dir() / "csim" / "tests" / "data" / "dense_layer.s");
}

}  // namespace ntr::csim::testing
