/* Ops whose every output is a strided view of one input:
 * TRANSPOSE, SLICE, STRIDED_SLICE, REVERSE_V2, TILE, BROADCAST_TO, DEPTH_TO_SPACE, SPACE_TO_DEPTH,
 * SPLIT, SPLIT_V, UNPACK.
 *
 * Output k (contiguous) holds in[offset + sum_d i_d * stride_d] over the index box dims[]. Python
 * turns each op into such views once (negative strides reverse, zero strides broadcast) and merges
 * dims that are contiguous in both, so the kernel copies rows of the innermost dim.
 *
 * ip: [data input index, element size, then per output k: ndim, offset, dims[ndim], strides[ndim]]
 *     (offset and strides in elements) */
#include "ops/movement/movement.h"

typedef struct {
  const char *src;
  char *dst;
  size_t es;
  int32_t ndim; /* >= 1 */
  int64_t offset;
  const int32_t *dims;
  const int32_t *strides;
} view_job;

static void copy_rows(void *ctx, int64_t begin, int64_t end) {
  const view_job *j = (const view_job *)ctx;
  const int32_t last = j->ndim - 1;
  const int64_t inner = j->dims[last];
  const int64_t inner_stride = j->strides[last];
  int32_t idx[TR_MOVE_MAX_VIEW_DIMS];
  int64_t off = j->offset;
  int64_t r = begin;
  for (int32_t d = last - 1; d >= 0; d--) {
    idx[d] = (int32_t)(r % j->dims[d]);
    r /= j->dims[d];
    off += (int64_t)idx[d] * j->strides[d];
  }
  char *out = j->dst + begin * inner * (int64_t)j->es;
  for (int64_t row = begin; row < end; row++) {
    tr_move_gather_run(out, j->src + off * (int64_t)j->es, inner, inner_stride, j->es);
    out += inner * (int64_t)j->es;
    for (int32_t d = last - 1; d >= 0; d--) {
      off += j->strides[d];
      if (++idx[d] < j->dims[d]) break;
      off -= (int64_t)j->dims[d] * j->strides[d];
      idx[d] = 0;
    }
  }
}

static tr_status eval(tr_node *n) {
  const tr_tensor *in = n->inputs[n->ip[0]];
  const size_t es = (size_t)n->ip[1];
  const int32_t *p = n->ip + 2;
  for (int32_t k = 0; k < n->noutputs; k++) {
    view_job j = {(const char *)in->data, (char *)n->outputs[k]->data, es, p[0], p[1], p + 2,
                  p + 2 + p[0]};
    p += 2 + 2 * j.ndim;
    int64_t rows = 1, total;
    for (int32_t d = 0; d < j.ndim - 1; d++) rows *= j.dims[d];
    total = rows * j.dims[j.ndim - 1];
    if (total == 0) continue;
    if (rows > 1 && total * (int64_t)es >= TR_MOVE_PARALLEL_BYTES)
      tr_parallel_for(n, rows, copy_rows, &j);
    else
      copy_rows(&j, 0, rows);
  }
  return TR_OK;
}

const tr_op tr_move_op_transpose = {"TRANSPOSE", NULL, eval, NULL};
const tr_op tr_move_op_slice = {"SLICE", NULL, eval, NULL};
const tr_op tr_move_op_strided_slice = {"STRIDED_SLICE", NULL, eval, NULL};
const tr_op tr_move_op_reverse_v2 = {"REVERSE_V2", NULL, eval, NULL};
const tr_op tr_move_op_tile = {"TILE", NULL, eval, NULL};
const tr_op tr_move_op_broadcast_to = {"BROADCAST_TO", NULL, eval, NULL};
const tr_op tr_move_op_depth_to_space = {"DEPTH_TO_SPACE", NULL, eval, NULL};
const tr_op tr_move_op_space_to_depth = {"SPACE_TO_DEPTH", NULL, eval, NULL};
const tr_op tr_move_op_split = {"SPLIT", NULL, eval, NULL};
const tr_op tr_move_op_split_v = {"SPLIT_V", NULL, eval, NULL};
const tr_op tr_move_op_unpack = {"UNPACK", NULL, eval, NULL};
