/* Builtin operator code -> op. Each op family registers its ops in its own file
 * (csrc/ops/<family>/register.c), so families can grow independently. */
#ifndef TFLITE_RT_OP_TABLE_H
#define TFLITE_RT_OP_TABLE_H

#include "runtime/builtin_ops.h"
#include "runtime/node.h"

#define TR_MAX_BUILTIN 512

typedef struct {
  const tr_op *ops[TR_MAX_BUILTIN];
} tr_op_table;

const tr_op *tr_builtin_op(int32_t builtin_code);

void tr_register_elementwise_ops(tr_op_table *table);
void tr_register_nn_ops(tr_op_table *table);
void tr_register_movement_ops(tr_op_table *table);
void tr_register_reduce_ops(tr_op_table *table);
void tr_register_control_ops(tr_op_table *table);
void tr_register_quant_ops(tr_op_table *table);

#endif
