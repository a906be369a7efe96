/* QUANTIZE: float32 -> int8 / uint8 / int16 (per-tensor, or per-channel along one axis), and
 * requantization between integer types with a different scale and zero point.
 *
 * Float input (TFLite's AffineQuantize): q = clamp(round(x / scale) + zero_point), the division
 * in float32, the rounding half away from zero, then the sum and the clamp in double so that
 * huge |x| and infinities saturate, as current TFLite does. (The reference kernel of the
 * ai_edge_litert 2.3 wheel converts to int32 first, so on x86 values beyond the int32 range
 * and NaN come out as an arbitrary extreme; those are the only inputs where we differ.)
 * The tensor is walked as [outer, channels, inner] (channels = 1 for per-tensor), so each
 * channel's scale is looked up once per run of `inner`.
 *
 * Integer input (TFLite's Requantize): q = clamp(MultiplyByQuantizedMultiplier(x - zp_in, M, s)
 * + zp_out), with (M, s) = QuantizeMultiplier(scale_in / scale_out) computed once in prepare.
 * When the scales are equal and only a 128 offset separates int8 from uint8, that is the same
 * as flipping the sign bit, which the loop below does directly.
 *
 * ip: [outer, channels, inner, qmin, qmax, zero_point[channels]]   (float input)
 *     [in_zero_point, out_zero_point, qmin, qmax]                 (integer input)
 * fp: [scale[channels]]                                           (float input)
 *     [in_scale, out_scale]                                       (integer input) */
#include <math.h>
#include <stdlib.h>

#include "model/quant.h"
#include "runtime/node.h"

typedef struct {
  tr_qmul mul;
  int32_t flip_sign; /* int8 <-> uint8 with equal scales and zero points 128 apart */
} requant_state;

static inline int32_t quantize_one(float x, float scale, double zero_point, double lo, double hi) {
  double v = (double)tr_round_f32(x / scale) + zero_point;
  /* NaN has no quantized value: give it the zero point (real 0.0). */
  if (v != v) return (int32_t)zero_point;
  v = v < lo ? lo : (v > hi ? hi : v);
  return (int32_t)v;
}

#define AFFINE_LOOP(T)                                                                         \
  do {                                                                                         \
    T *y = (T *)n->outputs[0]->data;                                                           \
    for (int64_t o = 0; o < outer; o++) {                                                      \
      for (int32_t c = 0; c < channels; c++) {                                                 \
        const float scale = n->fp[c];                                                          \
        const double zp = (double)n->ip[5 + c];                                                \
        const float *xs = x + (o * channels + c) * inner;                                      \
        T *ys = y + (o * channels + c) * inner;                                                \
        for (int64_t i = 0; i < inner; i++) ys[i] = (T)quantize_one(xs[i], scale, zp, lo, hi); \
      }                                                                                        \
    }                                                                                          \
  } while (0)

static tr_status eval_affine(tr_node *n) {
  const int64_t outer = n->ip[0], inner = n->ip[2];
  const int32_t channels = n->ip[1];
  const double lo = (double)n->ip[3], hi = (double)n->ip[4];
  const float *x = (const float *)n->inputs[0]->data;
  switch (n->outputs[0]->type) {
    case TR_INT8: AFFINE_LOOP(int8_t); break;
    case TR_UINT8: AFFINE_LOOP(uint8_t); break;
    case TR_INT16: AFFINE_LOOP(int16_t); break;
    default: return tr_fail(n, "unsupported output type %d", (int)n->outputs[0]->type);
  }
  return TR_OK;
}

static inline int32_t load_int(const void *data, int32_t type, int64_t i) {
  switch (type) {
    case TR_INT8: return ((const int8_t *)data)[i];
    case TR_UINT8: return ((const uint8_t *)data)[i];
    case TR_INT16: return ((const int16_t *)data)[i];
    default: return ((const int32_t *)data)[i];
  }
}

#define REQUANT_LOOP(T)                                                                        \
  do {                                                                                         \
    T *y = (T *)n->outputs[0]->data;                                                           \
    for (int64_t i = 0; i < count; i++) {                                                      \
      /* wrapping subtraction: an int32 input far from its zero point must not be UB */        \
      const int32_t d = (int32_t)((uint32_t)load_int(x, in_type, i) - (uint32_t)in_zp);       \
      const int32_t v = tr_multiply_by_quantized_multiplier(d, s->mul.multiplier, s->mul.shift); \
      y[i] = (T)tr_clamp_i32((int32_t)((uint32_t)v + (uint32_t)out_zp), lo, hi);               \
    }                                                                                          \
  } while (0)

static tr_status prepare_requant(tr_node *n) {
  requant_state *s = (requant_state *)calloc(1, sizeof(requant_state));
  if (!s) return tr_fail(n, "out of memory");
  s->mul = tr_quantize_multiplier((double)n->fp[0] / (double)n->fp[1]);
  const int32_t in_type = n->inputs[0]->type, out_type = n->outputs[0]->type;
  const int32_t zp_diff = n->ip[0] - n->ip[1];
  const int same_scale = s->mul.multiplier == (1 << 30) && s->mul.shift == 1;
  s->flip_sign = same_scale && ((in_type == TR_INT8 && out_type == TR_UINT8 && zp_diff == -128) ||
                                (in_type == TR_UINT8 && out_type == TR_INT8 && zp_diff == 128));
  n->state = s;
  return TR_OK;
}

static tr_status eval_requant(tr_node *n) {
  const requant_state *s = (const requant_state *)n->state;
  const int32_t in_zp = n->ip[0], out_zp = n->ip[1], lo = n->ip[2], hi = n->ip[3];
  const int32_t in_type = n->inputs[0]->type;
  const void *x = n->inputs[0]->data;
  const int64_t count = tr_num_elements(n->inputs[0]);
  if (s->flip_sign) {
    const uint8_t *xb = (const uint8_t *)x;
    uint8_t *yb = (uint8_t *)n->outputs[0]->data;
    for (int64_t i = 0; i < count; i++) yb[i] = (uint8_t)(xb[i] ^ 0x80u);
    return TR_OK;
  }
  switch (n->outputs[0]->type) {
    case TR_INT8: REQUANT_LOOP(int8_t); break;
    case TR_UINT8: REQUANT_LOOP(uint8_t); break;
    case TR_INT16: REQUANT_LOOP(int16_t); break;
    case TR_INT32: REQUANT_LOOP(int32_t); break;
    default: return tr_fail(n, "unsupported output type %d", (int)n->outputs[0]->type);
  }
  return TR_OK;
}

static tr_status prepare(tr_node *n) {
  return n->inputs[0]->type == TR_FLOAT32 ? TR_OK : prepare_requant(n);
}

static tr_status eval(tr_node *n) {
  return n->inputs[0]->type == TR_FLOAT32 ? eval_affine(n) : eval_requant(n);
}

const tr_op tr_quant_op_quantize = {"QUANTIZE", prepare, eval, NULL};
