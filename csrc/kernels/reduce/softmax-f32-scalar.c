/* Portable float softmax over rows, as TFLite's reference computes it: max, exp((x - max) *
 * beta) with libm's expf, their sum, then a division. The oracle of the SIMD kernels. */
#include <float.h>
#include <math.h>

#include "kernels/reduce/reduce.h"

void tr_softmax_f32__scalar(size_t rows, size_t cols, const float *x, float *y, float beta) {
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    float max = -FLT_MAX;
    for (size_t c = 0; c < cols; c++) max = x[c] > max ? x[c] : max;
    float sum = 0.0f;
    for (size_t c = 0; c < cols; c++) {
      const float e = expf((x[c] - max) * beta);
      y[c] = e;
      sum += e;
    }
    for (size_t c = 0; c < cols; c++) y[c] = y[c] / sum;
  }
}
