/* SOFTMAX and LOG_SOFTMAX over the last axis.
 *
 * ip: [outer, depth]   fp: [beta] (SOFTMAX only; LOG_SOFTMAX has no fp)
 *
 * float: as TFLite's reference (max, exp((x - max) * beta), sum, divide), by the row kernel of
 *   csrc/kernels/reduce chosen in prepare (SIMD: a polynomial exp and a multiply by 1 / sum).
 * int8/uint8 input: TFLite's reference path, gemmlowp fixed-point exp in Q5.26 and a
 *   fixed-point reciprocal (the optimised TFLite kernels use a float LUT and differ by a unit
 *   now and then). Output int8, uint8 or int16. The input difference x - max takes 256 values
 *   at most, so prepare tabulates the fixed-point exp of each and its term of the sum (0 below
 *   the cut-off, which adds nothing to the sum and gives the lowest output, as the cut-off
 *   does).
 * int16 input: the LUT path every TFLite kernel set uses (exp and 1/(1+x) tables).
 * LOG_SOFTMAX int8/uint8: TFLite's reference fixed-point kernel (output scale 16/256, zero
 *   point 127 / 255). */
#include <math.h>
#include <stdlib.h>

#include "kernels/reduce/reduce.h"
#include "model/fixedpoint.h"
#include "model/quant.h"
#include "runtime/node.h"

enum { SCALED_DIFF_BITS = 5, ACCUM_BITS = 12 };

typedef struct {
  int32_t outer, depth;
  float beta;
  int32_t mult, left_shift, diff_min; /* 8-bit input */
  int32_t reverse_mult, reverse_shift;  /* LOG_SOFTMAX 8-bit, reverse_shift <= 0 */
  int16_t exp_lut[513], recip_lut[513]; /* int16 */
  /* 8-bit SOFTMAX, by max - x: exp(x - max) in Q0 and its Q12 term of the sum; 0 below the
   * cut-off diff_min */
  int32_t exp8[256], sum8[256];
  tr_softmax_f32_fn f32;
} softmax_state;

/* exp(diff * beta * scale) in Q0 for one 8-bit input difference. */
static inline int32_t scaled_exp(const softmax_state *st, int32_t diff) {
  const int32_t rescaled = tr_multiply_by_quantized_multiplier_greater_than_one(diff, st->mult, st->left_shift);
  return tr_fp_exp_on_negative_values(rescaled, SCALED_DIFF_BITS);
}

static double exp_fn(double x) { return exp(x); }
static double one_over_one_plus_fn(double x) { return 1.0 / (1.0 + x); }

static tr_status softmax_prepare(tr_node *n) {
  softmax_state *st = calloc(1, sizeof(*st));
  if (!st) return tr_fail(n, "out of memory");
  n->state = st;
  st->outer = n->ip[0];
  st->depth = n->ip[1];
  st->beta = n->nfp > 0 ? n->fp[0] : 1.0f;
  const tr_tensor *in = n->inputs[0];
  if (in->type == TR_INT8 || in->type == TR_UINT8) {
    tr_qmul q = tr_fp_preprocess_softmax_scaling((double)st->beta, (double)in->scale, SCALED_DIFF_BITS);
    st->mult = q.multiplier;
    st->left_shift = q.shift;
    st->diff_min = -tr_fp_input_radius(SCALED_DIFF_BITS, q.shift, 31);
    /* the inverse of the input scaling, for LOG_SOFTMAX's lower cut-off */
    const double reverse = (double)(1ll << (31 - q.shift)) / (double)q.multiplier;
    tr_qmul r = tr_quantize_multiplier_smaller_than_one(reverse);
    st->reverse_mult = r.multiplier;
    st->reverse_shift = r.shift;
    for (int32_t i = 0; i < 256; i++) {
      st->exp8[i] = -i >= st->diff_min ? scaled_exp(st, -i) : 0;
      st->sum8[i] = tr_fp_rescale(st->exp8[i], 0, ACCUM_BITS);
    }
  } else if (in->type == TR_FLOAT32) {
    tr_reduce_config cfg;
    tr_reduce_config_get(&cfg);
    st->f32 = cfg.softmax_f32;
  } else if (in->type == TR_INT16) {
    const double range = 65535.0;
    tr_fp_lut16_populate(10.0 / range, INT16_MAX, 2.0 / range, 0, exp_fn, st->exp_lut);
    tr_fp_lut16_populate(1.0 / range, INT16_MIN, 2.0 / range, 0, one_over_one_plus_fn, st->recip_lut);
    /* scale the input difference so that [-65535, 0] covers [-10, 0] */
    const double m = (double)(in->scale * st->beta) / (10.0 / 65535.0);
    tr_qmul q = tr_quantize_multiplier(m);
    st->mult = q.multiplier;
    st->left_shift = q.shift;
  }
  return TR_OK;
}

typedef struct {
  const softmax_state *st;
  const tr_tensor *in;
  tr_tensor *out;
  int log;
} softmax_ctx;

static inline int32_t max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t min_i32(int32_t a, int32_t b) { return a < b ? a : b; }

/* The 8-bit softmax of one element from its exp (Q0) and the row's reciprocal of the sum. */
static inline int32_t softmax_q_out(int32_t scale, int exponent, int32_t e, int32_t omin, int32_t omax) {
  const int32_t unsat = tr_rounding_divide_by_pot(tr_saturating_rounding_doubling_high_mul(scale, e), exponent);
  return tr_clamp_i32(unsat + omin, omin, omax);
}

static void log_softmax_f32(const softmax_state *st, const float *x, float *y, int64_t r0, int64_t r1) {
  const int32_t depth = st->depth;
  for (int64_t r = r0; r < r1; r++) {
    const float *xr = x + r * depth;
    float *yr = y + r * depth;
    float max = -__FLT_MAX__;
    for (int32_t c = 0; c < depth; c++) max = xr[c] > max ? xr[c] : max;
    float sum = 0.0f;
    for (int32_t c = 0; c < depth; c++) sum += expf(xr[c] - max);
    const float log_sum = logf(sum);
    for (int32_t c = 0; c < depth; c++) yr[c] = xr[c] - max - log_sum;
  }
}

/* 8-bit input, any of int8/uint8/int16 output. The output is a function of max - x alone (one
 * reciprocal per row), so a row longer than its range of values is written through a table of
 * that function over the range, computed once per row. */
#define DEFINE_SOFTMAX_Q(NAME, TI, TO, OMIN, OMAX)                                               \
  static void NAME(const softmax_state *st, const TI *x, TO *y, int64_t r0, int64_t r1) {      \
    const int32_t depth = st->depth;                                                           \
    const int out_bits = (int)sizeof(TO) * 8;                                                  \
    TO table[256];                                                                             \
    for (int64_t r = r0; r < r1; r++) {                                                        \
      const TI *xr = x + r * depth;                                                            \
      TO *yr = y + r * depth;                                                                  \
      int32_t m0 = xr[0], m1 = m0, m2 = m0, m3 = m0, n0 = m0, n1 = m0, n2 = m0, n3 = m0;       \
      int32_t c = 0;                                                                           \
      for (; c + 4 <= depth; c += 4) {                                                         \
        m0 = max_i32(m0, xr[c]), n0 = min_i32(n0, xr[c]);                                      \
        m1 = max_i32(m1, xr[c + 1]), n1 = min_i32(n1, xr[c + 1]);                              \
        m2 = max_i32(m2, xr[c + 2]), n2 = min_i32(n2, xr[c + 2]);                              \
        m3 = max_i32(m3, xr[c + 3]), n3 = min_i32(n3, xr[c + 3]);                              \
      }                                                                                        \
      for (; c < depth; c++) m0 = max_i32(m0, xr[c]), n0 = min_i32(n0, xr[c]);                 \
      const int32_t max = max_i32(max_i32(m0, m1), max_i32(m2, m3));                           \
      const int32_t range = max - min_i32(min_i32(n0, n1), min_i32(n2, n3));                   \
      /* the sum wraps in 32 bits, as the reference: any order gives the same bits */          \
      uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                                 \
      for (c = 0; c + 4 <= depth; c += 4) {                                                    \
        s0 += (uint32_t)st->sum8[max - xr[c]];                                                 \
        s1 += (uint32_t)st->sum8[max - xr[c + 1]];                                             \
        s2 += (uint32_t)st->sum8[max - xr[c + 2]];                                             \
        s3 += (uint32_t)st->sum8[max - xr[c + 3]];                                             \
      }                                                                                        \
      for (; c < depth; c++) s0 += (uint32_t)st->sum8[max - xr[c]];                            \
      const int32_t sum = (int32_t)(s0 + s1 + s2 + s3);                                        \
      int bits_over_unit;                                                                      \
      const int32_t scale = tr_fp_reciprocal(sum, ACCUM_BITS, &bits_over_unit);                \
      const int exponent = bits_over_unit + 31 - out_bits;                                     \
      if (exponent < 0 || exponent > 31) {                                                     \
        /* a sum of exps of 2^9 or more (8-bit output), or one wrapped in 32 bits: TFLite's  \
         * reference stops on the shift; every output rounds to the lowest */                  \
        for (c = 0; c < depth; c++) yr[c] = (TO)(OMIN);                                        \
        continue;                                                                              \
      }                                                                                        \
      if (depth > range + 1) {                                                                 \
        for (int32_t d = 0; d <= range; d++)                                                   \
          table[d] = (TO)softmax_q_out(scale, exponent, st->exp8[d], OMIN, OMAX);              \
        for (c = 0; c < depth; c++) yr[c] = table[max - xr[c]];                                \
      } else {                                                                                 \
        for (c = 0; c < depth; c++)                                                            \
          yr[c] = (TO)softmax_q_out(scale, exponent, st->exp8[max - xr[c]], OMIN, OMAX);       \
      }                                                                                        \
    }                                                                                          \
  }

DEFINE_SOFTMAX_Q(softmax_i8_i8, int8_t, int8_t, INT8_MIN, INT8_MAX)
DEFINE_SOFTMAX_Q(softmax_i8_i16, int8_t, int16_t, INT16_MIN, INT16_MAX)
DEFINE_SOFTMAX_Q(softmax_u8_u8, uint8_t, uint8_t, 0, UINT8_MAX)
DEFINE_SOFTMAX_Q(softmax_u8_i16, uint8_t, int16_t, INT16_MIN, INT16_MAX)

#define DEFINE_LOG_SOFTMAX_Q(NAME, T, TMIN, TMAX)                                                 \
  static void NAME(const softmax_state *st, const T *x, T *y, int64_t r0, int64_t r1) {          \
    const int32_t depth = st->depth;                                                             \
    for (int64_t r = r0; r < r1; r++) {                                                          \
      const T *xr = x + r * depth;                                                               \
      T *yr = y + r * depth;                                                                     \
      int32_t max = TMIN;                                                                        \
      for (int32_t c = 0; c < depth; c++) max = xr[c] > max ? xr[c] : max;                       \
      int32_t sum = 0;                                                                           \
      for (int32_t c = 0; c < depth; c++) {                                                      \
        const int32_t diff = (int32_t)xr[c] - max;                                               \
        if (diff >= st->diff_min)                                                                \
          sum = tr_fp_wrapping_add(sum, tr_fp_rescale(scaled_exp(st, diff), 0, ACCUM_BITS));     \
      }                                                                                          \
      const int32_t log_sum = tr_fp_log_x_ge_1(sum, ACCUM_BITS, SCALED_DIFF_BITS);               \
      const int32_t cut = tr_multiply_by_quantized_multiplier(log_sum + INT32_MIN, st->reverse_mult, \
                                                              st->reverse_shift);                \
      const int32_t adjusted_diff_min = st->diff_min - 1 > cut ? st->diff_min - 1 : cut;         \
      for (int32_t c = 0; c < depth; c++) {                                                      \
        const int32_t diff = (int32_t)xr[c] - max;                                               \
        if (diff > adjusted_diff_min) {                                                          \
          const int32_t rescaled =                                                               \
              tr_multiply_by_quantized_multiplier_greater_than_one(diff, st->mult, st->left_shift); \
          const int32_t v = tr_rounding_divide_by_pot(tr_fp_wrapping_sub(rescaled, log_sum), 31 - 5 - 4) + TMAX; \
          yr[c] = (T)tr_clamp_i32(v, TMIN, TMAX);                                                \
        } else {                                                                                 \
          yr[c] = (T)(TMIN);                                                                     \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

DEFINE_LOG_SOFTMAX_Q(log_softmax_i8, int8_t, INT8_MIN, INT8_MAX)
DEFINE_LOG_SOFTMAX_Q(log_softmax_u8, uint8_t, 0, UINT8_MAX)

static void softmax_i16(const softmax_state *st, const int16_t *x, int16_t *y, int64_t r0, int64_t r1) {
  const int32_t depth = st->depth;
  for (int64_t r = r0; r < r1; r++) {
    const int16_t *xr = x + r * depth;
    int16_t *yr = y + r * depth;
    int32_t max = INT16_MIN;
    for (int32_t c = 0; c < depth; c++) max = xr[c] > max ? xr[c] : max;
    int64_t wide_sum = 0; /* Q16.15; the exps are kept in the output row */
    for (int32_t c = 0; c < depth; c++) {
      const int32_t scaled = tr_multiply_by_quantized_multiplier((int32_t)xr[c] - max, st->mult, st->left_shift);
      const int16_t sym = (int16_t)tr_clamp_i32(scaled + 32767, INT16_MIN, INT16_MAX);
      yr[c] = tr_fp_lut16_lookup(sym, st->exp_lut);
      wide_sum += yr[c];
    }
    /* TFLite's int32 sum overflows past 65537 elements (undefined); saturated, the outputs
     * stay the nearest to the true ones that the shifts below can give */
    const int32_t sum = wide_sum > INT32_MAX ? INT32_MAX : (int32_t)wide_sum;
    const int headroom_plus_one = tr_fp_clz32((uint32_t)sum);
    const int32_t shifted = (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    const int16_t sym_sum = (int16_t)tr_clamp_i32(shifted - ((1 << 15) + (1 << 16)), INT16_MIN, INT16_MAX);
    const int16_t recip = tr_fp_lut16_lookup(sym_sum, st->recip_lut);
    const int right_shift = 31 - headroom_plus_one;
    const int64_t round = (int64_t)1 << (right_shift - 1);
    for (int32_t c = 0; c < depth; c++) {
      const int32_t v = (int32_t)(((int64_t)yr[c] * (int64_t)recip + round) >> right_shift);
      yr[c] = (int16_t)tr_clamp_i32(v, 0, INT16_MAX);
    }
  }
}

static void softmax_range(void *vctx, int64_t r0, int64_t r1) {
  const softmax_ctx *c = vctx;
  const softmax_state *st = c->st;
  const void *x = c->in->data;
  void *y = c->out->data;
  const int32_t ti = c->in->type, to = c->out->type;
  if (ti == TR_FLOAT32) {
    if (c->log) log_softmax_f32(st, x, y, r0, r1);
    else st->f32((size_t)(r1 - r0), (size_t)st->depth, (const float *)x + r0 * st->depth,
                 (float *)y + r0 * st->depth, st->beta);
  } else if (c->log) {
    if (ti == TR_INT8) log_softmax_i8(st, x, y, r0, r1);
    else log_softmax_u8(st, x, y, r0, r1);
  } else if (ti == TR_INT8 && to == TR_INT8) {
    softmax_i8_i8(st, x, y, r0, r1);
  } else if (ti == TR_INT8 && to == TR_INT16) {
    softmax_i8_i16(st, x, y, r0, r1);
  } else if (ti == TR_UINT8 && to == TR_UINT8) {
    softmax_u8_u8(st, x, y, r0, r1);
  } else if (ti == TR_UINT8 && to == TR_INT16) {
    softmax_u8_i16(st, x, y, r0, r1);
  } else if (ti == TR_INT16) {
    softmax_i16(st, x, y, r0, r1);
  }
}

static tr_status run(tr_node *n, int log) {
  const softmax_state *st = n->state;
  softmax_ctx c = {st, n->inputs[0], n->outputs[0], log};
  if (st->depth == 0) return TR_OK;
  /* one thread below ~50 us of work (float: the SIMD kernels do about 3 elements a ns), where
   * waking the pool's workers would cost as much as it saves */
  const int64_t min_parallel = n->inputs[0]->type == TR_FLOAT32 && !log ? (1 << 18) : 16384;
  if ((int64_t)st->outer * st->depth < min_parallel) softmax_range(&c, 0, st->outer);
  else tr_parallel_for(n, st->outer, softmax_range, &c);
  return TR_OK;
}

static tr_status softmax_eval(tr_node *n) { return run(n, 0); }
static tr_status log_softmax_eval(tr_node *n) { return run(n, 1); }

const tr_op tr_op_softmax = {"SOFTMAX", softmax_prepare, softmax_eval, NULL};
const tr_op tr_op_log_softmax = {"LOG_SOFTMAX", softmax_prepare, log_softmax_eval, NULL};
