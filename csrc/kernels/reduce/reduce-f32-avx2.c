/* Float reductions for AVX2 + FMA (see reduce.h). Columns: rows in groups of 8, 16 columns per
 * step, then 8, then a masked tail, sharing one index. Rows: four accumulators of 8 lanes, then
 * one, then a masked tail, combined at the end. */
#include <assert.h>
#include <float.h>
#include <immintrin.h>

#include "kernels/reduce/reduce.h"

/* lanes [0, n) on, for n in 1..7 */
static inline __m256i tail_mask(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* OP(value, acc): max_ps(v, a) is v > a ? v : a, the reference's comparison (NaN v keeps a). */
#define ADD(v, a) _mm256_add_ps(a, v)
#define MAX(v, a) _mm256_max_ps(v, a)
#define MIN(v, a) _mm256_min_ps(v, a)
#define IDENT(a) (a)

/* Rows in groups of GROUP, every column of a group before the next: GROUP streams through the
 * input, and y (in L1) holds the running results between groups. More rows per group would
 * alias in L1 when the row stride is a multiple of 4 KiB (the 2048 channels of ResNet-50). */
#define GROUP 8

#define COLS_BODY(INIT, OP, FINISH)                                                \
  assert(rows >= 1 && cols >= 1);                                                  \
  const __m256 vinit = _mm256_set1_ps(INIT);                                       \
  for (size_t i = 0; i < rows; i += GROUP) {                                       \
    const size_t g = rows - i < GROUP ? rows - i : GROUP;                          \
    const float *xg = x + i * stride;                                              \
    const int last = i + GROUP >= rows;                                            \
    size_t j = 0;                                                                  \
    for (; j + 16 <= cols; j += 16) {                                              \
      __m256 a0 = i ? _mm256_loadu_ps(y + j) : vinit;                              \
      __m256 a1 = i ? _mm256_loadu_ps(y + j + 8) : vinit;                          \
      const float *p = xg + j;                                                     \
      for (size_t k = 0; k < g; k++, p += stride) {                                \
        a0 = OP(_mm256_loadu_ps(p), a0);                                           \
        a1 = OP(_mm256_loadu_ps(p + 8), a1);                                       \
      }                                                                            \
      _mm256_storeu_ps(y + j, last ? FINISH(a0) : a0);                             \
      _mm256_storeu_ps(y + j + 8, last ? FINISH(a1) : a1);                         \
    }                                                                              \
    for (; j + 8 <= cols; j += 8) {                                                \
      __m256 a0 = i ? _mm256_loadu_ps(y + j) : vinit;                              \
      const float *p = xg + j;                                                     \
      for (size_t k = 0; k < g; k++, p += stride) a0 = OP(_mm256_loadu_ps(p), a0); \
      _mm256_storeu_ps(y + j, last ? FINISH(a0) : a0);                             \
    }                                                                              \
    if (j < cols) {                                                                \
      const __m256i m = tail_mask(cols - j);                                       \
      __m256 a0 = i ? _mm256_maskload_ps(y + j, m) : vinit;                        \
      const float *p = xg + j;                                                     \
      for (size_t k = 0; k < g; k++, p += stride)                                  \
        a0 = OP(_mm256_maskload_ps(p, m), a0);                                     \
      _mm256_maskstore_ps(y + j, m, last ? FINISH(a0) : a0);                       \
    }                                                                              \
  }

void tr_reduce_sum_cols_f32__avx2(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(0.0f, ADD, IDENT)
}

void tr_reduce_mean_cols_f32__avx2(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  /* a division by the count, as the reference */
  const __m256 vcount = _mm256_set1_ps((float)rows);
#define DIVIDE(a) _mm256_div_ps(a, vcount)
  COLS_BODY(0.0f, ADD, DIVIDE)
#undef DIVIDE
}

void tr_reduce_max_cols_f32__avx2(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(-FLT_MAX, MAX, IDENT)
}

void tr_reduce_min_cols_f32__avx2(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(FLT_MAX, MIN, IDENT)
}

static inline float hadd(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

static inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

static inline float hmin(__m256 v) {
  __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_min_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_min_ss(s, _mm_movehdup_ps(s)));
}

/* The tail's masked-off lanes take INIT, the identity of OP. */
#define ROWS_BODY(INIT, OP, HREDUCE, FINISH)                                                          \
  assert(rows >= 1 && cols >= 1);                                                                     \
  const __m256 vinit = _mm256_set1_ps(INIT);                                                          \
  for (size_t i = 0; i < rows; i++, x += stride) {                                                    \
    __m256 a0 = vinit, a1 = vinit, a2 = vinit, a3 = vinit;                                            \
    size_t j = 0;                                                                                     \
    for (; j + 32 <= cols; j += 32) {                                                                 \
      a0 = OP(_mm256_loadu_ps(x + j), a0);                                                            \
      a1 = OP(_mm256_loadu_ps(x + j + 8), a1);                                                        \
      a2 = OP(_mm256_loadu_ps(x + j + 16), a2);                                                       \
      a3 = OP(_mm256_loadu_ps(x + j + 24), a3);                                                       \
    }                                                                                                 \
    for (; j + 8 <= cols; j += 8) a0 = OP(_mm256_loadu_ps(x + j), a0);                                \
    if (j < cols) {                                                                                   \
      const __m256i m = tail_mask(cols - j);                                                          \
      const __m256 v = _mm256_blendv_ps(vinit, _mm256_maskload_ps(x + j, m), _mm256_castsi256_ps(m)); \
      a1 = OP(v, a1);                                                                                 \
    }                                                                                                 \
    y[i] = FINISH(HREDUCE(OP(OP(a0, a1), OP(a2, a3))));                                               \
  }

void tr_reduce_sum_rows_f32__avx2(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(0.0f, ADD, hadd, IDENT)
}

void tr_reduce_mean_rows_f32__avx2(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  const float count = (float)cols;
#define DIVIDE(a) ((a) / count)
  ROWS_BODY(0.0f, ADD, hadd, DIVIDE)
#undef DIVIDE
}

void tr_reduce_max_rows_f32__avx2(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(-FLT_MAX, MAX, hmax, IDENT)
}

void tr_reduce_min_rows_f32__avx2(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(FLT_MAX, MIN, hmin, IDENT)
}

void tr_l2norm_f32__avx2(size_t rows, size_t cols, const float *x, float *y) {
  for (size_t i = 0; i < rows; i++, x += cols, y += cols) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= cols; j += 16) {
      const __m256 v0 = _mm256_loadu_ps(x + j), v1 = _mm256_loadu_ps(x + j + 8);
      a0 = _mm256_fmadd_ps(v0, v0, a0);
      a1 = _mm256_fmadd_ps(v1, v1, a1);
    }
    for (; j + 8 <= cols; j += 8) {
      const __m256 v = _mm256_loadu_ps(x + j);
      a0 = _mm256_fmadd_ps(v, v, a0);
    }
    if (j < cols) {
      const __m256 v = _mm256_maskload_ps(x + j, tail_mask(cols - j));
      a1 = _mm256_fmadd_ps(v, v, a1);
    }
    float norm = __builtin_sqrtf(hadd(_mm256_add_ps(a0, a1)));
    if (norm < 1e-6f) norm = 1e-6f;
    /* a division, as the reference */
    const __m256 vnorm = _mm256_set1_ps(norm);
    for (j = 0; j + 8 <= cols; j += 8) _mm256_storeu_ps(y + j, _mm256_div_ps(_mm256_loadu_ps(x + j), vnorm));
    if (j < cols) {
      const __m256i m = tail_mask(cols - j);
      _mm256_maskstore_ps(y + j, m, _mm256_div_ps(_mm256_maskload_ps(x + j, m), vnorm));
    }
  }
}
