/* L2_NORMALIZATION and LOCAL_RESPONSE_NORMALIZATION over the last axis.
 *
 * L2_NORMALIZATION  ip: [outer, depth]
 *   float: x / max(sqrt(sum x^2), 1e-6), by the row kernel of csrc/kernels/reduce chosen in
 *   prepare (SIMD: the sum of squares blocked over vector lanes), threads over rows.
 *   uint8 / int8: TFLite's reference integer kernels, an inverse square root multiplier per row
 *   (output scale 1/128, zero point 128 / 0).
 * LOCAL_RESPONSE_NORMALIZATION  ip: [outer, depth, radius]  fp: [bias, alpha, beta]
 *   float: x * (bias + alpha * sum of squares over the window)^-beta. */
#include <math.h>

#include <stdlib.h>

#include "kernels/reduce/reduce.h"
#include "model/fixedpoint.h"
#include "model/quant.h"
#include "runtime/node.h"

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

typedef struct {
  tr_l2norm_f32_fn f32;
} l2_state;

typedef struct {
  tr_l2norm_f32_fn f32;
  const float *x;
  float *y;
  size_t depth;
} l2_ctx;

static tr_status l2_prepare(tr_node *n) {
  l2_state *st = calloc(1, sizeof(*st));
  if (!st) return tr_fail(n, "out of memory");
  n->state = st;
  tr_reduce_config cfg;
  tr_reduce_config_get(&cfg);
  st->f32 = cfg.l2norm_f32;
  return TR_OK;
}

static void l2_f32_rows(void *vctx, int64_t r0, int64_t r1) {
  const l2_ctx *c = vctx;
  c->f32((size_t)(r1 - r0), c->depth, c->x + (size_t)r0 * c->depth, c->y + (size_t)r0 * c->depth);
}

static tr_status l2_eval(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  tr_tensor *out = n->outputs[0];
  const int32_t outer = n->ip[0], depth = n->ip[1];
  switch (in->type) {
    case TR_FLOAT32: {
      if (outer == 0 || depth == 0) break;
      l2_ctx c = {((const l2_state *)n->state)->f32, in->data, out->data, (size_t)depth};
      /* one thread below ~50 us of work, where waking the pool would cost as much as it saves */
      if (outer < 2 || (int64_t)outer * depth < (1 << 18)) l2_f32_rows(&c, 0, outer);
      else tr_parallel_for(n, outer, l2_f32_rows, &c);
    } break;
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

const tr_op tr_op_l2_normalization = {"L2_NORMALIZATION", l2_prepare, l2_eval, NULL};
const tr_op tr_op_lrn = {"LOCAL_RESPONSE_NORMALIZATION", NULL, lrn_eval, NULL};
