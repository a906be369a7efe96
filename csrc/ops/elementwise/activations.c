/* RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1, LOGISTIC, TANH, ELU, HARD_SWISH, LEAKY_RELU, GELU and
 * PRELU (alpha broadcast against the input).
 *
 * ip: LEAKY_RELU: []  fp: [alpha]
 *     GELU: [approximate]
 *     others: []
 *
 * Every int8 / uint8 form maps one input byte to one output byte, so prepare fills a 256-entry
 * table and eval is a lookup. What fills the table is what TFLite's reference kernels compute:
 * its integer formulas for the RELUs, LEAKY_RELU and HARD_SWISH, and its float table recipe
 * (LUTPopulate) for LOGISTIC, TANH, ELU and GELU. int16 RELU / RELU6 / LEAKY_RELU compute the
 * integer formula per element; PRELU multiplies by the quantized alpha per element.
 *
 * float32 RELU / RELU6 / RELU_N1_TO_1 / RELU_0_TO_1, LOGISTIC, TANH and HARD_SWISH run the SIMD
 * kernels of csrc/kernels/vunary (chosen in prepare, q.kernels); under the scalar ISA cap they
 * keep the functions below. float32 GELU runs the vunary kernels at every ISA level, the
 * portable one included (its own erfc approximation, vunary-gelu.h, which the SIMD kernels
 * reproduce bit for bit; libm's erfcf only fills the 8-bit tables). The tables of 8-bit ones
 * are looked up by SIMD kernels too (tr_elem_lut8). */
#include <math.h>

#include "kernels/vunary/vunary.h"
#include "model/fixedpoint.h"
#include "model/quant.h"
#include "ops/elementwise/broadcast.h"
#include "runtime/op_table.h"

/* --- float ------------------------------------------------------------------------------------ */

static inline float logistic_f32(float x) {
  if (x > 16.619047164916992188f) return 1.0f;
  if (x < -9.0f) return expf(x);
  return 1.0f / (1.0f + expf(-x));
}
static inline float hard_swish_f32(float x) { return x * fminf(6.0f, fmaxf(0.0f, x + 3.0f)) / 6.0f; }

#define SQRT_2_OVER_PI ((float)(M_2_SQRTPI * M_SQRT1_2))
static inline float gelu_f32(float x) { return 0.5f * x * erfcf(x * (float)(-M_SQRT1_2)); }
static inline float gelu_tanh_f32(float x) {
  return 0.5f * x * (1.0f + tanhf(SQRT_2_OVER_PI * (x + 0.044715f * x * x * x)));
}

TR_UNARY_FN(relu_f32, float, float, fmaxf(0.0f, x))
TR_UNARY_FN(relu6_f32, float, float, fminf(fmaxf(0.0f, x), 6.0f))
TR_UNARY_FN(relu1_f32, float, float, fminf(fmaxf(-1.0f, x), 1.0f))
TR_UNARY_FN(relu01_f32, float, float, fminf(fmaxf(0.0f, x), 1.0f))
TR_UNARY_FN(logistic_f32_fn, float, float, logistic_f32(x))
TR_UNARY_FN(tanh_f32, float, float, tanhf(x))
TR_UNARY_FN(elu_f32, float, float, x < 0.0f ? expm1f(x) : x)
TR_UNARY_FN(hard_swish_f32_fn, float, float, hard_swish_f32(x))
TR_UNARY_FN(leaky_f32, float, float, x > 0.0f ? x : x * p->fparam)


/* --- float32 through the vunary micro-kernels ------------------------------------------------- */

enum { VK_CLAMP, VK_SIGMOID, VK_TANH, VK_HARDSWISH };

static inline const tr_vunary_config *vk(const void *state) {
  return (const tr_vunary_config *)((const tr_elem_state *)state)->q.kernels;
}
static void clamp_f32_k(void *out, const void *in, int64_t n, const void *s) {
  const tr_qparams *q = &((const tr_elem_state *)s)->q;
  const tr_vunary_f32_params p = {q->flo, q->fhi};
  vk(s)->clamp((size_t)n, (const float *)in, (float *)out, &p);
}
static void sigmoid_f32_k(void *out, const void *in, int64_t n, const void *s) {
  vk(s)->sigmoid((size_t)n, (const float *)in, (float *)out, NULL);
}
static void tanh_f32_k(void *out, const void *in, int64_t n, const void *s) {
  vk(s)->tanh((size_t)n, (const float *)in, (float *)out, NULL);
}
static void hardswish_f32_k(void *out, const void *in, int64_t n, const void *s) {
  vk(s)->hardswish((size_t)n, (const float *)in, (float *)out, NULL);
}
static void gelu_f32_k(void *out, const void *in, int64_t n, const void *s) {
  vk(s)->gelu((size_t)n, (const float *)in, (float *)out, NULL);
}
static void gelu_tanh_f32_k(void *out, const void *in, int64_t n, const void *s) {
  vk(s)->gelu_tanh((size_t)n, (const float *)in, (float *)out, NULL);
}

/* A float32 activation: its SIMD kernel, or `portable` under the scalar cap. */
static tr_status setup_f32(tr_node *n, int which, tr_unary_fn portable, float lo, float hi) {
  const tr_vunary_config *cfg = tr_vunary_config_get();
  if (cfg->sigmoid == tr_vsigmoid_f32__scalar) return tr_elem_setup_unary(n, portable, NULL);
  tr_qparams q = {0};
  q.flo = lo;
  q.fhi = hi;
  q.kernels = cfg;
  const tr_unary_fn fn = which == VK_CLAMP ? clamp_f32_k : which == VK_SIGMOID ? sigmoid_f32_k
                         : which == VK_TANH ? tanh_f32_k : hardswish_f32_k;
  return tr_elem_setup_unary(n, fn, &q);
}

/* --- quantized RELU family ----------------------------------------------------------------------- */

static void type_range(int32_t type, int32_t *lo, int32_t *hi) {
  *lo = type == TR_INT8 ? -128 : type == TR_UINT8 ? 0 : -32768;
  *hi = type == TR_INT8 ? 127 : type == TR_UINT8 ? 255 : 32767;
}

/* q: in1_offset = input zero point, out_offset, out_mul/out_shift, ilo/ihi the clamp. */
static inline int32_t relu_q(int32_t x, const tr_qparams *p) {
  const int32_t v = p->out_offset + tr_multiply_by_quantized_multiplier(x - p->in1_offset, p->out_mul, p->out_shift);
  return (int32_t)tr_elem_clamp64(v, p->ilo, p->ihi);
}
TR_UNARY_FN(relu_q16, int16_t, int16_t, (int16_t)relu_q(x, p))

/* The raw input type of the op; 8-bit ones get a table, others a per-element function. */
static tr_status fill_lut(tr_node *n, int32_t (*f)(int32_t, const tr_qparams *), tr_qparams *q) {
  tr_status st = tr_elem_setup_unary(n, tr_elem_lut8, q);
  if (st != TR_OK) return st;
  tr_elem_state *s = n->state;
  const int32_t type = n->inputs[0]->type;
  int32_t lo, hi;
  type_range(type, &lo, &hi);
  for (int32_t v = lo; v <= hi; v++) s->lut[(uint8_t)v] = (uint8_t)f(v, &s->q);
  return TR_OK;
}

static tr_status relu_family_prepare(tr_node *n, float act_min, float act_max, tr_unary_fn ffn, int allow16) {
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  if (in->type == TR_FLOAT32) return setup_f32(n, VK_CLAMP, ffn, act_min, act_max);
  if (!(in->type == TR_INT8 || in->type == TR_UINT8 || (allow16 && in->type == TR_INT16)))
    return tr_fail(n, "unsupported type %d", in->type);
  tr_qparams q = {0};
  int32_t lo, hi;
  type_range(in->type, &lo, &hi);
  const int32_t qmin = out->zero_point + (int32_t)roundf(act_min / out->scale);
  q.ilo = qmin > lo ? qmin : lo;
  if (isinf(act_max)) {
    q.ihi = hi;
  } else {
    const int32_t qmax = out->zero_point + (int32_t)roundf(act_max / out->scale);
    q.ihi = qmax < hi ? qmax : hi;
  }
  q.in1_offset = in->zero_point;
  q.out_offset = out->zero_point;
  const tr_qmul m = tr_quantize_multiplier((double)(in->scale / out->scale));
  q.out_mul = m.multiplier;
  q.out_shift = m.shift;
  if (in->type == TR_INT16) return tr_elem_setup_unary(n, relu_q16, &q);
  return fill_lut(n, relu_q, &q);
}

static tr_status relu_prepare(tr_node *n) { return relu_family_prepare(n, 0.0f, INFINITY, relu_f32, 1); }
static tr_status relu6_prepare(tr_node *n) { return relu_family_prepare(n, 0.0f, 6.0f, relu6_f32, 1); }
static tr_status relu1_prepare(tr_node *n) { return relu_family_prepare(n, -1.0f, 1.0f, relu1_f32, 0); }
static tr_status relu01_prepare(tr_node *n) { return relu_family_prepare(n, 0.0f, 1.0f, relu01_f32, 0); }

/* --- LEAKY_RELU ------------------------------------------------------------------------------- */

/* q: out_mul/out_shift identity multiplier, mul2/shift2 alpha multiplier. */
static inline int32_t leaky_q(int32_t x, const tr_qparams *p) {
  const int32_t v = x - p->in1_offset;
  int32_t out = p->out_offset;
  if (v >= 0) {
    out += tr_multiply_by_quantized_multiplier(v, p->out_mul, p->out_shift);
  } else {
    const int negative = p->mul2 < 0;
    const int32_t scaled = tr_multiply_by_quantized_multiplier(v, negative ? -p->mul2 : p->mul2, p->shift2);
    out += negative ? -scaled : scaled;
  }
  return (int32_t)tr_elem_clamp64(out, p->ilo, p->ihi);
}
TR_UNARY_FN(leaky_q16, int16_t, int16_t, (int16_t)leaky_q(x, p))

static tr_status leaky_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  tr_qparams q = {0};
  q.fparam = n->fp[0];
  if (in->type == TR_FLOAT32) return tr_elem_setup_unary(n, leaky_f32, &q);
  int32_t lo, hi;
  type_range(in->type, &lo, &hi);
  q.ilo = lo;
  q.ihi = hi;
  q.in1_offset = in->zero_point;
  q.out_offset = out->zero_point;
  const tr_qmul ma = tr_quantize_multiplier((double)(in->scale * q.fparam / out->scale));
  const tr_qmul mi = tr_quantize_multiplier((double)(in->scale / out->scale));
  q.mul2 = ma.multiplier;
  q.shift2 = ma.shift;
  q.out_mul = mi.multiplier;
  q.out_shift = mi.shift;
  if (in->type == TR_INT16) return tr_elem_setup_unary(n, leaky_q16, &q);
  return fill_lut(n, leaky_q, &q);
}

/* --- HARD_SWISH --------------------------------------------------------------------------------- */

/* q: in1_offset / out_offset zero points; out_mul (int16) and out_shift: output multiplier;
 * mul2 (int16) and shift2: the "reluish" multiplier; ilo/ihi the type range. */
static inline int32_t hard_swish_q(int32_t x, const tr_qparams *p) {
  const int16_t v = (int16_t)(x - p->in1_offset);
  const int16_t hires = (int16_t)(v * (1 << 7));
  const int16_t preshift = tr_fp_saturating_rounding_doubling_high_mul_i16(hires, (int16_t)p->out_mul);
  int16_t reluish = hires;
  if (p->shift2 > 0) reluish = tr_fp_saturating_left_shift_i16(reluish, p->shift2 - 1);
  reluish = tr_fp_saturating_rounding_doubling_high_mul_i16(reluish, (int16_t)p->mul2);
  if (p->shift2 > 0) reluish = tr_fp_saturating_left_shift_i16(reluish, 1);
  if (p->shift2 < 0) reluish = tr_fp_rounding_divide_by_pot_i16(reluish, -p->shift2);
  reluish = (int16_t)((reluish + (1 << 15)) >> 1);
  /* SaturatingDoublingHighMul without rounding, as TFLite's reference hard swish does */
  int16_t pre;
  if (reluish == INT16_MIN && preshift == INT16_MIN) pre = INT16_MAX;
  else pre = (int16_t)(((int32_t)reluish * (int32_t)preshift) / (1 << 15));
  int16_t out = tr_fp_rounding_divide_by_pot_i16(pre, -p->out_shift);
  out = (int16_t)(out + p->out_offset);
  return (int32_t)tr_elem_clamp64(out, p->ilo, p->ihi);
}

static int16_t downscale_to_int16(int32_t m) {
  if (m >= INT32_MAX - (1 << 15)) return INT16_MAX;
  return (int16_t)((m + (1 << 15)) >> 16);
}

static tr_status hard_swish_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  if (in->type == TR_FLOAT32) return setup_f32(n, VK_HARDSWISH, hard_swish_f32_fn, 0.0f, 0.0f);
  if (in->type != TR_INT8 && in->type != TR_UINT8) return tr_fail(n, "unsupported type %d", in->type);
  tr_qparams q = {0};
  int32_t lo, hi;
  type_range(in->type, &lo, &hi);
  q.ilo = lo;
  q.ihi = hi;
  q.in1_offset = in->zero_point;
  q.out_offset = out->zero_point;
  const float hires_input_scale = (1.0f / 128.0f) * in->scale;
  const float reluish_scale = 3.0f / 32768.0f;
  const tr_qmul mo = tr_quantize_multiplier((double)(hires_input_scale / out->scale));
  const tr_qmul mr = tr_quantize_multiplier((double)(hires_input_scale / reluish_scale));
  if (mo.shift > 0) return tr_fail(n, "output scale too small for the input scale");
  q.out_mul = downscale_to_int16(mo.multiplier);
  q.out_shift = mo.shift;
  q.mul2 = downscale_to_int16(mr.multiplier);
  q.shift2 = mr.shift;
  return fill_lut(n, hard_swish_q, &q);
}

/* --- table-driven transcendental activations ---------------------------------------------------- */

static float logistic_t(float x, const void *p) {
  (void)p;
  return 1.0f / (1.0f + expf(-x));
}
static float tanh_t(float x, const void *p) {
  (void)p;
  return tanhf(x);
}
static float elu_t(float x, const void *p) {
  (void)p;
  return x < 0.0f ? expm1f(x) : x;
}
static float gelu_t(float x, const void *p) {
  (void)p;
  return gelu_f32(x);
}
static float gelu_tanh_t(float x, const void *p) {
  (void)p;
  return gelu_tanh_f32(x);
}

/* which: VK_SIGMOID / VK_TANH for float32 kernels, -1 for the portable function */
static tr_status lut_prepare(tr_node *n, tr_unary_fn ffn, tr_fp_lut_transform f, int allow_u8, int which) {
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  if (in->type == TR_FLOAT32)
    return which >= 0 ? setup_f32(n, which, ffn, 0.0f, 0.0f) : tr_elem_setup_unary(n, ffn, NULL);
  if (!(in->type == TR_INT8 || (allow_u8 && in->type == TR_UINT8)))
    return tr_fail(n, "unsupported type %d", in->type);
  tr_status st = tr_elem_setup_unary(n, tr_elem_lut8, NULL);
  if (st != TR_OK) return st;
  tr_elem_state *s = n->state;
  tr_fp_lut8_populate(s->lut, in->type, in->scale, in->zero_point, out->scale, out->zero_point, f, NULL);
  return TR_OK;
}

static tr_status logistic_prepare(tr_node *n) { return lut_prepare(n, logistic_f32_fn, logistic_t, 1, VK_SIGMOID); }
static tr_status tanh_prepare(tr_node *n) { return lut_prepare(n, tanh_f32, tanh_t, 1, VK_TANH); }
static tr_status elu_prepare(tr_node *n) { return lut_prepare(n, elu_f32, elu_t, 0, -1); }
static tr_status gelu_prepare(tr_node *n) {
  const int approximate = n->ip[0];
  if (n->inputs[0]->type == TR_FLOAT32) {
    tr_qparams q = {0};
    q.kernels = tr_vunary_config_get();
    return tr_elem_setup_unary(n, approximate ? gelu_tanh_f32_k : gelu_f32_k, &q);
  }
  return approximate ? lut_prepare(n, NULL, gelu_tanh_t, 1, -1) : lut_prepare(n, NULL, gelu_t, 1, -1);
}

/* --- PRELU --------------------------------------------------------------------------------------- */

/* q: in1_offset / in2_offset = -zero points of input / alpha; out_mul: identity, mul2: alpha. */
static inline int32_t prelu_q(int32_t x, int32_t alpha, const tr_qparams *p) {
  const int32_t v = p->in1_offset + x;
  int32_t out;
  if (v >= 0) out = tr_multiply_by_quantized_multiplier(v, p->out_mul, p->out_shift);
  else out = tr_multiply_by_quantized_multiplier(v * (p->in2_offset + alpha), p->mul2, p->shift2);
  return (int32_t)tr_elem_clamp64(out + p->out_offset, p->ilo, p->ihi);
}

TR_BINARY_ROW(prelu_f32, float, float, a >= 0.0f ? a : a * b)
TR_BINARY_ROW(prelu_q8, int8_t, int8_t, (int8_t)prelu_q(a, b, p))
TR_BINARY_ROW(prelu_qu8, uint8_t, uint8_t, (uint8_t)prelu_q(a, b, p))

static tr_status prelu_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *alpha = n->inputs[1], *out = n->outputs[0];
  if (in->type == TR_FLOAT32) return tr_elem_setup_nary(n, 2, prelu_f32, NULL);
  if (in->type != TR_INT8 && in->type != TR_UINT8) return tr_fail(n, "unsupported type %d", in->type);
  tr_qparams q = {0};
  int32_t lo, hi;
  type_range(in->type, &lo, &hi);
  q.ilo = lo;
  q.ihi = hi;
  q.in1_offset = -in->zero_point;
  q.in2_offset = -alpha->zero_point;
  q.out_offset = out->zero_point;
  const tr_qmul m1 = tr_quantize_multiplier((double)(in->scale / out->scale));
  const tr_qmul m2 = tr_quantize_multiplier((double)(in->scale * alpha->scale / out->scale));
  q.out_mul = m1.multiplier;
  q.out_shift = m1.shift;
  q.mul2 = m2.multiplier;
  q.shift2 = m2.shift;
  return tr_elem_setup_nary(n, 2, in->type == TR_INT8 ? prelu_q8 : prelu_qu8, &q);
}

const tr_op tr_elem_op_relu = {"RELU", relu_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_relu6 = {"RELU6", relu6_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_relu_n1_to_1 = {"RELU_N1_TO_1", relu1_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_relu_0_to_1 = {"RELU_0_TO_1", relu01_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_leaky_relu = {"LEAKY_RELU", leaky_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_hard_swish = {"HARD_SWISH", hard_swish_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_logistic = {"LOGISTIC", logistic_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_tanh = {"TANH", tanh_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_elu = {"ELU", elu_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_gelu = {"GELU", gelu_prepare, tr_elem_eval_unary, NULL};
const tr_op tr_elem_op_prelu = {"PRELU", prelu_prepare, tr_elem_eval_nary, NULL};
