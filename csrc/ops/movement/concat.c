/* CONCATENATION and PACK. The output is viewed as [outer, sum of chunks]: for each outer step,
 * input i contributes chunk_i contiguous elements. PACK is a concatenation on a new axis.
 *
 * uint8/int8 inputs whose scale or zero point differ from the output's are rescaled as TFLite's
 * ConcatenationWithScaling does, in float: q_out = round(q_in * s + b) + zp_out with
 * s = scale_in * (1 / scale_out), b = -zp_in * s, saturated to the output type.
 *
 * ip: [element size, outer, activation (float32 only), requant type (0, TR_UINT8 or TR_INT8),
 *      n, chunk[n], in_zero_point[n], out_zero_point]
 * fp: [out_scale, in_scale[n]] */
#include <math.h>

#include "model/quant.h"
#include "ops/movement/movement.h"

static void rescale(char *dst, const char *src, int64_t count, int32_t type, float scale, float bias,
                    int32_t out_zp) {
  const int32_t lo = type == TR_UINT8 ? 0 : -128, hi = type == TR_UINT8 ? 255 : 127;
  for (int64_t j = 0; j < count; j++) {
    const float x = type == TR_UINT8 ? (float)((const uint8_t *)src)[j] : (float)((const int8_t *)src)[j];
    const int32_t v = tr_clamp_i32((int32_t)tr_round_f32(x * scale + bias) + out_zp, lo, hi);
    if (type == TR_UINT8) ((uint8_t *)dst)[j] = (uint8_t)v;
    else ((int8_t *)dst)[j] = (int8_t)v;
  }
}

static tr_status eval(tr_node *n) {
  const size_t es = (size_t)n->ip[0];
  const int64_t outer = n->ip[1];
  const int32_t act = n->ip[2], requant = n->ip[3], count = n->ip[4];
  const int32_t *chunk = n->ip + 5, *in_zp = n->ip + 5 + count;
  const int32_t out_zp = n->ip[5 + 2 * count];
  const float inv_out_scale = requant ? 1.0f / n->fp[0] : 0.0f;
  char *out = (char *)n->outputs[0]->data;
  for (int64_t k = 0; k < outer; k++) {
    for (int32_t i = 0; i < count; i++) {
      const int64_t bytes = (int64_t)chunk[i] * (int64_t)es;
      const char *src = (const char *)n->inputs[i]->data + k * bytes;
      if (requant && (in_zp[i] != out_zp || n->fp[1 + i] != n->fp[0])) {
        const float scale = n->fp[1 + i] * inv_out_scale;
        const float bias = -(float)in_zp[i] * scale;
        rescale(out, src, chunk[i], requant, scale, bias, out_zp);
      } else {
        memcpy(out, src, (size_t)bytes);
      }
      out += bytes;
    }
  }
  if (act != TR_ACT_NONE && n->outputs[0]->type == TR_FLOAT32) {
    float lo, hi;
    tr_activation_range_f32(act, &lo, &hi);
    float *y = (float *)n->outputs[0]->data;
    const int64_t total = tr_num_elements(n->outputs[0]);
    for (int64_t j = 0; j < total; j++) y[j] = tr_clamp_f32(y[j], lo, hi);
  }
  return TR_OK;
}

const tr_op tr_move_op_concatenation = {"CONCATENATION", NULL, eval, NULL};
const tr_op tr_move_op_pack = {"PACK", NULL, eval, NULL};
