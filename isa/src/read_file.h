// The isa library's file input: a whole file as bytes, or an IsaError naming the file.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ntr/isa/config.h"

namespace ntr::isa::detail {

// `what` names the kind of file in the error ("assembly source", "program", ...).
inline std::string read_file(const std::filesystem::path& path, std::string_view what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IsaError(fmt::format("{}: cannot open {}", path.string(), what));
  return {std::istreambuf_iterator<char>(f), {}};
}

}  // namespace ntr::isa::detail
