/* EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL (BOOL output) and LOGICAL_AND /
 * LOGICAL_OR, with NumPy broadcasting.
 *
 * ip: []
 *
 * int8 / uint8 (and, for EQUAL / NOT_EQUAL, quantized int16) operands are first brought to a common real scale the way
 * TFLite does (offset, << 8, times each input's own scale as a Q31 multiplier), so operands
 * with different quantization compare by value. */
#include <stdbool.h>

#include "model/quant.h"
#include "ops/elementwise/broadcast.h"
#include "runtime/op_table.h"

enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_COUNT };

static inline int32_t rescale(int32_t v, int32_t offset, int32_t mul, int32_t shift) {
  return tr_multiply_by_quantized_multiplier((offset + v) * (1 << 8), mul, shift);
}
#define QA rescale(a, p->in1_offset, p->in1_mul, p->in1_shift)
#define QB rescale(b, p->in2_offset, p->in2_mul, p->in2_shift)

#define CMP_ROWS(suffix, T)                                    \
  TR_BINARY_ROW(eq_##suffix, T, bool, a == b)                 \
  TR_BINARY_ROW(ne_##suffix, T, bool, a != b)                 \
  TR_BINARY_ROW(lt_##suffix, T, bool, a < b)                  \
  TR_BINARY_ROW(le_##suffix, T, bool, a <= b)                 \
  TR_BINARY_ROW(gt_##suffix, T, bool, a > b)                  \
  TR_BINARY_ROW(ge_##suffix, T, bool, a >= b)                 \
  static const tr_row_fn rows_##suffix[CMP_COUNT] = {eq_##suffix, ne_##suffix, lt_##suffix, \
                                                     le_##suffix, gt_##suffix, ge_##suffix};
#define QCMP_ROWS(suffix, T)                                   \
  TR_BINARY_ROW(eq_##suffix, T, bool, QA == QB)               \
  TR_BINARY_ROW(ne_##suffix, T, bool, QA != QB)               \
  TR_BINARY_ROW(lt_##suffix, T, bool, QA < QB)                \
  TR_BINARY_ROW(le_##suffix, T, bool, QA <= QB)               \
  TR_BINARY_ROW(gt_##suffix, T, bool, QA > QB)                \
  TR_BINARY_ROW(ge_##suffix, T, bool, QA >= QB)               \
  static const tr_row_fn rows_##suffix[CMP_COUNT] = {eq_##suffix, ne_##suffix, lt_##suffix, \
                                                     le_##suffix, gt_##suffix, ge_##suffix};

CMP_ROWS(f32, float)
CMP_ROWS(i16, int16_t)
CMP_ROWS(i32, int32_t)
CMP_ROWS(i64, int64_t)
CMP_ROWS(b, bool)
QCMP_ROWS(q8, int8_t)
QCMP_ROWS(qu8, uint8_t)
QCMP_ROWS(q16, int16_t)

static tr_status compare_prepare(tr_node *n, int which) {
  const tr_tensor *a = n->inputs[0], *b = n->inputs[1];
  const tr_row_fn *rows = NULL;
  tr_qparams q = {0};
  /* TFLite rescales quantized int16 only for EQUAL / NOT_EQUAL; the orderings compare raw. */
  int quantized = a->type == TR_INT8 || a->type == TR_UINT8 ||
                  (a->type == TR_INT16 && a->scale != 0.0f && (which == CMP_EQ || which == CMP_NE));
  switch (a->type) {
    case TR_FLOAT32: rows = rows_f32; break;
    case TR_INT16: rows = quantized ? rows_q16 : rows_i16; break;
    case TR_INT32: rows = rows_i32; break;
    case TR_INT64: rows = rows_i64; break;
    case TR_BOOL: rows = rows_b; break;
    case TR_INT8: rows = rows_q8; break;
    case TR_UINT8: rows = rows_qu8; break;
    default: return tr_fail(n, "unsupported input type %d", a->type);
  }
  if (quantized) {
    const tr_qmul m1 = tr_quantize_multiplier((double)a->scale), m2 = tr_quantize_multiplier((double)b->scale);
    q.in1_offset = -a->zero_point;
    q.in2_offset = -b->zero_point;
    q.in1_mul = m1.multiplier;
    q.in1_shift = m1.shift;
    q.in2_mul = m2.multiplier;
    q.in2_shift = m2.shift;
  }
  return tr_elem_setup_nary(n, 2, rows[which], &q);
}

static tr_status eq_prepare(tr_node *n) { return compare_prepare(n, CMP_EQ); }
static tr_status ne_prepare(tr_node *n) { return compare_prepare(n, CMP_NE); }
static tr_status lt_prepare(tr_node *n) { return compare_prepare(n, CMP_LT); }
static tr_status le_prepare(tr_node *n) { return compare_prepare(n, CMP_LE); }
static tr_status gt_prepare(tr_node *n) { return compare_prepare(n, CMP_GT); }
static tr_status ge_prepare(tr_node *n) { return compare_prepare(n, CMP_GE); }

TR_BINARY_ROW(and_b, bool, bool, a && b)
TR_BINARY_ROW(or_b, bool, bool, a || b)
static tr_status and_prepare(tr_node *n) { return tr_elem_setup_nary(n, 2, and_b, NULL); }
static tr_status or_prepare(tr_node *n) { return tr_elem_setup_nary(n, 2, or_b, NULL); }

const tr_op tr_elem_op_equal = {"EQUAL", eq_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_not_equal = {"NOT_EQUAL", ne_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_less = {"LESS", lt_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_less_equal = {"LESS_EQUAL", le_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_greater = {"GREATER", gt_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_greater_equal = {"GREATER_EQUAL", ge_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_logical_and = {"LOGICAL_AND", and_prepare, tr_elem_eval_nary, NULL};
const tr_op tr_elem_op_logical_or = {"LOGICAL_OR", or_prepare, tr_elem_eval_nary, NULL};
