#include "runtime/op_table.h"

#define MOVEMENT_OPS(X)                                                                       \
  X(RESHAPE, reshape) X(SQUEEZE, squeeze) X(EXPAND_DIMS, expand_dims) X(SHAPE, shape)          \
  X(RANK, rank) X(FILL, fill) X(RANGE, range) X(TRANSPOSE, transpose) X(SLICE, slice)          \
  X(STRIDED_SLICE, strided_slice) X(REVERSE_V2, reverse_v2) X(TILE, tile)                      \
  X(BROADCAST_TO, broadcast_to) X(DEPTH_TO_SPACE, depth_to_space)                              \
  X(SPACE_TO_DEPTH, space_to_depth) X(SPLIT, split) X(SPLIT_V, split_v) X(UNPACK, unpack)      \
  X(CONCATENATION, concatenation) X(PACK, pack) X(PAD, pad) X(PADV2, padv2)                    \
  X(MIRROR_PAD, mirror_pad) X(SPACE_TO_BATCH_ND, space_to_batch_nd)                            \
  X(BATCH_TO_SPACE_ND, batch_to_space_nd) X(GATHER, gather) X(GATHER_ND, gather_nd)            \
  X(EMBEDDING_LOOKUP, embedding_lookup) X(SCATTER_ND, scatter_nd) X(ONE_HOT, one_hot)

#define DECLARE(code, name) extern const tr_op tr_move_op_##name;
MOVEMENT_OPS(DECLARE)
#undef DECLARE

void tr_register_movement_ops(tr_op_table *table) {
#define REGISTER(code, name) table->ops[TR_BUILTIN_##code] = &tr_move_op_##name;
  MOVEMENT_OPS(REGISTER)
#undef REGISTER
}
