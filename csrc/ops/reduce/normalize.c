/* L2_NORMALIZATION and LOCAL_RESPONSE_NORMALIZATION over the last axis.
 *
 * L2_NORMALIZATION  ip: [outer, depth]
 *   float: x / max(sqrt(sum x^2), 1e-6). uint8 / int8: TFLite's reference integer kernels,
 *   an inverse square root multiplier per row (output scale 1/128, zero point 128 / 0).
 * LOCAL_RESPONSE_NORMALIZATION  ip: [outer, depth, radius]  fp: [bias, alpha, beta]
 *   float: x * (bias + alpha * sum of squares over the window)^-beta. */
#include <math.h>

#include "model/fixedpoint.h"
#include "model/quant.h"
#include "runtime/node.h"

static void l2_f32(const float *x, float *y, int32_t outer, int32_t depth) {
  for (int32_t i = 0; i < outer; i++) {
    const float *xr = x + (int64_t)i * depth;
    float *yr = y + (int64_t)i * depth;
    float sq = 0.0f;
    for (int32_t c = 0; c < depth; c++) sq += xr[c] * xr[c];
    float norm = sqrtf(sq);
    if (norm < 1e-6f) norm = 1e-6f;
    for (int32_t c = 0; c < depth; c++) yr[c] = xr[c] / norm;
  }
}

static void l2_u8(const uint8_t *x, uint8_t *y, int32_t outer, int32_t depth, int32_t zp) {
  for (int32_t i = 0; i < outer; i++) {
    const uint8_t *xr = x + (int64_t)i * depth;
    uint8_t *yr = y + (int64_t)i * depth;
    int32_t sq = 0;
    for (int32_t c = 0; c < depth; c++) {
      const int32_t d = xr[c] - zp;
      sq += d * d;
    }
    int32_t mult, shift;
    tr_fp_inv_sqrt_multiplier(sq, -1, &mult, &shift);
    for (int32_t c = 0; c < depth; c++) {
      const int32_t d = xr[c] - zp;
      const int32_t v = tr_multiply_by_quantized_multiplier_smaller_than_one(128 * d, mult, shift);
      yr[c] = (uint8_t)tr_clamp_i32(128 + v, 0, 255);
    }
  }
}

static void l2_i8(const int8_t *x, int8_t *y, int32_t outer, int32_t depth, int32_t zp) {
  for (int32_t i = 0; i < outer; i++) {
    const int8_t *xr = x + (int64_t)i * depth;
    int8_t *yr = y + (int64_t)i * depth;
    int32_t sq = 0;
    for (int32_t c = 0; c < depth; c++) {
      const int32_t d = xr[c] - zp;
      sq += d * d;
    }
    int32_t mult, shift;
    tr_fp_inv_sqrt_multiplier(sq, -1, &mult, &shift);
    for (int32_t c = 0; c < depth; c++) {
      /* output scale 1/128: the 2^7 is folded into the shift */
      const int32_t v = tr_multiply_by_quantized_multiplier(xr[c] - zp, mult, shift + 7);
      yr[c] = (int8_t)tr_clamp_i32(v, INT8_MIN, INT8_MAX);
    }
  }
}

static tr_status l2_eval(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  tr_tensor *out = n->outputs[0];
  const int32_t outer = n->ip[0], depth = n->ip[1];
  switch (in->type) {
    case TR_FLOAT32: l2_f32(in->data, out->data, outer, depth); break;
    case TR_UINT8: l2_u8(in->data, out->data, outer, depth, in->zero_point); break;
    case TR_INT8: l2_i8(in->data, out->data, outer, depth, in->zero_point); break;
    default: return tr_fail(n, "unsupported input type %d", in->type);
  }
  return TR_OK;
}

static tr_status lrn_eval(tr_node *n) {
  const float *x = n->inputs[0]->data;
  float *y = n->outputs[0]->data;
  const int32_t outer = n->ip[0], depth = n->ip[1], radius = n->ip[2];
  const float bias = n->fp[0], alpha = n->fp[1], beta = n->fp[2];
  for (int32_t i = 0; i < outer; i++) {
    const float *xr = x + (int64_t)i * depth;
    float *yr = y + (int64_t)i * depth;
    for (int32_t c = 0; c < depth; c++) {
      const int32_t lo = c - radius > 0 ? c - radius : 0;
      /* TFLite 2.3 ends the window at c + radius, exclusive (TensorFlow includes c + radius) */
      const int32_t hi = c + radius < depth ? c + radius : depth;
      float acc = 0.0f;
      for (int32_t k = lo; k < hi; k++) acc += xr[k] * xr[k];
      yr[c] = xr[c] * powf(bias + alpha * acc, -beta);
    }
  }
  return TR_OK;
}

const tr_op tr_op_l2_normalization = {"L2_NORMALIZATION", NULL, l2_eval, NULL};
const tr_op tr_op_lrn = {"LOCAL_RESPONSE_NORMALIZATION", NULL, lrn_eval, NULL};
