#include "ntr/csim/tile.h"

#include <algorithm>
#include <cstring>

#include "ntr/isa/isa.h"

namespace ntr::csim {

WeightBuffer::WeightBuffer(int64_t rows, int64_t lanes)
    : rows_(rows), lanes_(lanes), own_(static_cast<size_t>(rows * lanes), 0),
      rowp_(static_cast<size_t>(rows)) {
  rebase();
}

WeightBuffer::WeightBuffer(const WeightBuffer& o) { *this = o; }

WeightBuffer& WeightBuffer::operator=(const WeightBuffer& o) {
  if (this == &o) return *this;
  rows_ = o.rows_;
  lanes_ = o.lanes_;
  own_ = o.own_;
  rowp_.resize(static_cast<size_t>(rows_));
  for (int64_t r = 0; r < rows_; ++r)
    rowp_[static_cast<size_t>(r)] = o.refers(r) ? o.row(r) : own(r);
  return *this;
}

void WeightBuffer::rebase() {
  for (int64_t r = 0; r < rows_; ++r) rowp_[static_cast<size_t>(r)] = own(r);
}

void WeightBuffer::write_row(int64_t r, const int8_t* src, int64_t n) {
  int8_t* dst = own(r);
  if (refers(r) && n < lanes_) std::memcpy(dst + n, row(r) + n, static_cast<size_t>(lanes_ - n));
  std::memcpy(dst, src, static_cast<size_t>(n));
  rowp_[static_cast<size_t>(r)] = dst;
}

void WeightBuffer::refer_row(int64_t r, const int8_t* src) { rowp_[static_cast<size_t>(r)] = src; }

void WeightBuffer::detach(const int8_t* lo, const int8_t* hi) {
  for (int64_t r = 0; r < rows_; ++r) {
    if (!refers(r)) continue;
    const int8_t* p = row(r);
    if (p < hi && p + lanes_ > lo) {
      std::memcpy(own(r), p, static_cast<size_t>(lanes_));
      rowp_[static_cast<size_t>(r)] = own(r);
    }
  }
}

void WeightBuffer::clear() {
  std::fill(own_.begin(), own_.end(), int8_t{0});
  rebase();
}

TileState::TileState(const isa::AccelConfig& cfg)
    : lwb(cfg.lwb_rows(), cfg.lanes()),
      lib(static_cast<size_t>(cfg.lib_bytes), 0),
      cb(static_cast<size_t>(cfg.ppu_cb_rows), isa::CbRow{0, 0, 0}),
      vs(static_cast<size_t>(cfg.ppu_vs_words), 0),
      acc(static_cast<size_t>(cfg.mac_acc_banks * cfg.lanes()), 0) {}

void TileState::clear() {
  lwb.clear();
  std::fill(lib.begin(), lib.end(), uint8_t{0});
  std::fill(cb.begin(), cb.end(), isa::CbRow{0, 0, 0});
  std::fill(vs.begin(), vs.end(), 0);
  std::fill(acc.begin(), acc.end(), 0);
}

}  // namespace ntr::csim
