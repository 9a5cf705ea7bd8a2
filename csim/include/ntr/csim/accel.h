// Choosing an accelerator instance by name, file or tile count, for the simulator's command line
// and prediction backend.
#pragma once

#include <cstdint>
#include <string>

#include "ntr/isa/config.h"

namespace ntr::csim {

// `spec` is a shipped config name (configs/accel/<name>.yaml, compiled into the build) or a YAML
// file; empty means neutrino-1t for one tile and neutrino-8t otherwise. With tiles > 0 the
// config is scaled to that many tiles, each with its own GIB bank (the global buffers keep
// their size): from neutrino-8t this gives exactly neutrino-1t and neutrino-8t at 1 and 8 tiles,
// and "neutrino-<N>t" at other counts. Throws isa::IsaError naming the problem.
isa::AccelConfig resolve_accel(const std::string& spec, int64_t tiles = 0);

}  // namespace ntr::csim
