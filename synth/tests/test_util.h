// Helpers shared by the synth tests: paths relative to the source tree, the test technology.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ntr/synth/tech.h"

namespace ntr::synth::testing {

inline std::filesystem::path source_dir() {
  const char* s = std::getenv("NS_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::current_path();
}

inline std::filesystem::path data_dir() { return source_dir() / "synth" / "tests" / "data"; }

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Round numbers for hand computation (synth/tests/data/unit_tech.yaml).
inline Technology unit_tech() { return load_technology(data_dir() / "unit_tech.yaml"); }

}  // namespace ntr::synth::testing
