/* Resource variables. VAR_HANDLE writes the variable's id into its resource tensor; the planner
 * resolves every handle statically and appends the variable's storage tensor as the last input
 * of ASSIGN_VARIABLE and READ_VARIABLE, so no lookup happens at run time.
 *   VAR_HANDLE      ip: [variable id]
 *   ASSIGN_VARIABLE inputs: [resource, value, storage]
 *   READ_VARIABLE   inputs: [resource, storage] */
#include <string.h>

#include "runtime/op_table.h"

static tr_status var_handle_eval(tr_node *n) {
  *(int32_t *)n->outputs[0]->data = n->ip[0];
  return TR_OK;
}

static tr_status var_handle_prepare(tr_node *n) {
  if (n->nip != 1 || n->noutputs != 1 || n->outputs[0]->nbytes < 4)
    return tr_fail(n, "malformed variable handle");
  return TR_OK;
}

static tr_status assign_prepare(tr_node *n) {
  if (n->ninputs != 3 || !n->inputs[1] || !n->inputs[2] || n->inputs[1]->nbytes != n->inputs[2]->nbytes)
    return tr_fail(n, "the value does not match the variable's size");
  return TR_OK;
}

static tr_status assign_eval(tr_node *n) {
  if (n->inputs[2]->nbytes) memmove(n->inputs[2]->data, n->inputs[1]->data, (size_t)n->inputs[2]->nbytes);
  return TR_OK;
}

static tr_status read_prepare(tr_node *n) {
  if (n->ninputs != 2 || !n->inputs[1] || n->noutputs != 1 || n->outputs[0]->nbytes != n->inputs[1]->nbytes)
    return tr_fail(n, "the output does not match the variable's size");
  return TR_OK;
}

static tr_status read_eval(tr_node *n) {
  if (n->outputs[0]->nbytes) memmove(n->outputs[0]->data, n->inputs[1]->data, (size_t)n->outputs[0]->nbytes);
  return TR_OK;
}

const tr_op tr_op_var_handle = {"VAR_HANDLE", var_handle_prepare, var_handle_eval, NULL};
const tr_op tr_op_assign_variable = {"ASSIGN_VARIABLE", assign_prepare, assign_eval, NULL};
const tr_op tr_op_read_variable = {"READ_VARIABLE", read_prepare, read_eval, NULL};
