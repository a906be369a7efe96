/* MEAN, SUM, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN, REDUCE_ANY, REDUCE_ALL.
 *
 * ip: [kind, mode, ngroups, size_0 .. size_{g-1}, reduced_0 .. reduced_{g-1}]
 *   kind: REDUCE_* below. mode: 0 plain arithmetic in the tensor type, 1 quantized (rescaling
 *   MEAN/SUM of int8/uint8/int16, or PROD of quantized int8/int16). An empty axis list still
 *   rescales quantized MEAN/SUM (a reduction over one element each), as TFLite 2.3 does.
 *   The groups are the input shape with size-1 dimensions dropped and runs of kept or reduced
 *   dimensions merged; at least one reduced group is always present (size 1 if need be).
 *
 * Each output element accumulates its inputs in increasing input offset, the order in which
 * TFLite's reference Reduce walks the input, so float sums and the step-by-step rescaled
 * quantized products match it bit for bit.
 *
 * Fast path: when a single run of dimensions is reduced, the input is [outer, R, inner] and
 * the micro-kernels of csrc/kernels/reduce take float SUM / MEAN / MAX / MIN and int8 / uint8
 * quantized SUM / MEAN. inner > 1 (MEAN over the H,W of NHWC): column kernels, vectorised over
 * inner, that add the rows in the same order as above (float sums stay bit-identical); threads
 * split outer x inner in blocks of 16. inner == 1 (the last axis): row kernels (float sums
 * blocked over vector lanes), threads split the rows. 8-bit sums are exact int32 sums, then
 * rescaled per output as below. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/reduce/reduce.h"
#include "model/quant.h"
#include "runtime/node.h"

enum { REDUCE_SUM = 0, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN, REDUCE_ANY, REDUCE_ALL, REDUCE_MEAN };
enum { MODE_PLAIN = 0, MODE_QUANT };

typedef struct {
  int32_t kind, mode;
  int32_t nk, nr;
  int64_t ksize[TR_MAX_DIMS], kstride[TR_MAX_DIMS];
  int64_t rsize[TR_MAX_DIMS], rstride[TR_MAX_DIMS];
  int64_t nout, nred;
  int32_t mult, shift; /* quantized rescale */
  int32_t in_zp, out_zp;
  int32_t float_sum; /* quantized SUM rescaled in float */
  float fscale, fbias;
  /* the micro-kernel path: [outer, nred, inner] (NULL kernels: the plain loops) */
  int64_t outer, inner, nblocks;
  tr_reduce_f32_fn f32;
  tr_reduce_q8_fn q8;
  tr_reduce_requant_fn requant; /* NULL: rescale_sum() per output */
  tr_reduce_q8_params qparams;
  int32_t *sums; /* quantized: nout int32 sums */
  int32_t q8_signed;
} reduce_state;

#define REDUCE_BLOCK 16
/* Inputs smaller than this (bytes) run on one thread in the micro-kernel path: the kernels
 * stream 50 to 100 GB/s, so anything smaller takes less time than waking the pool's workers
 * (measured 5 to 15 us here). */
#define REDUCE_FAST_PARALLEL_MIN_BYTES (4 << 20)

static void reduce_release(tr_node *n) {
  reduce_state *st = n->state;
  if (st) free(st->sums);
  free(st);
  n->state = NULL;
}

/* Picks the micro-kernels when one run of dimensions is reduced (see the top of the file). */
static tr_status choose_kernels(tr_node *n, reduce_state *st) {
  const tr_tensor *in = n->inputs[0];
  if (st->nr != 1 || st->nred < 1 || st->nout < 1 || st->rstride[0] == 0) return TR_OK;
  st->inner = st->rstride[0];
  st->outer = st->nout / st->inner;
  st->nblocks = (st->inner + REDUCE_BLOCK - 1) / REDUCE_BLOCK;
  tr_reduce_config cfg;
  tr_reduce_config_get(&cfg);
  const int cols = st->inner > 1;
  if (st->mode == MODE_PLAIN && in->type == TR_FLOAT32) {
    int kind = -1;
    if (st->kind == REDUCE_SUM) kind = TR_REDUCE_SUM;
    else if (st->kind == REDUCE_MEAN) kind = TR_REDUCE_MEAN;
    else if (st->kind == REDUCE_MAX) kind = TR_REDUCE_MAX;
    else if (st->kind == REDUCE_MIN) kind = TR_REDUCE_MIN;
    if (kind >= 0) st->f32 = cols ? cfg.cols_f32[kind] : cfg.rows_f32[kind];
  } else if (st->mode == MODE_QUANT && (st->kind == REDUCE_SUM || st->kind == REDUCE_MEAN) &&
             (in->type == TR_INT8 || in->type == TR_UINT8) && st->nred <= TR_REDUCE_Q8_MAX_COUNT) {
    st->q8_signed = in->type == TR_INT8;
    if (in->type == TR_INT8) st->q8 = cols ? cfg.sum_cols_s8 : cfg.sum_rows_s8;
    else st->q8 = cols ? cfg.sum_cols_u8 : cfg.sum_rows_u8;
    st->sums = malloc((size_t)st->nout * sizeof(int32_t));
    if (!st->sums) return tr_fail(n, "out of memory");
    if (!st->float_sum && st->shift >= -31 && st->shift <= 30) {
      st->requant = st->q8_signed ? cfg.requant_s8 : cfg.requant_u8;
      st->qparams = (tr_reduce_q8_params){(int32_t)(-(int64_t)st->in_zp * st->nred), st->mult, st->shift, st->out_zp,
                                          st->q8_signed ? INT8_MIN : 0, st->q8_signed ? INT8_MAX : UINT8_MAX};
    }
  }
  return TR_OK;
}

static tr_status reduce_prepare(tr_node *n) {
  reduce_state *st = calloc(1, sizeof(*st));
  if (!st) return tr_fail(n, "out of memory");
  n->state = st;
  st->kind = n->ip[0];
  st->mode = n->ip[1];
  const int32_t ng = n->ip[2];
  const int32_t *size = n->ip + 3, *red = n->ip + 3 + ng;
  int64_t stride = 1;
  /* walk from the innermost group to get strides, then store outer-first */
  int64_t strides[TR_MAX_DIMS];
  for (int32_t g = ng - 1; g >= 0; g--) {
    strides[g] = stride;
    stride *= size[g];
  }
  st->nout = 1;
  st->nred = 1;
  for (int32_t g = 0; g < ng; g++) {
    if (red[g]) {
      st->rsize[st->nr] = size[g];
      st->rstride[st->nr++] = strides[g];
      st->nred *= size[g];
    } else {
      st->ksize[st->nk] = size[g];
      st->kstride[st->nk++] = strides[g];
      st->nout *= size[g];
    }
  }
  if (st->nr == 0) {
    st->rsize[0] = 1;
    st->rstride[0] = 0;
    st->nr = 1;
  }
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  st->in_zp = in->zero_point;
  st->out_zp = out->zero_point;
  if (st->mode == MODE_QUANT) {
    if (st->kind == REDUCE_PROD) {
      const int64_t nin = tr_num_elements(in), nout = tr_num_elements(out);
      if (nin != 0 && nout != 0) {
        const int64_t reduced = nin / nout;
        const double scaling = (double)in->scale / pow((double)out->scale, 1.0 / (double)reduced);
        tr_qmul q = tr_quantize_multiplier(scaling);
        st->mult = q.multiplier;
        st->shift = q.shift;
      }
    } else {
      /* int8 / int16 SUM: TFLite 2.3's reference kernel reads the data as uint8 and returns
       * garbage, so these follow its default kernel, which rescales in float. */
      st->float_sum = st->kind == REDUCE_SUM && (in->type == TR_INT8 || in->type == TR_INT16);
      st->fscale = in->scale / out->scale;
      st->fbias = (float)(-st->in_zp) * st->fscale * (float)st->nred;
      tr_qmul q = tr_quantize_multiplier((double)in->scale / (double)out->scale);
      st->mult = q.multiplier;
      st->shift = q.shift;
      if (st->kind == REDUCE_MEAN && st->nred > 0) {
        /* fold 1/count into the multiplier, as TFLite does, with the same precision loss */
        int s = 63 - __builtin_clzll((unsigned long long)st->nred);
        if (s > 32) s = 32;
        if (s > 31 + st->shift) s = 31 + st->shift;
        st->mult = (int32_t)(((int64_t)st->mult << s) / st->nred);
        st->shift -= s;
      }
    }
  }
  return choose_kernels(n, st);
}

/* Input offset of the first element that output o reduces. */
static inline int64_t base_offset(const reduce_state *st, int64_t o) {
  int64_t off = 0;
  for (int32_t d = st->nk - 1; d >= 0; d--) {
    const int64_t i = o % st->ksize[d];
    o /= st->ksize[d];
    off += i * st->kstride[d];
  }
  return off;
}

/* Runs BODY with `off` set to each reduced input offset of the output at `base`, in increasing
 * order. Callers make sure nred > 0. */
#define FOR_EACH_REDUCED(st, base, BODY)                                         \
  do {                                                                           \
    int64_t idx_[TR_MAX_DIMS] = {0};                                             \
    int64_t row_ = (base);                                                       \
    const int32_t last_ = (st)->nr - 1;                                          \
    const int64_t n_ = (st)->rsize[last_], s_ = (st)->rstride[last_];            \
    for (;;) {                                                                   \
      for (int64_t j_ = 0; j_ < n_; j_++) {                                      \
        const int64_t off = row_ + j_ * s_;                                      \
        BODY;                                                                    \
      }                                                                          \
      int32_t d_ = last_ - 1;                                                    \
      for (; d_ >= 0; d_--) {                                                    \
        row_ += (st)->rstride[d_];                                               \
        if (++idx_[d_] < (st)->rsize[d_]) break;                                 \
        row_ -= (st)->rstride[d_] * (st)->rsize[d_];                             \
        idx_[d_] = 0;                                                            \
      }                                                                          \
      if (d_ < 0) break;                                                         \
    }                                                                            \
  } while (0)

typedef struct {
  const reduce_state *st;
  const void *in;
  void *out;
  int32_t type;
} reduce_ctx;

/* Plain reductions in the tensor's own type: C arithmetic promotes narrow types to int and the
 * store truncates, which is what TFLite's templated reducers do. */
#define DEFINE_PLAIN(NAME, T, ACC, LOWEST, HIGHEST)                                         \
  static void NAME(void *vctx, int64_t begin, int64_t end) {                               \
    const reduce_ctx *c = vctx;                                                            \
    const reduce_state *st = c->st;                                                        \
    const T *x = c->in;                                                                    \
    T *y = c->out;                                                                         \
    for (int64_t o = begin; o < end; o++) {                                                \
      const int64_t base = base_offset(st, o);                                             \
      switch (st->kind) {                                                                  \
        case REDUCE_SUM: {                                                                 \
          T acc = 0;                                                                       \
          if (st->nred) FOR_EACH_REDUCED(st, base, acc = (T)(x[off] + acc));               \
          y[o] = acc;                                                                      \
        } break;                                                                           \
        case REDUCE_PROD: {                                                                \
          T acc = 1;                                                                       \
          if (st->nred) FOR_EACH_REDUCED(st, base, acc = (T)(x[off] * acc));               \
          y[o] = acc;                                                                      \
        } break;                                                                           \
        case REDUCE_MAX: {                                                                 \
          T acc = LOWEST;                                                                  \
          if (st->nred) FOR_EACH_REDUCED(st, base, acc = x[off] > acc ? x[off] : acc);     \
          y[o] = acc;                                                                      \
        } break;                                                                           \
        case REDUCE_MIN: {                                                                 \
          T acc = HIGHEST;                                                                 \
          if (st->nred) FOR_EACH_REDUCED(st, base, acc = x[off] < acc ? x[off] : acc);     \
          y[o] = acc;                                                                      \
        } break;                                                                           \
        case REDUCE_MEAN: {                                                                \
          ACC acc = 0;                                                                     \
          if (st->nred) FOR_EACH_REDUCED(st, base, acc = acc + (ACC)x[off]);               \
          y[o] = st->nred ? (T)(acc / (ACC)st->nred) : (T)0;                               \
        } break;                                                                           \
        default: break;                                                                    \
      }                                                                                    \
    }                                                                                      \
  }

DEFINE_PLAIN(reduce_f32, float, float, -__FLT_MAX__, __FLT_MAX__)
DEFINE_PLAIN(reduce_i32, int32_t, int64_t, INT32_MIN, INT32_MAX)
DEFINE_PLAIN(reduce_i64, int64_t, int64_t, INT64_MIN, INT64_MAX)
DEFINE_PLAIN(reduce_i8, int8_t, int32_t, INT8_MIN, INT8_MAX)
DEFINE_PLAIN(reduce_u8, uint8_t, int32_t, 0, UINT8_MAX)
DEFINE_PLAIN(reduce_i16, int16_t, int32_t, INT16_MIN, INT16_MAX)

static void reduce_bool(void *vctx, int64_t begin, int64_t end) {
  const reduce_ctx *c = vctx;
  const reduce_state *st = c->st;
  const uint8_t *x = c->in;
  uint8_t *y = c->out;
  const int any = st->kind == REDUCE_ANY;
  for (int64_t o = begin; o < end; o++) {
    const int64_t base = base_offset(st, o);
    int acc = !any;
    if (st->nred) {
      if (any) FOR_EACH_REDUCED(st, base, acc = acc || x[off]);
      else FOR_EACH_REDUCED(st, base, acc = acc && x[off]);
    }
    y[o] = (uint8_t)acc;
  }
}

/* The output of quantized MEAN / SUM from the int32 sum of an output's raw inputs. */
static inline int32_t rescale_sum(const reduce_state *st, int32_t acc) {
  if (st->float_sum) {
    const float v = roundf((float)acc * st->fscale + st->fbias);
    return (int32_t)tr_clamp_f32(v, -2147483520.0f, 2147483520.0f) + st->out_zp;
  }
  const int32_t shifted = (int32_t)(acc - (int64_t)st->in_zp * st->nred);
  return tr_multiply_by_quantized_multiplier(shifted, st->mult, st->shift) + st->out_zp;
}

/* Quantized MEAN / SUM (QuantizedMeanOrSum) and PROD (QuantizedReduceProd). */
#define DEFINE_QUANT(NAME, T, QMIN, QMAX)                                                       \
  static void NAME(void *vctx, int64_t begin, int64_t end) {                                   \
    const reduce_ctx *c = vctx;                                                                \
    const reduce_state *st = c->st;                                                            \
    const T *x = c->in;                                                                        \
    T *y = c->out;                                                                             \
    const int32_t in_zp = st->in_zp;                                                           \
    for (int64_t o = begin; o < end; o++) {                                                    \
      const int64_t base = base_offset(st, o);                                                 \
      int32_t r;                                                                               \
      if (st->kind == REDUCE_PROD) {                                                           \
        int32_t acc = 0;                                                                       \
        int first = 1;                                                                         \
        FOR_EACH_REDUCED(st, base, {                                                           \
          if (first) {                                                                         \
            acc = x[off] - in_zp;                                                              \
            first = 0;                                                                         \
          } else {                                                                             \
            acc = tr_multiply_by_quantized_multiplier_64((int64_t)acc * (x[off] - in_zp),      \
                                                         st->mult, st->shift);                 \
          }                                                                                    \
        });                                                                                    \
        r = tr_multiply_by_quantized_multiplier_64(acc, st->mult, st->shift) + st->out_zp;     \
      } else {                                                                                 \
        int32_t acc = 0;                                                                       \
        FOR_EACH_REDUCED(st, base, acc += x[off]);                                             \
        r = rescale_sum(st, acc);                                                              \
      }                                                                                        \
      y[o] = (T)tr_clamp_i32(r, QMIN, QMAX);                                                   \
    }                                                                                          \
  }

DEFINE_QUANT(reduce_q_i8, int8_t, INT8_MIN, INT8_MAX)
DEFINE_QUANT(reduce_q_u8, uint8_t, 0, UINT8_MAX)
DEFINE_QUANT(reduce_q_i16, int16_t, INT16_MIN, INT16_MAX)

/* Micro-kernel path. Units: rows of the input (inner == 1), or blocks of REDUCE_BLOCK inner
 * columns of each outer slice; a thread's range of units becomes one call per outer slice. */
typedef struct {
  const reduce_state *st;
  const void *in;
  void *out;
} fast_ctx;

static void fast_range(void *vctx, int64_t begin, int64_t end) {
  const fast_ctx *c = vctx;
  const reduce_state *st = c->st;
  const int64_t R = st->nred, K = st->inner;
  const size_t esize = st->f32 ? sizeof(float) : 1;
  const char *x = c->in;
  /* float results land in the output, 8-bit sums in the int32 scratch (then rescaled) */
  float *yf = c->out;
  int32_t *ys = st->sums;
  int64_t o0, o1; /* the outputs this range covers */
  if (K == 1) {
    o0 = begin;
    o1 = end;
    const size_t rows = (size_t)(end - begin), off = (size_t)(begin * R);
    if (st->f32) st->f32(rows, (size_t)R, (size_t)R, (const float *)(x + off * esize), yf + begin);
    else st->q8(rows, (size_t)R, (size_t)R, x + off, ys + begin);
  } else {
    o0 = (begin / st->nblocks) * K + (begin % st->nblocks) * REDUCE_BLOCK;
    o1 = o0;
    for (int64_t u = begin; u < end;) {
      const int64_t a = u / st->nblocks, b0 = u % st->nblocks;
      const int64_t b1 = (a + 1) * st->nblocks < end ? st->nblocks : end - a * st->nblocks;
      const int64_t j0 = b0 * REDUCE_BLOCK, j1 = b1 * REDUCE_BLOCK < K ? b1 * REDUCE_BLOCK : K;
      const size_t off = (size_t)(a * R * K + j0);
      const size_t cols = (size_t)(j1 - j0);
      if (st->f32) st->f32((size_t)R, cols, (size_t)K, (const float *)(x + off * esize), yf + a * K + j0);
      else st->q8((size_t)R, cols, (size_t)K, x + off, ys + a * K + j0);
      o1 = a * K + j1;
      u = a * st->nblocks + b1;
    }
  }
  if (st->f32) return;
  if (st->requant) {
    st->requant((size_t)(o1 - o0), ys + o0, (char *)c->out + o0, &st->qparams);
  } else if (st->q8_signed) {
    int8_t *y = c->out;
    for (int64_t o = o0; o < o1; o++) y[o] = (int8_t)tr_clamp_i32(rescale_sum(st, ys[o]), INT8_MIN, INT8_MAX);
  } else {
    uint8_t *y = c->out;
    for (int64_t o = o0; o < o1; o++) y[o] = (uint8_t)tr_clamp_i32(rescale_sum(st, ys[o]), 0, UINT8_MAX);
  }
}

static tr_status reduce_eval(tr_node *n) {
  const reduce_state *st = n->state;
  const tr_tensor *in = n->inputs[0];
  tr_tensor *out = n->outputs[0];
  if (st->nred == 0 && st->nout > 0) {
    /* Reducing over an empty dimension: MEAN gives NaN (0 for integers), quantized SUM gives 0,
     * quantized PROD leaves the output alone; the plain kernels produce the neutral element. */
    if (st->kind == REDUCE_MEAN || (st->mode == MODE_QUANT && st->kind == REDUCE_SUM)) {
      if (out->type == TR_FLOAT32) {
        float *y = out->data;
        for (int64_t i = 0; i < st->nout; i++) y[i] = NAN;
      } else {
        memset(out->data, 0, (size_t)st->nout * tr_type_size(out->type));
      }
      return TR_OK;
    }
    if (st->mode == MODE_QUANT) return TR_OK;
  }
  if (st->f32 || st->q8) {
    fast_ctx fc = {st, in->data, out->data};
    const int64_t units = st->inner == 1 ? st->outer : st->outer * st->nblocks;
    const int64_t bytes = st->nout * st->nred * (st->f32 ? 4 : 1);
    if (units < 2 || bytes < REDUCE_FAST_PARALLEL_MIN_BYTES) fast_range(&fc, 0, units);
    else tr_parallel_for(n, units, fast_range, &fc);
    return TR_OK;
  }
  reduce_ctx c = {st, in->data, out->data, in->type};
  tr_range_fn fn = 0;
  if (st->mode == MODE_QUANT) {
    switch (in->type) {
      case TR_INT8: fn = reduce_q_i8; break;
      case TR_UINT8: fn = reduce_q_u8; break;
      case TR_INT16: fn = reduce_q_i16; break;
      default: break;
    }
  } else {
    switch (in->type) {
      case TR_FLOAT32: fn = reduce_f32; break;
      case TR_INT32: fn = reduce_i32; break;
      case TR_INT64: fn = reduce_i64; break;
      case TR_INT8: fn = reduce_i8; break;
      case TR_UINT8: fn = reduce_u8; break;
      case TR_INT16: fn = reduce_i16; break;
      case TR_BOOL: fn = reduce_bool; break;
      default: break;
    }
  }
  if (!fn) return tr_fail(n, "unsupported tensor type %d", in->type);
  if (st->nout < 2 || st->nout * st->nred < 32768) fn(&c, 0, st->nout);
  else tr_parallel_for(n, st->nout, fn, &c);
  return TR_OK;
}

const tr_op tr_op_reduce = {"REDUCE", reduce_prepare, reduce_eval, reduce_release};
