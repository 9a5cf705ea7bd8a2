// The MAC array's block arithmetic: one mvm's sums for one or several tiles at once. Internal.
#pragma once

#include <cstdint>

namespace ntr::csim::kernel {

inline constexpr int kMaxTiles = 16;
inline constexpr int64_t kMaxRows = 256;

// out[t * lanes + j] = sum over r < rows of w[r][j] * x[t][r * stride], for t < tiles, j < lanes
// (int8 operands; the sums of at most 256 products fit int32 exactly).
using MacFn = void (*)(const int8_t* const* w, int64_t rows, const int8_t* const* x, int64_t stride,
                       int tiles, int64_t lanes, int32_t* out);

struct Kernel {
  const char* name;
  MacFn fn;
  int64_t lane_multiple;  // lanes must be a multiple of this
};

// The fastest kernel the CPU supports for `lanes` (NTR_CSIM_KERNEL=scalar|avx2|avx512 forces
// one where possible).
const Kernel& select(int64_t lanes);
// Every kernel this CPU can run (tests compare them).
int available(const Kernel** out, int max);
const char* preferred_name();

}  // namespace ntr::csim::kernel
