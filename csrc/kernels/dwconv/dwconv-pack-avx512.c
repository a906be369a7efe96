/* The per-channel ends of a depthwise tile of int8 weights with AVX-512 (dwconv-pack.c calls it
 * when the ISA level in force allows): the bias slots and the requantization fields, which in
 * scalar loops took a third of the packing. They are computed 16 channels to a register in
 * channel order, then put in slot order by one permute each. Same bytes as the scalar loops. */
#include <immintrin.h>

#include "kernels/dwconv/dwconv.h"

static __mmask16 live_mask(size_t first, size_t live) {
  if (live <= first) return 0;
  return live - first >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (live - first)) - 1);
}

/* v in slot order: slot j of a tile of ct (16 or 32) holds channel slots[j] of (lo, hi). */
static inline __m512i to_slots(__m512i lo, __m512i hi, __m512i slots) { return _mm512_permutex2var_epi32(lo, slots, hi); }

void tr_dwconv_pack_qs8_ends__avx512(int32_t ct, const int32_t *slot_table, size_t live, const int32_t *bias,
                                     int32_t input_zero_point, const int32_t *sums, const tr_dwconv_qmul *qmul,
                                     int extended, int32_t *bias_slots, int32_t *q) {
  const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
  const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odds = _mm512_add_epi32(evens, one), zp = _mm512_set1_epi32(input_zero_point);
  __m512i folded[2], multiplier[2], shift[2];
  for (int h = 0; h < 2; h++) { /* channels 16h .. 16h + 15, zeros from live on */
    const size_t first = 16 * (size_t)h;
    const __mmask16 m = live_mask(first, live);
    const __m512i b = bias ? _mm512_maskz_loadu_epi32(m, bias + first) : zero;
    folded[h] = _mm512_maskz_sub_epi32(m, b, _mm512_mullo_epi32(zp, _mm512_maskz_loadu_epi32(m, sums + first)));
    const __m512i p0 = _mm512_maskz_loadu_epi64((__mmask8)(m & 0xFF), qmul + first);
    const __m512i p1 = _mm512_maskz_loadu_epi64((__mmask8)(m >> 8), qmul + first + 8);
    multiplier[h] = _mm512_permutex2var_epi32(p0, evens, p1);
    shift[h] = _mm512_permutex2var_epi32(p0, odds, p1);
  }
  for (int32_t j0 = 0; j0 < ct; j0 += 16) {
    const __m512i slots = _mm512_loadu_si512((const void *)(slot_table + j0));
    const __m512i s = to_slots(shift[0], shift[1], slots);
    const __m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);
    _mm512_storeu_si512(bias_slots + j0, to_slots(folded[0], folded[1], slots));
    _mm512_storeu_si512(q + j0, to_slots(multiplier[0], multiplier[1], slots));
    _mm512_storeu_si512(q + ct + j0, _mm512_max_epi32(s, zero));
    _mm512_storeu_si512(q + 2 * ct + j0, right);
    /* (1 << right) - 1 in 32 bits: a shift of 32 or more leaves 0, so -1, as the 64-bit shift
     * truncated gives */
    const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
    _mm512_storeu_si512(q + 3 * ct + j0, mask);
    if (extended) {
      /* the multiplier of slot j | 1, and half the rounding mask */
      const __m512i pair_odd = _mm512_set_epi32(15, 15, 13, 13, 11, 11, 9, 9, 7, 7, 5, 5, 3, 3, 1, 1);
      const __m512i odd_slots = _mm512_permutexvar_epi32(pair_odd, slots);
      _mm512_storeu_si512(q + 4 * ct + j0, to_slots(multiplier[0], multiplier[1], odd_slots));
      _mm512_storeu_si512(q + 5 * ct + j0, _mm512_srai_epi32(mask, 1));
    }
  }
}
