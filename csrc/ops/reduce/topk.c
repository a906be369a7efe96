/* TOPK_V2: the k largest values of each last-axis row, largest first; equal values keep
 * their input order (lower index first), as TFLite's TopContainer sorts them.
 *
 * ip: [rows, depth, k]. State: a scratch index array of `depth` entries. The row is sorted
 * with a stable merge sort on (value desc, index asc); no NaN ordering is promised. */
#include <stdlib.h>
#include <string.h>

#include "runtime/node.h"

typedef struct {
  int32_t *idx, *tmp;
} topk_state;

static void topk_release(tr_node *n) {
  topk_state *st = n->state;
  if (st) {
    free(st->idx);
    free(st);
  }
  n->state = NULL;
}

static tr_status topk_prepare(tr_node *n) {
  topk_state *st = calloc(1, sizeof(*st));
  if (!st) return tr_fail(n, "out of memory");
  n->state = st;
  const int32_t depth = n->ip[1];
  st->idx = malloc(sizeof(int32_t) * 2 * (size_t)(depth > 0 ? depth : 1));
  if (!st->idx) return tr_fail(n, "out of memory");
  st->tmp = st->idx + (depth > 0 ? depth : 1);
  return TR_OK;
}

/* Bottom-up merge sort of idx by (value desc, index asc). */
#define DEFINE_TOPK(NAME, T)                                                                 \
  static void NAME(const T *x, T *vals, int32_t *out_idx, int64_t *out_idx64, int32_t rows, \
                   int32_t depth, int32_t k, int32_t *idx, int32_t *tmp) {                   \
    for (int32_t r = 0; r < rows; r++) {                                                     \
      const T *row = x + (int64_t)r * depth;                                                 \
      for (int32_t i = 0; i < depth; i++) idx[i] = i;                                        \
      int32_t *a = idx, *b = tmp;                                                            \
      for (int32_t w = 1; w < depth; w *= 2) {                                               \
        for (int32_t lo = 0; lo < depth; lo += 2 * w) {                                      \
          int32_t mid = lo + w < depth ? lo + w : depth;                                     \
          int32_t hi = lo + 2 * w < depth ? lo + 2 * w : depth;                              \
          int32_t i = lo, j = mid, o = lo;                                                   \
          while (i < mid && j < hi) b[o++] = row[a[j]] > row[a[i]] ? a[j++] : a[i++];        \
          while (i < mid) b[o++] = a[i++];                                                   \
          while (j < hi) b[o++] = a[j++];                                                    \
        }                                                                                    \
        int32_t *t = a;                                                                      \
        a = b;                                                                               \
        b = t;                                                                               \
      }                                                                                      \
      for (int32_t i = 0; i < k; i++) {                                                      \
        vals[(int64_t)r * k + i] = row[a[i]];                                                \
        if (out_idx64) out_idx64[(int64_t)r * k + i] = a[i];                                 \
        else out_idx[(int64_t)r * k + i] = a[i];                                             \
      }                                                                                      \
    }                                                                                        \
  }

DEFINE_TOPK(topk_f32, float)
DEFINE_TOPK(topk_i32, int32_t)
DEFINE_TOPK(topk_i64, int64_t)
DEFINE_TOPK(topk_i8, int8_t)
DEFINE_TOPK(topk_u8, uint8_t)
DEFINE_TOPK(topk_i16, int16_t)

static tr_status topk_eval(tr_node *n) {
  topk_state *st = n->state;
  const tr_tensor *in = n->inputs[0];
  tr_tensor *vals = n->outputs[0], *ind = n->outputs[1];
  const int32_t rows = n->ip[0], depth = n->ip[1], k = n->ip[2];
  int32_t *i32 = ind->type == TR_INT64 ? NULL : ind->data;
  int64_t *i64 = ind->type == TR_INT64 ? ind->data : NULL;
  switch (in->type) {
    case TR_FLOAT32: topk_f32(in->data, vals->data, i32, i64, rows, depth, k, st->idx, st->tmp); break;
    case TR_INT32: topk_i32(in->data, vals->data, i32, i64, rows, depth, k, st->idx, st->tmp); break;
    case TR_INT64: topk_i64(in->data, vals->data, i32, i64, rows, depth, k, st->idx, st->tmp); break;
    case TR_INT8: topk_i8(in->data, vals->data, i32, i64, rows, depth, k, st->idx, st->tmp); break;
    case TR_UINT8: topk_u8(in->data, vals->data, i32, i64, rows, depth, k, st->idx, st->tmp); break;
    case TR_INT16: topk_i16(in->data, vals->data, i32, i64, rows, depth, k, st->idx, st->tmp); break;
    default: return tr_fail(n, "unsupported input type %d", in->type);
  }
  return TR_OK;
}

const tr_op tr_op_topk = {"TOPK_V2", topk_prepare, topk_eval, topk_release};
