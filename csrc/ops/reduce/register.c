#include "runtime/op_table.h"

extern const tr_op tr_op_reduce;

void tr_register_reduce_ops(tr_op_table *table) {
  table->ops[TR_BUILTIN_MEAN] = &tr_op_reduce;
  table->ops[TR_BUILTIN_SUM] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_PROD] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_MAX] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_MIN] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_ANY] = &tr_op_reduce;
  table->ops[TR_BUILTIN_REDUCE_ALL] = &tr_op_reduce;
}
