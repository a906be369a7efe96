/* Portable float depthwise kernel: the oracle of the SIMD ones and the fallback.
 * Any tap count, channel tile 4 (layout in dwconv.h). */
#include <assert.h>

#include "kernels/dwconv/dwconv.h"

static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

void tr_dwconv_f32_kp4c__scalar(size_t channels, size_t output_width, size_t kernel_size, const float **input,
                                size_t input_step, const float *weights, float *output, size_t output_stride,
                                const tr_dwconv_f32_params *params) {
  assert(channels != 0 && output_width != 0 && kernel_size != 0);
  const float lo = params->min, hi = params->max;
  do {
    const float *w = weights;
    size_t c = 0;
    for (; c + 4 <= channels; c += 4) {
      float a0 = w[0], a1 = w[1], a2 = w[2], a3 = w[3];
      w += 4;
      for (size_t k = 0; k < kernel_size; k++) {
        const float *x = input[k] + c;
        a0 += x[0] * w[0];
        a1 += x[1] * w[1];
        a2 += x[2] * w[2];
        a3 += x[3] * w[3];
        w += 4;
      }
      output[c] = clampf(a0, lo, hi);
      output[c + 1] = clampf(a1, lo, hi);
      output[c + 2] = clampf(a2, lo, hi);
      output[c + 3] = clampf(a3, lo, hi);
    }
    if (c < channels) {
      const size_t n = channels - c;
      float acc[4] = {w[0], w[1], w[2], w[3]};
      w += 4;
      for (size_t k = 0; k < kernel_size; k++) {
        const float *x = input[k] + c;
        for (size_t t = 0; t < n; t++) acc[t] += x[t] * w[t];
        w += 4;
      }
      for (size_t t = 0; t < n; t++) output[c + t] = clampf(acc[t], lo, hi);
    }
    input += input_step;
    output += output_stride;
  } while (--output_width != 0);
}
