/* Exact 8-bit sums for AVX-512 F + BW + VL (see reduce.h). Columns: rows in groups of 8 to 32
 * summed in 16 bits, 64 columns per step, then 32, then a masked tail. Rows: SAD against
 * zero sums 8 unsigned bytes into each 64-bit lane (int8 is biased by 128 first and the bias
 * taken off at the end). */
#include <assert.h>
#include <immintrin.h>

#include "kernels/reduce/reduce.h"
#include "kernels/requant/requant-avx512.h"

static inline __mmask16 mask16(size_t n) { return (__mmask16)((1u << n) - 1); }
static inline __mmask32 mask32(size_t n) { return (__mmask32)((1u << n) - 1); }
static inline __mmask64 mask64(size_t n) { return ((__mmask64)1 << n) - 1; }

/* Rows in groups, every column of a group before the next (as the float kernels): 16-bit sums
 * of a group's bytes (at most 32 * 255), widened and added into the int32 sums in y. Narrow
 * rows take groups of up to 32 (fewer widenings); a group spans at most 16 KiB when it can, so
 * that its rows do not alias in L1. */
static inline size_t group_rows(size_t stride) {
  const size_t g = 16384 / (stride ? stride : 1);
  return g < 8 ? 8 : (g > 32 ? 32 : g);
}

/* y[0..16) (+)= v, masked to m; the first group stores */
static inline void acc16(int32_t *y, __mmask16 m, __m512i v, size_t first) {
  if (!first) v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(m, y));
  _mm512_mask_storeu_epi32(y, m, v);
}

static inline __m512i lo32(__m512i s) { return _mm512_cvtepi16_epi32(_mm512_castsi512_si256(s)); }
static inline __m512i hi32(__m512i s) { return _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(s, 1)); }

/* Two rows per step into two sets of 16-bit sums (the add chains, not the loads, would bound a
 * narrow block otherwise); LOAD(p) gives one row's 32 columns from p. */
#define GROUP_SUM(LOAD, s0, t0)                                                            \
  {                                                                                        \
    size_t k = 0;                                                                          \
    for (; k + 2 <= g; k += 2, p += 2 * stride) {                                          \
      s0 = _mm512_add_epi16(s0, LOAD(p));                                                  \
      t0 = _mm512_add_epi16(t0, LOAD(p + stride));                                         \
    }                                                                                      \
    if (k < g) s0 = _mm512_add_epi16(s0, LOAD(p));                                         \
    s0 = _mm512_add_epi16(s0, t0);                                                         \
  }

#define SUM_COLS(NAME, T, WIDEN)                                                           \
  void NAME(size_t rows, size_t cols, size_t stride, const void *input, int32_t *y) {      \
    assert(rows >= 1 && cols >= 1);                                                        \
    const T *x = input;                                                                    \
    const __mmask16 all = 0xFFFF;                                                          \
    const size_t group = group_rows(stride);                                               \
    for (size_t i = 0; i < rows; i += group) {                                             \
      const size_t g = rows - i < group ? rows - i : group;                                \
      const T *xg = x + i * stride;                                                        \
      size_t j = 0;                                                                        \
      for (; j + 64 <= cols; j += 64) {                                                    \
        __m512i s0 = _mm512_setzero_si512(), s1 = s0, t0 = s0, t1 = s0;                    \
        const T *p = xg + j;                                                               \
        GROUP_SUM(LOAD2, s0, t0)                                                           \
        p = xg + j + 32;                                                                   \
        GROUP_SUM(LOAD2, s1, t1)                                                           \
        acc16(y + j, all, lo32(s0), i == 0);                                               \
        acc16(y + j + 16, all, hi32(s0), i == 0);                                          \
        acc16(y + j + 32, all, lo32(s1), i == 0);                                          \
        acc16(y + j + 48, all, hi32(s1), i == 0);                                          \
      }                                                                                    \
      for (; j + 32 <= cols; j += 32) {                                                    \
        __m512i s0 = _mm512_setzero_si512(), t0 = s0;                                      \
        const T *p = xg + j;                                                               \
        GROUP_SUM(LOAD2, s0, t0)                                                           \
        acc16(y + j, all, lo32(s0), i == 0);                                               \
        acc16(y + j + 16, all, hi32(s0), i == 0);                                          \
      }                                                                                    \
      if (j < cols) {                                                                      \
        const size_t n = cols - j;                                                         \
        const __mmask32 m = mask32(n);                                                     \
        __m512i s0 = _mm512_setzero_si512(), t0 = s0;                                      \
        const T *p = xg + j;                                                               \
        GROUP_SUM(LOAD_TAIL, s0, t0)                                                       \
        acc16(y + j, mask16(n < 16 ? n : 16), lo32(s0), i == 0);                           \
        if (n > 16) acc16(y + j + 16, mask16(n - 16), hi32(s0), i == 0);                   \
      }                                                                                    \
    }                                                                                      \
  }

#define LOAD2(q) WIDEN(_mm256_loadu_si256((const __m256i *)(q)))
#define LOAD_TAIL(q) WIDEN(_mm256_maskz_loadu_epi8(m, q))
#define WIDEN _mm512_cvtepi8_epi16
SUM_COLS(tr_reduce_sum_cols_s8__avx512, int8_t, WIDEN)
#undef WIDEN
#define WIDEN _mm512_cvtepu8_epi16
SUM_COLS(tr_reduce_sum_cols_u8__avx512, uint8_t, WIDEN)
#undef WIDEN
#undef LOAD2
#undef LOAD_TAIL

/* BIAS: 0x80 for int8 (x ^ 0x80 = x + 128 as unsigned), 0 for uint8. */
#define SUM_ROWS(NAME, BIAS)                                                                                    \
  void NAME(size_t rows, size_t cols, size_t stride, const void *input, int32_t *y) {                           \
    assert(rows >= 1 && cols >= 1);                                                                             \
    const uint8_t *x = input;                                                                                   \
    const __m512i vbias = _mm512_set1_epi8((char)(BIAS)), zero = _mm512_setzero_si512();                        \
    for (size_t i = 0; i < rows; i++, x += stride) {                                                            \
      __m512i a0 = zero, a1 = zero;                                                                             \
      size_t j = 0;                                                                                             \
      for (; j + 128 <= cols; j += 128) {                                                                       \
        const __m512i v0 = _mm512_xor_si512(_mm512_loadu_si512(x + j), vbias);                                  \
        const __m512i v1 = _mm512_xor_si512(_mm512_loadu_si512(x + j + 64), vbias);                             \
        a0 = _mm512_add_epi64(a0, _mm512_sad_epu8(v0, zero));                                                   \
        a1 = _mm512_add_epi64(a1, _mm512_sad_epu8(v1, zero));                                                   \
      }                                                                                                         \
      for (; j + 64 <= cols; j += 64) {                                                                         \
        const __m512i v = _mm512_xor_si512(_mm512_loadu_si512(x + j), vbias);                                   \
        a0 = _mm512_add_epi64(a0, _mm512_sad_epu8(v, zero));                                                    \
      }                                                                                                         \
      if (j < cols) {                                                                                           \
        const __mmask64 m = mask64(cols - j);                                                                   \
        /* the lanes past the row are 0 after the bias too */                                                   \
        const __m512i v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + j), vbias)); \
        a1 = _mm512_add_epi64(a1, _mm512_sad_epu8(v, zero));                                                    \
      }                                                                                                         \
      const long long s = _mm512_reduce_add_epi64(_mm512_add_epi64(a0, a1));                                    \
      y[i] = (int32_t)(s - (long long)(BIAS) * (long long)cols);                                                \
    }                                                                                                           \
  }

SUM_ROWS(tr_reduce_sum_rows_s8__avx512, 0x80)
SUM_ROWS(tr_reduce_sum_rows_u8__avx512, 0)

/* Sums to 8-bit outputs, 16 lanes at a time with the requant helper (quant.h bit for bit),
 * then a masked tail. */
#define REQUANT(NAME)                                                                           \
  void NAME(size_t n, const int32_t *sums, void *output, const tr_reduce_q8_params *p) {        \
    assert(p->shift >= -31 && p->shift <= 30);                                                  \
    uint8_t *y = output;                                                                        \
    const int32_t right = p->shift > 0 ? 0 : -p->shift;                                         \
    const __m512i vbias = _mm512_set1_epi32(p->bias), vmult = _mm512_set1_epi32(p->multiplier); \
    const __m512i vleft = _mm512_set1_epi32(p->shift > 0 ? p->shift : 0);                       \
    const __m512i vright = _mm512_set1_epi32(right);                                            \
    const __m512i vmask = _mm512_set1_epi32((int32_t)((1ull << right) - 1));                    \
    const __m512i vzp = _mm512_set1_epi32(p->zero_point);                                       \
    const __m512i vmin = _mm512_set1_epi32(p->min), vmax = _mm512_set1_epi32(p->max);           \
    size_t i = 0;                                                                               \
    for (; i < n; i += 16) {                                                                    \
      const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : mask16(n - i);                      \
      __m512i v = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, sums + i), vbias);               \
      v = _mm512_add_epi32(tr_requant_q31_avx512(v, vmult, vleft, vright, vmask), vzp);         \
      v = _mm512_min_epi32(_mm512_max_epi32(v, vmin), vmax);                                    \
      _mm512_mask_cvtepi32_storeu_epi8(y + i, m, v);                                            \
    }                                                                                           \
  }

REQUANT(tr_reduce_requant_s8__avx512)
REQUANT(tr_reduce_requant_u8__avx512)
