// A deterministic, program-like instruction stream: loops over basic blocks with stack, array and
// scattered heap accesses. Input for tests and benchmarks, and the calibration data of random
// packages. Records are valid .nstrace records; features go through the shared encoder.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "ns/trace/record.h"

namespace ns::model {

std::vector<trace::Record> synthetic_records(size_t n, uint64_t seed);
// synthetic_records encoded with `encoding`: n x F raw features, row-major.
std::vector<int32_t> synthetic_features(std::string_view encoding, size_t n, uint64_t seed);

}  // namespace ns::model
