#include "ntr/isa/semantics.h"

#include <algorithm>

namespace ntr::isa {

CbRow unpack_cb_row(const uint8_t* b) {
  auto le32 = [&](int at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(b[at + i]) << (8 * i);
    return static_cast<int32_t>(v);
  };
  return CbRow{le32(0), le32(4), static_cast<uint8_t>(b[8] & 63)};
}

void pack_cb_row(const CbRow& r, uint8_t* b) {
  for (int i = 0; i < 4; ++i) {
    b[i] = static_cast<uint8_t>(static_cast<uint32_t>(r.bias) >> (8 * i));
    b[4 + i] = static_cast<uint8_t>(static_cast<uint32_t>(r.mult) >> (8 * i));
  }
  b[8] = r.shift;
  b[9] = b[10] = b[11] = 0;
}

int64_t rshr(int64_t x, int s) {
  if (s == 0) return x;
  const __int128 v = (static_cast<__int128>(x) + (static_cast<__int128>(1) << (s - 1))) >> s;
  return static_cast<int64_t>(v);
}

int64_t sat(int64_t x, int64_t lo, int64_t hi) { return std::min(std::max(x, lo), hi); }

int32_t wrap32(int64_t x) { return static_cast<int32_t>(static_cast<uint32_t>(x)); }

int64_t act_lookup(const std::array<int16_t, 257>& t, int64_t p) {
  const int64_t q = sat(p, -32768, 32767) + 32768;
  const auto idx = static_cast<std::size_t>(q >> 8);
  const int64_t frac = q & 255;
  return t[idx] + rshr((static_cast<int64_t>(t[idx + 1]) - t[idx]) * frac, 8);
}

int64_t ppu_element(const Ppu& p, int64_t a, int64_t b, int64_t old, const CbRow& cb,
                    const ActTables& t) {
  int64_t x = a;
  switch (p.rq) {
    case Rq::None:
      break;
    case Rq::Row: {
      int64_t v = wrap32(a + cb.bias);
      if (p.relu) v = std::max<int64_t>(v, 0);
      x = rshr(v * cb.mult, cb.shift & 63);
      break;
    }
    case Rq::Shift:
      x = rshr(a, static_cast<int>(p.rshift));
      break;
  }
  switch (p.sat1) {
    case Sat1::None:
      break;
    case Sat1::S8:
      x = sat(x, -128, 127);
      break;
    case Sat1::S16:
      x = sat(x, -32768, 32767);
      break;
  }
  switch (p.act) {
    case Act::None:
      break;
    case Act::Sig:
      x = act_lookup(t.sig, x);
      break;
    case Act::Tanh:
      x = act_lookup(t.tanh, x);
      break;
  }
  if (p.mul) x = rshr(static_cast<int64_t>(wrap32(x)) * static_cast<int64_t>(wrap32(b)), 15);
  if (p.add) x += old;
  x = rshr(x, static_cast<int>(p.oshift));
  switch (p.sat2) {
    case Sat2::None:
      break;
    case Sat2::S8:
      x = sat(x, -128, 127);
      break;
    case Sat2::S16:
      x = sat(x, -32768, 32767);
      break;
    case Sat2::C19:
      x = sat(x, -(int64_t{1} << 18), (int64_t{1} << 18) - 1);
      break;
  }
  return x;
}

int64_t store_narrow(Pdst d, int64_t v) {
  if (d == Pdst::Lib8) return static_cast<int8_t>(static_cast<uint8_t>(v));
  return wrap32(v);
}

int32_t mvm_input(std::span<const uint8_t> lib, int64_t x, int64_t r, bool wide) {
  if (!wide) return static_cast<int8_t>(lib[static_cast<std::size_t>(x + r)]);
  const int32_t lo = static_cast<int8_t>(lib[static_cast<std::size_t>(x + 2 * r)]);
  const int32_t hi = static_cast<int8_t>(lib[static_cast<std::size_t>(x + 2 * r + 1)]);
  return lo + 256 * hi;
}

}  // namespace ntr::isa
