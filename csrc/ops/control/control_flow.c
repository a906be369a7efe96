/* WHILE, IF and CALL_ONCE: run other subgraphs of the plan, copying tensors across.
 * Python has planned the called subgraphs and checked that shapes and types agree, so each
 * copy is between tensors of equal byte size.
 *   WHILE     ip: [cond subgraph, body subgraph]
 *   IF        ip: [then subgraph, else subgraph]
 *   CALL_ONCE ip: [init subgraph] */
#include <stdlib.h>
#include <string.h>

#include "runtime/op_table.h"

static void copy_tensor(tr_tensor *dst, const tr_tensor *src) {
  if (dst != src && dst->nbytes) memmove(dst->data, src->data, (size_t)dst->nbytes);
}

static tr_status check_copy(tr_node *n, const tr_tensor *dst, const tr_tensor *src) {
  if (!dst || !src || dst->nbytes != src->nbytes)
    return tr_fail(n, "tensor sizes of a subgraph call do not match");
  return TR_OK;
}

static tr_status while_prepare(tr_node *n) {
  int32_t cond = n->ip[0], body = n->ip[1];
  if (n->nip != 2 || tr_subgraph_num_inputs(n, cond) != n->ninputs ||
      tr_subgraph_num_inputs(n, body) != n->ninputs || tr_subgraph_num_outputs(n, body) != n->ninputs ||
      n->noutputs != n->ninputs || tr_subgraph_num_outputs(n, cond) != 1)
    return tr_fail(n, "cond/body subgraphs do not match the node's inputs and outputs");
  for (int32_t i = 0; i < n->ninputs; i++) {
    if (!n->inputs[i]) return tr_fail(n, "input %d is absent", i);
    if (check_copy(n, n->outputs[i], n->inputs[i]) || check_copy(n, tr_subgraph_input(n, cond, i), n->inputs[i]) ||
        check_copy(n, tr_subgraph_input(n, body, i), n->inputs[i]) ||
        check_copy(n, tr_subgraph_output(n, body, i), n->inputs[i]))
      return TR_ERROR;
  }
  const tr_tensor *c = tr_subgraph_output(n, cond, 0);
  if (c->type != TR_BOOL || c->nbytes < 1) return tr_fail(n, "the condition must be a bool tensor");
  return TR_OK;
}

static tr_status while_eval(tr_node *n) {
  int32_t cond = n->ip[0], body = n->ip[1];
  for (int32_t i = 0; i < n->ninputs; i++) copy_tensor(n->outputs[i], n->inputs[i]);
  for (;;) {
    for (int32_t i = 0; i < n->ninputs; i++) copy_tensor(tr_subgraph_input(n, cond, i), n->outputs[i]);
    if (tr_run_subgraph(n, cond) != TR_OK) return TR_ERROR;
    if (!*(const uint8_t *)tr_subgraph_output(n, cond, 0)->data) break;
    for (int32_t i = 0; i < n->ninputs; i++) copy_tensor(tr_subgraph_input(n, body, i), n->outputs[i]);
    if (tr_run_subgraph(n, body) != TR_OK) return TR_ERROR;
    for (int32_t i = 0; i < n->ninputs; i++) copy_tensor(n->outputs[i], tr_subgraph_output(n, body, i));
  }
  return TR_OK;
}

static tr_status if_prepare(tr_node *n) {
  if (n->nip != 2 || n->ninputs < 1 || !n->inputs[0] || n->inputs[0]->type != TR_BOOL ||
      n->inputs[0]->nbytes < 1)
    return tr_fail(n, "the condition must be a non-empty bool tensor");
  for (int32_t b = 0; b < 2; b++) {
    int32_t sg = n->ip[b];
    if (tr_subgraph_num_inputs(n, sg) != n->ninputs - 1 || tr_subgraph_num_outputs(n, sg) != n->noutputs)
      return tr_fail(n, "branch subgraph %d does not match the node's inputs and outputs", sg);
    for (int32_t i = 1; i < n->ninputs; i++)
      if (check_copy(n, tr_subgraph_input(n, sg, i - 1), n->inputs[i])) return TR_ERROR;
    for (int32_t i = 0; i < n->noutputs; i++)
      if (check_copy(n, n->outputs[i], tr_subgraph_output(n, sg, i))) return TR_ERROR;
  }
  return TR_OK;
}

static tr_status if_eval(tr_node *n) {
  int32_t sg = *(const uint8_t *)n->inputs[0]->data ? n->ip[0] : n->ip[1];
  for (int32_t i = 1; i < n->ninputs; i++) copy_tensor(tr_subgraph_input(n, sg, i - 1), n->inputs[i]);
  if (tr_run_subgraph(n, sg) != TR_OK) return TR_ERROR;
  for (int32_t i = 0; i < n->noutputs; i++) copy_tensor(n->outputs[i], tr_subgraph_output(n, sg, i));
  return TR_OK;
}

/* The "has run" flag lives in the node's state, so it holds for the plan's lifetime. */
static tr_status call_once_prepare(tr_node *n) {
  if (n->nip != 1 || tr_subgraph_num_inputs(n, n->ip[0]) != 0)
    return tr_fail(n, "the init subgraph must take no inputs");
  n->state = calloc(1, sizeof(int32_t));
  return n->state ? TR_OK : tr_fail(n, "out of memory");
}

static tr_status call_once_eval(tr_node *n) {
  int32_t *done = (int32_t *)n->state;
  if (*done) return TR_OK;
  if (tr_run_subgraph(n, n->ip[0]) != TR_OK) return TR_ERROR;
  *done = 1;
  return TR_OK;
}

const tr_op tr_op_while = {"WHILE", while_prepare, while_eval, NULL};
const tr_op tr_op_if = {"IF", if_prepare, if_eval, NULL};
const tr_op tr_op_call_once = {"CALL_ONCE", call_once_prepare, call_once_eval, NULL};
