/* PAD, PADV2 and MIRROR_PAD, row by row over the output's innermost dim.
 *
 * Constant mode writes the pad value outside [before, before + in) of every dim; REFLECT mirrors
 * about the edge element (excluded), SYMMETRIC about the edge itself (included). Python checked
 * that mirror pads do not exceed the input (in - 1 for REFLECT, in for SYMMETRIC).
 *
 * ip: [element size, ndim, mode (0 constant, 1 reflect, 2 symmetric), value input (-1: use the next
 *      two words), value low word, value high word, in_dims[ndim], before[ndim]] */
#include "ops/movement/movement.h"

enum { PAD_CONSTANT = 0, PAD_REFLECT = 1, PAD_SYMMETRIC = 2 };

/* Input index of output index o on one dim, or -1 in constant mode outside the input. */
static inline int64_t source_index(int64_t o, int64_t before, int64_t size, int32_t mode) {
  int64_t i = o - before;
  if (i >= 0 && i < size) return i;
  if (mode == PAD_CONSTANT) return -1;
  const int64_t shift = mode == PAD_REFLECT ? 0 : 1;
  if (i < 0) return -i - shift;
  return 2 * size - 2 + shift - i;
}

static tr_status eval(tr_node *n) {
  const size_t es = (size_t)n->ip[0];
  const int32_t ndim = n->ip[1], mode = n->ip[2], value_input = n->ip[3];
  const int32_t *in_dims = n->ip + 6, *before = n->ip + 6 + ndim;
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  const char *src = (const char *)in->data;
  char *dst = (char *)out->data;
  uint64_t value = 0;
  if (value_input >= 0 && n->inputs[value_input]) memcpy(&value, n->inputs[value_input]->data, es);
  else tr_move_value_from_ip(n->ip + 4, &value);

  if (ndim == 0) {
    memcpy(dst, src, es);
    return TR_OK;
  }
  if (tr_num_elements(out) == 0) return TR_OK;
  int64_t in_strides[TR_MAX_DIMS];
  in_strides[ndim - 1] = 1;
  for (int32_t d = ndim - 2; d >= 0; d--) in_strides[d] = in_strides[d + 1] * in_dims[d + 1];
  const int32_t last = ndim - 1;
  const int64_t out_inner = out->dims[last], in_inner = in_dims[last], left = before[last];
  int64_t rows = 1;
  for (int32_t d = 0; d < last; d++) rows *= out->dims[d];
  int32_t idx[TR_MAX_DIMS] = {0};
  for (int64_t row = 0; row < rows; row++, dst += out_inner * (int64_t)es) {
    int64_t off = 0;
    int inside = in_inner > 0;
    for (int32_t d = 0; d < last && inside; d++) {
      const int64_t i = source_index(idx[d], before[d], in_dims[d], mode);
      if (i < 0) inside = 0;
      else off += i * in_strides[d];
    }
    if (!inside) {
      tr_move_fill(dst, &value, out_inner, es);
    } else if (mode == PAD_CONSTANT) {
      const int64_t right = out_inner - left - in_inner;
      tr_move_fill(dst, &value, left, es);
      memcpy(dst + left * (int64_t)es, src + off * (int64_t)es, (size_t)(in_inner * (int64_t)es));
      tr_move_fill(dst + (left + in_inner) * (int64_t)es, &value, right, es);
    } else {
      const char *row_src = src + off * (int64_t)es;
      for (int64_t o = 0; o < out_inner; o++)
        memcpy(dst + o * (int64_t)es, row_src + source_index(o, left, in_inner, mode) * (int64_t)es, es);
    }
    for (int32_t d = last - 1; d >= 0; d--) {
      if (++idx[d] < out->dims[d]) break;
      idx[d] = 0;
    }
  }
  return TR_OK;
}

const tr_op tr_move_op_pad = {"PAD", NULL, eval, NULL};
const tr_op tr_move_op_padv2 = {"PADV2", NULL, eval, NULL};
const tr_op tr_move_op_mirror_pad = {"MIRROR_PAD", NULL, eval, NULL};
