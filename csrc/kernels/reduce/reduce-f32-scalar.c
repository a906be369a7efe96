/* Portable float reductions: the oracle of the SIMD kernels and their fallback (see reduce.h).
 * Every sum here is the sequential one, in TFLite's reference order. */
#include <assert.h>
#include <float.h>
#include <math.h>

#include "kernels/reduce/reduce.h"

#define COLS_BODY(INIT, STEP)                      \
  assert(rows >= 1 && cols >= 1);                  \
  for (size_t j = 0; j < cols; j++) y[j] = INIT;   \
  for (size_t i = 0; i < rows; i++, x += stride) { \
    for (size_t j = 0; j < cols; j++) {            \
      const float v = x[j], a = y[j];              \
      y[j] = STEP;                                 \
    }                                              \
  }

#define ROWS_BODY(INIT, STEP, FINISH)              \
  assert(rows >= 1 && cols >= 1);                  \
  for (size_t i = 0; i < rows; i++, x += stride) { \
    float a = INIT;                                \
    for (size_t j = 0; j < cols; j++) {            \
      const float v = x[j];                        \
      a = STEP;                                    \
    }                                              \
    y[i] = FINISH;                                 \
  }

void tr_reduce_sum_cols_f32__scalar(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(0.0f, a + v)
}

void tr_reduce_mean_cols_f32__scalar(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(0.0f, a + v)
  for (size_t j = 0; j < cols; j++) y[j] = y[j] / (float)rows;
}

void tr_reduce_max_cols_f32__scalar(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(-FLT_MAX, v > a ? v : a)
}

void tr_reduce_min_cols_f32__scalar(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  COLS_BODY(FLT_MAX, v < a ? v : a)
}

void tr_reduce_sum_rows_f32__scalar(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(0.0f, a + v, a)
}

void tr_reduce_mean_rows_f32__scalar(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(0.0f, a + v, a / (float)cols)
}

void tr_reduce_max_rows_f32__scalar(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(-FLT_MAX, v > a ? v : a, a)
}

void tr_reduce_min_rows_f32__scalar(size_t rows, size_t cols, size_t stride, const float *x, float *y) {
  ROWS_BODY(FLT_MAX, v < a ? v : a, a)
}

void tr_l2norm_f32__scalar(size_t rows, size_t cols, const float *x, float *y) {
  for (size_t i = 0; i < rows; i++, x += cols, y += cols) {
    float sq = 0.0f;
    for (size_t j = 0; j < cols; j++) sq += x[j] * x[j];
    float norm = sqrtf(sq);
    if (norm < 1e-6f) norm = 1e-6f;
    for (size_t j = 0; j < cols; j++) y[j] = x[j] / norm;
  }
}
