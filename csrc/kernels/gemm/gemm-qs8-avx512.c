/* int8 GEMM / IGEMM, AVX-512BW (no VNNI): A and the weights are sign-extended to int16 and
 * vpmaddwd sums pairs of products into int32 lanes, exactly (no saturation). KR = 8: eight k of
 * one row of A, repeated in the four 128-bit lanes, meet eight k of four columns (one column per
 * lane), giving four partial sums per column; they are reduced once, after the k loop.
 *
 * Tile: 4 rows x 16 columns (16 zmm accumulators). A is read signed (a_xor = 0): the bias
 * already subtracts zero point * sum(w). Preconditions (gemm.h): mr in [1, MR], nc >= 1,
 * kc >= 1, ks >= 1. */
#include "kernels/gemm/gemm-qs8-avx512.h"

enum { NR = 16, KR = 8 };
enum { MAX_MR = 4 }; /* array bound: MR is a constant only after inlining (no VLA) */

/* Thirty-two int8 weights (eight k of four columns) sign-extended to int16. */
static inline __m512i widen32(const uint8_t *w) {
  return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)w));
}

/* aj holds 4 partial sums of column 4j + L in 128-bit lane L: the 16 column totals, in
 * column order. */
static inline __m512i reduce16(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
  const __m512i x = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
  const __m512i y = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
  /* lane L, position p: the total of column 4p + L */
  const __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(x, y), _mm512_unpackhi_epi64(x, y));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(order, s);
}

static inline __attribute__((always_inline)) void qs8_tile(
    const size_t MR, const int indirect, const tr_gemm_qs8_requant rq, size_t mr, size_t nc, size_t kc, size_t ks,
    const int8_t *a, size_t a_stride, const int8_t **ind, size_t a_offset, const int8_t *zero, const void *wv,
    int8_t *c, size_t c_stride, const tr_gemm_qs8_params *params) {
  const uint8_t *w = (const uint8_t *)wv;
  const __m512i vzp = _mm512_set1_epi32(params->output_zero_point);
  const __m128i vlo = _mm_set1_epi8((char)params->output_min), vhi = _mm_set1_epi8((char)params->output_max);
  const int clamp = params->output_min > -128 || params->output_max < 127;
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
    __m512i acc[MAX_MR][4];
    TR_GEMM_UNROLL(4)
    for (size_t r = 0; r < MR; r++) {
      acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm512_setzero_si512();
    }
    const __m512i bias = _mm512_loadu_si512(w);
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
        __m512i x[MAX_MR];
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          x[r] = _mm512_cvtepi8_epi16(_mm256_set1_epi64x(qs8_load_u64(ar[r] + k)));
        }
        const __m512i w0 = widen32(w), w1 = widen32(w + 32), w2 = widen32(w + 64), w3 = widen32(w + 96);
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          acc[r][0] = _mm512_add_epi32(acc[r][0], _mm512_madd_epi16(x[r], w0));
          acc[r][1] = _mm512_add_epi32(acc[r][1], _mm512_madd_epi16(x[r], w1));
          acc[r][2] = _mm512_add_epi32(acc[r][2], _mm512_madd_epi16(x[r], w2));
          acc[r][3] = _mm512_add_epi32(acc[r][3], _mm512_madd_epi16(x[r], w3));
        }
        w += NR * KR;
      }
      if (k < kc) {
        /* a partial last group: only kc - k bytes are read (zeros beyond) */
        __m512i x[MAX_MR];
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          x[r] = _mm512_cvtepi8_epi16(_mm256_set1_epi64x(qs8_load_partial(ar[r] + k, kc - k)));
        }
        const __m512i w0 = widen32(w), w1 = widen32(w + 32), w2 = widen32(w + 64), w3 = widen32(w + 96);
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          acc[r][0] = _mm512_add_epi32(acc[r][0], _mm512_madd_epi16(x[r], w0));
          acc[r][1] = _mm512_add_epi32(acc[r][1], _mm512_madd_epi16(x[r], w1));
          acc[r][2] = _mm512_add_epi32(acc[r][2], _mm512_madd_epi16(x[r], w2));
          acc[r][3] = _mm512_add_epi32(acc[r][3], _mm512_madd_epi16(x[r], w3));
        }
        w += NR * KR;
      }
    } while (--t != 0);
    qs8_rq16 q = qs8_rq_load(rq, w, NR, 0);
    w += qs8_tail_bytes(rq, NR);
    __m512i sum[MAX_MR];
    TR_GEMM_UNROLL(4)
    for (size_t r = 0; r < MR; r++) {
      sum[r] = _mm512_add_epi32(reduce16(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), bias);
      if (row_bias) sum[r] = _mm512_add_epi32(sum[r], _mm512_set1_epi32(row_bias[r < mr ? r : mr - 1]));
    }
    __m128i out[MAX_MR];
    if (rq == TR_GEMM_REQUANT_Q31 && params->acc_bounded && qs8_rq_short(&q, params->output_zero_point)) {
      TR_GEMM_UNROLL(4)
      for (size_t r = 0; r < MR; r++) out[r] = qs8_output16_short(sum[r], &q);
    } else if (rq == TR_GEMM_REQUANT_Q31 && qs8_rq_any_left(&q)) {
      TR_GEMM_UNROLL(4)
      for (size_t r = 0; r < MR; r++) out[r] = qs8_output16(rq, 1, sum[r], &q, vzp);
    } else {
      TR_GEMM_UNROLL(4)
      for (size_t r = 0; r < MR; r++) out[r] = qs8_output16(rq, 0, sum[r], &q, vzp);
    }
    if (clamp) {
      TR_GEMM_UNROLL(4)
      for (size_t r = 0; r < MR; r++) out[r] = qs8_clamp16(out[r], vlo, vhi);
    }
    if (nc >= NR) {
      TR_GEMM_UNROLL(4)
      for (size_t r = MR; r-- > 0;) {
        _mm_storeu_si128((__m128i *)cr[r], out[r]);
        cr[r] += NR;
      }
    } else {
      const __mmask16 m = qs8_tail_mask(nc);
      TR_GEMM_UNROLL(4)
      for (size_t r = MR; r-- > 0;) _mm_mask_storeu_epi8(cr[r], m, out[r]);
    }
    if (nc <= NR) return;
    nc -= NR;
  }
}

#define QS8_AVX512(MR)                                                                                          \
  void tr_gemm_qs8_##MR##x16c8__avx512(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,       \
                                       const void *w, int8_t *c, size_t c_stride,                               \
                                       const tr_gemm_qs8_params *params) {                                      \
    qs8_tile(MR, 0, TR_GEMM_REQUANT_Q31, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);          \
  }                                                                                                             \
  void tr_gemm_qs8_dq_##MR##x16c8__avx512(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,    \
                                          const void *w, int8_t *c, size_t c_stride,                            \
                                          const tr_gemm_qs8_params *params) {                                   \
    qs8_tile(MR, 0, TR_GEMM_REQUANT_DOUBLE, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);       \
  }                                                                                                             \
  void tr_igemm_qs8_##MR##x16c8__avx512(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a,           \
                                        const void *w, int8_t *c, size_t c_stride, size_t a_offset,             \
                                        const int8_t *zero, const tr_gemm_qs8_params *params) {                 \
    qs8_tile(MR, 1, TR_GEMM_REQUANT_Q31, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params);      \
  }

QS8_AVX512(4)
QS8_AVX512(1)
