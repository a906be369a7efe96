/* TFLite's per-channel requantization (quant.h, tr_multiply_by_quantized_multiplier), 4 int32
 * lanes at a time, bit for bit. Include from aarch64 kernel files only (-neon, -neondot, -i8mm).
 *
 * Per lane, with l = max(shift, 0) and r = max(-shift, 0):
 *   x <<= l                  SSHL by a positive count wraps, as the reference's uint32 shift.
 *   h = SQRDMULH(x, m)       = floor((2 x m + 2^31) / 2^32), saturating only x = m = INT32_MIN:
 *                            exactly SaturatingRoundingDoublingHighMul (its "nudge, then divide
 *                            toward zero" rounds ties upward for either sign, as this does).
 *   RoundingDivideByPOT(h, r) rounds ties away from zero; SRSHL by -r rounds them upward. So
 *   negative h first loses 1 when r > 0 (the sign bit of h & -r is set exactly then): ties then
 *   land downward, non-ties do not move. The saturating add only matters at h = INT32_MIN,
 *   whose quotient is exact either way. For r = 0 nothing changes. */
#ifndef TFLITE_RT_REQUANT_NEON_H
#define TFLITE_RT_REQUANT_NEON_H

#include <arm_neon.h>

/* neg_right_shift holds -r (<= 0). */
static inline int32x4_t tr_requant_q31_neon(int32x4_t x, int32x4_t multiplier, int32x4_t left_shift,
                                            int32x4_t neg_right_shift) {
  x = vshlq_s32(x, left_shift);
  int32x4_t h = vqrdmulhq_s32(x, multiplier);
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(h, neg_right_shift), 31);
  h = vqaddq_s32(h, fixup);
  return vrshlq_s32(h, neg_right_shift);
}

/* TR_GEMM_REQUANT_DOUBLE: round half away from zero of x * scale in double (FCVTAS), saturated
 * to int32. */
static inline int32x4_t tr_requant_double_neon(int32x4_t x, float64x2_t scale_lo, float64x2_t scale_hi) {
  const float64x2_t lo = vmulq_f64(vcvtq_f64_s64(vmovl_s32(vget_low_s32(x))), scale_lo);
  const float64x2_t hi = vmulq_f64(vcvtq_f64_s64(vmovl_high_s32(x)), scale_hi);
  return vcombine_s32(vqmovn_s64(vcvtaq_s64_f64(lo)), vqmovn_s64(vcvtaq_s64_f64(hi)));
}

/* Eight requantized int32 lanes + zero point, clamped to [lo, hi] (8-bit bounds), as int16:
 * saturating at 16 bits first keeps every out-of-range value out of range. */
static inline int16x8_t tr_requant_finish_s16(int32x4_t a, int32x4_t b, int16x8_t zp, int16x8_t lo, int16x8_t hi) {
  const int16x8_t v = vqaddq_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b)), zp);
  return vminq_s16(vmaxq_s16(v, lo), hi);
}

#endif
