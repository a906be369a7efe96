/* ABS, NEG, SIN, COS, EXP, LOG, SQRT, RSQRT, SQUARE, FLOOR, CEIL, ROUND, SIGN, LOGICAL_NOT.
 *
 * ip: []
 *
 * float32 uses the C library's float functions, as TFLite does. The int8 variants TFLite has
 * (ABS, SQRT, RSQRT, LOG, EXP; uint8 none) depend only on the input byte, so prepare computes
 * TFLite's per-element integer formula (ABS, SQRT, RSQRT) or its float lookup-table recipe
 * (EXP, LOG) for all 256 bytes and eval is one table lookup. SQRT and RSQRT of a negative
 * quantized value fail at run time, as in TFLite. ROUND rounds half to even. */
#include <math.h>
#include <stdbool.h>

#include "model/fixedpoint.h"
#include "model/quant.h"
#include "ops/elementwise/broadcast.h"
#include "runtime/op_table.h"

TR_UNARY_FN(abs_f32, float, float, fabsf(x))
TR_UNARY_FN(abs_i32, int32_t, int32_t, (int32_t)(x < 0 ? 0u - (uint32_t)x : (uint32_t)x))
TR_UNARY_FN(abs_i16, int16_t, int16_t, (int16_t)(x < 0 ? -(int32_t)x : (int32_t)x))
TR_UNARY_FN(neg_f32, float, float, -x)
TR_UNARY_FN(neg_i8, int8_t, int8_t, (int8_t)(-(int32_t)x))
TR_UNARY_FN(neg_i16, int16_t, int16_t, (int16_t)(-(int32_t)x))
TR_UNARY_FN(neg_i32, int32_t, int32_t, (int32_t)(0u - (uint32_t)x))
TR_UNARY_FN(neg_i64, int64_t, int64_t, (int64_t)(0ull - (uint64_t)x))
TR_UNARY_FN(sin_f32, float, float, sinf(x))
TR_UNARY_FN(cos_f32, float, float, cosf(x))
TR_UNARY_FN(exp_f32, float, float, expf(x))
TR_UNARY_FN(log_f32, float, float, logf(x))
TR_UNARY_FN(sqrt_f32, float, float, sqrtf(x))
TR_UNARY_FN(rsqrt_f32, float, float, 1.0f / sqrtf(x))
TR_UNARY_FN(square_f32, float, float, x * x)
TR_UNARY_FN(floor_f32, float, float, floorf(x))
TR_UNARY_FN(ceil_f32, float, float, ceilf(x))
TR_UNARY_FN(round_f32, float, float, nearbyintf(x))
TR_UNARY_FN(sign_f32, float, float, (float)((x > 0.0f) - (x < 0.0f)))
TR_UNARY_FN(sign_f64, double, double, (double)((x > 0.0) - (x < 0.0)))
TR_UNARY_FN(sign_i32, int32_t, int32_t, (int32_t)((x > 0) - (x < 0)))
TR_UNARY_FN(not_b, bool, bool, !x)

static tr_status setup(tr_node *n, tr_unary_fn fn) {
  if (!fn) return tr_fail(n, "unsupported type %d", n->inputs[0]->type);
  return tr_elem_setup_unary(n, fn, NULL);
}

static int32_t clamp8(int32_t v) { return v < -128 ? -128 : (v > 127 ? 127 : v); }

/* --- int8 tables ------------------------------------------------------------------------------ */

static float exp_transform(float x, const void *p) {
  (void)p;
  return expf(x);
}
static float log_transform(float x, const void *p) { return x <= 0.0f ? *(const float *)p : logf(x); }

static tr_status lut_setup(tr_node *n, tr_fp_lut_transform f, const void *params) {
  tr_status st = tr_elem_setup_unary(n, tr_elem_lut8, NULL);
  if (st != TR_OK) return st;
  tr_elem_state *s = n->state;
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  tr_fp_lut8_populate(s->lut, in->type, in->scale, in->zero_point, out->scale, out->zero_point, f, params);
  return TR_OK;
}

static tr_status abs_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  switch (in->type) {
    case TR_FLOAT32: return setup(n, abs_f32);
    case TR_INT32: return setup(n, abs_i32);
    case TR_INT16: return setup(n, abs_i16);
    case TR_INT8: break;
    default: return setup(n, NULL);
  }
  tr_status st = tr_elem_setup_unary(n, tr_elem_lut8, NULL);
  if (st != TR_OK) return st;
  tr_elem_state *s = n->state;
  const int rescale = in->scale != out->scale;
  const tr_qmul m = tr_quantize_multiplier((double)(in->scale / out->scale));
  for (int32_t v = -128; v <= 127; v++) {
    const int32_t a = v - in->zero_point;
    const int32_t value = a < 0 ? -a : a;
    const int32_t o = rescale ? tr_multiply_by_quantized_multiplier(value, m.multiplier, m.shift) + out->zero_point
                              : value + out->zero_point;
    s->lut[(uint8_t)v] = (uint8_t)(int8_t)clamp8(o);
  }
  return TR_OK;
}

static tr_status sqrt_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  if (in->type == TR_FLOAT32) return setup(n, sqrt_f32);
  if (in->type != TR_INT8) return setup(n, NULL);
  tr_status st = tr_elem_setup_unary(n, tr_elem_lut8, NULL);
  if (st != TR_OK) return st;
  tr_elem_state *s = n->state;
  s->q.ilo = 127 + 1; /* smallest raw input with a non-negative value, found below */
  for (int32_t v = 127; v >= -128; v--) {
    const float x = in->scale * (float)(v - in->zero_point);
    if (x < 0.0f) {
      s->lut[(uint8_t)v] = 0;
      continue;
    }
    s->q.ilo = v;
    const int32_t o = (int32_t)(sqrtf(x) / out->scale) + out->zero_point;
    s->lut[(uint8_t)v] = (uint8_t)(int8_t)clamp8(o);
  }
  return TR_OK;
}

static tr_status rsqrt_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  if (in->type == TR_FLOAT32) return setup(n, rsqrt_f32);
  if (in->type != TR_INT8) return setup(n, NULL);
  tr_status st = tr_elem_setup_unary(n, tr_elem_lut8, NULL);
  if (st != TR_OK) return st;
  tr_elem_state *s = n->state;
  s->q.ilo = in->zero_point;
  const double real = 1. / (double)(sqrtf(in->scale) * out->scale);
  const tr_qmul m = tr_quantize_multiplier(real);
  const int32_t shift20 = 20; /* keeps the intermediate an integer */
  for (int32_t v = in->zero_point; v <= 127; v++) {
    const int32_t value = v - in->zero_point;
    int32_t o;
    if (value == 0) {
      o = 127;
    } else {
      int32_t inv_mul;
      int32_t inv_shift;
      tr_fp_inv_sqrt_multiplier(value, -1, &inv_mul, &inv_shift);
      const int32_t data = tr_multiply_by_quantized_multiplier(1, inv_mul, inv_shift + shift20);
      o = tr_multiply_by_quantized_multiplier(data, m.multiplier, m.shift - shift20) + out->zero_point;
    }
    s->lut[(uint8_t)v] = (uint8_t)(int8_t)clamp8(o);
  }
  return TR_OK;
}

/* Raw int8 inputs below q.ilo have no real square root. */
static tr_status sqrt_rsqrt_eval(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  if (in->type == TR_INT8) {
    const tr_elem_state *s = n->state;
    const int8_t *x = in->data;
    const int64_t count = tr_num_elements(in);
    for (int64_t i = 0; i < count; i++)
      if (x[i] < s->q.ilo) return tr_fail(n, "only defined for non-negative values");
  }
  return tr_elem_eval_unary(n);
}

static tr_status log_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  if (in->type == TR_FLOAT32) return setup(n, log_f32);
  if (in->type != TR_INT8) return setup(n, NULL);
  const float output_min = (float)(-128 - out->zero_point) * out->scale;
  return lut_setup(n, log_transform, &output_min);
}

static tr_status exp_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  if (in->type == TR_FLOAT32) return setup(n, exp_f32);
  if (in->type != TR_INT8) return setup(n, NULL);
  return lut_setup(n, exp_transform, NULL);
}

static tr_status neg_prepare(tr_node *n) {
  switch (n->inputs[0]->type) {
    case TR_FLOAT32: return setup(n, neg_f32);
    case TR_INT8: return setup(n, neg_i8);
    case TR_INT16: return setup(n, neg_i16);
    case TR_INT32: return setup(n, neg_i32);
    case TR_INT64: return setup(n, neg_i64);
    default: return setup(n, NULL);
  }
}

static tr_status sign_prepare(tr_node *n) {
  switch (n->inputs[0]->type) {
    case TR_FLOAT32: return setup(n, sign_f32);
    case TR_FLOAT64: return setup(n, sign_f64);
    case TR_INT32: return setup(n, sign_i32);
    default: return setup(n, NULL);
  }
}

#define FLOAT_ONLY(name, fn) \
  static tr_status name(tr_node *n) { return setup(n, n->inputs[0]->type == TR_FLOAT32 ? fn : NULL); }
FLOAT_ONLY(sin_prepare, sin_f32)
FLOAT_ONLY(cos_prepare, cos_f32)
FLOAT_ONLY(square_prepare, square_f32)
FLOAT_ONLY(floor_prepare, floor_f32)
FLOAT_ONLY(ceil_prepare, ceil_f32)
FLOAT_ONLY(round_prepare, round_f32)
static tr_status not_prepare(tr_node *n) { return setup(n, not_b); }

const tr_op tr_elem_op_abs = {"ABS", abs_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_neg = {"NEG", neg_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_sin = {"SIN", sin_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_cos = {"COS", cos_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_exp = {"EXP", exp_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_log = {"LOG", log_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_sqrt = {"SQRT", sqrt_prepare, sqrt_rsqrt_eval, NULL};
const tr_op tr_elem_op_rsqrt = {"RSQRT", rsqrt_prepare, sqrt_rsqrt_eval, NULL};
const tr_op tr_elem_op_square = {"SQUARE", square_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_floor = {"FLOOR", floor_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_ceil = {"CEIL", ceil_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_round = {"ROUND", round_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_sign = {"SIGN", sign_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_logical_not = {"LOGICAL_NOT", not_prepare, tr_elem_eval_unary, NULL};
