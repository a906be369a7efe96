/* 8-bit depthwise kernels for AVX2: 16 channels per step, taps in pairs.
 *
 * As the AVX-512 kernels (dwconv-qs8-avx512.c) at half the width: each tap's 16 bytes widen
 * to int16, two taps interleave (vpunpckl/hwd) and vpmaddwd multiplies them by packed weight
 * pairs; an odd last tap pairs with zeros; vpackssdw restores the channel order. The tail
 * block reads and writes through a small buffer (AVX2 has no byte masks). Layout: channel
 * tile 16, group 2, TR_DW_SLOTS_UNPACK16, extended. */
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels/dwconv/dwconv.h"
#include "kernels/requant/requant-avx2.h"

#define CT 16

static inline __attribute__((always_inline)) __m256i widen(__m128i b, int is_unsigned) {
  return is_unsigned ? _mm256_cvtepu8_epi16(b) : _mm256_cvtepi8_epi16(b);
}

/* One block of CT channels at input[k] + c; `n` < CT channels through a buffer. */
static inline __attribute__((always_inline)) __m256i load_taps(const void *p, size_t n, int tail, int is_unsigned) {
  if (!tail) return widen(_mm_loadu_si128((const __m128i *)p), is_unsigned);
  uint8_t buf[CT] = {0};
  memcpy(buf, p, n);
  return widen(_mm_loadu_si128((const __m128i *)buf), is_unsigned);
}

static inline __attribute__((always_inline)) void block_q8(
    const size_t K, const void **input, size_t c, size_t n, int tail, const char *w, char *o,
    __m256i vzp, __m256i vlo, __m256i vhi, int is_unsigned, int left_shifts) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i lo = _mm256_loadu_si256((const __m256i *)w), hi = _mm256_loadu_si256((const __m256i *)(w + 32));
  const char *wk = w + CT * 4;
  size_t k = 0;
  for (; k + 2 <= K; k += 2) {
    const __m256i x0 = load_taps((const char *)input[k] + c, n, tail, is_unsigned);
    const __m256i x1 = load_taps((const char *)input[k + 1] + c, n, tail, is_unsigned);
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), _mm256_loadu_si256((const __m256i *)wk)));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1),
                                                _mm256_loadu_si256((const __m256i *)(wk + 32))));
    wk += CT * 4;
  }
  if (K & 1) {
    const __m256i x0 = load_taps((const char *)input[k] + c, n, tail, is_unsigned);
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, zero), _mm256_loadu_si256((const __m256i *)wk)));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, zero),
                                                _mm256_loadu_si256((const __m256i *)(wk + 32))));
    wk += CT * 4;
  }
  /* multiplier, left_shift, right_shift, rounding_mask, multiplier_odd, rounding_half */
  const __m256i *q = (const __m256i *)wk;
#define Q(i, half) _mm256_loadu_si256(q + 2 * (i) + (half))
  lo = tr_requant_q31x_avx2(lo, Q(0, 0), Q(4, 0), Q(1, 0), Q(2, 0), Q(3, 0), Q(5, 0), left_shifts);
  hi = tr_requant_q31x_avx2(hi, Q(0, 1), Q(4, 1), Q(1, 1), Q(2, 1), Q(3, 1), Q(5, 1), left_shifts);
#undef Q
  __m256i v = _mm256_adds_epi16(_mm256_packs_epi32(lo, hi), vzp);
  v = _mm256_min_epi16(_mm256_max_epi16(v, vlo), vhi);
  /* values are in [lo, hi], inside the 8-bit range: packing with either saturation is exact */
  const __m128i b = _mm_packs_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i bu = _mm_packus_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  if (!tail) {
    _mm_storeu_si128((__m128i *)o, is_unsigned ? bu : b);
  } else {
    uint8_t buf[CT];
    _mm_storeu_si128((__m128i *)buf, is_unsigned ? bu : b);
    memcpy(o, buf, n);
  }
}

static inline __attribute__((always_inline)) void dwconv_q8_avx2(
    size_t channels, size_t output_width, const size_t K, const void **input, size_t input_step,
    const void *weights, void *output, size_t output_stride, const tr_dwconv_qs8_params *params,
    const int is_unsigned, const int left_shifts) {
  assert(channels != 0 && output_width != 0 && K != 0);
  const size_t block = CT * 4 + ((K + 1) & ~(size_t)1) * CT * 2 + CT * 24;
  const __m256i vzp = _mm256_set1_epi16((int16_t)params->output_zero_point);
  const __m256i vlo = _mm256_set1_epi16((int16_t)params->output_min);
  const __m256i vhi = _mm256_set1_epi16((int16_t)params->output_max);
  do {
    const char *w = (const char *)weights;
    size_t c = 0;
    for (; c + CT <= channels; c += CT, w += block)
      block_q8(K, input, c, CT, 0, w, (char *)output + c, vzp, vlo, vhi, is_unsigned, left_shifts);
    if (c < channels)
      block_q8(K, input, c, channels - c, 1, w, (char *)output + c, vzp, vlo, vhi, is_unsigned, left_shifts);
    input += input_step;
    output = (char *)output + output_stride;
  } while (--output_width != 0);
}

#define DEFINE(NAME, KCONST, UNSIGNED)                                                                     \
  void NAME(size_t channels, size_t output_width, size_t kernel_size, const void **input, size_t input_step, \
            const void *weights, void *output, size_t output_stride, const tr_dwconv_qs8_params *params) {   \
    assert(KCONST == 0 || kernel_size == KCONST);                                                          \
    const size_t K = KCONST ? KCONST : kernel_size;                                                        \
    if (!params->no_left_shifts)                                                                            \
      dwconv_q8_avx2(channels, output_width, K, input, input_step, weights, output, output_stride, params,  \
                     UNSIGNED, 1);                                                                         \
    else                                                                                                   \
      dwconv_q8_avx2(channels, output_width, K, input, input_step, weights, output, output_stride, params,  \
                     UNSIGNED, 0);                                                                         \
  }

DEFINE(tr_dwconv_qs8_9p16c__avx2, 9, 0)
DEFINE(tr_dwconv_qs8_25p16c__avx2, 25, 0)
DEFINE(tr_dwconv_qs8_kp16c__avx2, 0, 0)
DEFINE(tr_dwconv_qu8_kp16c__avx2, 0, 1)
