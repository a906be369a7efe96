/* gemmlowp-style fixed-point primitives and the 8-bit lookup-table builder that TFLite's
 * reference elementwise kernels rely on. They belong with the rounding rules in
 * model/quant.h; they live here, named tr_fp_* / tr_lut8_*, until that move. */
#ifndef TFLITE_RT_ELEMENTWISE_FIXEDPOINT_H
#define TFLITE_RT_ELEMENTWISE_FIXEDPOINT_H

#include <math.h>
#include <stdint.h>

#include "model/quant.h"
#include "runtime/node.h"

/* --- 16-bit lanes (hard swish) -------------------------------------------------------------- */

static inline int16_t tr_fp_srdhm16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  int32_t ab = (int32_t)a * (int32_t)b;
  int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return (int16_t)((ab + nudge) / (1 << 15));
}

static inline int16_t tr_fp_rdbpot16(int16_t x, int exponent) {
  int16_t mask = (int16_t)((1 << exponent) - 1);
  int16_t remainder = (int16_t)(x & mask);
  int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
  return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

static inline int16_t tr_fp_saturating_left_shift16(int16_t value, int amount) {
  int64_t r = (int64_t)value * (1 << amount);
  if (r > INT16_MAX) r = INT16_MAX;
  if (r < INT16_MIN) r = INT16_MIN;
  return (int16_t)r;
}

/* --- 32-bit Q-format helpers ------------------------------------------------------------------ */

/* SaturatingRoundingMultiplyByPOT for a compile-time-like exponent (positive: saturating left). */
static inline int32_t tr_fp_mul_pot(int32_t x, int exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return tr_rounding_divide_by_pot(x, -exponent);
  const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

static inline int32_t tr_fp_rounding_half_sum(int32_t a, int32_t b) {
  int64_t sum = (int64_t)a + (int64_t)b;
  int64_t sign = sum >= 0 ? 1 : -1;
  return (int32_t)((sum + sign) / 2);
}

static inline int32_t tr_fp_wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t tr_fp_wrap_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* 1 / (1 + a) for a in [0, 1): input Q0.31, result Q0.31 (Newton-Raphson in Q2.29). */
static inline int32_t tr_fp_one_over_one_plus_x(int32_t a) {
  const int32_t one_q0 = INT32_MAX, one_q2 = 1 << 29;
  int32_t half_denominator = tr_fp_rounding_half_sum(a, one_q0);
  int32_t x = tr_fp_wrap_add(1515870810, tr_saturating_rounding_doubling_high_mul(half_denominator, -1010580540));
  for (int i = 0; i < 3; i++) {
    int32_t hdx = tr_saturating_rounding_doubling_high_mul(half_denominator, x);
    int32_t one_minus = tr_fp_wrap_sub(one_q2, hdx);
    x = tr_fp_wrap_add(x, tr_fp_mul_pot(tr_saturating_rounding_doubling_high_mul(x, one_minus), 2));
  }
  return tr_fp_mul_pot(x, 1);
}

static inline int tr_fp_count_leading_sign_bits(int32_t x) { return x ? __builtin_clrsb(x) : 31; }

static inline int tr_fp_clz32(uint32_t x) { return x ? __builtin_clz(x) : 32; }

/* GetReciprocal: 1/x as a Q0.31 value and the number of integer bits it was shifted by. */
static inline int32_t tr_fp_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit) {
  int headroom_plus_one = tr_fp_clz32((uint32_t)x);
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  int32_t shifted_minus_one = (int32_t)(((uint32_t)x << headroom_plus_one) - (1u << 31));
  return tr_fp_one_over_one_plus_x(shifted_minus_one);
}

/* GetInvSqrtQuantizedMultiplierExp with TFLite's reverse_shift = -1. */
static inline void tr_fp_inv_sqrt_multiplier(int32_t input, int32_t *mul, int *shift) {
  if (input <= 1) {
    *mul = INT32_MAX;
    *shift = 0;
    return;
  }
  int s = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++s;
  }
  unsigned max_left_shift_bits = (unsigned)tr_fp_clz32((uint32_t)input) - 1;
  unsigned left_shift_bit_pairs = max_left_shift_bits / 2 - 1;
  s -= (int)left_shift_bit_pairs;
  input <<= 2 * left_shift_bit_pairs;
  /* Newton-Raphson in Q3.28, starting from 1. */
  const int32_t fx = input >> 1;
  const int32_t half_input = tr_fp_mul_pot(fx, -1);
  const int32_t half_three = (1 << 28) + (1 << 27);
  int32_t x = 1 << 28;
  for (int i = 0; i < 5; i++) {
    int32_t x2 = tr_saturating_rounding_doubling_high_mul(x, x);
    int32_t x3 = tr_fp_mul_pot(tr_saturating_rounding_doubling_high_mul(x2, x), 6);
    int32_t t = tr_fp_wrap_sub(tr_saturating_rounding_doubling_high_mul(half_three, x),
                               tr_saturating_rounding_doubling_high_mul(half_input, x3));
    x = tr_fp_mul_pot(t, 3);
  }
  x = tr_saturating_rounding_doubling_high_mul(x, 1518500250);
  if (s < 0) {
    x = (int32_t)((uint32_t)x << -s);
    s = 0;
  }
  *mul = x;
  *shift = -s;
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp that tolerates a positive shift. */
static inline int32_t tr_fp_mbqm_small(int32_t x, int32_t mul, int32_t shift) {
  if (shift > 0) return tr_multiply_by_quantized_multiplier(x, mul, shift);
  return tr_multiply_by_quantized_multiplier_smaller_than_one(x, mul, shift);
}

/* --- 8-bit lookup tables (LUTPopulate) --------------------------------------------------------- */

typedef float (*tr_lut_transform)(float x, const void *params);

/* lut[(uint8_t)q] = quantize(f(dequantize(q))), in float, as TFLite builds its int8/uint8 tables. */
static inline void tr_lut8_build(uint8_t lut[256], int32_t type, float in_scale, int32_t in_zp,
                                 float out_scale, int32_t out_zp, tr_lut_transform f, const void *params) {
  const float inverse_scale = 1.0f / out_scale;
  const int32_t lo = type == TR_INT8 ? -128 : 0, hi = type == TR_INT8 ? 127 : 255;
  for (int32_t v = lo; v <= hi; v++) {
    const float dequantized = in_scale * (float)(v - in_zp);
    const float transformed = f(dequantized, params);
    const float rescaled = roundf(transformed * inverse_scale);
    int32_t q = (int32_t)(rescaled + (float)out_zp);
    if (q > hi) q = hi;
    if (q < lo) q = lo;
    lut[(uint8_t)v] = (uint8_t)q;
  }
}

#endif
