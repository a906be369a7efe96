/* Ops that only change the shape (RESHAPE, SQUEEZE, EXPAND_DIMS: a plain copy, skipped when the
 * planner aliases input and output) and ops whose values come from shapes or scalars: SHAPE,
 * RANK, FILL, RANGE.
 *
 * RESHAPE/SQUEEZE/EXPAND_DIMS ip: []   (STRING tensors: the input's bytes are copied as they are)
 * SHAPE ip: [output is int64]
 * RANK  ip: []
 * FILL  ip: [element size]   (the value is read from input 1 on every invoke)
 * RANGE ip: [type]   (start = input 0, delta = input 2; the output size was fixed by Python) */
#include "ops/movement/movement.h"

static tr_status copy_eval(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  tr_tensor *out = n->outputs[0];
  if (in->data == out->data) return TR_OK;
  int64_t bytes;
  if (in->type == TR_STRING) bytes = in->nbytes < out->nbytes ? in->nbytes : out->nbytes;
  else bytes = tr_num_elements(in) * (int64_t)tr_type_size(in->type);
  if (bytes > 0) memmove(out->data, in->data, (size_t)bytes);
  return TR_OK;
}

static tr_status shape_eval(tr_node *n) {
  const tr_tensor *in = n->inputs[0];
  for (int32_t d = 0; d < in->ndim; d++) {
    if (n->ip[0]) ((int64_t *)n->outputs[0]->data)[d] = in->dims[d];
    else ((int32_t *)n->outputs[0]->data)[d] = in->dims[d];
  }
  return TR_OK;
}

static tr_status rank_eval(tr_node *n) {
  *(int32_t *)n->outputs[0]->data = n->inputs[0]->ndim;
  return TR_OK;
}

static tr_status fill_eval(tr_node *n) {
  tr_move_fill((char *)n->outputs[0]->data, n->inputs[1]->data, tr_num_elements(n->outputs[0]),
               (size_t)n->ip[0]);
  return TR_OK;
}

/* Accumulates like TFLite (value += delta), so float outputs round the same way. */
#define RANGE_FILL(T)                                           \
  do {                                                          \
    T value = *(const T *)n->inputs[0]->data;                   \
    const T delta = *(const T *)n->inputs[2]->data;             \
    T *out = (T *)n->outputs[0]->data;                          \
    for (int64_t i = 0; i < count; i++, value += delta) out[i] = value; \
  } while (0)

static tr_status range_eval(tr_node *n) {
  const int64_t count = tr_num_elements(n->outputs[0]);
  switch (n->ip[0]) {
    case TR_FLOAT32: RANGE_FILL(float); break;
    case TR_INT64: RANGE_FILL(int64_t); break;
    default: RANGE_FILL(int32_t); break;
  }
  return TR_OK;
}

const tr_op tr_move_op_reshape = {"RESHAPE", NULL, copy_eval, NULL};
const tr_op tr_move_op_squeeze = {"SQUEEZE", NULL, copy_eval, NULL};
const tr_op tr_move_op_expand_dims = {"EXPAND_DIMS", NULL, copy_eval, NULL};
const tr_op tr_move_op_shape = {"SHAPE", NULL, shape_eval, NULL};
const tr_op tr_move_op_rank = {"RANK", NULL, rank_eval, NULL};
const tr_op tr_move_op_fill = {"FILL", NULL, fill_eval, NULL};
const tr_op tr_move_op_range = {"RANGE", NULL, range_eval, NULL};
