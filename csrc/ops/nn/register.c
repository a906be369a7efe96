#include "runtime/op_table.h"

extern const tr_op tr_op_conv_2d;
extern const tr_op tr_op_depthwise_conv_2d;
extern const tr_op tr_op_fully_connected;
extern const tr_op tr_op_average_pool_2d;
extern const tr_op tr_op_max_pool_2d;
extern const tr_op tr_op_l2_pool_2d;
extern const tr_op tr_op_batch_matmul;
extern const tr_op tr_op_transpose_conv;
extern const tr_op tr_op_unidirectional_sequence_lstm;
extern const tr_op tr_op_conv_3d;

void tr_register_nn_ops(tr_op_table *table) {
  table->ops[TR_BUILTIN_CONV_2D] = &tr_op_conv_2d;
  table->ops[TR_BUILTIN_DEPTHWISE_CONV_2D] = &tr_op_depthwise_conv_2d;
  table->ops[TR_BUILTIN_FULLY_CONNECTED] = &tr_op_fully_connected;
  table->ops[TR_BUILTIN_AVERAGE_POOL_2D] = &tr_op_average_pool_2d;
  table->ops[TR_BUILTIN_MAX_POOL_2D] = &tr_op_max_pool_2d;
  table->ops[TR_BUILTIN_L2_POOL_2D] = &tr_op_l2_pool_2d;
  table->ops[TR_BUILTIN_BATCH_MATMUL] = &tr_op_batch_matmul;
  table->ops[TR_BUILTIN_TRANSPOSE_CONV] = &tr_op_transpose_conv;
  table->ops[TR_BUILTIN_UNIDIRECTIONAL_SEQUENCE_LSTM] = &tr_op_unidirectional_sequence_lstm;
  table->ops[TR_BUILTIN_CONV_3D] = &tr_op_conv_3d;
}
