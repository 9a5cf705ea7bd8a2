#pragma once

#include <stdexcept>

namespace ntr::synth {

// A user-caused problem in the PPA flow: a bad technology file, unparsable Yosys statistics, a
// failed synthesis run. The message names the file, key or cell.
class SynthError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ntr::synth
