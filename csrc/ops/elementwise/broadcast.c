/* Broadcast planning and the generic unary / n-ary drivers (see broadcast.h). */
#include "ops/elementwise/broadcast.h"

#include "kernels/vunary/vunary.h"
#include "ops/nn/nn_common.h"

#include <stdlib.h>
#include <string.h>

/* Below this many elements, handing work to other threads costs more than it saves. A byte
 * table lookup runs several times faster than arithmetic, so it needs more to be worth it. */
#define TR_ELEM_PARALLEL_MIN 32768
#define TR_ELEM_LUT8_PARALLEL_MIN 131072

void tr_bcast_init(tr_bcast *bc, const tr_tensor *out, const tr_tensor *const *ins, int nin) {
  memset(bc, 0, sizeof(*bc));
  bc->nin = nin;
  const int rank = out->ndim;
  int64_t dims[TR_MAX_DIMS];
  int64_t strides[TR_BC_MAX_IN][TR_MAX_DIMS];
  for (int k = 0; k < nin; k++) {
    const tr_tensor *t = ins[k];
    int64_t stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
      int td = d - (rank - t->ndim);
      int64_t size = td >= 0 ? t->dims[td] : 1;
      strides[k][d] = size == 1 ? 0 : stride;
      stride *= size;
    }
  }
  /* Drop size-1 output dims, then merge neighbours every input walks alike. */
  int nd = 0;
  for (int d = 0; d < rank; d++) {
    if (out->dims[d] == 1) continue;
    if (nd > 0) {
      int mergeable = 1;
      for (int k = 0; k < nin; k++)
        if (strides[k][nd - 1] != strides[k][d] * out->dims[d]) mergeable = 0;
      if (mergeable) {
        dims[nd - 1] *= out->dims[d];
        for (int k = 0; k < nin; k++) strides[k][nd - 1] = strides[k][d];
        continue;
      }
    }
    dims[nd] = out->dims[d];
    for (int k = 0; k < nin; k++) strides[k][nd] = strides[k][d];
    nd++;
  }
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= out->dims[d];
  if (nd == 0) {
    bc->inner = 1;
    bc->ndim = 0;
    for (int k = 0; k < nin; k++) bc->inner_step[k] = 0;
  } else {
    bc->inner = dims[nd - 1];
    for (int k = 0; k < nin; k++) bc->inner_step[k] = strides[k][nd - 1];
    bc->ndim = nd - 1;
    for (int d = 0; d < nd - 1; d++) {
      bc->dims[d] = dims[d];
      for (int k = 0; k < nin; k++) bc->strides[k][d] = strides[k][d];
    }
  }
  bc->runs = 1;
  for (int d = 0; d < bc->ndim; d++) bc->runs *= bc->dims[d];
  if (total == 0) bc->runs = 0;
}

typedef struct {
  const tr_bcast *bc;
  char *out;
  size_t out_size;
  const char *ins[TR_BC_MAX_IN];
  size_t in_sizes[TR_BC_MAX_IN];
  tr_row_fn fn;
  const void *params;
} bcast_ctx;

/* One run split over elements: the equal-shape and scalar cases. */
static void bcast_inner_range(void *ctx_, int64_t begin, int64_t end) {
  const bcast_ctx *c = ctx_;
  const tr_bcast *bc = c->bc;
  const void *in[TR_BC_MAX_IN];
  for (int k = 0; k < bc->nin; k++) in[k] = c->ins[k] + (size_t)(begin * bc->inner_step[k]) * c->in_sizes[k];
  c->fn(c->out + (size_t)begin * c->out_size, in, bc->inner_step, end - begin, c->params);
}

/* A range of whole runs, walking the outer odometer. */
static void bcast_runs_range(void *ctx_, int64_t begin, int64_t end) {
  const bcast_ctx *c = ctx_;
  const tr_bcast *bc = c->bc;
  int64_t idx[TR_MAX_DIMS];
  int64_t off[TR_BC_MAX_IN] = {0, 0, 0};
  int64_t rem = begin;
  for (int d = bc->ndim - 1; d >= 0; d--) {
    idx[d] = rem % bc->dims[d];
    rem /= bc->dims[d];
    for (int k = 0; k < bc->nin; k++) off[k] += idx[d] * bc->strides[k][d];
  }
  const void *in[TR_BC_MAX_IN];
  for (int64_t r = begin; r < end; r++) {
    for (int k = 0; k < bc->nin; k++) in[k] = c->ins[k] + (size_t)off[k] * c->in_sizes[k];
    c->fn(c->out + (size_t)(r * bc->inner) * c->out_size, in, bc->inner_step, bc->inner, c->params);
    for (int d = bc->ndim - 1; d >= 0; d--) {
      for (int k = 0; k < bc->nin; k++) off[k] += bc->strides[k][d];
      if (++idx[d] < bc->dims[d]) break;
      for (int k = 0; k < bc->nin; k++) off[k] -= bc->strides[k][d] * bc->dims[d];
      idx[d] = 0;
    }
  }
}

/* Large ops go to the pool in small batches claimed from a shared counter (nn_parallel_claim):
 * a worker descheduled on a busy machine then holds up one batch, not half of the op. */
void tr_elem_parallel_for(tr_node *node, int64_t n, tr_range_fn fn, void *ctx) {
  nn_parallel_claim(node, n, fn, ctx, 8);
}

void tr_bcast_eval(tr_node *node, const tr_bcast *bc, void *out, size_t out_size,
                   const void *const *ins, const size_t *in_sizes, tr_row_fn fn, const void *params) {
  if (bc->runs == 0) return;
  bcast_ctx c;
  c.bc = bc;
  c.out = out;
  c.out_size = out_size;
  for (int k = 0; k < bc->nin; k++) {
    c.ins[k] = ins[k];
    c.in_sizes[k] = in_sizes[k];
  }
  c.fn = fn;
  c.params = params;
  const int64_t total = bc->runs * bc->inner;
  const int parallel = total >= TR_ELEM_PARALLEL_MIN && tr_num_threads(node) > 1;
  if (bc->runs == 1) {
    if (parallel) tr_elem_parallel_for(node, bc->inner, bcast_inner_range, &c);
    else bcast_inner_range(&c, 0, bc->inner);
  } else {
    if (parallel) tr_elem_parallel_for(node, bc->runs, bcast_runs_range, &c);
    else bcast_runs_range(&c, 0, bc->runs);
  }
}

static tr_elem_state *new_state(tr_node *node, const tr_qparams *q) {
  free(node->state);
  tr_elem_state *s = calloc(1, sizeof(*s));
  node->state = s;
  if (s && q) s->q = *q;
  return s;
}

tr_status tr_elem_setup_nary(tr_node *node, int nin, tr_row_fn row, const tr_qparams *q) {
  tr_elem_state *s = new_state(node, q);
  if (!s) return tr_fail(node, "out of memory");
  const tr_tensor *ins[TR_BC_MAX_IN];
  for (int k = 0; k < nin; k++) {
    ins[k] = node->inputs[k];
    s->in_size[k] = tr_type_size(ins[k]->type);
  }
  s->out_size = tr_type_size(node->outputs[0]->type);
  tr_bcast_init(&s->bc, node->outputs[0], ins, nin);
  s->row = row;
  return TR_OK;
}

tr_status tr_elem_setup_unary(tr_node *node, tr_unary_fn fn, const tr_qparams *q) {
  tr_elem_state *s = new_state(node, q);
  if (!s) return tr_fail(node, "out of memory");
  s->in_size[0] = tr_type_size(node->inputs[0]->type);
  s->out_size = tr_type_size(node->outputs[0]->type);
  s->unary = fn;
  s->lut8 = tr_vunary_config_get()->lut8;
  return TR_OK;
}

tr_status tr_elem_eval_nary(tr_node *node) {
  const tr_elem_state *s = node->state;
  const void *ins[TR_BC_MAX_IN];
  for (int k = 0; k < s->bc.nin; k++) ins[k] = node->inputs[k]->data;
  tr_bcast_eval(node, &s->bc, node->outputs[0]->data, s->out_size, ins, s->in_size, s->row, &s->q);
  return TR_OK;
}

typedef struct {
  const tr_elem_state *s;
  char *out;
  const char *in;
} unary_ctx;

static void unary_range(void *ctx_, int64_t begin, int64_t end) {
  const unary_ctx *c = ctx_;
  c->s->unary(c->out + (size_t)begin * c->s->out_size, c->in + (size_t)begin * c->s->in_size[0], end - begin,
              c->s);
}

tr_status tr_elem_eval_unary(tr_node *node) {
  const tr_elem_state *s = node->state;
  unary_ctx c = {s, node->outputs[0]->data, node->inputs[s->unary_input]->data};
  int64_t n = tr_num_elements(node->outputs[0]);
  const int64_t min = s->unary == tr_elem_lut8 ? TR_ELEM_LUT8_PARALLEL_MIN : TR_ELEM_PARALLEL_MIN;
  if (n >= min && tr_num_threads(node) > 1) tr_elem_parallel_for(node, n, unary_range, &c);
  else unary_range(&c, 0, n);
  return TR_OK;
}

void tr_elem_lut8(void *out, const void *in, int64_t n, const void *state) {
  const tr_elem_state *s = state;
  if (s->lut8) {
    s->lut8((size_t)n, (const uint8_t *)in, (uint8_t *)out, s->lut);
    return;
  }
  const uint8_t *x = in;
  uint8_t *y = out;
  for (int64_t i = 0; i < n; i++) y[i] = s->lut[x[i]];
}

void tr_elem_int_activation(int32_t act, int32_t type, int64_t *lo, int64_t *hi) {
  switch (type) {
    case TR_INT8: *lo = INT8_MIN; *hi = INT8_MAX; break;
    case TR_UINT8: *lo = 0; *hi = UINT8_MAX; break;
    case TR_INT16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case TR_INT32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
  }
  if (act == TR_ACT_RELU) *lo = 0;
  else if (act == TR_ACT_RELU6) { *lo = 0; *hi = 6; }
  else if (act == TR_ACT_RELU_N1_TO_1) { *lo = -1; *hi = 1; }
}
