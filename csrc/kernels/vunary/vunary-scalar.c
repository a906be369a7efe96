/* Portable elementwise unary kernels: the oracle of the SIMD ones and the fallback (libm). */
#include <math.h>

#include "kernels/vunary/vunary.h"

void tr_vclamp_f32__scalar(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  for (size_t i = 0; i < n; i++) y[i] = fminf(fmaxf(params->min, x[i]), params->max);
}

void tr_vsigmoid_f32__scalar(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  (void)params;
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    y[i] = v > 16.619047164916992188f ? 1.0f : v < -9.0f ? expf(v) : 1.0f / (1.0f + expf(-v));
  }
}

void tr_vtanh_f32__scalar(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  (void)params;
  for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

void tr_vhardswish_f32__scalar(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  (void)params;
  for (size_t i = 0; i < n; i++) y[i] = x[i] * fminf(6.0f, fmaxf(0.0f, x[i] + 3.0f)) / 6.0f;
}

void tr_vlut8__scalar(size_t n, const uint8_t *x, uint8_t *y, const uint8_t *table) {
  for (size_t i = 0; i < n; i++) y[i] = table[x[i]];
}
