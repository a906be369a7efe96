/* Elementwise unary kernels for aarch64 NEON (see vunary.h): 8 floats per step, then 4, the
 * last 1..3 through the portable kernels; 64 table lookups per step (TBL / TBX over the 256-byte
 * table in four 64-byte pieces), then 16, the last few portable.
 *
 * clamp and hardswish round exactly as the portable kernels (FMAXNM / FMINNM return the number
 * when one operand is a NaN, as fmaxf / fminf do). sigmoid and tanh evaluate exp / expm1 as the
 * x86 kernels do (range reduction by ln 2, the same degree-6 polynomial, fused multiply-adds),
 * within a few ulp of the libm results of the portable kernels. */
#include <arm_neon.h>

#include "kernels/vunary/vunary.h"

#define INLINE static inline __attribute__((always_inline))

/* e^r - 1 - r = r^2 * q(r) on [-ln2/2, ln2/2] */
#define Q0 0x1.ffffeap-2f
#define Q1 0x1.55545ap-3f
#define Q2 0x1.5563cep-5f
#define Q3 0x1.125b2ep-7f
#define Q4 0x1.63c2d8p-10f
#define LOG2E 0x1.715476p+0f
#define LN2_HI 0x1.62e400p-1f /* n * LN2_HI is exact for |n| < 256 */
#define LN2_LO 0x1.7f7d1cp-20f

/* -87 <= t <= 0: (2^n, e^r - 1) with t = n ln2 + r; 2^n is a normal float */
INLINE void exp_parts(float32x4_t t, float32x4_t *s_out, float32x4_t *p_out) {
  const float32x4_t n = vrndnq_f32(vmulq_n_f32(t, LOG2E));
  float32x4_t r = vfmsq_f32(t, n, vdupq_n_f32(LN2_HI));
  r = vfmsq_f32(r, n, vdupq_n_f32(LN2_LO));
  float32x4_t q = vfmaq_f32(vdupq_n_f32(Q3), vdupq_n_f32(Q4), r);
  q = vfmaq_f32(vdupq_n_f32(Q2), q, r);
  q = vfmaq_f32(vdupq_n_f32(Q1), q, r);
  q = vfmaq_f32(vdupq_n_f32(Q0), q, r);
  *s_out = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23));
  *p_out = vfmaq_f32(r, vmulq_f32(r, r), q);
}

INLINE float32x4_t sigmoid4(float32x4_t x) {
  /* e = exp(-|x|) (|x| capped at 87: below that the reference's value is under 2e-38), then
   * (x > 0 ? 1 : e) / (1 + e); a NaN stays a NaN */
  const float32x4_t t = vmaxq_f32(vdupq_n_f32(-87.0f), vnegq_f32(vabsq_f32(x)));
  float32x4_t s, p;
  exp_parts(t, &s, &p);
  const float32x4_t one = vdupq_n_f32(1.0f);
  const float32x4_t e = vfmaq_f32(s, s, p);
  float32x4_t y = vdivq_f32(vbslq_f32(vcgtq_f32(x, vdupq_n_f32(0.0f)), one, e), vaddq_f32(one, e));
  y = vbslq_f32(vcltq_f32(x, vdupq_n_f32(-9.0f)), e, y);
  return vbslq_f32(vcgtq_f32(x, vdupq_n_f32(16.619047164916992188f)), one, y);
}

INLINE float32x4_t tanh4(float32x4_t x) {
  /* tanh|x| = -m / (2 + m), m = expm1(-2|x|) = (2^n - 1) + 2^n p; |x| >= 9 rounds to 1; the
   * sign of x put back (a NaN stays a NaN) */
  const float32x4_t z = vminq_f32(vdupq_n_f32(9.0f), vabsq_f32(x));
  float32x4_t s, p;
  exp_parts(vmulq_n_f32(z, -2.0f), &s, &p);
  const float32x4_t m = vfmaq_f32(vsubq_f32(s, vdupq_n_f32(1.0f)), s, p);
  const float32x4_t y = vdivq_f32(vnegq_f32(m), vaddq_f32(vdupq_n_f32(2.0f), m));
  const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(y), sign));
}

INLINE float32x4_t hardswish4(float32x4_t x) {
  /* x * fminf(6, fmaxf(0, x + 3)) / 6, one rounding per operation as the portable kernel */
  const float32x4_t t =
      vminnmq_f32(vmaxnmq_f32(vaddq_f32(x, vdupq_n_f32(3.0f)), vdupq_n_f32(0.0f)), vdupq_n_f32(6.0f));
  return vdivq_f32(vmulq_f32(x, t), vdupq_n_f32(6.0f));
}

#define UNARY_F32(NAME, F, TAIL)                                                                    \
  void NAME(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {               \
    size_t i = 0;                                                                                   \
    for (; i + 8 <= n; i += 8) {                                                                    \
      const float32x4_t y0 = F(vld1q_f32(x + i)), y1 = F(vld1q_f32(x + i + 4));                     \
      vst1q_f32(y + i, y0);                                                                         \
      vst1q_f32(y + i + 4, y1);                                                                     \
    }                                                                                               \
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, F(vld1q_f32(x + i)));                               \
    if (i < n) TAIL(n - i, x + i, y + i, params);                                                   \
  }

UNARY_F32(tr_vsigmoid_f32__neon, sigmoid4, tr_vsigmoid_f32__scalar)
UNARY_F32(tr_vtanh_f32__neon, tanh4, tr_vtanh_f32__scalar)
UNARY_F32(tr_vhardswish_f32__neon, hardswish4, tr_vhardswish_f32__scalar)

void tr_vclamp_f32__neon(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  const float32x4_t vmin = vdupq_n_f32(params->min), vmax = vdupq_n_f32(params->max);
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (size_t j = 0; j < 16; j += 4) vst1q_f32(y + i + j, vminnmq_f32(vmaxnmq_f32(vld1q_f32(x + i + j), vmin), vmax));
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vminnmq_f32(vmaxnmq_f32(vld1q_f32(x + i), vmin), vmax));
  if (i < n) tr_vclamp_f32__scalar(n - i, x + i, y + i, params);
}

/* TBL gives 0 for an index past its 64 bytes and TBX leaves such a lane alone: each 64-byte
 * piece of the table fills the lanes whose index, less 64 per piece (wrapping), falls in it. */
INLINE uint8x16_t lut16(uint8x16_t idx, const uint8x16x4_t *t) {
  const uint8x16_t k64 = vdupq_n_u8(64);
  uint8x16_t r = vqtbl4q_u8(t[0], idx);
  idx = vsubq_u8(idx, k64);
  r = vqtbx4q_u8(r, t[1], idx);
  idx = vsubq_u8(idx, k64);
  r = vqtbx4q_u8(r, t[2], idx);
  idx = vsubq_u8(idx, k64);
  return vqtbx4q_u8(r, t[3], idx);
}

void tr_vlut8__neon(size_t n, const uint8_t *x, uint8_t *y, const uint8_t *table) {
  uint8x16x4_t t[4]; /* (vld1q_u8_x4 is missing from older compilers) */
  for (int j = 0; j < 4; j++)
    for (int q = 0; q < 4; q++) t[j].val[q] = vld1q_u8(table + 64 * j + 16 * q);
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const uint8x16_t r0 = lut16(vld1q_u8(x + i), t), r1 = lut16(vld1q_u8(x + i + 16), t);
    const uint8x16_t r2 = lut16(vld1q_u8(x + i + 32), t), r3 = lut16(vld1q_u8(x + i + 48), t);
    vst1q_u8(y + i, r0);
    vst1q_u8(y + i + 16, r1);
    vst1q_u8(y + i + 32, r2);
    vst1q_u8(y + i + 48, r3);
  }
  for (; i + 16 <= n; i += 16) vst1q_u8(y + i, lut16(vld1q_u8(x + i), t));
  if (i < n) tr_vlut8__scalar(n - i, x + i, y + i, table);
}

/* --- GELU (vunary-gelu.h): the portable kernel's operations, 4 lanes at a time ------------------ */

#include "kernels/vunary/vunary-gelu.h"

#define SPLAT(c) vdupq_n_f32(c)

/* e^(th + tl) = mant * 2^n (exp_mant in vunary-scalar.c) */
INLINE float32x4_t gelu_exp_mant(float32x4_t th, float32x4_t tl, int32x4_t *n) {
  const float32x4_t nf = vsubq_f32(vfmaq_f32(SPLAT(GELU_ROUND), th, SPLAT(GELU_LOG2E)), SPLAT(GELU_ROUND));
  float32x4_t r = vfmaq_f32(th, nf, SPLAT(-GELU_LN2_HI));
  r = vfmaq_f32(r, nf, SPLAT(-GELU_LN2_LO));
  r = vaddq_f32(r, tl);
  float32x4_t q = vfmaq_f32(SPLAT(GELU_E3), SPLAT(GELU_E4), r);
  q = vfmaq_f32(SPLAT(GELU_E2), q, r);
  q = vfmaq_f32(SPLAT(GELU_E1), q, r);
  q = vfmaq_f32(SPLAT(GELU_E0), q, r);
  *n = vcvtq_s32_f32(nf);
  return vaddq_f32(SPLAT(1.0f), vfmaq_f32(r, vmulq_f32(r, r), q));
}

/* ldexpf(x, n) for -256 < n <= 0 and x * 2^(n >> 1) normal: exact, then one rounding */
INLINE float32x4_t gelu_scale(float32x4_t x, int32x4_t n) {
  const int32x4_t n1 = vshrq_n_s32(n, 1), bias = vdupq_n_s32(127);
  const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
  const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(n, n1), bias), 23));
  return vmulq_f32(vmulq_f32(x, s1), s2);
}

INLINE float32x4_t gelu4(float32x4_t x) {
  /* FMAX keeps a NaN, FMAXNM / FMINNM turn it into the other operand */
  const float32x4_t m = vmaxq_f32(SPLAT(-GELU_XMAX), x);
  const float32x4_t v = vmaxnmq_f32(vminnmq_f32(m, SPLAT(GELU_XMAX)), SPLAT(-GELU_XMAX));
  const float32x4_t h = vmulq_f32(v, v), l = vfmaq_f32(vnegq_f32(h), v, v);
  const float32x4_t t =
      vdivq_f32(SPLAT(1.0f), vfmaq_f32(SPLAT(1.0f), SPLAT(GELU_P), vmulq_f32(vabsq_f32(v), SPLAT(GELU_SQRT1_2))));
  float32x4_t r = vfmaq_f32(SPLAT(GELU_R8), SPLAT(GELU_R9), t);
  r = vfmaq_f32(SPLAT(GELU_R7), r, t);
  r = vfmaq_f32(SPLAT(GELU_R6), r, t);
  r = vfmaq_f32(SPLAT(GELU_R5), r, t);
  r = vfmaq_f32(SPLAT(GELU_R4), r, t);
  r = vfmaq_f32(SPLAT(GELU_R3), r, t);
  r = vfmaq_f32(SPLAT(GELU_R2), r, t);
  r = vfmaq_f32(SPLAT(GELU_R1), r, t);
  r = vfmaq_f32(SPLAT(GELU_R0), r, t);
  int32x4_t n;
  const float32x4_t e = gelu_exp_mant(vmulq_f32(SPLAT(-0.5f), h), vmulq_f32(SPLAT(-0.5f), l), &n);
  const float32x4_t tail = vmulq_f32(vmulq_f32(vmulq_f32(SPLAT(0.5f), t), r), e);
  const float32x4_t neg = gelu_scale(vmulq_f32(m, tail), n);
  const float32x4_t pos = vmulq_f32(m, vsubq_f32(SPLAT(1.0f), gelu_scale(tail, n)));
  return vbslq_f32(vcltq_f32(v, SPLAT(0.0f)), neg, pos);
}

INLINE float32x4_t gelu_tanh4(float32x4_t x) {
  const float32x4_t m = vmaxq_f32(SPLAT(-GELU_TANH_XMAX), x);
  const float32x4_t v = vmaxnmq_f32(vminnmq_f32(m, SPLAT(GELU_TANH_XMAX)), SPLAT(-GELU_TANH_XMAX));
  const float32x4_t w = vmulq_f32(v, vfmaq_f32(SPLAT(GELU_C1), SPLAT(GELU_C2), vmulq_f32(v, v)));
  int32x4_t n;
  const float32x4_t e = gelu_exp_mant(vsubq_f32(SPLAT(0.0f), vabsq_f32(w)), SPLAT(0.0f), &n);
  const float32x4_t d = vaddq_f32(SPLAT(1.0f), gelu_scale(e, n));
  const float32x4_t pos = vdivq_f32(m, d);
  const float32x4_t neg = gelu_scale(vdivq_f32(vmulq_f32(m, e), d), n);
  return vbslq_f32(vcgtq_f32(w, SPLAT(0.0f)), pos, neg);
}

UNARY_F32(tr_vgelu_f32__neon, gelu4, tr_vgelu_f32__scalar)
UNARY_F32(tr_vgelu_tanh_f32__neon, gelu_tanh4, tr_vgelu_tanh_f32__scalar)
