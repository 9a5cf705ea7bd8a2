#include "ntr/compiler/host.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "ntr/compiler/error.h"

namespace ntr::compiler {

HostLayout HostLayout::from_manifest(const nlohmann::ordered_json& m) {
  HostLayout h;
  try {
    const auto& g = m.at("gib");
    h.tiles = m.at("accel").at("tiles").get<int64_t>();
    h.gib_bytes = g.at("bytes").get<int64_t>();
    h.tile_bytes = g.at("tile_bytes").get<int64_t>();
    h.windows_per_tile = m.at("epoch").at("windows_per_tile").get<int64_t>();
    h.runs = m.at("epoch").at("runs").get<int64_t>();
    h.epoch = m.at("epoch").at("instructions").get<int64_t>();
    h.length = m.at("window").at("length").get<int>();
    h.target = m.at("window").at("target").get<int>();
    h.row_bytes = m.at("model").at("bytes_per_instruction").get<int>();
    h.designs = static_cast<int>(m.at("model").at("designs").size());
    h.input_offset = g.at("input_offset").get<int64_t>();
    h.result_offset = g.at("result_offset").get<int64_t>();
    for (const auto& v : m.at("model").at("padding_row")) h.padding_row.push_back(static_cast<int8_t>(v.get<int>()));
  } catch (const nlohmann::json::exception& e) {
    throw CompileError(std::string("manifest: ") + e.what());
  }
  if (static_cast<int>(h.padding_row.size()) != h.row_bytes)
    throw CompileError("manifest: padding_row does not have bytes_per_instruction entries");
  return h;
}

int64_t HostLayout::run_first(int64_t run) const { return run * windows_per_run() * target; }
int64_t HostLayout::run_count(int64_t run) const {
  return std::clamp<int64_t>(epoch - run_first(run), 0, windows_per_run() * target);
}

void HostLayout::write_inputs(std::span<const int8_t> epoch_bytes, int64_t run, std::span<uint8_t> gib) const {
  if (static_cast<int64_t>(gib.size()) != gib_bytes)
    throw CompileError(fmt::format("GIB image has {} bytes, the layout needs {}", gib.size(), gib_bytes));
  if (static_cast<int64_t>(epoch_bytes.size()) != epoch * row_bytes)
    throw CompileError(fmt::format("epoch bytes: {} given, {} x {} expected", epoch_bytes.size(), epoch, row_bytes));
  const int64_t rows = windows_per_tile * target + 2 * context();
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t k0 = run * windows_per_run() + t * windows_per_tile;
    const int64_t p0 = k0 * target - context();
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t p = p0 + i;
      uint8_t* dst = gib.data() + t * tile_bytes + input_offset + i * row_bytes;
      const int8_t* src = p >= 0 && p < epoch ? epoch_bytes.data() + p * row_bytes : padding_row.data();
      std::memcpy(dst, src, static_cast<std::size_t>(row_bytes));
    }
  }
}

void HostLayout::read_results(std::span<const uint8_t> gib, int64_t run, std::span<int32_t> r) const {
  if (static_cast<int64_t>(r.size()) != epoch * designs)
    throw CompileError(fmt::format("results: {} given, {} x {} expected", r.size(), epoch, designs));
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t j = 0; j < windows_per_tile; ++j) {
      const int64_t k = run * windows_per_run() + t * windows_per_tile + j;
      for (int i = 0; i < target; ++i) {
        const int64_t n = k * target + i;
        if (n >= epoch) continue;
        for (int d = 0; d < designs; ++d) {
          const uint8_t* b = gib.data() + t * tile_bytes + result_offset + ((j * target + i) * designs + d) * 4;
          r[static_cast<std::size_t>(n * designs + d)] =
              static_cast<int32_t>(static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
                                   static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24);
        }
      }
    }
}

}  // namespace ntr::compiler
