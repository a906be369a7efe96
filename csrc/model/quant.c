#include "model/quant.h"

#include <math.h>

#include "runtime/node.h"

tr_qmul tr_quantize_multiplier(double real_multiplier) {
  tr_qmul q = tr_quantize_multiplier_any_shift(real_multiplier);
  if (q.shift > 30) {
    q.shift = 30;
    q.multiplier = INT32_MAX;
  }
  return q;
}

tr_qmul tr_quantize_multiplier_any_shift(double real_multiplier) {
  tr_qmul q = {0, 0};
  if (tr_quantize_positive_multiplier(real_multiplier, &q)) return q;
  /* negative multipliers: frexp keeps the sign in the fraction, llround rounds it away */
  if (real_multiplier == 0.0 || !isfinite(real_multiplier)) return q;
  int shift;
  const double fraction = frexp(real_multiplier, &shift);
  int64_t fixed = (int64_t)llround(fraction * (double)(1ll << 31));
  if (fixed == (1ll << 31)) {
    fixed /= 2;
    ++shift;
  }
  if (shift < -31) {
    shift = 0;
    fixed = 0;
  }
  q.multiplier = (int32_t)fixed;
  q.shift = shift;
  return q;
}

tr_qmul tr_quantize_multiplier_smaller_than_one(double real_multiplier) {
  return tr_quantize_multiplier(real_multiplier);
}

tr_qmul tr_quantize_multiplier_greater_than_one(double real_multiplier) {
  return tr_quantize_multiplier(real_multiplier);
}

static int32_t quantize_in_range(float scale, int32_t zero_point, float value) {
  return zero_point + (int32_t)tr_round_f32(value / scale);
}

void tr_activation_range_quantized(int32_t activation, int32_t type, float scale, int32_t zero_point,
                                   int32_t *lo, int32_t *hi) {
  int32_t qmin, qmax;
  switch (type) {
    case TR_UINT8: qmin = 0; qmax = 255; break;
    case TR_INT8: qmin = -128; qmax = 127; break;
    case TR_INT16: qmin = -32768; qmax = 32767; break;
    default: qmin = INT32_MIN; qmax = INT32_MAX; break;
  }
  *lo = qmin;
  *hi = qmax;
  if (activation == TR_ACT_RELU) {
    int32_t z = quantize_in_range(scale, zero_point, 0.0f);
    *lo = z > qmin ? z : qmin;
  } else if (activation == TR_ACT_RELU6) {
    int32_t z = quantize_in_range(scale, zero_point, 0.0f);
    int32_t six = quantize_in_range(scale, zero_point, 6.0f);
    *lo = z > qmin ? z : qmin;
    *hi = six < qmax ? six : qmax;
  } else if (activation == TR_ACT_RELU_N1_TO_1) {
    int32_t m1 = quantize_in_range(scale, zero_point, -1.0f);
    int32_t p1 = quantize_in_range(scale, zero_point, 1.0f);
    *lo = m1 > qmin ? m1 : qmin;
    *hi = p1 < qmax ? p1 : qmax;
  }
}
