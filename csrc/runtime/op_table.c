#include "runtime/op_table.h"

#include <pthread.h>

static tr_op_table table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void fill_table(void) {
  tr_register_elementwise_ops(&table);
  tr_register_nn_ops(&table);
  tr_register_movement_ops(&table);
  tr_register_reduce_ops(&table);
  tr_register_control_ops(&table);
  tr_register_quant_ops(&table);
}

const tr_op *tr_builtin_op(int32_t builtin_code) {
  pthread_once(&table_once, fill_table);
  if (builtin_code < 0 || builtin_code >= TR_MAX_BUILTIN) return 0;
  return table.ops[builtin_code];
}

int32_t tr_builtin_supported(int32_t builtin_code) { return tr_builtin_op(builtin_code) != 0; }

const char *tr_builtin_kernel_name(int32_t builtin_code) {
  const tr_op *op = tr_builtin_op(builtin_code);
  return op ? op->name : "";
}
