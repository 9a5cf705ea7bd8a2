// The integer building blocks of docs/int8-spec.md, one function per formula, so the INT8
// reference, the compiler's constant folding and csim's checks all speak the same names.
// Everything here is exact integer arithmetic (64-bit intermediates); nothing rounds through
// floating point.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ns::model {
struct ModelPackage;
}

namespace ns::model::int8 {

// --- Section 1: helpers -------------------------------------------------------------------------
constexpr int64_t sat(int64_t x, int64_t lo, int64_t hi) { return std::min(std::max(x, lo), hi); }
constexpr int8_t sat8(int64_t x) { return static_cast<int8_t>(sat(x, -128, 127)); }
constexpr int16_t sat16(int64_t x) { return static_cast<int16_t>(sat(x, -32768, 32767)); }
// Arithmetic shift right rounding half up (towards +infinity).
constexpr int64_t rshr(int64_t x, int s) { return s == 0 ? x : (x + (int64_t{1} << (s - 1))) >> s; }
// m in [0, 2^31), s in 0..62, |acc| < 2^31: the product fits 63 bits.
constexpr int64_t requant(int32_t acc, int32_t m, int32_t s) {
  return rshr(static_cast<int64_t>(acc) * m, s);
}

// --- Section 6: activation tables ---------------------------------------------------------------
inline constexpr int kActEntries = 257;
using ActTable = std::array<int16_t, kActEntries>;
// T[n] = sat16(round_half_away(32768 * F(-8 + n / 16))), F = sigmoid or tanh.
const ActTable& sigmoid_table();
const ActTable& tanh_table();
// SHA-256 of a table's 257 little-endian int16 values, lowercase hex.
std::string table_sha256(const ActTable& t);

// Q3.12 in, Q0.15 out, by linear interpolation between table entries.
constexpr int16_t activate(const ActTable& t, int16_t p) {
  const int32_t q = p + 32768;
  const int32_t idx = q >> 8, frac = q & 255;
  return static_cast<int16_t>(t[idx] + rshr(static_cast<int64_t>(t[idx + 1] - t[idx]) * frac, 8));
}

// --- Section 5: LSTM cell -----------------------------------------------------------------------
inline constexpr int32_t kCellMax = (1 << 18) - 1;  // c is Q3.15 in int32, |c| < 8
struct CellState {
  int16_t i, f, g, o;  // activated gates, Q0.15
  int32_t c;           // Q3.15
  int16_t h16;         // Q0.15
  int8_t h;            // scale 1/128
};
// One unit of the cell update from its four requantised gate pre-activations (Q3.12).
constexpr CellState lstm_cell(int16_t pre_i, int16_t pre_f, int16_t pre_g, int16_t pre_o,
                              int32_t c_prev, const ActTable& sig, const ActTable& tnh) {
  CellState s{};
  s.i = activate(sig, pre_i);
  s.f = activate(sig, pre_f);
  s.g = activate(tnh, pre_g);
  s.o = activate(sig, pre_o);
  s.c = static_cast<int32_t>(sat(rshr(static_cast<int64_t>(s.f) * c_prev, 15) +
                                     rshr(static_cast<int64_t>(s.i) * s.g, 15),
                                 -(kCellMax + 1), kCellMax));
  const int16_t tc = activate(tnh, sat16(rshr(s.c, 3)));
  s.h16 = static_cast<int16_t>(rshr(static_cast<int64_t>(s.o) * tc, 15));
  s.h = sat8(rshr(s.h16, 8));
  return s;
}
// Section 2: a tied bidirectional layer's output, scale 1/64.
constexpr int8_t tied_output(int8_t hf, int8_t hb) { return sat8(rshr(hf + hb, 1)); }

// --- Section 3: features on the device (host side) ----------------------------------------------
// Per feature j: zero point z_j, shift k_j (0..24) and width n_j (1 or 2 bytes).
struct FeatureCodec {
  std::vector<int32_t> zero, shift, bytes;

  static FeatureCodec from_package(const ModelPackage& int8_package);
  int features() const { return static_cast<int>(zero.size()); }
  int row_bytes() const;  // B = sum n_j
  // Raw features (n x F, row-major) to device bytes (n x B), feature by feature, low byte first.
  void encode(std::span<const int32_t> raw, std::span<int8_t> out) const;
  std::vector<int8_t> encode(std::span<const int32_t> raw) const;
  // The bytes of a padding position: the encoding of the all-zero raw feature vector.
  std::vector<int8_t> padding_row() const;
};

// --- Section 8: cycles (host side) --------------------------------------------------------------
// Number of n in 1..clip with r >= theta[n]; theta is non-decreasing.
inline uint32_t cycles_from_r(std::span<const int32_t> theta, int32_t r) {
  return static_cast<uint32_t>(std::upper_bound(theta.begin(), theta.end(), r) - theta.begin());
}
// theta[n] = ceil(ln(n + 0.5) / scale), n = 1..clip, clamped to int32 (quantiser side).
std::vector<int32_t> cycle_thresholds(double scale, int clip);

}  // namespace ns::model::int8
