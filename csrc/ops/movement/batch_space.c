/* SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND over m spatial dims after the batch dim; the dims after
 * the spatial ones move together as one contiguous block of `inner` elements.
 *
 * SPACE_TO_BATCH_ND: out[(o_blk * B) + b, y_1.., :] = in[b, y_k * block_k + o_k - pad_k, :], or the
 * pad value (the zero point for quantized tensors) where that falls outside the input; o_blk
 * enumerates the block offsets (o_1, .., o_m) with o_m fastest.
 * BATCH_TO_SPACE_ND is its inverse with crops instead of pads.
 *
 * ip (SPACE_TO_BATCH_ND): [element size, m, B (input batch), inner, in_spatial[m], block[m],
 *                          pad_before[m], pad value low word, high word]
 * ip (BATCH_TO_SPACE_ND): [element size, m, B (output batch), inner, in_spatial[m], block[m],
 *                          crop_before[m]] */
#include "ops/movement/movement.h"

static tr_status space_to_batch(tr_node *n) {
  const size_t es = (size_t)n->ip[0];
  const int32_t m = n->ip[1], batch = n->ip[2];
  const int64_t inner = n->ip[3], inner_bytes = inner * (int64_t)es;
  const int32_t *in_sp = n->ip + 4, *block = n->ip + 4 + m, *pad = n->ip + 4 + 2 * m;
  uint64_t value;
  tr_move_value_from_ip(n->ip + 4 + 3 * m, &value);
  const tr_tensor *out = n->outputs[0];
  const char *src = (const char *)n->inputs[0]->data;
  char *dst = (char *)out->data;
  int64_t in_batch_stride = inner, out_positions = 1;
  for (int32_t k = 0; k < m; k++) {
    in_batch_stride *= in_sp[k];
    out_positions *= out->dims[1 + k];
  }
  const int32_t out_batch = out->dims[0];
  for (int32_t ob = 0; ob < out_batch; ob++) {
    const int32_t b = ob % batch;
    int32_t shift[TR_MAX_DIMS], y[TR_MAX_DIMS] = {0};
    for (int32_t k = m - 1, blk = ob / batch; k >= 0; k--) {
      shift[k] = blk % block[k] - pad[k];
      blk /= block[k];
    }
    for (int64_t p = 0; p < out_positions; p++, dst += inner_bytes) {
      int64_t off = 0;
      int inside = 1;
      for (int32_t k = 0; k < m; k++) {
        const int64_t s = (int64_t)y[k] * block[k] + shift[k];
        if (s < 0 || s >= in_sp[k]) {
          inside = 0;
          break;
        }
        off = off * in_sp[k] + s;
      }
      if (inside) memcpy(dst, src + (b * in_batch_stride + off * inner) * (int64_t)es, (size_t)inner_bytes);
      else tr_move_fill(dst, &value, inner, es);
      for (int32_t k = m - 1; k >= 0; k--) {
        if (++y[k] < out->dims[1 + k]) break;
        y[k] = 0;
      }
    }
  }
  return TR_OK;
}

static tr_status batch_to_space(tr_node *n) {
  const size_t es = (size_t)n->ip[0];
  const int32_t m = n->ip[1], batch = n->ip[2];
  const int64_t inner = n->ip[3], inner_bytes = inner * (int64_t)es;
  const int32_t *in_sp = n->ip + 4, *block = n->ip + 4 + m, *crop = n->ip + 4 + 2 * m;
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  const char *src = (const char *)in->data;
  char *dst = (char *)out->data;
  int64_t in_positions = 1, out_batch_stride = inner;
  for (int32_t k = 0; k < m; k++) {
    in_positions *= in_sp[k];
    out_batch_stride *= out->dims[1 + k];
  }
  for (int32_t ib = 0; ib < in->dims[0]; ib++) {
    const int32_t b = ib % batch;
    int32_t shift[TR_MAX_DIMS], s[TR_MAX_DIMS] = {0};
    for (int32_t k = m - 1, blk = ib / batch; k >= 0; k--) {
      shift[k] = blk % block[k] - crop[k];
      blk /= block[k];
    }
    for (int64_t p = 0; p < in_positions; p++, src += inner_bytes) {
      int64_t off = 0;
      int inside = 1;
      for (int32_t k = 0; k < m; k++) {
        const int64_t y = (int64_t)s[k] * block[k] + shift[k];
        if (y < 0 || y >= out->dims[1 + k]) {
          inside = 0;
          break;
        }
        off = off * out->dims[1 + k] + y;
      }
      if (inside) memcpy(dst + (b * out_batch_stride + off * inner) * (int64_t)es, src, (size_t)inner_bytes);
      for (int32_t k = m - 1; k >= 0; k--) {
        if (++s[k] < in_sp[k]) break;
        s[k] = 0;
      }
    }
  }
  return TR_OK;
}

const tr_op tr_move_op_space_to_batch_nd = {"SPACE_TO_BATCH_ND", NULL, space_to_batch, NULL};
const tr_op tr_move_op_batch_to_space_nd = {"BATCH_TO_SPACE_ND", NULL, batch_to_space, NULL};
