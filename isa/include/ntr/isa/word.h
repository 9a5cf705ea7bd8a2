// A 128-bit Neutrino instruction word and bit-field access. Stored little-endian in files: the
// low 64 bits (bits 63..0) first.
#pragma once

#include <cstdint>

namespace ntr::isa {

struct Word {
  uint64_t lo = 0;  // bits 63..0
  uint64_t hi = 0;  // bits 127..64

  // Bits [lsb, lsb + width), width 1..64; a field may straddle bit 64.
  constexpr uint64_t get(int lsb, int width) const {
    uint64_t v = 0;
    if (lsb >= 64) {
      v = hi >> (lsb - 64);
    } else {
      v = lo >> lsb;
      if (lsb + width > 64 && lsb > 0) v |= hi << (64 - lsb);
    }
    return width == 64 ? v : v & ((uint64_t{1} << width) - 1);
  }
  constexpr void set(int lsb, int width, uint64_t v) {
    const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    v &= mask;
    if (lsb >= 64) {
      hi = (hi & ~(mask << (lsb - 64))) | (v << (lsb - 64));
      return;
    }
    lo = (lo & ~(mask << lsb)) | (v << lsb);
    if (lsb + width > 64 && lsb > 0) {
      const int spill = lsb + width - 64;
      const uint64_t hmask = (uint64_t{1} << spill) - 1;
      hi = (hi & ~hmask) | (v >> (64 - lsb));
    }
  }
  friend constexpr bool operator==(const Word&, const Word&) = default;
};

}  // namespace ntr::isa
