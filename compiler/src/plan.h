// Tiling and memory allocation: where every weight block, constant row, activation row and spill
// row lives, chosen for one model, accelerator config, window and epoch. Internal to the compiler.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ntr/compiler/model_view.h"
#include "ntr/isa/config.h"

namespace ntr::compiler {

// A named allocation in one buffer.
struct Region {
  std::string name;
  int64_t offset = 0;
  int64_t size = 0;  // in the buffer's unit (bytes, rows, words)
  std::string note;
};

// Sequential allocator with overlap checking and overflow reporting.
class RegionMap {
 public:
  RegionMap(std::string buffer, std::string unit, int64_t capacity)
      : buffer_(std::move(buffer)), unit_(std::move(unit)), capacity_(capacity) {}
  int64_t alloc(const std::string& name, int64_t size, int64_t align = 1, std::string note = {});
  // Throws CompileError "<buffer> overflows by N <unit> (...)" when the allocations exceed it.
  void check(const std::string& what) const;
  int64_t used() const { return top_; }
  int64_t capacity() const { return capacity_; }
  int64_t free() const { return capacity_ - top_; }
  const std::vector<Region>& regions() const { return regions_; }
  const std::string& buffer() const { return buffer_; }
  const std::string& unit() const { return unit_; }
  nlohmann::ordered_json to_json() const;

 private:
  std::string buffer_, unit_;
  int64_t capacity_;
  int64_t top_ = 0;
  std::vector<Region> regions_;
};

// A weight block: rows loaded into one LWB half (rows <= half rows, row_bytes <= lanes).
struct Job {
  std::string name;
  int rows = 0;
  int row_bytes = 0;
  int64_t gwb = 0;  // first byte in the GWB image
};

enum class Part { Ih, Hh };

struct Plan {
  isa::AccelConfig cfg;
  ModelView m;
  int lanes = 0;      // N: output columns per block
  int half_rows = 0;  // R: rows per LWB half

  // --- tiling
  int proj_tiles = 0;                      // column tiles of the input projection
  std::vector<int> proj_job;               // [tile]
  int gate_tiles = 0;                      // column tiles of the 4H gate rows
  std::vector<int> ih_chunks, hh_chunks;   // row chunks per layer (ih) and of H (hh)
  // lstm_job[layer][set][tile][part][chunk] and the first row of that block inside the job: the
  // two directions' 128-row recurrent blocks of an untied model share one job (one LWB half).
  std::vector<std::vector<std::vector<std::vector<std::vector<int>>>>> lstm_job;
  std::vector<std::vector<std::vector<std::vector<std::vector<int>>>>> lstm_row;
  int head_cols = 0;                       // A*D + 2*D concatenated head columns
  int head_tiles = 0;
  std::vector<int> head_job;               // [tile]
  int f2_rows = 0;                         // A*D
  int f2_chunks = 0;
  std::vector<int> f2_job;                 // [chunk]
  std::vector<Job> jobs;

  // --- constant buffer rows
  int cb_proj = 0;
  std::vector<std::vector<int>> cb_lstm;   // [layer][set]
  std::vector<int> cb_fc1, cb_reg, cb_fc2; // [design]
  int cb_rows = 0;
  int64_t gwb_cb = 0;                      // CB image in the GWB

  // --- schedule parameters
  int burst = 0;       // K: projection rows computed per chain per burst
  int head_chunk = 0;  // Q: target positions per head chunk

  // --- LIB (bytes)
  int64_t lib_x = 0;            // raw input rows of a burst (bi: f block then b block)
  int64_t lib_u = 0;            // projection ring: slot i at lib_u + i * P
  int64_t lib_h[2] = {0, 0};    // hidden state per chain
  int64_t lib_p[2] = {0, 0};    // partner / combine staging per chain
  int64_t lib_yin[2] = {0, 0};  // layer-1 input row per chain
  int64_t lib_hy = 0;           // head inputs: Q rows of Y
  int64_t lib_a = 0;            // cls_fc1 outputs: Q rows of A*D
  int64_t lib_res = 0;          // results: Q rows of 4*D
  // --- VS (words)
  int64_t vs_c[2] = {0, 0}, vs_t[2] = {0, 0};
  int64_t vs_z = 0, vs_r = 0;   // head logits / regressor outputs: Q rows of 2*D

  // --- spills: per tile, in the GWB (shared) or in the tile's GIB bank
  bool spill_in_gib = false;
  int64_t spill_base = 0;       // tile 0's spill area (GWB byte, or offset inside a GIB bank)
  int64_t spill_stride = 0;     // between tiles (GWB) or the bank size (GIB)
  int64_t spill_y0 = 0;         // offset of Y0S (layer-0 outputs, L rows of Y) in the spill area
  int64_t spill_y1 = 0;         // offset of Y1S (last-layer outputs at the T targets)
  int64_t spill_bytes = 0;

  // --- GIB layout (each tile's bank)
  int64_t bank_bytes = 0;
  int64_t windows_total = 0;    // ceil(N / T)
  int64_t windows_per_tile = 0; // W, per run
  int64_t runs = 0;
  int64_t gib_in = 0;           // first input row (position kT - C of the tile's first window)
  int64_t gib_res = 0;          // first result word
  int64_t in_positions = 0;     // rows per bank: W*T + 2C
  int64_t epoch = 0;            // instructions per epoch

  RegionMap gwb{"global weight buffer", "bytes", 0};
  RegionMap gib{"global input buffer bank", "bytes", 0};
  RegionMap lib{"local input buffer", "bytes", 0};
  RegionMap vs{"vector scratch", "words", 0};
  RegionMap cb{"constant buffer", "rows", 0};

  std::vector<uint8_t> gwb_image;  // weights, constants (spill area zero)

};

struct PlanOptions {
  int64_t epoch = 100000;
  int64_t max_windows_per_tile = 0;  // 0: as many as fit
  int burst = 0;                     // 0: chosen
  int head_chunk = 0;                // 0: chosen
};

Plan make_plan(const ModelView& m, const isa::AccelConfig& cfg, const PlanOptions& opt);

}  // namespace ntr::compiler
