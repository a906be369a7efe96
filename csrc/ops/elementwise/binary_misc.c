/* POW, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, FLOOR_DIV, FLOOR_MOD with NumPy broadcasting.
 *
 * ip: []  (none of these has parameters)
 *
 * MAXIMUM / MINIMUM compare raw values in every type, quantized ones included (TFLite does
 * not rescale). SQUARED_DIFFERENCE int8 rescales both inputs with 7 bits of headroom, squares
 * the difference and rescales once more. FLOOR_DIV divides in double and floors; FLOOR_MOD
 * takes the truncated remainder and moves it to the divisor's sign. Integer division by zero,
 * a float FLOOR_DIV by zero and an int32 POW with a negative exponent fail at run time, as in
 * TFLite. */
#include <math.h>

#include "model/quant.h"
#include "ops/elementwise/broadcast.h"
#include "runtime/op_table.h"

static inline int32_t ipow32(int32_t base, int32_t exponent) {
  uint32_t result = 1, b = (uint32_t)base;
  while (exponent > 0) {
    if (exponent & 1) result *= b;
    b *= b;
    exponent >>= 1;
  }
  return (int32_t)result;
}

TR_BINARY_ROW(pow_f32, float, float, powf(a, b))
TR_BINARY_ROW(pow_i32, int32_t, int32_t, ipow32(a, b))

#define MAXMIN_ROWS(suffix, T)                                 \
  TR_BINARY_ROW(max_##suffix, T, T, (a > b ? a : b))          \
  TR_BINARY_ROW(min_##suffix, T, T, (a < b ? a : b))
MAXMIN_ROWS(f32, float)
MAXMIN_ROWS(i8, int8_t)
MAXMIN_ROWS(u8, uint8_t)
MAXMIN_ROWS(i16, int16_t)
MAXMIN_ROWS(i32, int32_t)
MAXMIN_ROWS(i64, int64_t)

static inline float sqdiff_f32_op(float a, float b) {
  const float d = a - b;
  return d * d;
}
static inline int32_t sqdiff_i32_op(int32_t a, int32_t b) {
  const uint32_t d = (uint32_t)a - (uint32_t)b;
  return (int32_t)(d * d);
}
static inline int8_t sqdiff_q8_op(int32_t a, int32_t b, const tr_qparams *p) {
  const int32_t x = (p->in1_offset + a) * (1 << p->left_shift);
  const int32_t y = (p->in2_offset + b) * (1 << p->left_shift);
  const int32_t sx = tr_multiply_by_quantized_multiplier_smaller_than_one(x, p->in1_mul, p->in1_shift);
  const int32_t sy = tr_multiply_by_quantized_multiplier_smaller_than_one(y, p->in2_mul, p->in2_shift);
  const int32_t d = sx - sy;
  const int32_t out = tr_multiply_by_quantized_multiplier(d * d, p->out_mul, p->out_shift) + p->out_offset;
  return (int8_t)tr_elem_clamp64(out, -128, 127);
}
TR_BINARY_ROW(sqdiff_f32, float, float, sqdiff_f32_op(a, b))
TR_BINARY_ROW(sqdiff_i32, int32_t, int32_t, sqdiff_i32_op(a, b))
TR_BINARY_ROW(sqdiff_q8, int8_t, int8_t, sqdiff_q8_op(a, b, p))

TR_BINARY_ROW(floordiv_f32, float, float, (float)floor((double)a / (double)b))
TR_BINARY_ROW(floordiv_i8, int8_t, int8_t, (int8_t)floor((double)a / (double)b))
TR_BINARY_ROW(floordiv_i16, int16_t, int16_t, (int16_t)floor((double)a / (double)b))
TR_BINARY_ROW(floordiv_i32, int32_t, int32_t, (int32_t)floor((double)a / (double)b))

#define FLOORMOD_INT(T, a, b) \
  ((b) == -1 ? (T)0 : (T)(((a) % (b) != 0 && (((b) < 0) != ((a) % (b) < 0))) ? (a) % (b) + (b) : (a) % (b)))
static inline float floormod_f32_op(float a, float b) {
  const float m = fmodf(a, b);
  return (m != 0 && ((b < 0) != (m < 0))) ? m + b : m;
}
TR_BINARY_ROW(floormod_f32, float, float, floormod_f32_op(a, b))
TR_BINARY_ROW(floormod_i8, int8_t, int8_t, FLOORMOD_INT(int8_t, a, b))
TR_BINARY_ROW(floormod_i16, int16_t, int16_t, FLOORMOD_INT(int16_t, a, b))
TR_BINARY_ROW(floormod_i32, int32_t, int32_t, FLOORMOD_INT(int32_t, a, b))
TR_BINARY_ROW(floormod_i64, int64_t, int64_t, FLOORMOD_INT(int64_t, a, b))

static tr_status setup(tr_node *n, tr_row_fn fn) {
  if (!fn) return tr_fail(n, "unsupported type %d", n->outputs[0]->type);
  return tr_elem_setup_nary(n, 2, fn, NULL);
}

static tr_status pow_prepare(tr_node *n) {
  return setup(n, n->outputs[0]->type == TR_FLOAT32 ? pow_f32 : n->outputs[0]->type == TR_INT32 ? pow_i32 : NULL);
}

static tr_status pow_eval(tr_node *n) {
  const tr_tensor *b = n->inputs[1];
  if (b->type == TR_INT32) {
    const int32_t *d = b->data;
    const int64_t count = tr_num_elements(b);
    for (int64_t i = 0; i < count; i++)
      if (d[i] < 0) return tr_fail(n, "POW does not support negative exponents for int32");
  }
  return tr_elem_eval_nary(n);
}

static tr_status maxmin_prepare(tr_node *n, int is_max) {
  tr_row_fn fn = NULL;
  switch (n->outputs[0]->type) {
    case TR_FLOAT32: fn = is_max ? max_f32 : min_f32; break;
    case TR_INT8: fn = is_max ? max_i8 : min_i8; break;
    case TR_UINT8: fn = is_max ? max_u8 : min_u8; break;
    case TR_INT16: fn = is_max ? max_i16 : min_i16; break;
    case TR_INT32: fn = is_max ? max_i32 : min_i32; break;
    case TR_INT64: fn = is_max ? max_i64 : min_i64; break;
    default: break;
  }
  return setup(n, fn);
}
static tr_status max_prepare(tr_node *n) { return maxmin_prepare(n, 1); }
static tr_status min_prepare(tr_node *n) { return maxmin_prepare(n, 0); }

static tr_status sqdiff_prepare(tr_node *n) {
  const tr_tensor *a = n->inputs[0], *b = n->inputs[1], *o = n->outputs[0];
  if (o->type == TR_FLOAT32) return setup(n, sqdiff_f32);
  if (o->type == TR_INT32) return setup(n, sqdiff_i32);
  if (o->type != TR_INT8) return setup(n, NULL);
  tr_qparams q = {0};
  q.in1_offset = -a->zero_point;
  q.in2_offset = -b->zero_point;
  q.out_offset = o->zero_point;
  q.left_shift = 7;
  const double twice_max = (double)(2.0f * fmaxf(a->scale, b->scale));
  const tr_qmul m1 = tr_quantize_multiplier((double)a->scale / twice_max);
  const tr_qmul m2 = tr_quantize_multiplier((double)b->scale / twice_max);
  const tr_qmul mo =
      tr_quantize_multiplier((twice_max * twice_max) / (double)((float)(1 << (2 * q.left_shift)) * o->scale));
  q.in1_mul = m1.multiplier;
  q.in1_shift = m1.shift;
  q.in2_mul = m2.multiplier;
  q.in2_shift = m2.shift;
  q.out_mul = mo.multiplier;
  q.out_shift = mo.shift;
  return tr_elem_setup_nary(n, 2, sqdiff_q8, &q);
}

static tr_status floordiv_prepare(tr_node *n) {
  tr_row_fn fn = NULL;
  switch (n->outputs[0]->type) {
    case TR_FLOAT32: fn = floordiv_f32; break;
    case TR_INT8: fn = floordiv_i8; break;
    case TR_INT16: fn = floordiv_i16; break;
    case TR_INT32: fn = floordiv_i32; break;
    default: break;
  }
  return setup(n, fn);
}

static tr_status floormod_prepare(tr_node *n) {
  tr_row_fn fn = NULL;
  switch (n->outputs[0]->type) {
    case TR_FLOAT32: fn = floormod_f32; break;
    case TR_INT8: fn = floormod_i8; break;
    case TR_INT16: fn = floormod_i16; break;
    case TR_INT32: fn = floormod_i32; break;
    case TR_INT64: fn = floormod_i64; break;
    default: break;
  }
  return setup(n, fn);
}

/* Whether any divisor is zero (float divisors count only for FLOOR_DIV). */
static int has_zero(const tr_tensor *t, int check_float) {
  const int64_t count = tr_num_elements(t);
  switch (t->type) {
#define SCAN(T)                                       \
  {                                                   \
    const T *d = t->data;                             \
    for (int64_t i = 0; i < count; i++)               \
      if (d[i] == 0) return 1;                        \
    return 0;                                         \
  }
    case TR_INT8: SCAN(int8_t)
    case TR_INT16: SCAN(int16_t)
    case TR_INT32: SCAN(int32_t)
    case TR_INT64: SCAN(int64_t)
    case TR_FLOAT32:
      if (check_float) SCAN(float)
      return 0;
#undef SCAN
    default: return 0;
  }
}

static tr_status floordiv_eval(tr_node *n) {
  if (has_zero(n->inputs[1], 1)) return tr_fail(n, "division by zero");
  return tr_elem_eval_nary(n);
}

static tr_status floormod_eval(tr_node *n) {
  if (has_zero(n->inputs[1], 0)) return tr_fail(n, "division by zero");
  return tr_elem_eval_nary(n);
}

const tr_op tr_elem_op_pow = {"POW", pow_prepare, pow_eval, NULL};
const tr_op tr_elem_op_maximum = {"MAXIMUM", max_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_minimum = {"MINIMUM", min_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_squared_difference = {"SQUARED_DIFFERENCE", sqdiff_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_floor_div = {"FLOOR_DIV", floordiv_prepare, floordiv_eval, NULL};
const tr_op tr_elem_op_floor_mod = {"FLOOR_MOD", floormod_prepare, floormod_eval, NULL};
