/* gemmlowp's fixed-point arithmetic, as TFLite's reference kernels use it. Together with the
 * multipliers and product rounding of model/quant.h, this is all of TFLite's fixed-point
 * arithmetic; op kernels call these and keep no copies of their own.
 *
 * A value in format Qi (i integer bits) is an int32 raw r meaning r / 2^(31 - i). The product
 * of a Qa and a Qb value is Q(a+b), computed by tr_saturating_rounding_doubling_high_mul; sums
 * wrap, exactly as gemmlowp's FixedPoint<int32_t, i> behaves. */
#ifndef TFLITE_RT_FIXEDPOINT_H
#define TFLITE_RT_FIXEDPOINT_H

#include <math.h>
#include <stdint.h>

#include "model/quant.h"
#include "runtime/node.h"

/* --- bit counting ----------------------------------------------------------------------------- */

/* CountLeadingZeros, 32 for 0. */
static inline int tr_fp_clz32(uint32_t x) { return x ? __builtin_clz(x) : 32; }

/* CountLeadingSignBits, 31 for 0. */
static inline int tr_fp_count_leading_sign_bits(int32_t x) { return x ? __builtin_clrsb(x) : 31; }

/* --- int32 Q-format arithmetic ---------------------------------------------------------------- */

/* FixedPoint's operator+ and operator-: two's-complement sums that wrap. */
static inline int32_t tr_fp_wrapping_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t tr_fp_wrapping_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* SaturatingAdd / SaturatingSub: sums clamped to the int32 range. */
static inline int32_t tr_fp_saturating_add(int32_t a, int32_t b) {
  const int64_t s = (int64_t)a + b;
  return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}
static inline int32_t tr_fp_saturating_sub(int32_t a, int32_t b) {
  const int64_t s = (int64_t)a - b;
  return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

/* RoundingHalfSum: (a + b) / 2, rounded half away from zero. */
static inline int32_t tr_fp_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  const int64_t sign = sum >= 0 ? 1 : -1;
  return (int32_t)((sum + sign) / 2);
}

/* SaturatingRoundingMultiplyByPOT: x * 2^exponent, saturating for exponent > 0 and rounding
 * half away from zero (RoundingDivideByPOT) for exponent < 0. */
static inline int32_t tr_fp_mul_by_pot(int32_t x, int exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return tr_rounding_divide_by_pot(x, -exponent);
  const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* Rescale: the same real value with dst_bits integer bits instead of src_bits. */
static inline int32_t tr_fp_rescale(int32_t x, int src_bits, int dst_bits) {
  return tr_fp_mul_by_pot(x, src_bits - dst_bits);
}

/* --- int16 Q-format arithmetic (HARD_SWISH) --------------------------------------------------- */

/* SaturatingRoundingDoublingHighMul on int16. */
static inline int16_t tr_fp_saturating_rounding_doubling_high_mul_i16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  const int32_t ab = (int32_t)a * (int32_t)b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return (int16_t)((ab + nudge) / (1 << 15));
}

/* RoundingDivideByPOT on int16. */
static inline int16_t tr_fp_rounding_divide_by_pot_i16(int16_t x, int exponent) {
  const int16_t mask = (int16_t)((1 << exponent) - 1);
  const int16_t remainder = (int16_t)(x & mask);
  const int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
  return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

/* SaturatingLeftShift on int16, as TFLite's reference hard swish has it. */
static inline int16_t tr_fp_saturating_left_shift_i16(int16_t value, int amount) {
  int64_t r = (int64_t)value * (1 << amount);
  if (r > INT16_MAX) r = INT16_MAX;
  if (r < INT16_MIN) r = INT16_MIN;
  return (int16_t)r;
}

/* --- exp, 1/(1+x), reciprocal, log ------------------------------------------------------------ */

/* exp_on_interval_between_negative_one_quarter_and_0_excl: a in [-1/4, 0), a and result Q0. */
static inline int32_t tr_fp_exp_quarter(int32_t a) {
  const int32_t exp_minus_eighth = 1895147668; /* exp(-1/8) */
  const int32_t one_third = 715827883;
  /* Taylor expansion around -1/8: x = a + 1/8 */
  const int32_t x = tr_fp_wrapping_add(a, 1 << 28);
  const int32_t x2 = tr_saturating_rounding_doubling_high_mul(x, x);
  const int32_t x3 = tr_saturating_rounding_doubling_high_mul(x2, x);
  const int32_t x4 = tr_saturating_rounding_doubling_high_mul(x2, x2);
  const int32_t x4_over_4 = tr_fp_mul_by_pot(x4, -2);
  const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 = tr_fp_mul_by_pot(
      tr_fp_wrapping_add(tr_saturating_rounding_doubling_high_mul(tr_fp_wrapping_add(x4_over_4, x3), one_third), x2),
      -1);
  return tr_fp_wrapping_add(exp_minus_eighth,
                            tr_saturating_rounding_doubling_high_mul(
                                exp_minus_eighth, tr_fp_wrapping_add(x, x4_over_24_plus_x3_over_6_plus_x2_over_2)));
}

/* exp_on_negative_values: exp(a) for a <= 0 with `bits` integer bits; the result is Q0. */
static inline int32_t tr_fp_exp_on_negative_values(int32_t a, int bits) {
  static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                         39332535,   720401,     242}; /* exp(-2^k), k=-2..4 */
  const int frac = 31 - bits;
  const int32_t quarter = (int32_t)(1u << (frac - 2));
  const int32_t mask = quarter - 1;
  const int32_t a_mod_quarter_minus_quarter = tr_fp_wrapping_sub(a & mask, quarter);
  int32_t result = tr_fp_exp_quarter(tr_fp_rescale(a_mod_quarter_minus_quarter, bits, 0));
  const int32_t remainder = tr_fp_wrapping_sub(a_mod_quarter_minus_quarter, a);
  for (int k = -2; k <= 4; k++) {
    if (bits > k) {
      const int shift = frac + k;
      if (remainder & (int32_t)(1u << shift))
        result = tr_saturating_rounding_doubling_high_mul(result, multipliers[k + 2]);
    }
  }
  if (bits > 5) {
    const int32_t clamp = -(1 << (36 - bits)); /* -32 */
    if (a < clamp) result = 0;
  }
  if (a == 0) result = INT32_MAX;
  return result;
}

/* one_over_one_plus_x_for_x_in_0_1: 1 / (1 + a) for a in [0, 1), a and result Q0
 * (Newton-Raphson in Q2). */
static inline int32_t tr_fp_one_over_one_plus_x(int32_t a) {
  const int32_t half_denominator = tr_fp_rounding_half_sum(a, INT32_MAX);
  const int32_t c48_17 = 1515870810;   /* 48/17 in Q2 */
  const int32_t cm32_17 = -1010580540; /* -32/17 in Q2 */
  const int32_t one_q2 = 1 << 29;
  int32_t x = tr_fp_wrapping_add(c48_17, tr_saturating_rounding_doubling_high_mul(half_denominator, cm32_17));
  for (int i = 0; i < 3; i++) {
    const int32_t hdx = tr_saturating_rounding_doubling_high_mul(half_denominator, x);
    const int32_t one_minus = tr_fp_wrapping_sub(one_q2, hdx);
    x = tr_fp_wrapping_add(x, tr_fp_rescale(tr_saturating_rounding_doubling_high_mul(x, one_minus), 4, 2));
  }
  /* x / 2, from Q1 to Q0 */
  return tr_fp_rescale(x, 1, 0);
}

/* GetReciprocal: 1/x for x with x_integer_digits integer bits, as a Q0 value scaled by
 * 2^-num_bits_over_unit. */
static inline int32_t tr_fp_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit) {
  const int headroom_plus_one = tr_fp_clz32((uint32_t)x);
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  /* x == 0 (a sum that wrapped): headroom 32, and 0 shifted by it is 0 */
  const uint32_t shifted = headroom_plus_one < 32 ? (uint32_t)x << headroom_plus_one : 0u;
  const int32_t shifted_minus_one = (int32_t)(shifted - (1u << 31));
  return tr_fp_one_over_one_plus_x(shifted_minus_one);
}

/* log_x_for_x_greater_than_or_equal_to_1: log(x) for x with in_bits integer bits, returned
 * with out_bits integer bits. */
static inline int32_t tr_fp_log_x_ge_1(int32_t x, int in_bits, int out_bits) {
  const int accum_bits = out_bits + 1;
  const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
  const int32_t one_quarter = 536870912;
  const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
  const int32_t shifted_quarter = tr_fp_rescale(one_quarter, 0, accum_bits);

  const int32_t z_a = x;
  const int z_a_headroom_plus_1 = tr_fp_clz32((uint32_t)z_a);
  const int32_t r_a_tmp = tr_fp_mul_by_pot(z_a, z_a_headroom_plus_1 - 1);
  const int32_t r_a = tr_fp_mul_by_pot(tr_saturating_rounding_doubling_high_mul(r_a_tmp, sqrt_half), 1);
  const int32_t z_a_pow_2_adj =
      tr_fp_saturating_add(tr_fp_mul_by_pot(in_bits - z_a_headroom_plus_1, 31 - accum_bits), shifted_quarter);

  const int32_t z_b = tr_saturating_rounding_doubling_high_mul(z_a, sqrt_half);
  const int z_b_headroom = tr_fp_clz32((uint32_t)z_b) - 1;
  const int32_t r_b = tr_fp_mul_by_pot(z_a, z_b_headroom);
  const int32_t z_b_pow_2_adj =
      tr_fp_saturating_sub(tr_fp_mul_by_pot(in_bits - z_b_headroom, 31 - accum_bits), shifted_quarter);

  const int32_t r = r_a < r_b ? r_a : r_b;
  const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;

  const int32_t p = tr_fp_rounding_half_sum(r, sqrt_sqrt_half);
  int32_t q = tr_fp_wrapping_sub(r, sqrt_sqrt_half);
  q = tr_fp_wrapping_add(q, q);

  const int32_t common_sq = tr_saturating_rounding_doubling_high_mul(q, q);
  const int32_t q_cubed_alpha_n =
      tr_saturating_rounding_doubling_high_mul(tr_saturating_rounding_doubling_high_mul(q, common_sq), alpha_n);
  const int32_t num = tr_fp_wrapping_add(tr_saturating_rounding_doubling_high_mul(q, r), q_cubed_alpha_n);
  const int32_t denom_factor =
      tr_fp_wrapping_add(tr_fp_wrapping_add(alpha_i, q), tr_saturating_rounding_doubling_high_mul(alpha_d, common_sq));
  const int32_t denom_minus_one = tr_fp_wrapping_add(tr_saturating_rounding_doubling_high_mul(p, denom_factor),
                                                     tr_saturating_rounding_doubling_high_mul(alpha_f, q));
  const int32_t recip_denom = tr_fp_one_over_one_plus_x(denom_minus_one);

  const int32_t num_scaled = tr_fp_rescale(num, 0, accum_bits);
  const int32_t sum = tr_fp_wrapping_add(tr_saturating_rounding_doubling_high_mul(z_pow_2_adj, log_2),
                                         tr_saturating_rounding_doubling_high_mul(num_scaled, recip_denom));
  return tr_fp_rescale(sum, accum_bits, out_bits);
}

/* --- multipliers computed from data or at prepare --------------------------------------------- */

/* GetInvSqrtQuantizedMultiplierExp: 1/sqrt(input) as a multiplier and a shift; reverse_shift is
 * TFLite's (-1 everywhere it calls it). */
static inline void tr_fp_inv_sqrt_multiplier(int32_t input, int reverse_shift, int32_t *multiplier, int32_t *shift) {
  if (input <= 1) {
    *multiplier = INT32_MAX;
    *shift = 0;
    return;
  }
  int32_t s = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++s;
  }
  const unsigned max_left_shift_bits = (unsigned)tr_fp_clz32((uint32_t)input) - 1;
  const unsigned left_shift_bit_pairs = max_left_shift_bits / 2 - 1;
  s -= (int32_t)left_shift_bit_pairs;
  input <<= 2 * left_shift_bit_pairs;
  /* Newton-Raphson in Q3, starting from 1 */
  const int32_t fp_input = input >> 1;
  const int32_t half_input = tr_fp_mul_by_pot(fp_input, -1);
  const int32_t half_three = (1 << 28) + (1 << 27);
  int32_t x = 1 << 28;
  for (int i = 0; i < 5; i++) {
    const int32_t x3 = tr_fp_rescale(
        tr_saturating_rounding_doubling_high_mul(tr_saturating_rounding_doubling_high_mul(x, x), x), 9, 3);
    x = tr_fp_rescale(tr_fp_wrapping_sub(tr_saturating_rounding_doubling_high_mul(half_three, x),
                                         tr_saturating_rounding_doubling_high_mul(half_input, x3)),
                      6, 3);
  }
  const int32_t half_sqrt_2 = 1518500250;
  x = tr_saturating_rounding_doubling_high_mul(x, half_sqrt_2);
  if (s < 0) {
    x = (int32_t)((uint32_t)x << -s);
    s = 0;
  }
  *multiplier = x;
  *shift = s * reverse_shift;
}

/* PreprocessSoftmaxScaling: the multiplier (and left shift) of beta * input_scale into a value
 * with integer_bits integer bits. */
static inline tr_qmul tr_fp_preprocess_softmax_scaling(double beta, double input_scale, int integer_bits) {
  double real = beta * input_scale * (double)(1 << (31 - integer_bits));
  const double cap = (double)((1ll << 31) - 1);
  if (real > cap) real = cap;
  return tr_quantize_multiplier_greater_than_one(real);
}

/* CalculateInputRadius: the largest input difference that the rescaled range can hold. */
static inline int32_t tr_fp_input_radius(int integer_bits, int left_shift, int total_signed_bits) {
  const double max_rescaled = 1.0 * (double)((1 << integer_bits) - 1) *
                              (double)(1ll << (total_signed_bits - integer_bits)) / (double)(1ll << left_shift);
  return (int32_t)floor(max_rescaled);
}

/* --- lookup tables (LUTPopulate) -------------------------------------------------------------- */

typedef float (*tr_fp_lut_transform)(float x, const void *params);

/* LUTPopulate for int8 / uint8: lut[(uint8_t)q] = quantize(f(dequantize(q))), in float. */
static inline void tr_fp_lut8_populate(uint8_t lut[256], int32_t type, float in_scale, int32_t in_zp,
                                       float out_scale, int32_t out_zp, tr_fp_lut_transform f, const void *params) {
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

/* LUTPopulate for int16: 512 interpolation segments over the int16 input range plus one end
 * value, in double, each sample biased by half the midpoint interpolation error. */
static inline void tr_fp_lut16_populate(double input_scale, int32_t input_zp, double output_scale,
                                        int32_t output_zp, double (*fn)(double), int16_t lut[513]) {
  const double input_min = input_scale * (double)(INT16_MIN - input_zp);
  const double input_max = input_scale * (double)(INT16_MAX - input_zp);
  const double output_min = output_scale * (double)(INT16_MIN - output_zp);
  const double output_max = output_scale * (double)(INT16_MAX - output_zp);
  const int steps = 512;
  const double step = (input_max - input_min) / steps;
  const double half_step = step / 2;
  const double inv = 65536.0 / (output_max - output_min);
  for (int i = 0; i < steps; i++) {
    const double val = fn(input_min + i * step);
    const double val_mid = fn(input_min + i * step + half_step);
    const double val_next = fn(input_min + (i + 1) * step);
    const double sample = round(val * inv);
    const double mid_interp = round((val_next * inv + round(val * inv)) / 2);
    const double mid = round(val_mid * inv);
    const double bias = round((mid_interp - mid) / 2);
    double v = sample - bias;
    v = v < -32768.0 ? -32768.0 : (v > 32767.0 ? 32767.0 : v);
    lut[i] = (int16_t)v;
  }
  double last = round(fn(input_max) * inv);
  last = last < -32768.0 ? -32768.0 : (last > 32767.0 ? 32767.0 : last);
  lut[steps] = (int16_t)last;
}

/* generic_int16_table_lookup: linear interpolation in a 513-entry int16 table. */
static inline int16_t tr_fp_lut16_lookup(int16_t value, const int16_t *lut) {
  const uint16_t index = (uint16_t)(256 + (value >> 7));
  const int16_t offset = (int16_t)(value & 0x7f);
  const int16_t base = lut[index];
  const int16_t slope = (int16_t)(lut[index + 1] - lut[index]);
  const int32_t delta = ((int32_t)slope * offset + 64) >> 7;
  return (int16_t)(base + delta);
}

/* ---- int16 forms, for TFLite's integer LSTM ------------------------------------------------
 * gemmlowp's int16 fixed-point logistic and tanh, as TFLite's integer LSTM applies them to its
 * int16 gates. They differ from the int32 forms above in more than the width: every int32
 * constant is first rounded to 16 bits, so the Taylor and Newton-Raphson steps run on coarser
 * constants, and FixedPoint's + and - wrap at 16 bits except where gemmlowp saturates. */

/* Two's-complement truncation to 16 bits, as the C++ templates' int16 results behave. */
static inline int16_t tr_fp16_wrap(int32_t x) { return (int16_t)(uint16_t)(uint32_t)x; }

static inline int16_t tr_fp16_saturating_add(int16_t a, int16_t b) {
  const int32_t s = (int32_t)a + b;
  return (int16_t)(s > INT16_MAX ? INT16_MAX : (s < INT16_MIN ? INT16_MIN : s));
}

/* SaturatingRoundingMultiplyByPOT on int16. */
static inline int16_t tr_fp16_mul_by_pot(int16_t x, int exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return tr_fp_rounding_divide_by_pot_i16(x, -exponent);
  const int32_t threshold = (1 << (15 - exponent)) - 1;
  if (x > threshold) return INT16_MAX;
  if (x < -threshold) return INT16_MIN;
  return tr_fp16_wrap((int32_t)x * (1 << exponent));
}

/* An int32 gemmlowp constant as its int16 FixedPoint raw value (RescaleConstantInitializer). */
static inline int16_t tr_fp16_const(int32_t raw32) { return (int16_t)tr_rounding_divide_by_pot(raw32, 16); }

#define TR_FP16_MUL tr_fp_saturating_rounding_doubling_high_mul_i16

/* exp(a) for a in [-1/4, 0), Q0 in and out. */
static inline int16_t tr_fp16_exp_quarter(int16_t a) {
  const int16_t constant_term = tr_fp16_const(1895147668); /* exp(-1/8) */
  const int16_t one_third = tr_fp16_const(715827883);
  const int16_t x = tr_fp16_wrap(a + (1 << 12)); /* a + 1/8 */
  const int16_t x2 = TR_FP16_MUL(x, x);
  const int16_t x3 = TR_FP16_MUL(x2, x);
  const int16_t x4 = TR_FP16_MUL(x2, x2);
  const int16_t x4_over_4 = tr_fp16_mul_by_pot(x4, -2);
  const int16_t poly =
      tr_fp16_mul_by_pot(tr_fp16_wrap(TR_FP16_MUL(tr_fp16_wrap(x4_over_4 + x3), one_third) + x2), -1);
  return tr_fp16_saturating_add(constant_term, TR_FP16_MUL(constant_term, tr_fp16_wrap(x + poly)));
}

/* exp(a) for a <= 0 with `bits` integer bits (0..13); the result is Q0. */
static inline int16_t tr_fp16_exp_on_negative_values(int16_t a, int bits) {
  static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                         39332535,   720401,     242}; /* exp(-2^k), k=-2..4 */
  const int frac = 15 - bits;
  const int16_t quarter = (int16_t)(1 << (frac - 2));
  const int16_t mask = (int16_t)(quarter - 1);
  const int16_t a_mod_quarter_minus_quarter = tr_fp16_wrap((a & mask) - quarter);
  int16_t result = tr_fp16_exp_quarter(tr_fp16_mul_by_pot(a_mod_quarter_minus_quarter, bits));
  const int16_t remainder = tr_fp16_wrap(a_mod_quarter_minus_quarter - a);
  for (int k = -2; k <= 4; k++) {
    if (bits > k && (remainder & (int16_t)(1 << (frac + k))))
      result = TR_FP16_MUL(result, tr_fp16_const(multipliers[k + 2]));
  }
  if (bits > 5 && a < tr_fp16_const(-(1 << (36 - bits)))) result = 0; /* below -32 */
  if (a == 0) result = INT16_MAX;
  return result;
}

/* The Newton-Raphson reciprocal of 1 + a for a in [0, 1), in Q2; shared by the two below. */
static inline int16_t tr_fp16_newton_reciprocal_q2(int16_t a) {
  const int32_t sum = (int32_t)a + INT16_MAX;
  const int16_t half_denominator = (int16_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int16_t c48_17 = tr_fp16_const(1515870810);   /* 48/17 in Q2 */
  const int16_t cm32_17 = tr_fp16_const(-1010580540); /* -32/17 in Q2 */
  const int16_t one_q2 = 1 << 13;
  int16_t x = tr_fp16_wrap(c48_17 + TR_FP16_MUL(half_denominator, cm32_17));
  for (int i = 0; i < 3; i++) {
    const int16_t one_minus = tr_fp16_wrap(one_q2 - TR_FP16_MUL(half_denominator, x));
    x = tr_fp16_wrap(x + tr_fp16_mul_by_pot(TR_FP16_MUL(x, one_minus), 2));
  }
  return x;
}

/* 1 / (1 + a), Q0 in and out. */
static inline int16_t tr_fp16_one_over_one_plus_x(int16_t a) {
  return tr_fp16_mul_by_pot(tr_fp16_newton_reciprocal_q2(a), 1); /* x/2 from Q1 to Q0 */
}

/* (1 - a) / (1 + a), Q0 in and out. */
static inline int16_t tr_fp16_one_minus_x_over_one_plus_x(int16_t a) {
  return tr_fp16_mul_by_pot(tr_fp16_wrap(tr_fp16_newton_reciprocal_q2(a) - (1 << 13)), 2);
}

/* gemmlowp::logistic on FixedPoint<int16_t, bits>. */
static inline int16_t tr_fp16_logistic(int16_t a, int bits) {
  if (a == 0) return tr_fp16_const(1 << 30);
  const int16_t abs_a = a > 0 ? a : tr_fp16_wrap(-(int32_t)a);
  const int16_t positive = tr_fp16_one_over_one_plus_x(tr_fp16_exp_on_negative_values(tr_fp16_wrap(-(int32_t)abs_a), bits));
  return a > 0 ? positive : tr_fp16_wrap(INT16_MAX - positive);
}

/* gemmlowp::tanh on FixedPoint<int16_t, bits>. */
static inline int16_t tr_fp16_tanh(int16_t a, int bits) {
  if (a == 0) return 0;
  const int16_t neg = a < 0 ? a : tr_fp16_wrap(-(int32_t)a);
  /* exp(2 * neg): the doubling is exact, one more integer bit on the same raw value */
  const int16_t t = tr_fp16_one_minus_x_over_one_plus_x(tr_fp16_exp_on_negative_values(neg, bits + 1));
  return a < 0 ? tr_fp16_wrap(-(int32_t)t) : t;
}

#undef TR_FP16_MUL

#endif
