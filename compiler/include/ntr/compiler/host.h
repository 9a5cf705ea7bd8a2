// The host side of a compiled program: where the driver writes an epoch's device bytes
// (docs/int8-spec.md section 3) in the global input buffer before each run, and where it reads
// the int32 results r (section 7) afterwards. Built from the bundle's manifest ("gib" section).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace ntr::compiler {

struct HostLayout {
  int64_t tiles = 1;
  int64_t gib_bytes = 0;
  int64_t tile_bytes = 0;        // each tile's part of the GIB (its bank)
  int64_t windows_per_tile = 0;  // per run
  int64_t runs = 0;
  int64_t epoch = 0;             // N
  int length = 0, target = 0;    // L, T
  int row_bytes = 0;             // B
  int designs = 0;               // D
  int64_t input_offset = 0;      // inside a tile's part: first input row
  int64_t result_offset = 0;     // inside a tile's part: first result
  std::vector<int8_t> padding_row;

  static HostLayout from_manifest(const nlohmann::ordered_json& manifest);
  int context() const { return (length - target) / 2; }
  int64_t windows_per_run() const { return tiles * windows_per_tile; }
  // Epoch instructions covered by run r: [first, first + count).
  int64_t run_first(int64_t run) const;
  int64_t run_count(int64_t run) const;

  // Writes the input rows of run r into a GIB image (gib_bytes long) from the epoch's device
  // bytes (epoch x B, row-major); positions outside the epoch get the padding row.
  void write_inputs(std::span<const int8_t> epoch_bytes, int64_t run, std::span<uint8_t> gib) const;
  // Reads run r's results from a GIB image after the run into r (epoch x D, instruction-major;
  // only the rows of run r are written).
  void read_results(std::span<const uint8_t> gib, int64_t run, std::span<int32_t> r) const;
};

}  // namespace ntr::compiler
