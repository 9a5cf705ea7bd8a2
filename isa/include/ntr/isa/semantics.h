// Data semantics of Neutrino instructions that every implementation must reproduce bit for bit
// (docs/neutrino.md, "Instruction semantics"): the PPU element pipeline, PSEL, the MAC input
// element, constant-buffer rows. The integer helpers follow docs/int8-spec.md section 1.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "ntr/isa/isa.h"

namespace ntr::isa {

// Activation ROMs: 257-entry tables of docs/int8-spec.md section 6 (sigmoid, tanh).
struct ActTables {
  std::array<int16_t, 257> sig{};
  std::array<int16_t, 257> tanh{};
};

// A constant-buffer row as stored (kCbRowBytes bytes): bias int32 LE, mult int32 LE, shift in the
// low 6 bits of byte 8; bytes 9..11 are zero by convention and ignored.
struct CbRow {
  int32_t bias = 0;
  int32_t mult = 1;
  uint8_t shift = 0;
};
CbRow unpack_cb_row(const uint8_t* bytes);
void pack_cb_row(const CbRow& r, uint8_t* bytes);

// rshr(x, s) of int8-spec section 1, exact for every int64 x and s in 0..63.
int64_t rshr(int64_t x, int s);
int64_t sat(int64_t x, int64_t lo, int64_t hi);
int32_t wrap32(int64_t x);
// Table interpolation for a Q3.12 input (saturated to int16 first).
int64_t act_lookup(const std::array<int16_t, 257>& t, int64_t p);

// One element of a PPU instruction. `a`: the loaded a operand (int32 from ACC/VS, sign-extended
// int8 from LIB8, 0 for ZERO); `b`: the b operand (used when mul); `old`: the destination's
// current value, sign-extended (used when add); `cb`: the element's constant row (used when
// rq == ROW). Returns the value before it is narrowed to the destination (store_narrow).
int64_t ppu_element(const Ppu& p, int64_t a, int64_t b, int64_t old, const CbRow& cb,
                    const ActTables& t);
// Narrowing to the destination: VS and LIB32 keep the low 32 bits, LIB8 the low 8 bits.
int64_t store_narrow(Pdst d, int64_t v);
// PSEL on one pair: z1 > z0 ? r1 : r0.
inline int32_t psel_element(int32_t z0, int32_t z1, int32_t r0, int32_t r1) {
  return z1 > z0 ? r1 : r0;
}
// MVM input element r from the LIB (narrow: byte x + r; wide: x + 2r low, x + 2r + 1 high).
int32_t mvm_input(std::span<const uint8_t> lib, int64_t x, int64_t r, bool wide);

}  // namespace ntr::isa
