/* TFLite's fixed-point arithmetic, in one place.
 *
 * Quantized kernels must give exactly the bits of TFLite's reference kernels, on every CPU.
 * That rests on these few rules: how a real multiplier becomes a Q31 multiplier and a shift
 * (frexp, then round-half-away-from-zero), and how a product is rounded back (a saturating
 * doubling high multiply, then a round-half-away-from-zero right shift). Kernels call these and
 * nothing else; SIMD kernels must reproduce them lane for lane. */
#ifndef TFLITE_RT_QUANT_H
#define TFLITE_RT_QUANT_H

#include <stdint.h>

/* A real multiplier m ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31) or 0. */
typedef struct {
  int32_t multiplier;
  int32_t shift; /* positive: left shift */
} tr_qmul;

/* TFLite's QuantizeMultiplier, with shifts above 30 saturated. */
tr_qmul tr_quantize_multiplier(double real_multiplier);

/* QuantizeMultiplier of a finite m > 0 from the bits of the double, without frexp and llround
 * (prepare computes one per output channel of every convolution). frexp's fraction is the
 * 53-bit significand over 2^53, so fraction * 2^31 is the significand over 2^22, and rounding
 * it half away from zero is adding 2^21 and shifting: exact, like the double arithmetic it
 * replaces. A subnormal m has a frexp exponent below -1021, so it gives 0 either way. The tests
 * compare it with the frexp computation over every exponent. Returns nonzero when m is a
 * finite positive double (and *q is set), zero otherwise (*q untouched). */
static inline int tr_quantize_positive_multiplier(double m, tr_qmul *q) {
  union {
    double d;
    uint64_t u;
  } bits = {m};
  const int32_t biased = (int32_t)(bits.u >> 52); /* the sign bit too: negative m is > 2046 */
  if (biased >= 2047 || bits.u == 0) return 0;
  if (biased == 0) { /* subnormal */
    q->multiplier = 0, q->shift = 0;
    return 1;
  }
  const uint64_t significand = (bits.u & ((1ull << 52) - 1)) | (1ull << 52);
  int64_t fixed = (int64_t)((significand + (1ull << 21)) >> 22);
  int32_t shift = biased - 1022;
  if (fixed == (1ll << 31)) fixed /= 2, ++shift;
  if (shift < -31) shift = 0, fixed = 0;
  q->multiplier = (int32_t)fixed;
  q->shift = shift;
  return 1;
}

/* tr_quantize_multiplier inline where m is a finite positive double (the per-channel case). */
static inline tr_qmul tr_quantize_multiplier_inline(double m) {
  tr_qmul q;
  if (!tr_quantize_positive_multiplier(m, &q)) return tr_quantize_multiplier(m);
  if (q.shift > 30) q.shift = 30, q.multiplier = INT32_MAX;
  return q;
}
/* The same without that saturation (TFLite's default build), for quantized DIV. */
tr_qmul tr_quantize_multiplier_any_shift(double real_multiplier);
/* QuantizeMultiplierSmallerThanOneExp: requires 0 < m < 1; shift is <= 0. */
tr_qmul tr_quantize_multiplier_smaller_than_one(double real_multiplier);
/* QuantizeMultiplierGreaterThanOne: requires m > 1; shift is >= 0. */
tr_qmul tr_quantize_multiplier_greater_than_one(double real_multiplier);

/* The multiplier (Q31) of a product scale a*b/c, computed in double as TFLite does for
 * convolutions and fully connected layers (operands widened from float one by one). */
static inline double tr_conv_real_multiplier(float input_scale, float filter_scale, float output_scale) {
  const double input_product_scale = (double)input_scale * (double)filter_scale;
  return input_product_scale / (double)output_scale;
}

/* tr_quantize_multiplier_inline(tr_conv_real_multiplier(input_scale, scale of c, output_scale))
 * for channels c below count: the scale of c is filter_scales[c], or filter_scale for every
 * channel when filter_scales is NULL. The same results, two channels at a time with SSE2. */
void tr_channel_multipliers(float input_scale, const float *filter_scales, float filter_scale,
                            float output_scale, int32_t count, tr_qmul *out);

/* gemmlowp's fixed-point functions (exp, log, reciprocal, inverse square root), the softmax
 * scaling helpers and the lookup-table builders are in model/fixedpoint.h. */

static inline int32_t tr_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (1ll << 30) : (1 - (1ll << 30));
  /* division (not shift): rounds toward zero, as the reference does */
  return (int32_t)((ab + nudge) / (1ll << 31));
}

static inline int32_t tr_rounding_divide_by_pot(int32_t x, int32_t exponent) {
  if (exponent < 0 || exponent > 31) {
    /* TFLite's quantized DIV shifts by any amount its scales give (past 31 for a zero
     * numerator, negative for a large output multiplier); its results are x86's: the 64-bit
     * mask's shift count taken mod 64, the 32-bit shift's mod 32. Reproduced without the UB. */
    const int32_t mask = (int32_t)(uint32_t)((1ull << (exponent & 63)) - 1);
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> (exponent & 31)) + ((x & mask) > threshold ? 1 : 0);
  }
  int32_t mask = (int32_t)((1ll << exponent) - 1);
  int32_t remainder = x & mask;
  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier (the double-rounding variant TFLite builds by default). For a
 * shift <= 0 it equals MultiplyByQuantizedMultiplierSmallerThanOneExp, so it serves where TFLite
 * calls that with a shift that may come out positive. */
static inline int32_t tr_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
  int32_t left = shift > 0 ? shift : 0;
  int32_t right = shift > 0 ? 0 : -shift;
  return tr_rounding_divide_by_pot(
      tr_saturating_rounding_doubling_high_mul((int32_t)((uint32_t)x << left), multiplier), right);
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0. */
static inline int32_t tr_multiply_by_quantized_multiplier_smaller_than_one(int32_t x, int32_t multiplier,
                                                                           int32_t shift) {
  return tr_rounding_divide_by_pot(tr_saturating_rounding_doubling_high_mul(x, multiplier), -shift);
}

/* MultiplyByQuantizedMultiplierGreaterThanOne: shift >= 0. */
static inline int32_t tr_multiply_by_quantized_multiplier_greater_than_one(int32_t x, int32_t multiplier,
                                                                           int32_t shift) {
  return tr_saturating_rounding_doubling_high_mul((int32_t)((uint32_t)x << shift), multiplier);
}

/* The 64-bit-input MultiplyByQuantizedMultiplier that TFLite uses for int16 activations. */
static inline int32_t tr_multiply_by_quantized_multiplier_64(int64_t x, int32_t multiplier, int32_t shift) {
  int32_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  int32_t total_shift = 15 - shift;
  x = x * (int64_t)reduced + ((int64_t)1 << (total_shift - 1));
  return (int32_t)(x >> total_shift);
}

static inline int32_t tr_clamp_i32(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* The [lo, hi] range of a fused activation on a quantized output (CalculateActivationRangeQuantized). */
void tr_activation_range_quantized(int32_t activation, int32_t type, float scale, int32_t zero_point,
                                   int32_t *lo, int32_t *hi);

/* Round half away from zero, as std::round / TfLiteRound. */
static inline float tr_round_f32(float x) { return __builtin_roundf(x); }

/* ---- Hybrid kernels (float activations, int8 weights) ------------------------------------
 * TFLite quantizes each float activation row on the fly (tensor_utils' SymmetricQuantizeFloats
 * and AsymmetricQuantizeFloats) and multiplies it with the int8 weights in integer; these give
 * the same int8 values, scale and zero point, bit for bit. An all-zero row gets scale 1. */

/* Symmetric to [-127, 127]: scale = max|x| / 127, q = round(x * (127 / max|x|)). */
static inline void tr_hybrid_quantize_symmetric(const float *x, int64_t n, int8_t *q, float *scale) {
  float lo = n > 0 ? x[0] : 0.0f, hi = lo;
  for (int64_t i = 1; i < n; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  const float range = __builtin_fabsf(lo) > __builtin_fabsf(hi) ? __builtin_fabsf(lo) : __builtin_fabsf(hi);
  if (range == 0.0f) {
    for (int64_t i = 0; i < n; i++) q[i] = 0;
    *scale = 1.0f;
    return;
  }
  *scale = range / 127.0f;
  const float inv = 127.0f / range;
  for (int64_t i = 0; i < n; i++) q[i] = (int8_t)tr_clamp_i32((int32_t)tr_round_f32(x[i] * inv), -127, 127);
}

/* Asymmetric to [-128, 127] over [min(x, 0), max(x, 0)], the zero point nudged to an integer
 * from whichever end has the smaller error (computed in double, as TFLite does). */
static inline void tr_hybrid_quantize_asymmetric(const float *x, int64_t n, int8_t *q, float *scale,
                                                 int32_t *zero_point) {
  float lo = n > 0 ? x[0] : 0.0f, hi = lo;
  for (int64_t i = 1; i < n; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  const double rmin = (double)(lo < 0.0f ? lo : 0.0f), rmax = (double)(hi > 0.0f ? hi : 0.0f);
  if (rmin == rmax) {
    for (int64_t i = 0; i < n; i++) q[i] = 0;
    *scale = 1.0f;
    *zero_point = 0;
    return;
  }
  const double qmin = -128.0, qmax = 127.0;
  const double s = (rmax - rmin) / (qmax - qmin);
  const double from_min = qmin - rmin / s, from_max = qmax - rmax / s;
  const double err_min = __builtin_fabs(qmin) + __builtin_fabs(rmin / s);
  const double err_max = __builtin_fabs(qmax) + __builtin_fabs(rmax / s);
  const double zp = err_min < err_max ? from_min : from_max;
  const int32_t nudged = zp <= qmin ? -128 : (zp >= qmax ? 127 : (int32_t)__builtin_round(zp));
  *scale = (float)s;
  *zero_point = nudged;
  const float inv = 1.0f / *scale;
  for (int64_t i = 0; i < n; i++)
    q[i] = (int8_t)tr_clamp_i32((int32_t)tr_round_f32((float)nudged + x[i] * inv), -128, 127);
}

#endif
