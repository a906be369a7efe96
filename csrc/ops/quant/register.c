#include "runtime/op_table.h"

extern const tr_op tr_quant_op_quantize;
extern const tr_op tr_quant_op_dequantize;
extern const tr_op tr_quant_op_fake_quant;
extern const tr_op tr_quant_op_densify;

void tr_register_quant_ops(tr_op_table *table) {
  table->ops[TR_BUILTIN_QUANTIZE] = &tr_quant_op_quantize;
  table->ops[TR_BUILTIN_DEQUANTIZE] = &tr_quant_op_dequantize;
  table->ops[TR_BUILTIN_FAKE_QUANT] = &tr_quant_op_fake_quant;
  table->ops[TR_BUILTIN_DENSIFY] = &tr_quant_op_densify;
}
