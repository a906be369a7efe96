#include "runtime/op_table.h"

extern const tr_op tr_op_reduce, tr_op_arg_min_max, tr_op_softmax, tr_op_log_softmax, tr_op_cumsum,
    tr_op_topk, tr_op_resize_bilinear, tr_op_resize_nearest, tr_op_l2_normalization, tr_op_lrn;

void tr_register_reduce_ops(tr_op_table *table) {
  table->ops[TR_BUILTIN_MEAN] = &tr_op_reduce;
  table->ops[TR_BUILTIN_SUM] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_PROD] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_MAX] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_MIN] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_ANY] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_ALL] = &tr_op_reduce;
  table->ops[TR_BUILTIN_ARG_MAX] = &tr_op_arg_min_max;
  table->ops[TR_BUILTIN_ARG_MIN] = &tr_op_arg_min_max;
  table->ops[TR_BUILTIN_SOFTMAX] = &tr_op_softmax;
  table->ops[TR_BUILTIN_LOG_SOFTMAX] = &tr_op_log_softmax;
  table->ops[TR_BUILTIN_CUMSUM] = &tr_op_cumsum;
  table->ops[TR_BUILTIN_TOPK_V2] = &tr_op_topk;
  table->ops[TR_BUILTIN_RESIZE_BILINEAR] = &tr_op_resize_bilinear;
  table->ops[TR_BUILTIN_RESIZE_NEAREST_NEIGHBOR] = &tr_op_resize_nearest;
  table->ops[TR_BUILTIN_L2_NORMALIZATION] = &tr_op_l2_normalization;
  table->ops[TR_BUILTIN_LOCAL_RESPONSE_NORMALIZATION] = &tr_op_lrn;
}
