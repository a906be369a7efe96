/* DEQUANTIZE: int8 / uint8 / int16 -> float32 (per-tensor, or per-channel along one axis), and
 * float16 -> float32.
 *
 * Integer input: y = (float)(scale * (q - zero_point)), the product in double as TFLite's
 * reference does (for per-channel TFLite multiplies in float; both round the exact product to
 * float once, so the bits agree). The tensor is walked as [outer, channels, inner].
 *
 * Float16 input: a constant float16 input (the weights of a float16 model) is converted once
 * in prepare into n->state; eval then only copies it into the output, which lives in the arena
 * and may have been overwritten by other tensors since the last invoke.
 *
 * ip: [outer, channels, inner, input is constant, zero_point[channels]]
 * fp: [scale[channels]]                                  (both unused for float16) */
#include <stdlib.h>
#include <string.h>

#include "model/half.h"
#include "runtime/node.h"

#define DEQUANT_LOOP(T)                                                                        \
  do {                                                                                         \
    const T *x = (const T *)n->inputs[0]->data;                                                \
    for (int64_t o = 0; o < outer; o++) {                                                      \
      for (int32_t c = 0; c < channels; c++) {                                                 \
        const double scale = (double)n->fp[c];                                                 \
        const int32_t zp = n->ip[4 + c];                                                       \
        const int64_t base = (o * channels + c) * inner;                                       \
        for (int64_t i = 0; i < inner; i++)                                                    \
          y[base + i] = (float)(scale * (double)((int32_t)x[base + i] - zp));                  \
      }                                                                                        \
    }                                                                                          \
  } while (0)

static tr_status prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  if (in->type != TR_FLOAT16 || !n->ip[3]) return TR_OK;
  const int64_t count = tr_num_elements(in);
  float *converted = (float *)malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
  if (!converted) return tr_fail(n, "out of memory for %lld dequantized weights", (long long)count);
  tr_f16_to_f32_array((const uint16_t *)in->data, converted, count);
  n->state = converted;
  return TR_OK;
}

static tr_status eval(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  float *y = (float *)n->outputs[0]->data;
  const int64_t count = tr_num_elements(in);
  if (in->type == TR_FLOAT16) {
    if (n->state) memcpy(y, n->state, (size_t)count * sizeof(float));
    else tr_f16_to_f32_array((const uint16_t *)in->data, y, count);
    return TR_OK;
  }
  const int64_t outer = n->ip[0], inner = n->ip[2];
  const int32_t channels = n->ip[1];
  switch (in->type) {
    case TR_INT8: DEQUANT_LOOP(int8_t); break;
    case TR_UINT8: DEQUANT_LOOP(uint8_t); break;
    case TR_INT16: DEQUANT_LOOP(int16_t); break;
    default: return tr_fail(n, "unsupported input type %d", (int)in->type);
  }
  return TR_OK;
}

const tr_op tr_quant_op_dequantize = {"DEQUANTIZE", prepare, eval, NULL};
