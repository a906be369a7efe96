/* Elementwise binary kernels for aarch64 NEON (see vbinary.h): float 16 per step, then 4;
 * 8-bit 16 per step, then 8 (four or two int32x4 per step); the last few elements through the
 * portable kernels, so nothing is read or written past n. One always-inlined body per type,
 * specialised by operation and by whether b is a single value.
 *
 * 8-bit rescaling is requant-neon.h's (bit for bit with quant.h): s(x) = requant of
 * (x + offset) with left shift `left_shift` and right shift -shift; the output is requant of the
 * int32 sum / difference / product with the output multiplier. FMAX / FMIN propagate a NaN, so
 * it passes the clamp as in the portable kernels. */
#include <arm_neon.h>

#include "kernels/requant/requant-neon.h"
#include "kernels/vbinary/vbinary.h"

#define INLINE static inline __attribute__((always_inline))

enum { ADD, SUB, RSUB, MUL };

/* --- float --- */

INLINE float32x4_t f32_apply(int op, float32x4_t x, float32x4_t b) {
  return op == ADD ? vaddq_f32(x, b) : op == SUB ? vsubq_f32(x, b) : op == RSUB ? vsubq_f32(b, x) : vmulq_f32(x, b);
}

INLINE void f32_body(size_t n, const float *a, const float *b, float *y, const tr_vbinary_f32_params *p,
                     const int op, const int bconst, tr_vbinary_f32_fn tail) {
  const float32x4_t vlo = vdupq_n_f32(p->min), vhi = vdupq_n_f32(p->max);
  const float32x4_t vb = bconst ? vld1q_dup_f32(b) : vdupq_n_f32(0.0f);
#define F32_STEP(i) \
  vst1q_f32(y + (i), vminq_f32(vmaxq_f32(f32_apply(op, vld1q_f32(a + (i)), bconst ? vb : vld1q_f32(b + (i))), vlo), vhi))
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    F32_STEP(i);
    F32_STEP(i + 4);
    F32_STEP(i + 8);
    F32_STEP(i + 12);
  }
  for (; i + 4 <= n; i += 4) F32_STEP(i);
#undef F32_STEP
  if (i < n) tail(n - i, a + i, bconst ? b : b + i, y + i, p);
}

#define F32_FN(NAME, OP, BCONST, FIELD)                                                                  \
  static void NAME(size_t n, const float *a, const float *b, float *y, const tr_vbinary_f32_params *p) { \
    f32_body(n, a, b, y, p, OP, BCONST, tr_vbinary_f32__scalar.FIELD);                                   \
  }
F32_FN(add_f32, ADD, 0, add)
F32_FN(addc_f32, ADD, 1, addc)
F32_FN(sub_f32, SUB, 0, sub)
F32_FN(subc_f32, SUB, 1, subc)
F32_FN(rsubc_f32, RSUB, 1, rsubc)
F32_FN(mul_f32, MUL, 0, mul)
F32_FN(mulc_f32, MUL, 1, mulc)

const tr_vbinary_f32_ops tr_vbinary_f32__neon = {add_f32, addc_f32, sub_f32, subc_f32, rsubc_f32, mul_f32, mulc_f32};

/* --- 8-bit --- */

typedef struct {
  int32x4_t a_offset, b_offset, left, a_mul, a_nrs, b_mul, b_nrs;
  int32x4_t out_mul, out_ls, out_nrs, scaled_b;
  int16x8_t zp, lo, hi;
} q8_consts;

INLINE q8_consts q8_setup(const tr_vbinary_q8_params *p) {
  q8_consts k;
  k.a_offset = vdupq_n_s32(p->a_offset);
  k.b_offset = vdupq_n_s32(p->b_offset);
  k.left = vdupq_n_s32(p->left_shift);
  k.a_mul = vdupq_n_s32(p->a_multiplier);
  k.a_nrs = vdupq_n_s32(p->a_shift); /* <= 0 */
  k.b_mul = vdupq_n_s32(p->b_multiplier);
  k.b_nrs = vdupq_n_s32(p->b_shift);
  k.out_mul = vdupq_n_s32(p->out_multiplier);
  k.out_ls = vdupq_n_s32(p->out_shift > 0 ? p->out_shift : 0);
  k.out_nrs = vdupq_n_s32(p->out_shift > 0 ? 0 : p->out_shift);
  k.scaled_b = vdupq_n_s32(p->scaled_b);
  k.zp = vdupq_n_s16((int16_t)p->out_zero_point);
  k.lo = vdupq_n_s16((int16_t)p->out_min);
  k.hi = vdupq_n_s16((int16_t)p->out_max);
  return k;
}

/* 8 values widened to two int32x4 */
INLINE void widen8(int8x8_t v, int u, int32x4_t *lo, int32x4_t *hi) {
  const int16x8_t w = u ? vreinterpretq_s16_u16(vmovl_u8(vreinterpret_u8_s8(v))) : vmovl_s8(v);
  *lo = vmovl_s16(vget_low_s16(w));
  *hi = vmovl_high_s16(w);
}

/* The int32 result before the output rescaling, for 4 lanes. */
INLINE int32x4_t q8_raw(int op, int bconst, int32x4_t x, int32x4_t y, const q8_consts *k) {
  if (op == MUL) {
    const int32x4_t xa = vaddq_s32(x, k->a_offset);
    return vmulq_s32(xa, bconst ? k->scaled_b : vaddq_s32(y, k->b_offset));
  }
  const int32x4_t sa = tr_requant_q31_neon(vaddq_s32(x, k->a_offset), k->a_mul, k->left, k->a_nrs);
  const int32x4_t sb =
      bconst ? k->scaled_b : tr_requant_q31_neon(vaddq_s32(y, k->b_offset), k->b_mul, k->left, k->b_nrs);
  return op == ADD ? vaddq_s32(sa, sb) : op == SUB ? vsubq_s32(sa, sb) : vsubq_s32(sb, sa);
}

/* 8 outputs from 8 inputs of a (and b) */
INLINE int16x8_t q8_step8(int op, int bconst, int u, int8x8_t va, int8x8_t vb, const q8_consts *k) {
  int32x4_t a0, a1, b0 = vdupq_n_s32(0), b1 = vdupq_n_s32(0);
  widen8(va, u, &a0, &a1);
  if (!bconst) widen8(vb, u, &b0, &b1);
  const int32x4_t r0 = tr_requant_q31_neon(q8_raw(op, bconst, a0, b0, k), k->out_mul, k->out_ls, k->out_nrs);
  const int32x4_t r1 = tr_requant_q31_neon(q8_raw(op, bconst, a1, b1, k), k->out_mul, k->out_ls, k->out_nrs);
  return tr_requant_finish_s16(r0, r1, k->zp, k->lo, k->hi);
}

/* values are in [lo, hi], inside the 8-bit range: narrowing is exact */
INLINE int8x8_t narrow8(int16x8_t v, int u) {
  return u ? vreinterpret_s8_u8(vqmovun_s16(v)) : vqmovn_s16(v);
}

INLINE void q8_body(size_t n, const void *a_, const void *b_, void *y_, const tr_vbinary_q8_params *p, const int op,
                    const int bconst, const int u, tr_vbinary_q8_fn tail) {
  const int8_t *a = (const int8_t *)a_, *b = (const int8_t *)b_;
  int8_t *y = (int8_t *)y_;
  const q8_consts k = q8_setup(p);
  const int8x8_t zero8 = vdup_n_s8(0);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int8x16_t va = vld1q_s8(a + i), vb = bconst ? vdupq_n_s8(0) : vld1q_s8(b + i);
    const int16x8_t lo = q8_step8(op, bconst, u, vget_low_s8(va), vget_low_s8(vb), &k);
    const int16x8_t hi = q8_step8(op, bconst, u, vget_high_s8(va), vget_high_s8(vb), &k);
    vst1q_s8(y + i, vcombine_s8(narrow8(lo, u), narrow8(hi, u)));
  }
  for (; i + 8 <= n; i += 8) {
    const int16x8_t v = q8_step8(op, bconst, u, vld1_s8(a + i), bconst ? zero8 : vld1_s8(b + i), &k);
    vst1_s8(y + i, narrow8(v, u));
  }
  if (i < n) tail(n - i, a + i, bconst ? b : b + i, y + i, p);
}

#define Q8_FN(NAME, OP, BCONST, U, FIELD)                                                              \
  static void NAME(size_t n, const void *a, const void *b, void *y, const tr_vbinary_q8_params *p) {  \
    q8_body(n, a, b, y, p, OP, BCONST, U, (U ? tr_vbinary_u8__scalar : tr_vbinary_s8__scalar).FIELD); \
  }
#define Q8_OPS(SUFFIX, U)                                                                                \
  Q8_FN(add_##SUFFIX, ADD, 0, U, add)                                                                    \
  Q8_FN(addc_##SUFFIX, ADD, 1, U, addc)                                                                  \
  Q8_FN(sub_##SUFFIX, SUB, 0, U, sub)                                                                    \
  Q8_FN(rsubc_##SUFFIX, RSUB, 1, U, rsubc)                                                               \
  Q8_FN(mul_##SUFFIX, MUL, 0, U, mul)                                                                    \
  Q8_FN(mulc_##SUFFIX, MUL, 1, U, mulc)                                                                  \
  const tr_vbinary_q8_ops tr_vbinary_##SUFFIX##__neon = {add_##SUFFIX, addc_##SUFFIX, sub_##SUFFIX,      \
                                                         rsubc_##SUFFIX, mul_##SUFFIX, mulc_##SUFFIX};

Q8_OPS(s8, 0)
Q8_OPS(u8, 1)
