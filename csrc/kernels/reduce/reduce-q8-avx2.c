/* Exact 8-bit sums for AVX2 (see reduce.h). Columns: rows in groups of 8 to 32 summed in 16 bits,
 * 32 columns per step, then 16, then a scalar tail. Rows: SAD against zero sums 8 unsigned
 * bytes into each 64-bit lane (int8 is biased by 128 first and the bias taken off at the end),
 * then a scalar tail. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/reduce/reduce.h"
#include "kernels/requant/requant-avx2.h"
#include "model/quant.h"

/* Rows in groups, every column of a group before the next (as the float kernels): 16-bit sums
 * of a group's bytes (at most 32 * 255), widened and added into the int32 sums in y. Narrow
 * rows take groups of up to 32 (fewer widenings); a group spans at most 16 KiB when it can, so
 * that its rows do not alias in L1. */
static inline size_t group_rows(size_t stride) {
  const size_t g = 16384 / (stride ? stride : 1);
  return g < 8 ? 8 : (g > 32 ? 32 : g);
}

/* y[0..8) (+)= v; the first group stores */
static inline void acc8(int32_t *y, __m256i v, size_t first) {
  if (!first) v = _mm256_add_epi32(v, _mm256_loadu_si256((const __m256i *)y));
  _mm256_storeu_si256((__m256i *)y, v);
}

static inline __m256i lo32(__m256i s) { return _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s)); }
static inline __m256i hi32(__m256i s) { return _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s, 1)); }

/* Two rows per step into two sets of 16-bit sums (the add chains, not the loads, would bound a
 * narrow block otherwise); LOAD(p) gives one row's 16 columns from p. */
#define GROUP_SUM(LOAD, s0, t0)                                                            \
  {                                                                                        \
    size_t k = 0;                                                                          \
    for (; k + 2 <= g; k += 2, p += 2 * stride) {                                          \
      s0 = _mm256_add_epi16(s0, LOAD(p));                                                  \
      t0 = _mm256_add_epi16(t0, LOAD(p + stride));                                         \
    }                                                                                      \
    if (k < g) s0 = _mm256_add_epi16(s0, LOAD(p));                                         \
    s0 = _mm256_add_epi16(s0, t0);                                                         \
  }

#define SUM_COLS(NAME, T, WIDEN)                                                           \
  void NAME(size_t rows, size_t cols, size_t stride, const void *input, int32_t *y) {      \
    assert(rows >= 1 && cols >= 1);                                                        \
    const T *x = input;                                                                    \
    const size_t group = group_rows(stride);                                               \
    for (size_t i = 0; i < rows; i += group) {                                             \
      const size_t g = rows - i < group ? rows - i : group;                                \
      const T *xg = x + i * stride;                                                        \
      size_t j = 0;                                                                        \
      for (; j + 32 <= cols; j += 32) {                                                    \
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, t0 = s0, t1 = s0;                    \
        const T *p = xg + j;                                                               \
        GROUP_SUM(LOAD16, s0, t0)                                                          \
        p = xg + j + 16;                                                                   \
        GROUP_SUM(LOAD16, s1, t1)                                                          \
        acc8(y + j, lo32(s0), i == 0);                                                     \
        acc8(y + j + 8, hi32(s0), i == 0);                                                 \
        acc8(y + j + 16, lo32(s1), i == 0);                                                \
        acc8(y + j + 24, hi32(s1), i == 0);                                                \
      }                                                                                    \
      for (; j + 16 <= cols; j += 16) {                                                    \
        __m256i s0 = _mm256_setzero_si256(), t0 = s0;                                      \
        const T *p = xg + j;                                                               \
        GROUP_SUM(LOAD16, s0, t0)                                                          \
        acc8(y + j, lo32(s0), i == 0);                                                     \
        acc8(y + j + 8, hi32(s0), i == 0);                                                 \
      }                                                                                    \
      if (j < cols) {                                                                      \
        if (i == 0)                                                                        \
          for (size_t c = j; c < cols; c++) y[c] = 0;                                      \
        const T *p = xg;                                                                   \
        for (size_t k = 0; k < g; k++, p += stride)                                        \
          for (size_t c = j; c < cols; c++) y[c] += p[c];                                  \
      }                                                                                    \
    }                                                                                      \
  }

#define LOAD16(q) WIDEN(_mm_loadu_si128((const __m128i *)(q)))
#define WIDEN _mm256_cvtepi8_epi16
SUM_COLS(tr_reduce_sum_cols_s8__avx2, int8_t, WIDEN)
#undef WIDEN
#define WIDEN _mm256_cvtepu8_epi16
SUM_COLS(tr_reduce_sum_cols_u8__avx2, uint8_t, WIDEN)
#undef WIDEN
#undef LOAD16

/* BIAS: 0x80 for int8 (x ^ 0x80 = x + 128 as unsigned), 0 for uint8. */
#define SUM_ROWS(NAME, T, BIAS)                                                                          \
  void NAME(size_t rows, size_t cols, size_t stride, const void *input, int32_t *y) {                    \
    assert(rows >= 1 && cols >= 1);                                                                      \
    const T *x = input;                                                                                  \
    const __m256i vbias = _mm256_set1_epi8((char)(BIAS)), zero = _mm256_setzero_si256();                 \
    for (size_t i = 0; i < rows; i++, x += stride) {                                                     \
      __m256i a0 = zero, a1 = zero;                                                                      \
      size_t j = 0;                                                                                      \
      for (; j + 64 <= cols; j += 64) {                                                                  \
        const __m256i v0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + j)), vbias);        \
        const __m256i v1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + j + 32)), vbias);   \
        a0 = _mm256_add_epi64(a0, _mm256_sad_epu8(v0, zero));                                            \
        a1 = _mm256_add_epi64(a1, _mm256_sad_epu8(v1, zero));                                            \
      }                                                                                                  \
      for (; j + 32 <= cols; j += 32) {                                                                  \
        const __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + j)), vbias);         \
        a0 = _mm256_add_epi64(a0, _mm256_sad_epu8(v, zero));                                             \
      }                                                                                                  \
      a0 = _mm256_add_epi64(a0, a1);                                                                     \
      const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(a0), _mm256_extracti128_si256(a0, 1));     \
      long long s = _mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1) - (long long)(BIAS) * (long long)j; \
      for (; j < cols; j++) s += x[j];                                                                   \
      y[i] = (int32_t)s;                                                                                 \
    }                                                                                                    \
  }

SUM_ROWS(tr_reduce_sum_rows_s8__avx2, int8_t, 0x80)
SUM_ROWS(tr_reduce_sum_rows_u8__avx2, uint8_t, 0)

/* Sums to 8-bit outputs, 8 lanes at a time with the requant helper (quant.h bit for bit), then
 * a scalar tail. PACK narrows the clamped int16 values to bytes. */
#define REQUANT(NAME, T, PACK)                                                                           \
  void NAME(size_t n, const int32_t *sums, void *output, const tr_reduce_q8_params *p) {                 \
    assert(p->shift >= -31 && p->shift <= 30);                                                           \
    T *y = output;                                                                                       \
    const int32_t right = p->shift > 0 ? 0 : -p->shift;                                                  \
    const __m256i vbias = _mm256_set1_epi32(p->bias), vmult = _mm256_set1_epi32(p->multiplier);          \
    const __m256i vleft = _mm256_set1_epi32(p->shift > 0 ? p->shift : 0);                                \
    const __m256i vright = _mm256_set1_epi32(right);                                                     \
    const __m256i vmask = _mm256_set1_epi32((int32_t)((1ull << right) - 1));                             \
    const __m256i vzp = _mm256_set1_epi32(p->zero_point);                                                \
    const __m256i vmin = _mm256_set1_epi32(p->min), vmax = _mm256_set1_epi32(p->max);                    \
    size_t i = 0;                                                                                        \
    for (; i + 8 <= n; i += 8) {                                                                         \
      __m256i v = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(sums + i)), vbias);              \
      v = _mm256_add_epi32(tr_requant_q31_avx2(v, vmult, vleft, vright, vmask), vzp);                    \
      v = _mm256_min_epi32(_mm256_max_epi32(v, vmin), vmax);                                             \
      const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));      \
      _mm_storel_epi64((__m128i *)(y + i), PACK(w, w));                                                  \
    }                                                                                                    \
    for (; i < n; i++) {                                                                                 \
      const int32_t x = (int32_t)((uint32_t)sums[i] + (uint32_t)p->bias);                                \
      const int32_t v = tr_multiply_by_quantized_multiplier(x, p->multiplier, p->shift) + p->zero_point; \
      y[i] = (T)(v < p->min ? p->min : (v > p->max ? p->max : v));                                       \
    }                                                                                                    \
  }

REQUANT(tr_reduce_requant_s8__avx2, int8_t, _mm_packs_epi16)
REQUANT(tr_reduce_requant_u8__avx2, uint8_t, _mm_packus_epi16)
