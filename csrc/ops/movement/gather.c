/* Index-driven ops: GATHER, GATHER_ND, EMBEDDING_LOOKUP, SCATTER_ND and ONE_HOT.
 *
 * Indices may come from the graph, so every index is checked here before it is used; an index
 * outside the tensor fails the invoke as TFLite's kernels do.
 *
 * GATHER           ip: [element size, index type, batch, outer, axis_size, inner, coords]
 *   out[b, o, c, :] = params[b, o, indices[b, c], :] (inner elements per slice)
 * GATHER_ND        ip: [element size, index type, k, tuples, slice, params_dims[k], strides[k]]
 * EMBEDDING_LOOKUP ip: [element size, rows, row_elems, kind (0 copy, 1 8-bit table -> float32)]
 *                  fp: [scale]  (ids are input 0, the table input 1; like TFLite's hybrid kernel,
 *                  a uint8 table is read as int8 and its zero point is ignored)
 * SCATTER_ND       ip: [type, k, tuples, slice, out_dims[k], strides[k]]  (updates are summed)
 * ONE_HOT          ip: [element size, index type, outer, depth, inner]
 *   out[o, d, i] = indices[o, i] == d ? on : off */
#include "ops/movement/movement.h"

static tr_status gather(tr_node *n) {
  const size_t es = (size_t)n->ip[0];
  const int32_t itype = n->ip[1];
  const int64_t batch = n->ip[2], outer = n->ip[3], axis_size = n->ip[4], inner = n->ip[5],
                coords = n->ip[6];
  const tr_tensor *params = n->inputs[0], *indices = n->inputs[1];
  const int64_t total = batch * coords;
  for (int64_t i = 0; i < total; i++) {
    const int64_t v = tr_move_index(indices->data, itype, i);
    if (v < 0 || v >= axis_size)
      return tr_fail(n, "index %lld at position %lld is out of range [0, %lld)", (long long)v,
                     (long long)i, (long long)axis_size);
  }
  const int64_t slice_bytes = inner * (int64_t)es;
  const char *src = (const char *)params->data;
  char *dst = (char *)n->outputs[0]->data;
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t o = 0; o < outer; o++) {
      const char *base = src + (b * outer + o) * axis_size * slice_bytes;
      for (int64_t c = 0; c < coords; c++, dst += slice_bytes) {
        const int64_t v = tr_move_index(indices->data, itype, b * coords + c);
        memcpy(dst, base + v * slice_bytes, (size_t)slice_bytes);
      }
    }
  }
  return TR_OK;
}

/* Offset (in elements) of index tuple t, or -1 when a coordinate is out of range. */
static int64_t tuple_offset(const tr_tensor *indices, int32_t itype, int64_t t, int32_t k,
                            const int32_t *dims, const int32_t *strides) {
  int64_t off = 0;
  for (int32_t j = 0; j < k; j++) {
    const int64_t v = tr_move_index(indices->data, itype, t * k + j);
    if (v < 0 || v >= dims[j]) return -1;
    off += v * strides[j];
  }
  return off;
}

static tr_status gather_nd(tr_node *n) {
  const size_t es = (size_t)n->ip[0];
  const int32_t itype = n->ip[1], k = n->ip[2];
  const int64_t tuples = n->ip[3], slice = n->ip[4];
  const int32_t *dims = n->ip + 5, *strides = n->ip + 5 + k;
  const tr_tensor *params = n->inputs[0], *indices = n->inputs[1];
  char *dst = (char *)n->outputs[0]->data;
  const int64_t slice_bytes = slice * (int64_t)es;
  for (int64_t t = 0; t < tuples; t++) {
    const int64_t off = tuple_offset(indices, itype, t, k, dims, strides);
    if (off < 0) return tr_fail(n, "index tuple %lld is out of range of the params", (long long)t);
    memcpy(dst + t * slice_bytes, (const char *)params->data + off * (int64_t)es, (size_t)slice_bytes);
  }
  return TR_OK;
}

static tr_status embedding_lookup(tr_node *n) {
  const size_t es = (size_t)n->ip[0];
  const int64_t rows = n->ip[1], row_elems = n->ip[2];
  const int32_t kind = n->ip[3];
  const tr_tensor *ids = n->inputs[0], *table = n->inputs[1];
  const int64_t count = tr_num_elements(ids);
  const double scale = kind ? (double)n->fp[0] : 0.0;
  for (int64_t i = 0; i < count; i++) {
    const int64_t id = ((const int32_t *)ids->data)[i];
    if (id < 0 || id >= rows)
      return tr_fail(n, "id %lld at position %lld is out of range [0, %lld)", (long long)id,
                     (long long)i, (long long)rows);
    if (kind == 0) {
      memcpy((char *)n->outputs[0]->data + i * row_elems * (int64_t)es,
             (const char *)table->data + id * row_elems * (int64_t)es, (size_t)(row_elems * (int64_t)es));
    } else {
      float *out = (float *)n->outputs[0]->data + i * row_elems;
      for (int64_t j = 0; j < row_elems; j++) {
        const int64_t at = id * row_elems + j;
        out[j] = (float)(((const int8_t *)table->data)[at] * scale);
      }
    }
  }
  return TR_OK;
}

#define SCATTER_ADD(T)                                                       \
  do {                                                                       \
    T *o = (T *)out->data + off;                                             \
    const T *u = (const T *)updates->data + t * slice;                       \
    for (int64_t j = 0; j < slice; j++) o[j] = (T)(o[j] + u[j]);             \
  } while (0)

static tr_status scatter_nd(tr_node *n) {
  const int32_t type = n->ip[0], k = n->ip[1];
  const int64_t tuples = n->ip[2], slice = n->ip[3];
  const int32_t *dims = n->ip + 4, *strides = n->ip + 4 + k;
  const tr_tensor *indices = n->inputs[0], *updates = n->inputs[1];
  tr_tensor *out = n->outputs[0];
  const int32_t itype = indices->type;
  memset(out->data, 0, (size_t)(tr_num_elements(out) * (int64_t)tr_type_size(out->type)));
  for (int64_t t = 0; t < tuples; t++) {
    const int64_t off = tuple_offset(indices, itype, t, k, dims, strides);
    if (off < 0) return tr_fail(n, "index tuple %lld is out of range of the output shape", (long long)t);
    switch (type) {
      case TR_FLOAT32: SCATTER_ADD(float); break;
      case TR_INT32: SCATTER_ADD(int32_t); break;
      case TR_INT64: SCATTER_ADD(int64_t); break;
      case TR_INT16: SCATTER_ADD(int16_t); break;
      case TR_INT8: SCATTER_ADD(int8_t); break;
      case TR_UINT8: SCATTER_ADD(uint8_t); break;
      case TR_BOOL: {
        uint8_t *o = (uint8_t *)out->data + off;
        const uint8_t *u = (const uint8_t *)updates->data + t * slice;
        for (int64_t j = 0; j < slice; j++) o[j] = (uint8_t)(o[j] | u[j]);
        break;
      }
      default: return tr_fail(n, "unsupported type %d", type);
    }
  }
  return TR_OK;
}

static tr_status one_hot(tr_node *n) {
  const size_t es = (size_t)n->ip[0];
  const int32_t itype = n->ip[1];
  const int64_t outer = n->ip[2], depth = n->ip[3], inner = n->ip[4];
  const tr_tensor *indices = n->inputs[0];
  const void *on = n->inputs[2]->data, *off = n->inputs[3]->data;
  char *dst = (char *)n->outputs[0]->data;
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t d = 0; d < depth; d++) {
      for (int64_t i = 0; i < inner; i++, dst += es) {
        const int64_t v = tr_move_index(indices->data, itype, o * inner + i);
        memcpy(dst, v == d ? on : off, es);
      }
    }
  }
  return TR_OK;
}

const tr_op tr_move_op_gather = {"GATHER", NULL, gather, NULL};
const tr_op tr_move_op_gather_nd = {"GATHER_ND", NULL, gather_nd, NULL};
const tr_op tr_move_op_embedding_lookup = {"EMBEDDING_LOOKUP", NULL, embedding_lookup, NULL};
const tr_op tr_move_op_scatter_nd = {"SCATTER_ND", NULL, scatter_nd, NULL};
const tr_op tr_move_op_one_hot = {"ONE_HOT", NULL, one_hot, NULL};
