/* int8 GEMM / IGEMM, AVX2: A and the weights are sign-extended to int16 and vpmaddwd sums pairs
 * of products into int32 lanes, exactly (vpmaddubsw would saturate). KR = 8: eight k of one row
 * of A, repeated in both 128-bit lanes, meet eight k of two columns (one per lane); the four
 * partial sums per column are reduced once, after the k loop.
 *
 * Tile: 3 rows x 8 columns (12 ymm accumulators). A is read signed (a_xor = 0): the bias already
 * subtracts zero point * sum(w). Preconditions (gemm.h): mr in [1, MR], nc >= 1, kc >= 1,
 * ks >= 1. */
#include <immintrin.h>
#include <string.h>

#include "kernels/gemm/gemm.h"
#include "kernels/requant/requant-avx2.h"

enum { NR = 8, KR = 8 };
enum { MAX_MR = 4 }; /* array bound: MR is a constant only after inlining (no VLA) */

static inline int64_t load_u64(const int8_t *p) {
  int64_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

/* The first n (< 8) bytes at p, zero-extended: k tails never read past the end of a row. */
static inline int64_t load_partial(const int8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v |= (uint64_t)(uint8_t)p[i] << (8 * i);
  return (int64_t)v;
}

/* Sixteen int8 weights (eight k of two columns) sign-extended to int16. */
static inline __m256i widen16(const uint8_t *w) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w));
}

/* aj holds 4 partial sums of column 2j in its low lane and of column 2j + 1 in its high
 * lane: the 8 column totals, in column order. */
static inline __m256i reduce8(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i h01 = _mm256_hadd_epi32(a0, a1); /* lanes: 0 0 2 2 | 1 1 3 3 */
  const __m256i h23 = _mm256_hadd_epi32(a2, a3); /*        4 4 6 6 | 5 5 7 7 */
  const __m256i h = _mm256_hadd_epi32(h01, h23);         /*        0 2 4 6 | 1 3 5 7 */
  return _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* round(x * scale) in double, half away from zero, saturated to int32, for 4 lanes. */
static inline __m128i round_double4(__m128i x, __m256d scale) {
  const __m256d d = _mm256_mul_pd(_mm256_cvtepi32_pd(x), scale);
  __m256d t = _mm256_round_pd(d, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256d sign = _mm256_set1_pd(-0.0);
  const __m256d up = _mm256_cmp_pd(_mm256_andnot_pd(sign, _mm256_sub_pd(d, t)), _mm256_set1_pd(0.5), _CMP_GE_OQ);
  const __m256d one = _mm256_or_pd(_mm256_and_pd(d, sign), _mm256_set1_pd(1.0));
  t = _mm256_add_pd(t, _mm256_and_pd(up, one));
  t = _mm256_max_pd(_mm256_min_pd(t, _mm256_set1_pd(2147483647.0)), _mm256_set1_pd(-2147483648.0));
  return _mm256_cvttpd_epi32(t);
}

static inline __attribute__((always_inline)) void qs8_tile(
    const size_t MR, const int indirect, const tr_gemm_qs8_requant rq, size_t mr, size_t nc, size_t kc, size_t ks,
    const int8_t *a, size_t a_stride, const int8_t **ind, size_t a_offset, const int8_t *zero, const void *wv,
    int8_t *c, size_t c_stride, const tr_gemm_qs8_params *params) {
  const uint8_t *w = (const uint8_t *)wv;
  const __m256i vzp = _mm256_set1_epi32(params->output_zero_point);
  const __m256i vlo = _mm256_set1_epi32(params->output_min), vhi = _mm256_set1_epi32(params->output_max);
  const int32_t *row_bias = indirect ? 0 : params->row_bias;
  int8_t *cr[MAX_MR];
  const int8_t *ar[MAX_MR];
  TR_GEMM_UNROLL(4)
  for (size_t r = 0; r < MR; r++) {
    const size_t rr = r < mr ? r : mr - 1;
    cr[r] = c + rr * c_stride;
    if (!indirect) ar[r] = a + rr * a_stride;
  }
  for (;;) {
    __m256i acc[MAX_MR][4];
    TR_GEMM_UNROLL(4)
    for (size_t r = 0; r < MR; r++) {
      acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm256_setzero_si256();
    }
    const __m256i bias = _mm256_loadu_si256((const __m256i *)w);
    w += NR * sizeof(int32_t);
    const int8_t **ip = ind;
    size_t t = ks;
    do {
      if (indirect) {
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          const int8_t *p = ip[r];
          ar[r] = p == zero ? p : (const int8_t *)((const char *)p + a_offset);
        }
        ip += MR;
      }
      size_t k = 0;
      for (; k + KR <= kc; k += KR) {
        __m256i x[MAX_MR];
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          x[r] = _mm256_cvtepi8_epi16(_mm_set1_epi64x(load_u64(ar[r] + k)));
        }
        const __m256i w0 = widen16(w), w1 = widen16(w + 16), w2 = widen16(w + 32), w3 = widen16(w + 48);
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x[r], w0));
          acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x[r], w1));
          acc[r][2] = _mm256_add_epi32(acc[r][2], _mm256_madd_epi16(x[r], w2));
          acc[r][3] = _mm256_add_epi32(acc[r][3], _mm256_madd_epi16(x[r], w3));
        }
        w += NR * KR;
      }
      if (k < kc) {
        /* a partial last group: only kc - k bytes are read (zeros beyond) */
        __m256i x[MAX_MR];
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          x[r] = _mm256_cvtepi8_epi16(_mm_set1_epi64x(load_partial(ar[r] + k, kc - k)));
        }
        const __m256i w0 = widen16(w), w1 = widen16(w + 16), w2 = widen16(w + 32), w3 = widen16(w + 48);
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x[r], w0));
          acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x[r], w1));
          acc[r][2] = _mm256_add_epi32(acc[r][2], _mm256_madd_epi16(x[r], w2));
          acc[r][3] = _mm256_add_epi32(acc[r][3], _mm256_madd_epi16(x[r], w3));
        }
        w += NR * KR;
      }
    } while (--t != 0);
    __m256i m = _mm256_setzero_si256(), lsh = m, rsh = m, mask = m;
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    if (rq == TR_GEMM_REQUANT_DOUBLE) {
      s0 = _mm256_loadu_pd((const double *)w);
      s1 = _mm256_loadu_pd((const double *)w + 4);
      w += NR * sizeof(double);
    } else {
      m = _mm256_loadu_si256((const __m256i *)w);
      lsh = _mm256_loadu_si256((const __m256i *)w + 1);
      rsh = _mm256_loadu_si256((const __m256i *)w + 2);
      mask = _mm256_loadu_si256((const __m256i *)w + 3);
      w += 4 * NR * sizeof(int32_t);
    }
    int64_t out[MAX_MR];
    TR_GEMM_UNROLL(4)
    for (size_t r = 0; r < MR; r++) {
      __m256i y = _mm256_add_epi32(reduce8(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), bias);
      if (row_bias) y = _mm256_add_epi32(y, _mm256_set1_epi32(row_bias[r < mr ? r : mr - 1]));
      if (rq == TR_GEMM_REQUANT_DOUBLE) {
        const __m128i y0 = round_double4(_mm256_castsi256_si128(y), s0);
        const __m128i y1 = round_double4(_mm256_extracti128_si256(y, 1), s1);
        y = _mm256_inserti128_si256(_mm256_castsi128_si256(y0), y1, 1);
      } else {
        y = tr_requant_q31_avx2(y, m, lsh, rsh, mask);
      }
      y = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(y, vzp), vlo), vhi);
      const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
      out[r] = _mm_cvtsi128_si64(_mm_packs_epi16(h, h));
    }
    const size_t n = nc < NR ? nc : NR;
    TR_GEMM_UNROLL(4)
    for (size_t r = MR; r-- > 0;) {
      if (n == NR) memcpy(cr[r], &out[r], NR);
      else memcpy(cr[r], &out[r], n);
      cr[r] += NR;
    }
    if (nc <= NR) return;
    nc -= NR;
  }
}

#define QS8_AVX2(MR)                                                                                          \
  void tr_gemm_qs8_##MR##x8c8__avx2(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,        \
                                    const void *w, int8_t *c, size_t c_stride,                                \
                                    const tr_gemm_qs8_params *params) {                                       \
    qs8_tile(MR, 0, TR_GEMM_REQUANT_Q31, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);        \
  }                                                                                                           \
  void tr_gemm_qs8_dq_##MR##x8c8__avx2(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,     \
                                       const void *w, int8_t *c, size_t c_stride,                             \
                                       const tr_gemm_qs8_params *params) {                                    \
    qs8_tile(MR, 0, TR_GEMM_REQUANT_DOUBLE, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);     \
  }                                                                                                           \
  void tr_igemm_qs8_##MR##x8c8__avx2(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a,            \
                                     const void *w, int8_t *c, size_t c_stride, size_t a_offset,              \
                                     const int8_t *zero, const tr_gemm_qs8_params *params) {                  \
    qs8_tile(MR, 1, TR_GEMM_REQUANT_Q31, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params);    \
  }

QS8_AVX2(3)
QS8_AVX2(1)
