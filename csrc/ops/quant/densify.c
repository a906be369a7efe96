/* DENSIFY: a constant sparse tensor (TFLite's sparsity format) made dense.
 *
 * The input is constant, so tflite_rt/ops/quant.py decodes and validates the sparsity metadata
 * once at allocate_tensors() and hands the dense values to this kernel as an extra constant
 * input (input 1). The output lives in the arena, which other tensors reuse between invokes, so
 * eval copies the dense values in on every invoke.
 *
 * ip: []   fp: [] */
#include <string.h>

#include "runtime/node.h"

static tr_status eval(tr_node *n) {
  const tr_tensor *dense = n->inputs[1];
  tr_tensor *out = n->outputs[0];
  if (!dense || dense->nbytes != out->nbytes)
    return tr_fail(n, "the dense constant does not match the output (%lld vs %lld bytes)",
                   dense ? (long long)dense->nbytes : -1ll, (long long)out->nbytes);
  if (out->nbytes) memcpy(out->data, dense->data, (size_t)out->nbytes);
  return TR_OK;
}

const tr_op tr_quant_op_densify = {"DENSIFY", NULL, eval, NULL};
