/* The output stage shared by the AVX-512 int8 GEMM kernels (gemm-qs8-avx512.c, gemm-qs8-vnni.c):
 * 16 int32 accumulators -> requantized, offset, clamped int8. Include from AVX-512 files only.
 *
 * The Q31 rule is quant.h's tr_multiply_by_quantized_multiplier, lane for lane (the derivation
 * is in kernels/requant/requant-avx512.h); here the constants a block needs are prepared once
 * per block (the odd lanes' multipliers, the rounding thresholds), the left shift is skipped
 * for blocks that have none, and the clamp runs after a saturating narrowing to int8 (which
 * is the clamp to [-128, 127]), on 16 bytes, only when the activation narrows the range. */
#ifndef TFLITE_RT_KERNELS_GEMM_QS8_AVX512_H
#define TFLITE_RT_KERNELS_GEMM_QS8_AVX512_H

#include <immintrin.h>
#include <string.h>

#include "kernels/gemm/gemm.h"

static inline __mmask16 qs8_tail_mask(size_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

static inline int32_t qs8_load_u32(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

static inline int64_t qs8_load_u64(const int8_t *p) {
  int64_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

/* The first n (< 8) bytes at p, zero-extended: k tails never read past the end of a row (a
 * masked load does not touch the bytes it leaves out). */
static inline int64_t qs8_load_partial(const int8_t *p, size_t n) {
  return _mm_cvtsi128_si64(_mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1), p));
}

/* round(x * scale) in double, half away from zero, saturated to int32, for 8 lanes. */
static inline __m256i qs8_round_double8(__m256i x, __m512d scale) {
  const __m512d d = _mm512_mul_pd(_mm512_cvtepi32_pd(x), scale);
  __m512d t = _mm512_roundscale_pd(d, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask8 up = _mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_sub_pd(d, t)), _mm512_set1_pd(0.5), _CMP_GE_OQ);
  const __m512d one = _mm512_or_pd(_mm512_and_pd(d, _mm512_set1_pd(-0.0)), _mm512_set1_pd(1.0));
  t = _mm512_mask_add_pd(t, up, t, one);
  t = _mm512_max_pd(_mm512_min_pd(t, _mm512_set1_pd(2147483647.0)), _mm512_set1_pd(-2147483648.0));
  return _mm512_cvttpd_epi32(t);
}

/* The requantization of 16 channels (one vector of a block), prepared once per block. */
typedef struct {
  __m512i mult, mult_odd, left, right, mask, half; /* Q31 */
  __m512d s0, s1;                                  /* double: scales of lanes 0-7, 8-15 */
  /* the short Q31 form (qs8_rq_short): the 64-bit nudges of the even and odd lanes and the
   * threshold below which h < 0 */
  __m512i nudge_even, nudge_odd, negative_below;
} qs8_rq16;

static inline __attribute__((always_inline)) qs8_rq16 qs8_rq_load(tr_gemm_qs8_requant rq, const uint8_t *tail,
                                                                  size_t nr, size_t v) {
  qs8_rq16 q;
  if (rq == TR_GEMM_REQUANT_DOUBLE) {
    q.s0 = _mm512_loadu_pd(tail + (16 * v) * sizeof(double));
    q.s1 = _mm512_loadu_pd(tail + (16 * v + 8) * sizeof(double));
    q.mult = q.mult_odd = q.left = q.right = q.mask = q.half = _mm512_setzero_si512();
    q.nudge_even = q.nudge_odd = q.negative_below = _mm512_setzero_si512();
  } else {
    const int32_t *p = (const int32_t *)tail + 16 * v;
    q.mult = _mm512_loadu_si512(p);
    q.mult_odd = _mm512_shuffle_epi32(q.mult, _MM_PERM_DDBB);
    q.left = _mm512_loadu_si512(p + nr);
    q.right = _mm512_loadu_si512(p + 2 * nr);
    q.mask = _mm512_loadu_si512(p + 3 * nr);
    q.half = _mm512_srli_epi32(q.mask, 1);
    q.s0 = q.s1 = _mm512_setzero_pd();
  }
  return q;
}

/* Prepares the short Q31 form (qs8_output16_short) for a block whose accumulators lie in
 * [-2^30, 2^30), with the output zero point zp folded in; returns whether every channel admits
 * it: a multiplier of 0 or in [2^30, 2^31), no left shift, a right shift e of at most 22 (so
 * that SRDHM + 2^(e-1) + zp 2^e stays below 2^30 + 2^21 + 2^29 in magnitude). */
static inline __attribute__((always_inline)) int qs8_rq_short(qs8_rq16 *q, int32_t zp) {
  const __m512i two30 = _mm512_set1_epi32(1 << 30), zero = _mm512_setzero_si512();
  const __mmask16 normal = _mm512_cmpeq_epi32_mask(q->mult, zero) | _mm512_cmpge_epi32_mask(q->mult, two30);
  if (normal != 0xFFFF || _mm512_test_epi32_mask(q->left, q->left) ||
      _mm512_cmpgt_epi32_mask(q->right, _mm512_set1_epi32(22)))
    return 0;
  /* 2^(e-1) (0 for e = 0) + zp 2^e, in the high half of each lane's 64-bit nudge */
  const __m512i add = _mm512_add_epi32(_mm512_srli_epi32(_mm512_add_epi32(q->mask, _mm512_set1_epi32(1)), 1),
                                       _mm512_sllv_epi32(_mm512_set1_epi32(zp), q->right));
  const __m512i bit31 = _mm512_set1_epi64(1ll << 31);
  q->nudge_even = _mm512_or_si512(_mm512_slli_epi64(add, 32), bit31);
  q->nudge_odd = _mm512_or_si512(_mm512_and_si512(add, _mm512_set1_epi64((long long)0xFFFFFFFF00000000ull)), bit31);
  /* h < 0 exactly when acc M < -2^30: acc < 0 for M > 2^30, acc < -1 for M = 2^30, never for
   * M = 0 or where nothing is rounded away (e = 0: RoundingDivideByPOT is then the identity) */
  q->negative_below = _mm512_mask_mov_epi32(_mm512_set1_epi32(-1), _mm512_cmpgt_epi32_mask(q->mult, two30), zero);
  q->negative_below = _mm512_mask_mov_epi32(
      q->negative_below, _mm512_cmpeq_epi32_mask(q->mult, zero) | _mm512_cmpeq_epi32_mask(q->right, zero),
      _mm512_set1_epi32(INT32_MIN));
  return 1;
}

/* Whether any of the block's channels shifts left (a multiplier above 1). */
static inline int qs8_rq_any_left(const qs8_rq16 *q) { return _mm512_test_epi32_mask(q->left, q->left) != 0; }

/* acc -> int8 with the output zero point added, saturated to [-128, 127] (not yet clamped to the
 * activation). `left`: whether to apply the left shifts. */
static inline __attribute__((always_inline)) __m128i qs8_output16(tr_gemm_qs8_requant rq, int left, __m512i acc,
                                                                  const qs8_rq16 *q, __m512i zp) {
  __m512i y;
  if (rq == TR_GEMM_REQUANT_DOUBLE) {
    const __m256i y0 = qs8_round_double8(_mm512_castsi512_si256(acc), q->s0);
    const __m256i y1 = qs8_round_double8(_mm512_extracti64x4_epi64(acc, 1), q->s1);
    y = _mm512_inserti64x4(_mm512_castsi256_si512(y0), y1, 1);
  } else {
    __m512i x = left ? _mm512_sllv_epi32(acc, q->left) : acc;
    const __m512i nudge = _mm512_set1_epi64(1ll << 30);
    const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, q->mult), nudge);
    const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), q->mult_odd), nudge);
    /* bits 31..62 of each product: to the low half (even lanes) or the high half (odd lanes) */
    const __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
    const __m512i remainder = _mm512_and_si512(h, q->mask);
    const __m512i threshold = _mm512_sub_epi32(q->half, _mm512_srai_epi32(h, 31));
    const __m512i shifted = _mm512_srav_epi32(h, q->right);
    y = _mm512_mask_sub_epi32(shifted, _mm512_cmpgt_epi32_mask(remainder, threshold), shifted,
                              _mm512_set1_epi32(-1));
  }
  return _mm512_cvtsepi32_epi8(_mm512_add_epi32(y, zp));
}

/* qs8_output16 (Q31) in fewer instructions, after qs8_rq_short: for x = 2 acc (no overflow),
 * the 64-bit x M + 2^31 + (2^(e-1) + zp 2^e) 2^32 holds h + 2^(e-1) + zp 2^e in its high half,
 * h = SRDHM(acc, M), so both lanes' results come out with one shuffle; RoundingDivideByPOT(h, e)
 * + zp is then (h + 2^(e-1) + zp 2^e - (h < 0)) >> e, where h < 0 is a comparison of acc. */
static inline __attribute__((always_inline)) __m128i qs8_output16_short(__m512i acc, const qs8_rq16 *q) {
  const __m512i x = _mm512_add_epi32(acc, acc);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, q->mult), q->nudge_even);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_shuffle_epi32(x, _MM_PERM_DDBB), q->mult_odd),
                                       q->nudge_odd);
  __m512i h = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_DDBB);
  h = _mm512_mask_sub_epi32(h, _mm512_cmpgt_epi32_mask(q->negative_below, acc), h, _mm512_set1_epi32(1));
  return _mm512_cvtsepi32_epi8(_mm512_srav_epi32(h, q->right));
}

/* The activation clamp on 16 int8 outputs (only when it is narrower than the int8 range). */
static inline __m128i qs8_clamp16(__m128i v, __m128i lo, __m128i hi) {
  return _mm_min_epi8(_mm_max_epi8(v, lo), hi);
}

static inline size_t qs8_tail_bytes(tr_gemm_qs8_requant rq, size_t nr) {
  return rq == TR_GEMM_REQUANT_DOUBLE ? nr * sizeof(double) : 4 * nr * sizeof(int32_t);
}

#endif
