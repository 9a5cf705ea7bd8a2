// The state of one Neutrino tile: its local memories (docs/neutrino.md section 1). Units read and
// write it through the unit models of units.h; the host never sees it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ntr/isa/config.h"
#include "ntr/isa/semantics.h"

namespace ntr::csim {

// The local weight buffer: 2 x half_rows rows of `lanes` bytes. A row loaded whole from the global
// weight buffer refers to the GWB's bytes instead of copying them (weights are streamed through
// the LWB hundreds of times per window, so copies would dominate the simulation). The GWB only
// changes under a DMA store, and the machine detaches every referring row (gives it its own copy)
// before such a store lands, so a row always reads as the bytes it was loaded with.
class WeightBuffer {
 public:
  WeightBuffer(int64_t rows, int64_t lanes);
  WeightBuffer(const WeightBuffer& o);
  WeightBuffer& operator=(const WeightBuffer& o);

  int64_t rows() const { return rows_; }
  int64_t lanes() const { return lanes_; }
  const int8_t* row(int64_t r) const { return rowp_[static_cast<size_t>(r)]; }
  // Pointers to every row, for kernels that walk consecutive rows.
  const int8_t* const* row_pointers() const { return rowp_.data(); }

  // Bytes [0, n) of row r become src[0, n); bytes n .. lanes-1 keep their value.
  void write_row(int64_t r, const int8_t* src, int64_t n);
  // Row r becomes the `lanes` bytes at src, which must stay unchanged until detach() covers them.
  void refer_row(int64_t r, const int8_t* src);
  // Rows referring to bytes in [lo, hi) take their own copy.
  void detach(const int8_t* lo, const int8_t* hi);
  bool refers(int64_t r) const { return rowp_[static_cast<size_t>(r)] != own(r); }
  void clear();

 private:
  const int8_t* own(int64_t r) const { return own_.data() + r * lanes_; }
  int8_t* own(int64_t r) { return own_.data() + r * lanes_; }
  void rebase();
  int64_t rows_, lanes_;
  std::vector<int8_t> own_;
  std::vector<const int8_t*> rowp_;
};

struct TileState {
  explicit TileState(const isa::AccelConfig& cfg);

  WeightBuffer lwb;
  std::vector<uint8_t> lib;  // bytes
  std::vector<isa::CbRow> cb;  // rows, decoded when loaded (bytes 9..11 and the shift's top bits are ignored)
  std::vector<int32_t> vs;   // words
  std::vector<int32_t> acc;  // banks x lanes; PPU address of bank b lane j = b * lanes + j

  // Every local memory zero, as at the start of a run.
  void clear();
};

}  // namespace ntr::csim
