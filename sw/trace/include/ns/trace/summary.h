// Whole-trace summary printed by `neuroscalar trace-info`.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ns/trace/trace.h"

namespace ns::trace {

struct Summary {
  uint64_t records = 0;  // non-warm-up
  uint64_t warmup_records = 0;
  uint64_t loads = 0, stores = 0, branches = 0, conditional = 0, taken = 0, calls = 0,
           returns = 0, indirect = 0;
  std::array<uint64_t, kOpClassCount> opclass{};
  std::vector<EpochInfo> epochs;
  nlohmann::json meta;
  format::FileHeader header{};

  nlohmann::json to_json() const;
  std::string to_text() const;
};

// Reads every record (verifying checksums and signatures) and counts; warm-up records are
// counted apart and excluded from the mix.
Summary summarize(const Reader& reader);

}  // namespace ns::trace
