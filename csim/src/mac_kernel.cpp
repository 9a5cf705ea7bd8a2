// MAC block kernels. Products of two int8 fit int16 and a pair of them fits int32, so pmaddwd on
// interleaved row pairs computes two rows per instruction exactly; the scalar kernel is the
// reference the vector ones are tested against. Runtime dispatch (not -march) keeps the binaries
// portable and the sanitizer builds simple.
#include "mac_kernel.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace ntr::csim::kernel {

namespace {

void mac_scalar(const int8_t* const* w, int64_t rows, const int8_t* const* x, int64_t stride,
                int tiles, int64_t lanes, int32_t* out) {
  std::fill(out, out + tiles * lanes, 0);
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* wr = w[r];
    for (int t = 0; t < tiles; ++t) {
      const int32_t xv = x[t][r * stride];
      if (xv == 0) continue;
      int32_t* o = out + t * lanes;
      for (int64_t j = 0; j < lanes; ++j) o[j] += xv * wr[j];
    }
  }
}

// (x0, x1) of each row pair as the int16 pair pmaddwd multiplies with (w0[j], w1[j]).
void pair_inputs(const int8_t* const* x, int64_t rows, int64_t stride, int tiles, int32_t* xx) {
  const int64_t pairs = (rows + 1) / 2;
  for (int t = 0; t < tiles; ++t)
    for (int64_t p = 0; p < pairs; ++p) {
      const int32_t x0 = x[t][2 * p * stride];
      const int32_t x1 = 2 * p + 1 < rows ? x[t][(2 * p + 1) * stride] : 0;
      xx[t * 128 + p] = static_cast<int32_t>((static_cast<uint32_t>(x0) & 0xffffu) |
                                             (static_cast<uint32_t>(x1) << 16));
    }
}

// ------------------------------------------------------------------------------------ AVX2
// A chunk is 16 columns; NT tiles x CC chunks accumulate in 2 * NT * CC registers.
template <int NT, int CC>
__attribute__((target("avx2"))) void avx2_block(const int8_t* const* w, int64_t rows,
                                                const int32_t* xx, int64_t lanes, int64_t c0,
                                                int32_t* out) {
  __m256i lo[NT][CC], hi[NT][CC];
  for (int t = 0; t < NT; ++t)
    for (int c = 0; c < CC; ++c) lo[t][c] = hi[t][c] = _mm256_setzero_si256();
  const int64_t pairs = (rows + 1) / 2;
  for (int64_t p = 0; p < pairs; ++p) {
    const int8_t* w0 = w[2 * p] + c0;
    const int8_t* w1 = (2 * p + 1 < rows ? w[2 * p + 1] : w[2 * p]) + c0;
    for (int c = 0; c < CC; ++c) {
      const __m256i a = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w0 + 16 * c)));
      const __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w1 + 16 * c)));
      const __m256i l = _mm256_unpacklo_epi16(a, b);
      const __m256i h = _mm256_unpackhi_epi16(a, b);
      for (int t = 0; t < NT; ++t) {
        const __m256i v = _mm256_set1_epi32(xx[t * 128 + p]);
        lo[t][c] = _mm256_add_epi32(lo[t][c], _mm256_madd_epi16(l, v));
        hi[t][c] = _mm256_add_epi32(hi[t][c], _mm256_madd_epi16(h, v));
      }
    }
  }
  // lo holds columns {0..3, 8..11} of a chunk, hi {4..7, 12..15}.
  for (int t = 0; t < NT; ++t)
    for (int c = 0; c < CC; ++c) {
      int32_t* o = out + t * lanes + c0 + 16 * c;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm256_permute2x128_si256(lo[t][c], hi[t][c], 0x20));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8), _mm256_permute2x128_si256(lo[t][c], hi[t][c], 0x31));
    }
}

template <int NT>
__attribute__((target("avx2"))) void avx2_tiles(const int8_t* const* w, int64_t rows,
                                                const int32_t* xx, int64_t lanes, int32_t* out) {
  constexpr int kCC = 4 / NT;
  int64_t c0 = 0;
  for (; c0 + 16 * kCC <= lanes; c0 += 16 * kCC) avx2_block<NT, kCC>(w, rows, xx, lanes, c0, out);
  for (; c0 < lanes; c0 += 16) avx2_block<NT, 1>(w, rows, xx, lanes, c0, out);
}

__attribute__((target("avx2"))) void mac_avx2(const int8_t* const* w, int64_t rows,
                                              const int8_t* const* x, int64_t stride, int tiles,
                                              int64_t lanes, int32_t* out) {
  alignas(32) int32_t xx[kMaxTiles * 128];
  pair_inputs(x, rows, stride, tiles, xx);
  int t = 0;
  for (; t + 4 <= tiles; t += 4) avx2_tiles<4>(w, rows, xx + t * 128, lanes, out + t * lanes);
  for (; t + 2 <= tiles; t += 2) avx2_tiles<2>(w, rows, xx + t * 128, lanes, out + t * lanes);
  for (; t < tiles; ++t) avx2_tiles<1>(w, rows, xx + t * 128, lanes, out + t * lanes);
}

// --------------------------------------------------------------------------------- AVX-512
// A chunk is 32 columns; NT x CC <= 8 keeps the accumulators in 16 of the 32 registers.
#define NTR_AVX512 __attribute__((target("avx512f,avx512bw")))

template <int NT, int CC>
NTR_AVX512 void avx512_block(const int8_t* const* w, int64_t rows, const int32_t* xx,
                             int64_t lanes, int64_t c0, int32_t* out) {
  __m512i lo[NT][CC], hi[NT][CC];
  for (int t = 0; t < NT; ++t)
    for (int c = 0; c < CC; ++c) lo[t][c] = hi[t][c] = _mm512_setzero_si512();
  const int64_t pairs = (rows + 1) / 2;
  for (int64_t p = 0; p < pairs; ++p) {
    const int8_t* w0 = w[2 * p] + c0;
    const int8_t* w1 = (2 * p + 1 < rows ? w[2 * p + 1] : w[2 * p]) + c0;
    for (int c = 0; c < CC; ++c) {
      const __m512i a = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0 + 32 * c)));
      const __m512i b = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w1 + 32 * c)));
      const __m512i l = _mm512_unpacklo_epi16(a, b);
      const __m512i h = _mm512_unpackhi_epi16(a, b);
      for (int t = 0; t < NT; ++t) {
        const __m512i v = _mm512_set1_epi32(xx[t * 128 + p]);
        lo[t][c] = _mm512_add_epi32(lo[t][c], _mm512_madd_epi16(l, v));
        hi[t][c] = _mm512_add_epi32(hi[t][c], _mm512_madd_epi16(h, v));
      }
    }
  }
  // Per 128-bit lane k, lo holds columns 8k + 0..3 and hi 8k + 4..7.
  const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
  const __m512i second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  for (int t = 0; t < NT; ++t)
    for (int c = 0; c < CC; ++c) {
      int32_t* o = out + t * lanes + c0 + 32 * c;
      _mm512_storeu_si512(o, _mm512_permutex2var_epi64(lo[t][c], first, hi[t][c]));
      _mm512_storeu_si512(o + 16, _mm512_permutex2var_epi64(lo[t][c], second, hi[t][c]));
    }
}

template <int NT>
NTR_AVX512 void avx512_tiles(const int8_t* const* w, int64_t rows, const int32_t* xx, int64_t lanes,
                             int32_t* out) {
  constexpr int kCC = 8 / NT;
  int64_t c0 = 0;
  if constexpr (kCC >= 8)
    for (; c0 + 32 * 8 <= lanes; c0 += 32 * 8) avx512_block<NT, 8>(w, rows, xx, lanes, c0, out);
  if constexpr (kCC >= 4)
    for (; c0 + 32 * 4 <= lanes; c0 += 32 * 4) avx512_block<NT, 4>(w, rows, xx, lanes, c0, out);
  if constexpr (kCC >= 2)
    for (; c0 + 32 * 2 <= lanes; c0 += 32 * 2) avx512_block<NT, 2>(w, rows, xx, lanes, c0, out);
  for (; c0 < lanes; c0 += 32) avx512_block<NT, 1>(w, rows, xx, lanes, c0, out);
}

NTR_AVX512 void mac_avx512(const int8_t* const* w, int64_t rows, const int8_t* const* x,
                           int64_t stride, int tiles, int64_t lanes, int32_t* out) {
  alignas(64) int32_t xx[kMaxTiles * 128];
  pair_inputs(x, rows, stride, tiles, xx);
  int t = 0;
  for (; t + 8 <= tiles; t += 8) avx512_tiles<8>(w, rows, xx + t * 128, lanes, out + t * lanes);
  for (; t + 4 <= tiles; t += 4) avx512_tiles<4>(w, rows, xx + t * 128, lanes, out + t * lanes);
  for (; t + 2 <= tiles; t += 2) avx512_tiles<2>(w, rows, xx + t * 128, lanes, out + t * lanes);
  for (; t < tiles; ++t) avx512_tiles<1>(w, rows, xx + t * 128, lanes, out + t * lanes);
}

const Kernel kScalar{"scalar", mac_scalar, 1};
const Kernel kAvx2{"avx2", mac_avx2, 16};
const Kernel kAvx512{"avx512", mac_avx512, 32};

bool supported(const Kernel& k) {
  if (&k == &kAvx512) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (&k == &kAvx2) return __builtin_cpu_supports("avx2");
  return true;
}

}  // namespace

int available(const Kernel** out, int max) {
  int n = 0;
  for (const Kernel* k : {&kScalar, &kAvx2, &kAvx512})
    if (supported(*k) && n < max) out[n++] = k;
  return n;
}

const char* preferred_name() {
  static const char* name = [] {
    const char* env = std::getenv("NTR_CSIM_KERNEL");
    for (const Kernel* k : {&kAvx512, &kAvx2, &kScalar})
      if (supported(*k) && (env == nullptr || std::string_view(env) == k->name)) return k->name;
    return kScalar.name;
  }();
  return name;
}

const Kernel& select(int64_t lanes) {
  const std::string_view want = preferred_name();
  for (const Kernel* k : {&kAvx512, &kAvx2, &kScalar}) {
    if (!supported(*k) || lanes % k->lane_multiple != 0) continue;
    // The preferred kernel or any slower one that fits the lane count.
    if (want == k->name || (want == "avx512" && k != &kAvx512) || (want == "avx2" && k == &kScalar))
      return *k;
  }
  return kScalar;
}

}  // namespace ntr::csim::kernel
