/* ARG_MAX and ARG_MIN along one axis; the first index wins on ties, and NaN never wins
 * (strict comparisons, as TFLite's reference kernel).
 *
 * ip: [outer, axis_size, inner, is_min] */
#include "runtime/node.h"

#define DEFINE_ARG(NAME, T)                                                              \
  static void NAME(const T *x, void *y, int out64, int32_t outer, int32_t axis,         \
                   int32_t inner, int is_min) {                                          \
    for (int32_t o = 0; o < outer; o++) {                                                \
      for (int32_t i = 0; i < inner; i++) {                                              \
        const T *p = x + (int64_t)o * axis * inner + i;                                  \
        T best = p[0];                                                                   \
        int32_t best_index = 0;                                                          \
        for (int32_t a = 1; a < axis; a++) {                                             \
          const T v = p[(int64_t)a * inner];                                             \
          if (is_min ? v < best : v > best) {                                            \
            best = v;                                                                    \
            best_index = a;                                                              \
          }                                                                              \
        }                                                                                \
        const int64_t k = (int64_t)o * inner + i;                                        \
        if (out64) ((int64_t *)y)[k] = best_index;                                       \
        else ((int32_t *)y)[k] = best_index;                                             \
      }                                                                                  \
    }                                                                                    \
  }

DEFINE_ARG(arg_f32, float)
DEFINE_ARG(arg_i32, int32_t)
DEFINE_ARG(arg_i64, int64_t)
DEFINE_ARG(arg_i8, int8_t)
DEFINE_ARG(arg_u8, uint8_t)
DEFINE_ARG(arg_i16, int16_t)

static tr_status arg_eval(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  tr_tensor *out = n->outputs[0];
  const int32_t outer = n->ip[0], axis = n->ip[1], inner = n->ip[2], is_min = n->ip[3];
  const int out64 = out->type == TR_INT64;
  if (axis == 0) return TR_OK;
  switch (in->type) {
    case TR_FLOAT32: arg_f32(in->data, out->data, out64, outer, axis, inner, is_min); break;
    case TR_INT32: arg_i32(in->data, out->data, out64, outer, axis, inner, is_min); break;
    case TR_INT64: arg_i64(in->data, out->data, out64, outer, axis, inner, is_min); break;
    case TR_INT8: arg_i8(in->data, out->data, out64, outer, axis, inner, is_min); break;
    case TR_UINT8:
    case TR_BOOL: arg_u8(in->data, out->data, out64, outer, axis, inner, is_min); break;
    case TR_INT16: arg_i16(in->data, out->data, out64, outer, axis, inner, is_min); break;
    default: return tr_fail(n, "unsupported input type %d", in->type);
  }
  return TR_OK;
}

const tr_op tr_op_arg_min_max = {"ARG_MIN_MAX", NULL, arg_eval, NULL};
