#include "runtime/op_table.h"

extern const tr_op tr_op_while, tr_op_if, tr_op_call_once;
extern const tr_op tr_op_var_handle, tr_op_assign_variable, tr_op_read_variable;

void tr_register_control_ops(tr_op_table *table) {
  table->ops[TR_BUILTIN_WHILE] = &tr_op_while;
  table->ops[TR_BUILTIN_IF] = &tr_op_if;
  table->ops[TR_BUILTIN_CALL_ONCE] = &tr_op_call_once;
  table->ops[TR_BUILTIN_VAR_HANDLE] = &tr_op_var_handle;
  table->ops[TR_BUILTIN_ASSIGN_VARIABLE] = &tr_op_assign_variable;
  table->ops[TR_BUILTIN_READ_VARIABLE] = &tr_op_read_variable;
}
