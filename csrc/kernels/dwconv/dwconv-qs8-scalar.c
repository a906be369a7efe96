/* Portable 8-bit depthwise kernels: the oracle of the SIMD ones and the fallback.
 * Any tap count; layout: channel tile 16, linear slots, one tap per weight (int16). */
#include <assert.h>

#include "kernels/dwconv/dwconv.h"
#include "model/quant.h"

#define CT 16

#define DWCONV_Q8_SCALAR(NAME, T)                                                                 \
  void NAME(size_t channels, size_t output_width, size_t kernel_size, const void **input,         \
            size_t input_step, const void *weights, void *output, size_t output_stride,           \
            const tr_dwconv_qs8_params *params) {                                                 \
    assert(channels != 0 && output_width != 0 && kernel_size != 0);                               \
    const int32_t zp = params->output_zero_point, lo = params->output_min, hi = params->output_max; \
    T *out = (T *)output;                                                                         \
    do {                                                                                          \
      const char *w = (const char *)weights;                                                      \
      for (size_t c = 0; c < channels; c += CT) {                                                 \
        const size_t n = channels - c < CT ? channels - c : CT;                                   \
        int32_t acc[CT];                                                                          \
        for (size_t t = 0; t < CT; t++) acc[t] = ((const int32_t *)w)[t];                         \
        w += CT * 4;                                                                              \
        for (size_t k = 0; k < kernel_size; k++) {                                                \
          const T *x = (const T *)input[k] + c;                                                   \
          const int16_t *wk = (const int16_t *)w;                                                 \
          for (size_t t = 0; t < n; t++) acc[t] += (int32_t)x[t] * (int32_t)wk[t];                \
          w += CT * 2;                                                                            \
        }                                                                                         \
        const int32_t *q = (const int32_t *)w;                                                    \
        for (size_t t = 0; t < n; t++) {                                                          \
          const int32_t shift = q[CT + t] - q[2 * CT + t];                                        \
          const int32_t v = tr_multiply_by_quantized_multiplier(acc[t], q[t], shift) + zp;        \
          out[c + t] = (T)tr_clamp_i32(v, lo, hi);                                                \
        }                                                                                         \
        w += CT * 16;                                                                             \
      }                                                                                           \
      input += input_step;                                                                        \
      out += output_stride;                                                                       \
    } while (--output_width != 0);                                                                \
  }

DWCONV_Q8_SCALAR(tr_dwconv_qs8_kp16c__scalar, int8_t)
DWCONV_Q8_SCALAR(tr_dwconv_qu8_kp16c__scalar, uint8_t)
