/* Float reductions for AVX-512F (see reduce.h). Columns: rows in groups of 8, 32 columns per
 * step, then 16, then a masked tail, sharing one index. Rows: four accumulators of 16 lanes,
 * then one, then a masked tail, combined at the end. */
#include <assert.h>
#include <float.h>
#include <immintrin.h>

#include "kernels/reduce/reduce.h"

static inline __mmask16 tail_mask(size_t n) { return (__mmask16)((1u << n) - 1); }

/* OP(value, acc): max_ps(v, a) is v > a ? v : a, the reference's comparison (NaN v keeps a). */
#define ADD(v, a) _mm512_add_ps(a, v)
#define MAX(v, a) _mm512_max_ps(v, a)
#define MIN(v, a) _mm512_min_ps(v, a)
#define IDENT(a) (a)

/* Rows in groups of GROUP, every column of a group before the next: GROUP streams through the
 * input, and y (in L1) holds the running results between groups. More rows per group would
 * alias in L1 when the row stride is a multiple of 4 KiB (the 2048 channels of ResNet-50). */
#define GROUP 8

#define COLS_BODY(INIT, OP, FINISH)                                                \
  assert(rows >= 1 && cols >= 1);                                                  \
  const __m512 vinit = _mm512_set1_ps(INIT);                                       \
  for (size_t i = 0; i < rows; i += GROUP) {                                       \
    const size_t g = rows - i < GROUP ? rows - i : GROUP;                          \
    const float *xg = x + i * stride;                                              \
    const int last = i + GROUP >= rows;                                            \
    size_t j = 0;                                                                  \
    for (; j + 32 <= cols; j += 32) {                                              \
      __m512 a0 = i ? _mm512_loadu_ps(y + j) : vinit;                              \
      __m512 a1 = i ? _mm512_loadu_ps(y + j + 16) : vinit;                         \
      const float *p = xg + j;                                                     \
      for (size_t k = 0; k < g; k++, p += stride) {                                \
        a0 = OP(_mm512_loadu_ps(p), a0);                                           \
        a1 = OP(_mm512_loadu_ps(p + 16), a1);                                      \
      }                                                                            \
      _mm512_storeu_ps(y + j, last ? FINISH(a0) : a0);                             \
      _mm512_storeu_ps(y + j + 16, last ? FINISH(a1) : a1);                        \
    }                                                                              \
    for (; j + 16 <= cols; j += 16) {                                              \
      __m512 a0 = i ? _mm512_loadu_ps(y + j) : vinit;                              \
      const float *p = xg + j;                                                     \
      for (size_t k = 0; k < g; k++, p += stride) a0 = OP(_mm512_loadu_ps(p), a0); \
      _mm512_storeu_ps(y + j, last ? FINISH(a0) : a0);                             \
    }                                                                              \
    if (j < cols) {                                                                \
      const __mmask16 m = tail_mask(cols - j);                                     \
      __m512 a0 = i ? _mm512_maskz_loadu_ps(m, y + j) : vinit;                     \
      const float *p = xg + j;                                                     \
      for (size_t k = 0; k < g; k++, p += stride)                                  \
        a0 = OP(_mm512_maskz_loadu_ps(m, p), a0);                                  \
      _mm512_mask_storeu_ps(y + j, m, last ? FINISH(a0) : a0);                     \
    }                                                                              \
  }

void tr_reduce_sum_cols_f32__avx512(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(0.0f, ADD, IDENT)
}

void tr_reduce_mean_cols_f32__avx512(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  /* a division by the count, as the reference */
  const __m512 vcount = _mm512_set1_ps((float)rows);
#define DIVIDE(a) _mm512_div_ps(a, vcount)
  COLS_BODY(0.0f, ADD, DIVIDE)
#undef DIVIDE
}

void tr_reduce_max_cols_f32__avx512(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(-FLT_MAX, MAX, IDENT)
}

void tr_reduce_min_cols_f32__avx512(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(FLT_MAX, MIN, IDENT)
}

/* The tail's masked-off lanes load INIT, the identity of OP. */
#define ROWS_BODY(INIT, OP, HREDUCE, FINISH)                                            \
  assert(rows >= 1 && cols >= 1);                                                       \
  const __m512 vinit = _mm512_set1_ps(INIT);                                            \
  for (size_t i = 0; i < rows; i++, x += stride) {                                      \
    __m512 a0 = vinit, a1 = vinit, a2 = vinit, a3 = vinit;                              \
    size_t j = 0;                                                                       \
    for (; j + 64 <= cols; j += 64) {                                                   \
      a0 = OP(_mm512_loadu_ps(x + j), a0);                                              \
      a1 = OP(_mm512_loadu_ps(x + j + 16), a1);                                         \
      a2 = OP(_mm512_loadu_ps(x + j + 32), a2);                                         \
      a3 = OP(_mm512_loadu_ps(x + j + 48), a3);                                         \
    }                                                                                   \
    for (; j + 16 <= cols; j += 16) a0 = OP(_mm512_loadu_ps(x + j), a0);                \
    if (j < cols) a1 = OP(_mm512_mask_loadu_ps(vinit, tail_mask(cols - j), x + j), a1); \
    y[i] = FINISH(HREDUCE(OP(OP(a0, a1), OP(a2, a3))));                                 \
  }

void tr_reduce_sum_rows_f32__avx512(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(0.0f, ADD, _mm512_reduce_add_ps, IDENT)
}

void tr_reduce_mean_rows_f32__avx512(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  const float count = (float)cols;
#define DIVIDE(a) ((a) / count)
  ROWS_BODY(0.0f, ADD, _mm512_reduce_add_ps, DIVIDE)
#undef DIVIDE
}

void tr_reduce_max_rows_f32__avx512(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(-FLT_MAX, MAX, _mm512_reduce_max_ps, IDENT)
}

void tr_reduce_min_rows_f32__avx512(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(FLT_MAX, MIN, _mm512_reduce_min_ps, IDENT)
}

void tr_l2norm_f32__avx512(size_t rows, size_t cols, const float *x, float *y) {
  for (size_t i = 0; i < rows; i++, x += cols, y += cols) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 32 <= cols; j += 32) {
      const __m512 v0 = _mm512_loadu_ps(x + j), v1 = _mm512_loadu_ps(x + j + 16);
      a0 = _mm512_fmadd_ps(v0, v0, a0);
      a1 = _mm512_fmadd_ps(v1, v1, a1);
    }
    for (; j + 16 <= cols; j += 16) {
      const __m512 v = _mm512_loadu_ps(x + j);
      a0 = _mm512_fmadd_ps(v, v, a0);
    }
    if (j < cols) {
      const __m512 v = _mm512_maskz_loadu_ps(tail_mask(cols - j), x + j);
      a1 = _mm512_fmadd_ps(v, v, a1);
    }
    float norm = __builtin_sqrtf(_mm512_reduce_add_ps(_mm512_add_ps(a0, a1)));
    if (norm < 1e-6f) norm = 1e-6f;
    /* a division, as the reference */
    const __m512 vnorm = _mm512_set1_ps(norm);
    for (j = 0; j + 16 <= cols; j += 16) _mm512_storeu_ps(y + j, _mm512_div_ps(_mm512_loadu_ps(x + j), vnorm));
    if (j < cols) {
      const __mmask16 m = tail_mask(cols - j);
      _mm512_mask_storeu_ps(y + j, m, _mm512_div_ps(_mm512_maskz_loadu_ps(m, x + j), vnorm));
    }
  }
}
