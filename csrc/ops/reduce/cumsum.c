/* CUMSUM along one axis, optionally exclusive and/or reversed.
 *
 * ip: [outer, axis_size, inner, exclusive, reverse] */
#include "runtime/node.h"

#define DEFINE_CUMSUM(NAME, T)                                                             \
  static void NAME(const T *x, T *y, int32_t outer, int32_t axis, int32_t inner, int excl, \
                   int rev) {                                                              \
    for (int32_t o = 0; o < outer; o++) {                                                  \
      for (int32_t i = 0; i < inner; i++) {                                                \
        const int64_t base = (int64_t)o * axis * inner + i;                                \
        T acc = 0;                                                                         \
        for (int32_t a = 0; a < axis; a++) {                                               \
          const int64_t k = base + (int64_t)(rev ? axis - 1 - a : a) * inner;              \
          if (excl) {                                                                      \
            y[k] = acc;                                                                    \
            acc += x[k];                                                                   \
          } else {                                                                         \
            acc += x[k];                                                                   \
            y[k] = acc;                                                                    \
          }                                                                                \
        }                                                                                  \
      }                                                                                    \
    }                                                                                      \
  }

DEFINE_CUMSUM(cumsum_f32, float)
DEFINE_CUMSUM(cumsum_i32, int32_t)
DEFINE_CUMSUM(cumsum_i64, int64_t)

static tr_status cumsum_eval(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  tr_tensor *out = n->outputs[0];
  const int32_t *p = n->ip;
  switch (in->type) {
    case TR_FLOAT32: cumsum_f32(in->data, out->data, p[0], p[1], p[2], p[3], p[4]); break;
    case TR_INT32: cumsum_i32(in->data, out->data, p[0], p[1], p[2], p[3], p[4]); break;
    case TR_INT64: cumsum_i64(in->data, out->data, p[0], p[1], p[2], p[3], p[4]); break;
    default: return tr_fail(n, "unsupported input type %d", in->type);
  }
  return TR_OK;
}

const tr_op tr_op_cumsum = {"CUMSUM", NULL, cumsum_eval, NULL};
