/* Portable elementwise unary kernels: the oracle of the SIMD ones and the fallback (libm). */
#include <math.h>
#include <string.h>

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

static inline float pow2_int(int32_t n) { /* -126 <= n <= 127 */
  const uint32_t bits = (uint32_t)(n + 127) << 23;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* e^(th + tl) for -128 < th <= 0, |tl| tiny: returns mant = 2^n1 e^r and sets *s2 = 2^n2, the
 * value being mant * s2 (kept apart so that a subnormal result rounds once) */
static inline float exp_split(float th, float tl, float *s2) {
  const float n = (fmaf(th, GELU_LOG2E, GELU_ROUND) - GELU_ROUND);
  float r = fmaf(n, -GELU_LN2_HI, th);
  r = fmaf(n, -GELU_LN2_LO, r);
  r = r + tl;
  float q = fmaf(GELU_E4, r, GELU_E3);
  q = fmaf(q, r, GELU_E2);
  q = fmaf(q, r, GELU_E1);
  q = fmaf(q, r, GELU_E0);
  const float p = fmaf(r * r, q, r);
  const int32_t ni = (int32_t)n, n1 = ni >> 1;
  const float s1 = pow2_int(n1);
  *s2 = pow2_int(ni - n1);
  return fmaf(s1, p, s1);
}

static inline float gelu_exact(float x) {
  const float m = x < -GELU_XMAX ? -GELU_XMAX : x; /* a NaN stays */
  const float v = fmaxf(-GELU_XMAX, fminf(m, GELU_XMAX)); /* finite */
  const float h = v * v, l = fmaf(v, v, -h);
  float s = fmaf(GELU_S4, h, GELU_S3);
  s = fmaf(s, h, GELU_S2);
  s = fmaf(s, h, GELU_S1);
  s = fmaf(s, h, GELU_S0);
  const float small = m * fmaf(v, s, 0.5f);
  const float t = 1.0f / fmaf(GELU_P, fabsf(v) * GELU_SQRT1_2, 1.0f);
  float r = fmaf(GELU_R8, t, GELU_R7);
  r = fmaf(r, t, GELU_R6);
  r = fmaf(r, t, GELU_R5);
  r = fmaf(r, t, GELU_R4);
  r = fmaf(r, t, GELU_R3);
  r = fmaf(r, t, GELU_R2);
  r = fmaf(r, t, GELU_R1);
  r = fmaf(r, t, GELU_R0);
  float s2;
  const float e = exp_split(-0.5f * h, -0.5f * l, &s2);
  const float tail = ((0.5f * t) * r) * e; /* erfc(|x| / sqrt2) / 2 = tail * s2 */
  const float large = v < 0.0f ? (m * tail) * s2 : m * fmaf(-tail, s2, 1.0f);
  return fabsf(v) <= GELU_SMALL ? small : large;
}

static inline float gelu_tanh(float x) {
  const float m = x < -GELU_TANH_XMAX ? -GELU_TANH_XMAX : x;
  const float v = fmaxf(-GELU_TANH_XMAX, fminf(m, GELU_TANH_XMAX));
  const float w = v * fmaf(GELU_C2, v * v, GELU_C1);
  float s2;
  const float e1 = exp_split(-fabsf(w), 0.0f, &s2);
  const float d = fmaf(e1, s2, 1.0f);
  return w > 0.0f ? m / d : ((m * e1) / d) * s2;
}

void tr_vgelu_f32__scalar(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  (void)params;
  for (size_t i = 0; i < n; i++) y[i] = gelu_exact(x[i]);
}

void tr_vgelu_tanh_f32__scalar(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  (void)params;
  for (size_t i = 0; i < n; i++) y[i] = gelu_tanh(x[i]);
}
