/* TFLite's per-channel requantization (quant.h, tr_multiply_by_quantized_multiplier), 8 int32
 * lanes at a time, bit for bit. Include from AVX2 kernel files only. The arithmetic is the one
 * described in requant-avx512.h. */
#ifndef TFLITE_RT_REQUANT_AVX2_H
#define TFLITE_RT_REQUANT_AVX2_H

#include <immintrin.h>

static inline __m256i tr_requant_q31_avx2(__m256i x, __m256i multiplier, __m256i left_shift,
                                          __m256i right_shift, __m256i rounding_mask) {
  x = _mm256_sllv_epi32(x, left_shift);
  const __m256i nudge = _mm256_set1_epi64x(1ll << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, multiplier), nudge);
  const __m256i odd = _mm256_add_epi64(
      _mm256_mul_epi32(_mm256_shuffle_epi32(x, 0xF5), _mm256_shuffle_epi32(multiplier, 0xF5)), nudge);
  /* bits 31..62 of each product: to the low half (even lanes) or the high half (odd lanes) */
  const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  const __m256i remainder = _mm256_and_si256(h, rounding_mask);
  const __m256i threshold = _mm256_sub_epi32(_mm256_srli_epi32(rounding_mask, 1), _mm256_srai_epi32(h, 31));
  const __m256i q = _mm256_srav_epi32(h, right_shift);
  return _mm256_sub_epi32(q, _mm256_cmpgt_epi32(remainder, threshold));
}

/* The two halves of the above, for kernels whose multiplier is uniform or has no left shift:
 * SaturatingRoundingDoublingHighMul(x, m) for m in [0, 2^31), and RoundingDivideByPOT. */
static inline __m256i tr_srdhm_avx2(__m256i x, __m256i multiplier) {
  const __m256i nudge = _mm256_set1_epi64x(1ll << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, multiplier), nudge);
  const __m256i odd = _mm256_add_epi64(
      _mm256_mul_epi32(_mm256_shuffle_epi32(x, 0xF5), _mm256_shuffle_epi32(multiplier, 0xF5)), nudge);
  return _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
}

static inline __m256i tr_rdbpot_avx2(__m256i h, __m256i right_shift, __m256i rounding_mask) {
  const __m256i remainder = _mm256_and_si256(h, rounding_mask);
  const __m256i threshold = _mm256_sub_epi32(_mm256_srli_epi32(rounding_mask, 1), _mm256_srai_epi32(h, 31));
  const __m256i q = _mm256_srav_epi32(h, right_shift);
  return _mm256_sub_epi32(q, _mm256_cmpgt_epi32(remainder, threshold));
}

/* As tr_requant_q31_avx2, from the extended per-channel constants: the odd lanes' multipliers
 * already in even positions and the rounding half precomputed; the left shift only when some
 * channel has one. */
static inline __m256i tr_requant_q31x_avx2(__m256i x, __m256i multiplier, __m256i multiplier_odd,
                                           __m256i left_shift, __m256i right_shift, __m256i rounding_mask,
                                           __m256i rounding_half, int left_shifts) {
  if (left_shifts) x = _mm256_sllv_epi32(x, left_shift);
  const __m256i nudge = _mm256_set1_epi64x(1ll << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, multiplier), nudge);
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), multiplier_odd), nudge);
  const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  const __m256i remainder = _mm256_and_si256(h, rounding_mask);
  const __m256i threshold = _mm256_sub_epi32(rounding_half, _mm256_srai_epi32(h, 31));
  const __m256i q = _mm256_srav_epi32(h, right_shift);
  return _mm256_sub_epi32(q, _mm256_cmpgt_epi32(remainder, threshold));
}

#endif
