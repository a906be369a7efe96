/* The body of the 8-bit depthwise kernels for AVX-512, shared by dwconv-qs8-avx512.c (BW:
 * vpmaddwd then vpaddd) and dwconv-qs8-vnni.c (vpdpwssd does both). Include after defining
 * DW_PAIR_ACC(acc, pairs, weights) and DW_ISA (the name suffix).
 *
 * 32 channels per step, taps in pairs: each tap's 32 bytes widen to int16 (vpmovsxbw /
 * vpmovzxbw), two taps interleave (vpunpckl/hwd) and the pair multiplies its packed weight
 * pairs; an odd last tap pairs with zeros. The two accumulators hold channels in 4-channel runs
 * (TR_DW_SLOTS_UNPACK16), which vpackssdw puts back in order. Requantization is quant.h's, lane
 * for lane (requant-avx512.h); the tail is masked. Channel blocks are the outer loop, so a
 * block's weights and requantization constants are loaded once per row. Layout: channel tile 32,
 * group 2, extended. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/dwconv/dwconv.h"
#include "kernels/requant/requant-avx512.h"

#define CT 32

/* A full block's load widens straight from memory (one instruction); the tail's is masked. */
static inline __attribute__((always_inline)) __m512i load_taps(const void *p, __mmask32 m, int tail, int is_unsigned) {
  const __m256i b = tail ? _mm256_maskz_loadu_epi8(m, p) : _mm256_loadu_si256((const __m256i *)p);
  return is_unsigned ? _mm512_cvtepu8_epi16(b) : _mm512_cvtepi8_epi16(b);
}

/* One block of CT channels (the last one masked: `tail`) for every pixel of the row. */
static inline __attribute__((always_inline)) void dwconv_q8_block(
    size_t output_width, const size_t K, const void **in, size_t input_step, const char *w, char *o,
    size_t output_stride, size_t c, __mmask32 m, const int tail, __m512i vzp, __m512i vlo, __m512i vhi,
    const int is_unsigned, const int left_shifts) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i bias_lo = _mm512_loadu_si512(w), bias_hi = _mm512_loadu_si512(w + 64);
  const char *wk0 = w + CT * 4;
  /* multiplier, left_shift, right_shift, rounding_mask, multiplier_odd, rounding_half */
  const int32_t *q = (const int32_t *)(wk0 + ((K + 1) & ~(size_t)1) * CT * 2);
#define Q(i, half) _mm512_loadu_si512(q + (i) * CT + 16 * (half))
  const __m512i m0 = Q(0, 0), m1 = Q(0, 1), mo0 = Q(4, 0), mo1 = Q(4, 1), l0 = Q(1, 0), l1 = Q(1, 1);
  const __m512i r0 = Q(2, 0), r1 = Q(2, 1), k0 = Q(3, 0), k1 = Q(3, 1), h0 = Q(5, 0), h1 = Q(5, 1);
#undef Q
  for (size_t p = 0; p < output_width; p++, in += input_step, o += output_stride) {
    __m512i lo = bias_lo, hi = bias_hi;
    const char *wk = wk0;
    size_t k = 0;
    for (; k + 2 <= K; k += 2) {
      const __m512i x0 = load_taps((const char *)in[k] + c, m, tail, is_unsigned);
      const __m512i x1 = load_taps((const char *)in[k + 1] + c, m, tail, is_unsigned);
      lo = DW_PAIR_ACC(lo, _mm512_unpacklo_epi16(x0, x1), _mm512_loadu_si512(wk));
      hi = DW_PAIR_ACC(hi, _mm512_unpackhi_epi16(x0, x1), _mm512_loadu_si512(wk + 64));
      wk += CT * 4;
    }
    if (K & 1) {
      const __m512i x0 = load_taps((const char *)in[k] + c, m, tail, is_unsigned);
      lo = DW_PAIR_ACC(lo, _mm512_unpacklo_epi16(x0, zero), _mm512_loadu_si512(wk));
      hi = DW_PAIR_ACC(hi, _mm512_unpackhi_epi16(x0, zero), _mm512_loadu_si512(wk + 64));
    }
    lo = tr_requant_q31x_avx512(lo, m0, mo0, l0, r0, k0, h0, left_shifts);
    hi = tr_requant_q31x_avx512(hi, m1, mo1, l1, r1, k1, h1, left_shifts);
    __m512i v = _mm512_adds_epi16(_mm512_packs_epi32(lo, hi), vzp);
    v = _mm512_min_epi16(_mm512_max_epi16(v, vlo), vhi);
    if (tail) _mm256_mask_storeu_epi8(o, m, _mm512_cvtepi16_epi8(v));
    else _mm256_storeu_si256((__m256i *)o, _mm512_cvtepi16_epi8(v));
  }
}

static inline __attribute__((always_inline)) void dwconv_q8_avx512(
    size_t channels, size_t output_width, const size_t K, const void **input, size_t input_step,
    const void *weights, void *output, size_t output_stride, const tr_dwconv_qs8_params *params,
    const int is_unsigned, const int left_shifts) {
  assert(channels != 0 && output_width != 0 && K != 0);
  const size_t block = CT * 4 + ((K + 1) & ~(size_t)1) * CT * 2 + CT * 24;
  const __m512i vzp = _mm512_set1_epi16((int16_t)params->output_zero_point);
  const __m512i vlo = _mm512_set1_epi16((int16_t)params->output_min);
  const __m512i vhi = _mm512_set1_epi16((int16_t)params->output_max);
  /* Channel blocks outside, pixels inside: a block's weights and requantization constants stay
   * in registers for the whole row. */
  const char *w = (const char *)weights;
  size_t c = 0;
  for (; c + CT <= channels; c += CT, w += block)
    dwconv_q8_block(output_width, K, input, input_step, w, (char *)output + c, output_stride, c, 0xFFFFFFFFu, 0,
                    vzp, vlo, vhi, is_unsigned, left_shifts);
  if (c < channels)
    dwconv_q8_block(output_width, K, input, input_step, w, (char *)output + c, output_stride, c,
                    (__mmask32)((1u << (channels - c)) - 1), 1, vzp, vlo, vhi, is_unsigned, left_shifts);
}

#define DW_CAT2(a, b) a##b
#define DW_CAT(a, b) DW_CAT2(a, b)
#define DEFINE(NAME, KCONST, UNSIGNED)                                                                     \
  void DW_CAT(NAME, DW_ISA)(size_t channels, size_t output_width, size_t kernel_size, const void **input,   \
                            size_t input_step, const void *weights, void *output, size_t output_stride,    \
                            const tr_dwconv_qs8_params *params) {                                          \
    assert(KCONST == 0 || kernel_size == KCONST);                                                          \
    const size_t K = KCONST ? KCONST : kernel_size;                                                        \
    if (!params->no_left_shifts)                                                                            \
      dwconv_q8_avx512(channels, output_width, K, input, input_step, weights, output, output_stride, params, \
                       UNSIGNED, 1);                                                                       \
    else                                                                                                   \
      dwconv_q8_avx512(channels, output_width, K, input, input_step, weights, output, output_stride, params, \
                       UNSIGNED, 0);                                                                       \
  }

DEFINE(tr_dwconv_qs8_9p32c__, 9, 0)
DEFINE(tr_dwconv_qs8_25p32c__, 25, 0)
DEFINE(tr_dwconv_qs8_kp32c__, 0, 0)
DEFINE(tr_dwconv_qu8_kp32c__, 0, 1)
