/* TFLite's per-channel requantization (quant.h, tr_multiply_by_quantized_multiplier), 16 int32
 * lanes at a time, bit for bit. Include from AVX-512 kernel files only.
 *
 * Per lane, with l = max(shift, 0) and r = max(-shift, 0):
 *   x <<= l                                  (wrapping, as the reference's uint32 shift)
 *   h  = SaturatingRoundingDoublingHighMul(x, m) = floor((x * m + 2^30) / 2^31)
 *        (the reference's "nudge, then divide toward zero" equals this floor for every x, m
 *        except x = m = INT32_MIN, which a multiplier in [0, 2^31) never is)
 *   RoundingDivideByPOT(h, r) = (h >> r) + ((h & mask) > (mask >> 1) + (h < 0)),
 *        mask = 2^r - 1. */
#ifndef TFLITE_RT_REQUANT_AVX512_H
#define TFLITE_RT_REQUANT_AVX512_H

#include <immintrin.h>

static inline __m512i tr_requant_q31_avx512(__m512i x, __m512i multiplier, __m512i left_shift,
                                            __m512i right_shift, __m512i rounding_mask) {
  x = _mm512_sllv_epi32(x, left_shift);
  const __m512i nudge = _mm512_set1_epi64(1ll << 30);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, multiplier), nudge);
  const __m512i odd = _mm512_add_epi64(
      _mm512_mul_epi32(_mm512_shuffle_epi32(x, _MM_PERM_DDBB), _mm512_shuffle_epi32(multiplier, _MM_PERM_DDBB)),
      nudge);
  /* bits 31..62 of each product: to the low half (even lanes) or the high half (odd lanes) */
  const __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  const __m512i remainder = _mm512_and_si512(h, rounding_mask);
  const __m512i threshold = _mm512_sub_epi32(_mm512_srli_epi32(rounding_mask, 1), _mm512_srai_epi32(h, 31));
  const __m512i q = _mm512_srav_epi32(h, right_shift);
  return _mm512_mask_sub_epi32(q, _mm512_cmpgt_epi32_mask(remainder, threshold), q, _mm512_set1_epi32(-1));
}

/* The two halves of the above, for kernels whose multiplier is uniform or has no left shift:
 * SaturatingRoundingDoublingHighMul(x, m) for m in [0, 2^31), and RoundingDivideByPOT. */
static inline __m512i tr_srdhm_avx512(__m512i x, __m512i multiplier) {
  const __m512i nudge = _mm512_set1_epi64(1ll << 30);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, multiplier), nudge);
  const __m512i odd = _mm512_add_epi64(
      _mm512_mul_epi32(_mm512_shuffle_epi32(x, _MM_PERM_DDBB), _mm512_shuffle_epi32(multiplier, _MM_PERM_DDBB)),
      nudge);
  return _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
}

static inline __m512i tr_rdbpot_avx512(__m512i h, __m512i right_shift, __m512i rounding_mask) {
  const __m512i remainder = _mm512_and_si512(h, rounding_mask);
  const __m512i threshold = _mm512_sub_epi32(_mm512_srli_epi32(rounding_mask, 1), _mm512_srai_epi32(h, 31));
  const __m512i q = _mm512_srav_epi32(h, right_shift);
  return _mm512_mask_sub_epi32(q, _mm512_cmpgt_epi32_mask(remainder, threshold), q, _mm512_set1_epi32(-1));
}

/* As tr_requant_q31_avx512, from the extended per-channel constants: the odd lanes'
 * multipliers already in even positions and the rounding half precomputed; the left shift only
 * when some channel has one. */
static inline __m512i tr_requant_q31x_avx512(__m512i x, __m512i multiplier, __m512i multiplier_odd,
                                             __m512i left_shift, __m512i right_shift, __m512i rounding_mask,
                                             __m512i rounding_half, int left_shifts) {
  if (left_shifts) x = _mm512_sllv_epi32(x, left_shift);
  const __m512i nudge = _mm512_set1_epi64(1ll << 30);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, multiplier), nudge);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), multiplier_odd), nudge);
  const __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  const __m512i remainder = _mm512_and_si512(h, rounding_mask);
  const __m512i threshold = _mm512_sub_epi32(rounding_half, _mm512_srai_epi32(h, 31));
  const __m512i q = _mm512_srav_epi32(h, right_shift);
  return _mm512_mask_sub_epi32(q, _mm512_cmpgt_epi32_mask(remainder, threshold), q, _mm512_set1_epi32(-1));
}

#endif
