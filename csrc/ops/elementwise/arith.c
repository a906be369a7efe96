/* ADD, SUB, MUL, DIV with NumPy broadcasting.
 *
 * ip: ADD / SUB [fused_activation, pot_scale_int16]
 *     MUL       [fused_activation, sigmoid_operand]
 *     DIV       [fused_activation]
 *
 * float32 / int32 / int64 (and unquantized int16 for ADD / MUL) compute in their own type and
 * clamp to the fused activation; integers wrap on overflow as TFLite's WrappingAdd/Mul do.
 * Quantized int8 / uint8 / int16 follow TFLite's reference kernels bit for bit:
 *  - ADD / SUB: both inputs rescaled to a common scale with 20 (8-bit) or 15 (16-bit) bits of
 *    headroom, summed, rescaled to the output. int16 with power-of-two scales (and
 *    pot_scale_int16 set) takes the symmetric shift-only path instead.
 *  - MUL: (a - za) * (b - zb) times one multiplier.
 *  - DIV: a Newton-Raphson reciprocal of the divisor (GetReciprocal), then one multiplier.
 * An 8-bit MUL of x and LOGISTIC(x) (swish; sigmoid_operand 1: input 1 is the LOGISTIC of
 * input 0, 2: the other way round) depends on x alone: prepare tabulates it for the 256 values
 * of x, with LOGISTIC's own table, and eval is one lookup per element.
 *
 * float32, int8 and uint8 ADD / SUB / MUL run the SIMD micro-kernels of csrc/kernels/vbinary
 * (chosen in prepare; q.kernels) on each run of the broadcast: two vectors, or a vector and a
 * single value. Under the scalar ISA cap they keep the rows below (8-bit ADD / SUB read their
 * rescaled inputs from per-byte tables there). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/vbinary/vbinary.h"
#include "model/fixedpoint.h"
#include "model/quant.h"
#include "ops/elementwise/broadcast.h"
#include "runtime/op_table.h"

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV };

/* --- float and plain integer rows ---------------------------------------------------------- */

#define WRAP(T, U, a, op, b) ((T)((U)(a) op (U)(b)))

TR_BINARY_ROW(add_f32, float, float, tr_clamp_f32(a + b, p->flo, p->fhi))
TR_BINARY_ROW(sub_f32, float, float, tr_clamp_f32(a - b, p->flo, p->fhi))
TR_BINARY_ROW(mul_f32, float, float, tr_clamp_f32(a * b, p->flo, p->fhi))
TR_BINARY_ROW(div_f32, float, float, tr_clamp_f32(a / b, p->flo, p->fhi))
TR_BINARY_ROW(add_i32, int32_t, int32_t, (int32_t)tr_elem_clamp64(WRAP(int32_t, uint32_t, a, +, b), p->ilo, p->ihi))
TR_BINARY_ROW(sub_i32, int32_t, int32_t, (int32_t)tr_elem_clamp64(WRAP(int32_t, uint32_t, a, -, b), p->ilo, p->ihi))
TR_BINARY_ROW(mul_i32, int32_t, int32_t, (int32_t)tr_elem_clamp64(WRAP(int32_t, uint32_t, a, *, b), p->ilo, p->ihi))
TR_BINARY_ROW(div_i32, int32_t, int32_t,
              (int32_t)tr_elem_clamp64((b == -1 ? WRAP(int32_t, uint32_t, 0, -, a) : a / b), p->ilo, p->ihi))
TR_BINARY_ROW(add_i64, int64_t, int64_t, tr_elem_clamp64(WRAP(int64_t, uint64_t, a, +, b), p->ilo, p->ihi))
TR_BINARY_ROW(sub_i64, int64_t, int64_t, tr_elem_clamp64(WRAP(int64_t, uint64_t, a, -, b), p->ilo, p->ihi))
TR_BINARY_ROW(mul_i64, int64_t, int64_t, tr_elem_clamp64(WRAP(int64_t, uint64_t, a, *, b), p->ilo, p->ihi))
TR_BINARY_ROW(add_i16, int16_t, int16_t, (int16_t)tr_elem_clamp64(WRAP(int16_t, uint16_t, a, +, b), p->ilo, p->ihi))
TR_BINARY_ROW(mul_i16, int16_t, int16_t, (int16_t)tr_elem_clamp64(WRAP(int16_t, uint32_t, a, *, b), p->ilo, p->ihi))

/* --- quantized rows -------------------------------------------------------------------------- */

/* One input's value on the common scale. */
static inline int32_t q_scaled(int32_t v, int32_t offset, int32_t mul, int32_t shift, int32_t left_shift) {
  const int32_t x = (int32_t)((uint32_t)(offset + v) << left_shift);
  return tr_multiply_by_quantized_multiplier_smaller_than_one(x, mul, shift);
}

static inline int32_t q_add_sub_out(int32_t sx, int32_t sy, const tr_qparams *p, int sub) {
  const int32_t raw = sub ? sx - sy : sx + sy;
  const int32_t out = tr_multiply_by_quantized_multiplier(raw, p->out_mul, p->out_shift) + p->out_offset;
  return (int32_t)tr_elem_clamp64(out, p->ilo, p->ihi);
}

static inline int32_t q_add_sub(int32_t a, int32_t b, const tr_qparams *p, int sub) {
  const int32_t sx = q_scaled(a, p->in1_offset, p->in1_mul, p->in1_shift, p->left_shift);
  const int32_t sy = q_scaled(b, p->in2_offset, p->in2_mul, p->in2_shift, p->left_shift);
  const int32_t raw = sub ? sx - sy : sx + sy;
  const int32_t out = tr_multiply_by_quantized_multiplier(raw, p->out_mul, p->out_shift) + p->out_offset;
  return (int32_t)tr_elem_clamp64(out, p->ilo, p->ihi);
}

/* Symmetric int16 with power-of-two scales: one operand is shifted right to the output scale. */
static inline int16_t q_add_sub_pot16(int16_t a, int16_t b, const tr_qparams *p, int sub) {
  const int32_t x = tr_fp_rounding_divide_by_pot_i16(a, -p->in1_shift);
  const int32_t y = tr_fp_rounding_divide_by_pot_i16(b, -p->in2_shift);
  int32_t r = sub ? x - y : x + y;
  if (r > INT16_MAX) r = INT16_MAX;
  if (r < INT16_MIN) r = INT16_MIN;
  return (int16_t)tr_elem_clamp64(r, p->ilo, p->ihi);
}

static inline int32_t q_mul(int32_t a, int32_t b, const tr_qparams *p) {
  const int32_t prod = (p->in1_offset + a) * (p->in2_offset + b);
  const int32_t out = tr_multiply_by_quantized_multiplier(prod, p->out_mul, p->out_shift) + p->out_offset;
  return (int32_t)tr_elem_clamp64(out, p->ilo, p->ihi);
}

static inline int32_t q_div(int32_t a, int32_t b, const tr_qparams *p) {
  int32_t x = p->in1_offset + a;
  int32_t y = p->in2_offset + b;
  if (y < 0) {
    x = -x;
    y = -y;
  }
  int recip_shift;
  const int32_t recip = tr_fp_reciprocal(y, 31, &recip_shift);
  const int headroom = tr_fp_count_leading_sign_bits(x);
  const int32_t unscaled = tr_multiply_by_quantized_multiplier_greater_than_one(x, recip, headroom);
  const int total_shift = p->out_shift - recip_shift - headroom;
  /* the rounding shift as TFLite's, whatever the sign of total_shift */
  const int32_t out =
      tr_multiply_by_quantized_multiplier_smaller_than_one(unscaled, p->out_mul, total_shift) + p->out_offset;
  return (int32_t)tr_elem_clamp64(out, p->ilo, p->ihi);
}

/* 8-bit inputs read their rescaled values from per-byte tables made in prepare. */
#define T1(a) p->t1[(uint8_t)(a)]
#define T2(b) p->t2[(uint8_t)(b)]
TR_BINARY_ROW(add_q8, int8_t, int8_t, (int8_t)q_add_sub_out(T1(a), T2(b), p, 0))
TR_BINARY_ROW(sub_q8, int8_t, int8_t, (int8_t)q_add_sub_out(T1(a), T2(b), p, 1))
TR_BINARY_ROW(add_qu8, uint8_t, uint8_t, (uint8_t)q_add_sub_out(T1(a), T2(b), p, 0))
TR_BINARY_ROW(sub_qu8, uint8_t, uint8_t, (uint8_t)q_add_sub_out(T1(a), T2(b), p, 1))
TR_BINARY_ROW(add_q16, int16_t, int16_t, (int16_t)q_add_sub(a, b, p, 0))
TR_BINARY_ROW(sub_q16, int16_t, int16_t, (int16_t)q_add_sub(a, b, p, 1))
TR_BINARY_ROW(add_q16_pot, int16_t, int16_t, q_add_sub_pot16(a, b, p, 0))
TR_BINARY_ROW(sub_q16_pot, int16_t, int16_t, q_add_sub_pot16(a, b, p, 1))
TR_BINARY_ROW(mul_q8, int8_t, int8_t, (int8_t)q_mul(a, b, p))
TR_BINARY_ROW(mul_qu8, uint8_t, uint8_t, (uint8_t)q_mul(a, b, p))
TR_BINARY_ROW(mul_q16, int16_t, int16_t, (int16_t)q_mul(a, b, p))
TR_BINARY_ROW(div_q8, int8_t, int8_t, (int8_t)q_div(a, b, p))
TR_BINARY_ROW(div_qu8, uint8_t, uint8_t, (uint8_t)q_div(a, b, p))
TR_BINARY_ROW(div_q16, int16_t, int16_t, (int16_t)q_div(a, b, p))


/* --- SIMD micro-kernel rows ------------------------------------------------------------------ */

enum { K_ADD, K_SUB, K_MUL };

/* Both operands repeat (a scalar output, or a run of one value): one result, copied. */
#define K_FILL(T)                                                                                   \
  do {                                                                                              \
    for (int64_t i = 1; i < n; i++) ((T *)out)[i] = ((T *)out)[0];                                  \
  } while (0)

static inline void k_f32_row(int op, void *out, const void *const *in, const int64_t *st, int64_t n,
                             const void *p_) {
  const tr_qparams *p = (const tr_qparams *)p_;
  const tr_vbinary_f32_ops *k = ((const tr_vbinary_config *)p->kernels)->f32;
  const tr_vbinary_f32_params kp = {p->flo, p->fhi};
  const float *A = (const float *)in[0], *B = (const float *)in[1];
  float *O = (float *)out;
  if (st[0] && st[1]) {
    (op == K_ADD ? k->add : op == K_SUB ? k->sub : k->mul)((size_t)n, A, B, O, &kp);
  } else if (st[0]) {
    (op == K_ADD ? k->addc : op == K_SUB ? k->subc : k->mulc)((size_t)n, A, B, O, &kp);
  } else if (st[1]) {
    (op == K_ADD ? k->addc : op == K_SUB ? k->rsubc : k->mulc)((size_t)n, B, A, O, &kp);
  } else {
    (op == K_ADD ? k->addc : op == K_SUB ? k->subc : k->mulc)(1, A, B, O, &kp);
    K_FILL(float);
  }
}

static void add_f32_k(void *o, const void *const *in, const int64_t *st, int64_t n, const void *p) {
  k_f32_row(K_ADD, o, in, st, n, p);
}
static void sub_f32_k(void *o, const void *const *in, const int64_t *st, int64_t n, const void *p) {
  k_f32_row(K_SUB, o, in, st, n, p);
}
static void mul_f32_k(void *o, const void *const *in, const int64_t *st, int64_t n, const void *p) {
  k_f32_row(K_MUL, o, in, st, n, p);
}

/* The kernels' parameters with input `first` (0 or 1) as their vector operand a. */
static inline tr_vbinary_q8_params k_q8_params(const tr_qparams *p, int first) {
  tr_vbinary_q8_params kp;
  kp.a_offset = first ? p->in2_offset : p->in1_offset;
  kp.b_offset = first ? p->in1_offset : p->in2_offset;
  kp.a_multiplier = first ? p->in2_mul : p->in1_mul;
  kp.a_shift = first ? p->in2_shift : p->in1_shift;
  kp.b_multiplier = first ? p->in1_mul : p->in2_mul;
  kp.b_shift = first ? p->in1_shift : p->in2_shift;
  kp.left_shift = p->left_shift;
  kp.out_multiplier = p->out_mul;
  kp.out_shift = p->out_shift;
  kp.out_zero_point = p->out_offset;
  kp.out_min = (int32_t)p->ilo;
  kp.out_max = (int32_t)p->ihi;
  kp.scaled_b = 0;
  return kp;
}

static inline void k_q8_row(int op, int is_unsigned, void *out, const void *const *in, const int64_t *st, int64_t n,
                            const void *p_) {
  const tr_qparams *p = (const tr_qparams *)p_;
  const tr_vbinary_config *cfg = (const tr_vbinary_config *)p->kernels;
  const tr_vbinary_q8_ops *k = is_unsigned ? cfg->u8 : cfg->s8;
  const void *A = in[0], *B = in[1];
  const int32_t a0 = is_unsigned ? *(const uint8_t *)A : *(const int8_t *)A;
  const int32_t b0 = is_unsigned ? *(const uint8_t *)B : *(const int8_t *)B;
  if (st[0] && st[1]) {
    const tr_vbinary_q8_params kp = k_q8_params(p, 0);
    (op == K_ADD ? k->add : op == K_SUB ? k->sub : k->mul)((size_t)n, A, B, out, &kp);
    return;
  }
  /* one vector operand v and one value c */
  const int first = !st[0] && st[1]; /* the vector is input 1 */
  const void *V = first ? B : A;
  const int32_t c = first ? a0 : b0;
  tr_vbinary_q8_params kp = k_q8_params(p, first);
  tr_vbinary_q8_fn fn;
  if (op == K_MUL) {
    kp.scaled_b = c + kp.b_offset;
    fn = k->mulc;
  } else {
    const int32_t sc = tr_vbinary_q8_scale_input(c, kp.b_offset, kp.left_shift, kp.b_multiplier, kp.b_shift);
    /* ADD: v + c; SUB: a - c (addc with -c) or c - b (rsubc) */
    kp.scaled_b = op == K_SUB && !first ? -sc : sc;
    fn = op == K_ADD || !first ? k->addc : k->rsubc;
  }
  fn(st[0] || st[1] ? (size_t)n : 1, V, NULL, out, &kp);
  if (!st[0] && !st[1]) {
    if (is_unsigned) K_FILL(uint8_t);
    else K_FILL(int8_t);
  }
}

#define K_Q8_ROW(NAME, OP, UNSIGNED)                                                                 \
  static void NAME(void *o, const void *const *in, const int64_t *st, int64_t n, const void *p) {   \
    k_q8_row(OP, UNSIGNED, o, in, st, n, p);                                                        \
  }
K_Q8_ROW(add_q8_k, K_ADD, 0)
K_Q8_ROW(sub_q8_k, K_SUB, 0)
K_Q8_ROW(mul_q8_k, K_MUL, 0)
K_Q8_ROW(add_qu8_k, K_ADD, 1)
K_Q8_ROW(sub_qu8_k, K_SUB, 1)
K_Q8_ROW(mul_qu8_k, K_MUL, 1)

/* A row repeated against a tensor ([..., n] op [n], after the broadcast plan merged the outer
 * dimensions into one): the rows kernels take all of it in one call per thread. */
#define K_PARALLEL_MIN 32768

typedef struct {
  const tr_elem_state *s;
  int op, swap; /* swap: input 0 is the repeated row */
  int32_t type;
  const char *full, *row;
  char *out;
} k_rows_ctx;

static void k_rows_range(void *ctx_, int64_t begin, int64_t end) {
  const k_rows_ctx *c = (const k_rows_ctx *)ctx_;
  const tr_qparams *p = &c->s->q;
  const tr_vbinary_config *cfg = (const tr_vbinary_config *)p->kernels;
  const size_t n = (size_t)c->s->bc.inner, rows = (size_t)(end - begin);
  const size_t es = c->type == TR_FLOAT32 ? 4 : 1;
  const char *full = c->full + (size_t)begin * n * es;
  char *out = c->out + (size_t)begin * n * es;
  /* SUB with the row first is row - full: the rsub form */
  const int op = c->op == K_SUB && c->swap ? -1 : c->op;
  if (c->type == TR_FLOAT32) {
    const tr_vbinary_f32_ops *k = cfg->f32;
    const tr_vbinary_f32_params kp = {p->flo, p->fhi};
    (op == K_ADD ? k->add_rows : op == K_SUB ? k->sub_rows : op == K_MUL ? k->mul_rows : k->rsub_rows)(
        rows, n, (const float *)full, (const float *)c->row, (float *)out, &kp);
  } else {
    const tr_vbinary_q8_ops *k = c->type == TR_UINT8 ? cfg->u8 : cfg->s8;
    const tr_vbinary_q8_params kp = k_q8_params(p, c->swap);
    (op == K_ADD ? k->add_rows : op == K_SUB ? k->sub_rows : op == K_MUL ? k->mul_rows : k->rsub_rows)(
        rows, n, full, c->row, out, &kp);
  }
}

static tr_status k_eval(tr_node *n, int op) {
  const tr_elem_state *s = (const tr_elem_state *)n->state;
  const tr_bcast *bc = &s->bc;
  if (s->q.kernels && bc->ndim == 1 && bc->inner_step[0] == 1 && bc->inner_step[1] == 1 && bc->runs > 1) {
    const int a_full = bc->strides[0][0] == bc->inner, b_full = bc->strides[1][0] == bc->inner;
    const int a_row = bc->strides[0][0] == 0, b_row = bc->strides[1][0] == 0;
    if ((a_full && b_row) || (a_row && b_full)) {
      k_rows_ctx c = {s, op, a_row, n->outputs[0]->type, NULL, NULL, (char *)n->outputs[0]->data};
      c.full = (const char *)n->inputs[a_row ? 1 : 0]->data;
      c.row = (const char *)n->inputs[a_row ? 0 : 1]->data;
      if (bc->runs * bc->inner >= K_PARALLEL_MIN && tr_num_threads(n) > 1)
        tr_elem_parallel_for(n, bc->runs, k_rows_range, &c);
      else
        k_rows_range(&c, 0, bc->runs);
      return TR_OK;
    }
  }
  return tr_elem_eval_nary(n);
}

static tr_status add_eval(tr_node *n) { return k_eval(n, K_ADD); }
static tr_status sub_eval(tr_node *n) { return k_eval(n, K_SUB); }
static tr_status mul_eval(tr_node *n) {
  const tr_elem_state *s = (const tr_elem_state *)n->state;
  return s->unary ? tr_elem_eval_unary(n) : k_eval(n, K_MUL);
}

/* The micro-kernel row for this op and output type, or NULL (scalar cap, other types). */
static tr_row_fn k_row(int op, int32_t type, const tr_tensor *o, tr_qparams *q) {
  const tr_vbinary_config *cfg = tr_vbinary_config_get();
  if (cfg->f32 == &tr_vbinary_f32__scalar) return NULL;
  q->kernels = cfg;
  if (type == TR_FLOAT32) return op == K_ADD ? add_f32_k : op == K_SUB ? sub_f32_k : mul_f32_k;
  if (type == TR_INT8 && o->scale != 0.0f) return op == K_ADD ? add_q8_k : op == K_SUB ? sub_q8_k : mul_q8_k;
  if (type == TR_UINT8 && o->scale != 0.0f) return op == K_ADD ? add_qu8_k : op == K_SUB ? sub_qu8_k : mul_qu8_k;
  q->kernels = NULL;
  return NULL;
}

/* CheckedLog2: is x a power of two (to 1e-3 in log2), and which. */
static int checked_log2(float x, int *log2_result) {
  const float x_log2 = logf(x) * (1.0f / logf(2.0f));
  const float rounded = roundf(x_log2);
  *log2_result = (int)rounded;
  return fabsf(x_log2 - rounded) < 1e-3f;
}

static int is_quantized(const tr_tensor *t) { return t->scale != 0.0f; }

static tr_status prepare_add_sub(tr_node *n, int sub) {
  const tr_tensor *a = n->inputs[0], *b = n->inputs[1], *o = n->outputs[0];
  const int32_t act = n->ip[0];
  tr_qparams q = {0};
  tr_activation_range_f32(act, &q.flo, &q.fhi);
  tr_elem_int_activation(act, o->type, &q.ilo, &q.ihi);
  tr_row_fn fn = NULL;
  switch (o->type) {
    case TR_FLOAT32: fn = sub ? sub_f32 : add_f32; break;
    case TR_INT32: fn = sub ? sub_i32 : add_i32; break;
    case TR_INT64: fn = sub ? sub_i64 : add_i64; break;
    default: break;
  }
  if (o->type == TR_INT16 && !is_quantized(o) && !sub) fn = add_i16;
  if (!fn) {
    int general16 = 0;
    int l1 = 0, l2 = 0, lo = 0;
    if (o->type == TR_INT16) {
      general16 = !n->ip[1];
      if (!general16) {
        int p1 = checked_log2(a->scale, &l1), p2 = checked_log2(b->scale, &l2), po = checked_log2(o->scale, &lo);
        general16 = !p1 || !p2 || !po;
      }
    }
    int32_t qlo, qhi;
    tr_activation_range_quantized(act, o->type, o->scale, o->zero_point, &qlo, &qhi);
    q.ilo = qlo;
    q.ihi = qhi;
    if (o->type == TR_INT16 && !general16) {
      q.in1_shift = l1 - lo;
      q.in2_shift = l2 - lo;
      if (!(q.in1_shift == 0 || q.in2_shift == 0) || q.in1_shift > 0 || q.in2_shift > 0)
        return tr_fail(n, "int16 power-of-two scales: only one input may be rescaled, and only downwards");
      fn = sub ? sub_q16_pot : add_q16_pot;
    } else {
      q.in1_offset = -a->zero_point;
      q.in2_offset = -b->zero_point;
      q.out_offset = o->zero_point;
      q.left_shift = o->type == TR_INT16 ? 15 : 20;
      const double twice_max = (double)(2.0f * fmaxf(a->scale, b->scale));
      const double real1 = (double)a->scale / twice_max;
      const double real2 = (double)b->scale / twice_max;
      const double real_out = twice_max / (double)((float)(1 << q.left_shift) * o->scale);
      tr_qmul m1 = tr_quantize_multiplier(real1), m2 = tr_quantize_multiplier(real2);
      tr_qmul mo = tr_quantize_multiplier(real_out);
      q.in1_mul = m1.multiplier;
      q.in1_shift = m1.shift;
      q.in2_mul = m2.multiplier;
      q.in2_shift = m2.shift;
      q.out_mul = mo.multiplier;
      q.out_shift = mo.shift;
      if (o->type == TR_INT8) fn = sub ? sub_q8 : add_q8;
      else if (o->type == TR_UINT8) fn = sub ? sub_qu8 : add_qu8;
      else fn = sub ? sub_q16 : add_q16;
    }
  }
  tr_row_fn kfn = k_row(sub ? K_SUB : K_ADD, o->type, o, &q);
  if (kfn) return tr_elem_setup_nary(n, 2, kfn, &q);
  tr_status st = tr_elem_setup_nary(n, 2, fn, &q);
  if (st == TR_OK && (o->type == TR_INT8 || o->type == TR_UINT8)) {
    tr_elem_state *s = n->state;
    const int32_t lo = o->type == TR_INT8 ? -128 : 0;
    for (int32_t v = lo; v < lo + 256; v++) {
      s->tab[0][(uint8_t)v] = q_scaled(v, q.in1_offset, q.in1_mul, q.in1_shift, q.left_shift);
      s->tab[1][(uint8_t)v] = q_scaled(v, q.in2_offset, q.in2_mul, q.in2_shift, q.left_shift);
    }
    s->q.t1 = s->tab[0];
    s->q.t2 = s->tab[1];
  }
  return st;
}

static tr_status add_prepare(tr_node *n) { return prepare_add_sub(n, 0); }
static tr_status sub_prepare(tr_node *n) { return prepare_add_sub(n, 1); }

static tr_status mul_div_prepare(tr_node *n, int div) {
  const tr_tensor *a = n->inputs[0], *b = n->inputs[1], *o = n->outputs[0];
  const int32_t act = n->ip[0];
  tr_qparams q = {0};
  tr_activation_range_f32(act, &q.flo, &q.fhi);
  tr_elem_int_activation(act, o->type, &q.ilo, &q.ihi);
  tr_row_fn fn = NULL;
  switch (o->type) {
    case TR_FLOAT32: fn = div ? div_f32 : mul_f32; break;
    case TR_INT32: fn = div ? div_i32 : mul_i32; break;
    case TR_INT64: fn = div ? NULL : mul_i64; break;
    default: break;
  }
  if (o->type == TR_INT16 && !is_quantized(o) && !div) fn = mul_i16;
  if (!fn) {
    int32_t qlo, qhi;
    tr_activation_range_quantized(act, o->type, o->scale, o->zero_point, &qlo, &qhi);
    q.ilo = qlo;
    q.ihi = qhi;
    q.in1_offset = -a->zero_point;
    q.in2_offset = -b->zero_point;
    q.out_offset = o->zero_point;
    /* float arithmetic first, as TFLite computes these products of float scales */
    const float real = div ? a->scale / (b->scale * o->scale) : a->scale * b->scale / o->scale;
    /* DIV's rounding shift takes any output shift, as TFLite's default build leaves it */
    tr_qmul m = div ? tr_quantize_multiplier_any_shift((double)real) : tr_quantize_multiplier((double)real);
    q.out_mul = m.multiplier;
    q.out_shift = m.shift;
    if (o->type == TR_INT8) fn = div ? div_q8 : mul_q8;
    else if (o->type == TR_UINT8) fn = div ? div_qu8 : mul_qu8;
    else if (o->type == TR_INT16) fn = div ? div_q16 : mul_q16;
  }
  if (!fn) return tr_fail(n, "unsupported output type %d", o->type);
  tr_row_fn kfn = div ? NULL : k_row(K_MUL, o->type, o, &q);
  return tr_elem_setup_nary(n, 2, kfn ? kfn : fn, &q);
}

extern const tr_op tr_elem_op_logistic;

/* LOGISTIC's table from x to sig: the one the LOGISTIC node that wrote sig from x built already
 * (the same function of the same tensors' parameters), else LOGISTIC's prepare run on them. */
static tr_status sigmoid_table(tr_node *n, tr_tensor *x, tr_tensor *sig, uint8_t table[256]) {
  const tr_node *p = tr_node_producer(n, sig);
  if (p && p->op == &tr_elem_op_logistic && p->ninputs == 1 && p->noutputs == 1 && p->inputs[0] == x &&
      p->outputs[0] == sig && p->state) {
    memcpy(table, ((const tr_elem_state *)p->state)->lut, 256);
    return TR_OK;
  }
  tr_node logistic = *n;
  logistic.op = &tr_elem_op_logistic;
  logistic.ninputs = logistic.noutputs = 1;
  logistic.inputs = &x;
  logistic.outputs = &sig;
  logistic.nip = logistic.nfp = 0;
  logistic.state = NULL;
  tr_status st = tr_elem_op_logistic.prepare(&logistic);
  if (st == TR_OK) memcpy(table, ((const tr_elem_state *)logistic.state)->lut, 256);
  free(logistic.state);
  return st;
}

/* x * LOGISTIC(x) as a table indexed by x's byte: LOGISTIC's table from x to sig, then the
 * product of each x with its sigmoid. */
static tr_status mul_sigmoid_prepare(tr_node *n, int x_input, const tr_qparams *q) {
  tr_tensor *x = n->inputs[x_input], *sig = n->inputs[1 - x_input];
  uint8_t sigmoid[256];
  tr_status st = sigmoid_table(n, x, sig, sigmoid);
  if (st != TR_OK) return st;
  st = tr_elem_setup_unary(n, tr_elem_lut8, q);
  if (st != TR_OK) return st;
  tr_elem_state *s = n->state;
  s->unary_input = x_input;
  const int is_unsigned = x->type == TR_UINT8;
  for (int32_t v = is_unsigned ? 0 : -128; v < (is_unsigned ? 256 : 128); v++) {
    const uint8_t byte = (uint8_t)v;
    const int32_t y = is_unsigned ? sigmoid[byte] : (int8_t)sigmoid[byte];
    s->lut[byte] = (uint8_t)(x_input == 0 ? q_mul(v, y, q) : q_mul(y, v, q));
  }
  return TR_OK;
}

static tr_status mul_prepare(tr_node *n) {
  const int sigmoid_operand = n->nip > 1 ? n->ip[1] : 0;
  const tr_tensor *a = n->inputs[0], *b = n->inputs[1], *o = n->outputs[0];
  tr_status st = mul_div_prepare(n, 0);
  if (st != TR_OK || !(sigmoid_operand == 1 || sigmoid_operand == 2)) return st;
  /* Python matched the pattern on 8-bit tensors of one shape; checked again, as C trusts no
   * more than it must */
  const int q8 = o->type == TR_INT8 || o->type == TR_UINT8;
  if (!q8 || a->type != o->type || b->type != o->type || tr_num_elements(a) != tr_num_elements(o) ||
      tr_num_elements(b) != tr_num_elements(o) || o->scale == 0.0f)
    return st;
  const tr_qparams q = ((const tr_elem_state *)n->state)->q;
  return mul_sigmoid_prepare(n, sigmoid_operand == 1 ? 0 : 1, &q);
}
static tr_status div_prepare(tr_node *n) { return mul_div_prepare(n, 1); }

/* Integer division by zero is an error at run time, as in TFLite (its quantized zero is the
 * divisor's zero point). */
static tr_status div_eval(tr_node *n) {
  const tr_tensor *b = n->inputs[1];
  const int64_t count = tr_num_elements(b);
  switch (b->type) {
    case TR_INT32: {
      const int32_t *d = b->data;
      for (int64_t i = 0; i < count; i++)
        if (d[i] == 0) return tr_fail(n, "division by zero");
      break;
    }
    case TR_INT8: {
      const int8_t *d = b->data;
      for (int64_t i = 0; i < count; i++)
        if (d[i] == b->zero_point) return tr_fail(n, "division by zero");
      break;
    }
    case TR_UINT8: {
      const uint8_t *d = b->data;
      for (int64_t i = 0; i < count; i++)
        if (d[i] == b->zero_point) return tr_fail(n, "division by zero");
      break;
    }
    case TR_INT16: {
      const int16_t *d = b->data;
      for (int64_t i = 0; i < count; i++)
        if (d[i] == b->zero_point) return tr_fail(n, "division by zero");
      break;
    }
    default: break;
  }
  return tr_elem_eval_nary(n);
}

const tr_op tr_elem_op_add = {"ADD", add_prepare, add_eval, NULL};
const tr_op tr_elem_op_sub = {"SUB", sub_prepare, sub_eval, NULL};
const tr_op tr_elem_op_mul = {"MUL", mul_prepare, mul_eval, NULL};
const tr_op tr_elem_op_div = {"DIV", div_prepare, div_eval, NULL};
