/* Portable 8-bit sums (exact int32, see reduce.h): the oracle of the SIMD kernels and their
 * fallback. */
#include <assert.h>

#include "kernels/reduce/reduce.h"
#include "model/quant.h"

#define SUM_COLS(NAME, T)                                                             \
  void NAME(size_t rows, size_t cols, size_t stride, const void *input, int32_t *y) { \
    assert(rows >= 1 && cols >= 1);                                                   \
    const T *x = input;                                                               \
    for (size_t j = 0; j < cols; j++) y[j] = 0;                                       \
    for (size_t i = 0; i < rows; i++, x += stride)                                    \
      for (size_t j = 0; j < cols; j++) y[j] += x[j];                                 \
  }

#define SUM_ROWS(NAME, T)                                                             \
  void NAME(size_t rows, size_t cols, size_t stride, const void *input, int32_t *y) { \
    assert(rows >= 1 && cols >= 1);                                                   \
    const T *x = input;                                                               \
    for (size_t i = 0; i < rows; i++, x += stride) {                                  \
      int32_t a = 0;                                                                  \
      for (size_t j = 0; j < cols; j++) a += x[j];                                    \
      y[i] = a;                                                                       \
    }                                                                                 \
  }

SUM_COLS(tr_reduce_sum_cols_s8__scalar, int8_t)
SUM_COLS(tr_reduce_sum_cols_u8__scalar, uint8_t)
SUM_ROWS(tr_reduce_sum_rows_s8__scalar, int8_t)
SUM_ROWS(tr_reduce_sum_rows_u8__scalar, uint8_t)

/* Sums to 8-bit outputs, quant.h's arithmetic (see reduce.h). */
#define REQUANT(NAME, T)                                                                                 \
  void NAME(size_t n, const int32_t *sums, void *output, const tr_reduce_q8_params *p) {                 \
    T *y = output;                                                                                       \
    for (size_t i = 0; i < n; i++) {                                                                     \
      const int32_t x = (int32_t)((uint32_t)sums[i] + (uint32_t)p->bias);                                \
      const int32_t v = tr_multiply_by_quantized_multiplier(x, p->multiplier, p->shift) + p->zero_point; \
      y[i] = (T)(v < p->min ? p->min : (v > p->max ? p->max : v));                                       \
    }                                                                                                    \
  }

REQUANT(tr_reduce_requant_s8__scalar, int8_t)
REQUANT(tr_reduce_requant_u8__scalar, uint8_t)
