// The compiler's exception: a model, config or window it cannot compile, with a message naming
// the problem (for a buffer overflow: which buffer and by how many bytes).
#pragma once

#include <stdexcept>

namespace ntr::compiler {

class CompileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ntr::compiler
