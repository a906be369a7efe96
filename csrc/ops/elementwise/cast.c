/* CAST, ZEROS_LIKE.
 *
 * ip: []
 *
 * CAST converts each value the way C++'s static_cast does in TFLite, except that float to
 * integer saturates (NaN becomes the type's maximum), float16 rounds to nearest even, and
 * anything to BOOL tests for non-zero. A value goes through int64 when the source is an
 * integer and through double when it is a float, so every conversion rounds only once, as a
 * direct cast would. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "model/half.h"
#include "ops/elementwise/broadcast.h"
#include "runtime/op_table.h"

typedef struct {
  int is_float;
  double d;
  int64_t i;
} value;

static inline value load(const void *data, int64_t k, int32_t type) {
  value v = {0, 0.0, 0};
  switch (type) {
    case TR_FLOAT32: v.is_float = 1; v.d = ((const float *)data)[k]; break;
    case TR_FLOAT64: v.is_float = 1; v.d = ((const double *)data)[k]; break;
    case TR_FLOAT16: v.is_float = 1; v.d = tr_f16_to_f32(((const uint16_t *)data)[k]); break;
    case TR_INT8: v.i = ((const int8_t *)data)[k]; break;
    case TR_UINT8: v.i = ((const uint8_t *)data)[k]; break;
    case TR_INT16: v.i = ((const int16_t *)data)[k]; break;
    case TR_UINT16: v.i = ((const uint16_t *)data)[k]; break;
    case TR_INT32: v.i = ((const int32_t *)data)[k]; break;
    case TR_UINT32: v.i = ((const uint32_t *)data)[k]; break;
    case TR_INT64: v.i = ((const int64_t *)data)[k]; break;
    case TR_BOOL: v.i = ((const bool *)data)[k] ? 1 : 0; break;
    default: break;
  }
  return v;
}

/* SafeCast: saturate to [min, max], NaN to max, else truncate toward zero. */
static inline int64_t saturate(double x, double min_value, double max_exclusive, int64_t min, int64_t max) {
  if (isnan(x)) return max;
  if (x < min_value) return min;
  if (x >= max_exclusive) return max;
  return (int64_t)x;
}

static inline int64_t to_int(value v, int64_t min, int64_t max, double max_exclusive) {
  if (!v.is_float) return v.i;
  return saturate(v.d, (double)min, max_exclusive, min, max);
}

static inline void store(void *data, int64_t k, int32_t type, value v) {
  switch (type) {
    case TR_FLOAT32: ((float *)data)[k] = v.is_float ? (float)v.d : (float)v.i; break;
    case TR_FLOAT64: ((double *)data)[k] = v.is_float ? v.d : (double)v.i; break;
    case TR_FLOAT16: ((uint16_t *)data)[k] = tr_f32_to_f16(v.is_float ? (float)v.d : (float)v.i); break;
    case TR_INT8: ((int8_t *)data)[k] = (int8_t)to_int(v, INT8_MIN, INT8_MAX, 128.0); break;
    case TR_UINT8: ((uint8_t *)data)[k] = (uint8_t)to_int(v, 0, UINT8_MAX, 256.0); break;
    case TR_INT16: ((int16_t *)data)[k] = (int16_t)to_int(v, INT16_MIN, INT16_MAX, 32768.0); break;
    case TR_UINT16: ((uint16_t *)data)[k] = (uint16_t)to_int(v, 0, UINT16_MAX, 65536.0); break;
    case TR_INT32: ((int32_t *)data)[k] = (int32_t)to_int(v, INT32_MIN, INT32_MAX, 2147483648.0); break;
    case TR_UINT32: ((uint32_t *)data)[k] = (uint32_t)to_int(v, 0, UINT32_MAX, 4294967296.0); break;
    case TR_INT64: ((int64_t *)data)[k] = to_int(v, INT64_MIN, INT64_MAX, 9223372036854775808.0); break;
    case TR_BOOL: ((bool *)data)[k] = v.is_float ? v.d != 0.0 : v.i != 0; break;
    default: break;
  }
}

typedef struct {
  const tr_tensor *in, *out;
} cast_ctx;

static void cast_range(void *ctx_, int64_t begin, int64_t end) {
  const cast_ctx *c = ctx_;
  const int32_t ti = c->in->type, to = c->out->type;
  if (ti == TR_FLOAT32 && to == TR_INT32) {
    const float *x = c->in->data;
    int32_t *y = c->out->data;
    for (int64_t k = begin; k < end; k++)
      y[k] = (int32_t)saturate(x[k], -2147483648.0, 2147483648.0, INT32_MIN, INT32_MAX);
    return;
  }
  if (ti == TR_INT32 && to == TR_FLOAT32) {
    const int32_t *x = c->in->data;
    float *y = c->out->data;
    for (int64_t k = begin; k < end; k++) y[k] = (float)x[k];
    return;
  }
  for (int64_t k = begin; k < end; k++) store(c->out->data, k, to, load(c->in->data, k, ti));
}

static tr_status cast_eval(tr_node *n) {
  cast_ctx c = {n->inputs[0], n->outputs[0]};
  const int64_t count = tr_num_elements(n->outputs[0]);
  if (c.in->type == c.out->type) {
    if (c.out->data != c.in->data) memcpy(c.out->data, c.in->data, (size_t)count * tr_type_size(c.in->type));
    return TR_OK;
  }
  if (count >= 65536 && tr_num_threads(n) > 1) tr_parallel_for(n, count, cast_range, &c);
  else cast_range(&c, 0, count);
  return TR_OK;
}

static tr_status zeros_like_eval(tr_node *n) {
  memset(n->outputs[0]->data, 0, (size_t)tr_num_elements(n->outputs[0]) * tr_type_size(n->outputs[0]->type));
  return TR_OK;
}

const tr_op tr_elem_op_cast = {"CAST", NULL, cast_eval, NULL};
const tr_op tr_elem_op_zeros_like = {"ZEROS_LIKE", NULL, zeros_like_eval, NULL};
