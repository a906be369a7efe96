/* Portable elementwise unary kernels: the oracle of the SIMD ones and the fallback (libm). */
#include <math.h>

#include "kernels/vunary/vunary-gelu.h"
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

/* --- GELU (vunary-gelu.h): fmaf where the SIMD kernels fuse, so that they agree exactly -------- */

/* e^(th + tl) for -128 < th <= 0, |tl| tiny: mant * 2^(*n), mant in [0.7, 1.5] */
static inline float exp_mant(float th, float tl, int *n) {
  const float nf = fmaf(th, GELU_LOG2E, GELU_ROUND) - GELU_ROUND;
  float r = fmaf(nf, -GELU_LN2_HI, th);
  r = fmaf(nf, -GELU_LN2_LO, r);
  r = r + tl;
  float q = fmaf(GELU_E4, r, GELU_E3);
  q = fmaf(q, r, GELU_E2);
  q = fmaf(q, r, GELU_E1);
  q = fmaf(q, r, GELU_E0);
  *n = (int)nf;
  return 1.0f + fmaf(r * r, q, r);
}

static inline float gelu_exact(float x) {
  const float m = x < -GELU_XMAX ? -GELU_XMAX : x; /* a NaN stays */
  const float v = fmaxf(-GELU_XMAX, fminf(m, GELU_XMAX)); /* finite */
  const float h = v * v, l = fmaf(v, v, -h);
  const float t = 1.0f / fmaf(GELU_P, fabsf(v) * GELU_SQRT1_2, 1.0f);
  float r = fmaf(GELU_R9, t, GELU_R8);
  r = fmaf(r, t, GELU_R7);
  r = fmaf(r, t, GELU_R6);
  r = fmaf(r, t, GELU_R5);
  r = fmaf(r, t, GELU_R4);
  r = fmaf(r, t, GELU_R3);
  r = fmaf(r, t, GELU_R2);
  r = fmaf(r, t, GELU_R1);
  r = fmaf(r, t, GELU_R0);
  int n;
  const float e = exp_mant(-0.5f * h, -0.5f * l, &n);
  const float tail = ((0.5f * t) * r) * e; /* erfc(|x| / sqrt2) / 2 = tail 2^n */
  return v < 0.0f ? ldexpf(m * tail, n) : m * (1.0f - ldexpf(tail, n));
}

static inline float gelu_tanh(float x) {
  const float m = x < -GELU_TANH_XMAX ? -GELU_TANH_XMAX : x;
  const float v = fmaxf(-GELU_TANH_XMAX, fminf(m, GELU_TANH_XMAX));
  const float w = v * fmaf(GELU_C2, v * v, GELU_C1);
  int n;
  const float e = exp_mant(-fabsf(w), 0.0f, &n); /* e^(-|w|) = e 2^n */
  const float d = 1.0f + ldexpf(e, n);
  return w > 0.0f ? m / d : ldexpf((m * e) / d, n);
}

void tr_vgelu_f32__scalar(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  (void)params;
  for (size_t i = 0; i < n; i++) y[i] = gelu_exact(x[i]);
}

void tr_vgelu_tanh_f32__scalar(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  (void)params;
  for (size_t i = 0; i < n; i++) y[i] = gelu_tanh(x[i]);
}
