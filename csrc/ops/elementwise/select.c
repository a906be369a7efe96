/* SELECT, SELECT_V2 (condition ? x : y) and ADD_N.
 *
 * SELECT ip: [row_select]  (1 when a rank-1 condition picks whole rows of x / y along their
 *                          first dimension, TFLite's SELECT v1 rule)
 * SELECT_V2 ip: []         (NumPy broadcasting across all three inputs)
 * ADD_N ip: []             (inputs of one shape, summed in input order)
 *
 * Selection moves raw elements, so one row function per element width serves every type. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ops/elementwise/broadcast.h"
#include "runtime/op_table.h"

#define SELECT_ROW(name, T)                                                                   \
  static void name(void *out_, const void *const *in, const int64_t *st, int64_t n,          \
                   const void *p) {                                                           \
    (void)p;                                                                                  \
    const bool *c = in[0];                                                                    \
    const T *x = in[1], *y = in[2];                                                           \
    T *o = out_;                                                                              \
    for (int64_t i = 0; i < n; i++) o[i] = c[i * st[0]] ? x[i * st[1]] : y[i * st[2]];       \
  }
SELECT_ROW(select_1, uint8_t)
SELECT_ROW(select_2, uint16_t)
SELECT_ROW(select_4, uint32_t)
SELECT_ROW(select_8, uint64_t)

static tr_status select_setup(tr_node *n, int row_select) {
  tr_row_fn fn;
  switch (tr_type_size(n->outputs[0]->type)) {
    case 1: fn = select_1; break;
    case 2: fn = select_2; break;
    case 4: fn = select_4; break;
    case 8: fn = select_8; break;
    default: return tr_fail(n, "unsupported type %d", n->outputs[0]->type);
  }
  tr_status st = tr_elem_setup_nary(n, 3, fn, NULL);
  if (st != TR_OK || !row_select) return st;
  /* A rank-1 condition lines up with the first dimension: plan it as [d0, 1, ..., 1]. */
  tr_elem_state *s = n->state;
  tr_tensor cond = *n->inputs[0];
  const tr_tensor *x = n->inputs[1];
  cond.ndim = x->ndim;
  cond.dims[0] = n->inputs[0]->dims[0];
  for (int d = 1; d < x->ndim; d++) cond.dims[d] = 1;
  const tr_tensor *ins[3] = {&cond, n->inputs[1], n->inputs[2]};
  tr_bcast_init(&s->bc, n->outputs[0], ins, 3);
  return TR_OK;
}

static tr_status select_prepare(tr_node *n) { return select_setup(n, n->nip > 0 && n->ip[0]); }
static tr_status select_v2_prepare(tr_node *n) { return select_setup(n, 0); }

typedef struct {
  tr_node *n;
} add_n_ctx;

#define ADD_N_LOOP(T)                                                     \
  {                                                                       \
    T *o = n->outputs[0]->data;                                           \
    for (int64_t i = begin; i < end; i++) {                               \
      T acc = 0;                                                          \
      for (int k = 0; k < n->ninputs; k++) acc += ((const T *)n->inputs[k]->data)[i]; \
      o[i] = acc;                                                         \
    }                                                                     \
  }

static void add_n_range(void *ctx_, int64_t begin, int64_t end) {
  tr_node *n = ((add_n_ctx *)ctx_)->n;
  switch (n->outputs[0]->type) {
    case TR_FLOAT32: ADD_N_LOOP(float) break;
    case TR_INT32: {
      int32_t *o = n->outputs[0]->data;
      for (int64_t i = begin; i < end; i++) {
        uint32_t acc = 0;
        for (int k = 0; k < n->ninputs; k++) acc += (uint32_t)((const int32_t *)n->inputs[k]->data)[i];
        o[i] = (int32_t)acc;
      }
      break;
    }
    case TR_INT64: {
      int64_t *o = n->outputs[0]->data;
      for (int64_t i = begin; i < end; i++) {
        uint64_t acc = 0;
        for (int k = 0; k < n->ninputs; k++) acc += (uint64_t)((const int64_t *)n->inputs[k]->data)[i];
        o[i] = (int64_t)acc;
      }
      break;
    }
    default: break;
  }
}

static tr_status add_n_eval(tr_node *n) {
  add_n_ctx c = {n};
  const int64_t count = tr_num_elements(n->outputs[0]);
  if (count >= 32768 && tr_num_threads(n) > 1) tr_parallel_for(n, count, add_n_range, &c);
  else add_n_range(&c, 0, count);
  return TR_OK;
}

const tr_op tr_elem_op_select = {"SELECT", select_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_select_v2 = {"SELECT_V2", select_v2_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_add_n = {"ADD_N", NULL, add_n_eval, NULL};
