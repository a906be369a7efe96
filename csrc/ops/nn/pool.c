/* AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D on NHWC tensors.
 *
 * ip: [kind (NN_F32 / NN_I8 / NN_U8 / NN_I16), activation, stride_h, stride_w, filter_h,
 *      filter_w, pad_top, pad_left]
 *
 * The window is clipped to the image and averages divide by the number of taps inside it.
 * Quantized pools keep the input's scale (TFLite does not rescale): averages round half away
 * from zero with integer division, and the fused activation clamps in the output's units.
 *
 * Max and average pools of float32 / int8 / uint8 run the channel-vectorised micro-kernels of
 * csrc/kernels/pool (chosen in prepare); L2 and int16 pools take the plain loops below. */
#include "kernels/pool/pool.h"
#include "ops/nn/nn_common.h"

#define POOL_BLOCK 16

enum { POOL_AVG = 0, POOL_MAX = 1, POOL_L2 = 2 };

typedef struct {
  int32_t pool, kind, sh, sw, fh, fw, pt, pl;
  int32_t B, H, W, C, OH, OW;
  int32_t act_lo, act_hi;
  float flo, fhi;
  const void *in;
  void *out;
  /* the micro-kernel path (NULL: the plain loops) */
  tr_pool_f32_fn f32;
  tr_pool_q8_fn q8;
  int32_t esize, slices;
  tr_pool_f32_params fparams;
  tr_pool_q8_params qparams;
} pool_state;

static tr_status pool_prepare_common(tr_node *n, int32_t pool) {
  const tr_tensor *in = n->inputs[0], *out = n->outputs[0];
  pool_state *s = (pool_state *)calloc(1, sizeof(pool_state));
  if (!s) return tr_fail(n, "out of memory");
  n->state = s;
  s->pool = pool;
  s->kind = n->ip[0];
  s->sh = n->ip[2];
  s->sw = n->ip[3];
  s->fh = n->ip[4];
  s->fw = n->ip[5];
  s->pt = n->ip[6];
  s->pl = n->ip[7];
  s->B = in->dims[0];
  s->H = in->dims[1];
  s->W = in->dims[2];
  s->C = in->dims[3];
  s->OH = out->dims[1];
  s->OW = out->dims[2];
  tr_activation_range_f32(n->ip[1], &s->flo, &s->fhi);
  if (s->kind != NN_F32)
    tr_activation_range_quantized(n->ip[1], out->type, out->scale, out->zero_point, &s->act_lo, &s->act_hi);
  if (pool != POOL_L2 && s->kind != NN_I16) {
    tr_pool_config cfg;
    tr_pool_config_get(&cfg);
    s->fparams = (tr_pool_f32_params){s->flo, s->fhi};
    s->qparams = (tr_pool_q8_params){s->act_lo, s->act_hi};
    s->esize = s->kind == NN_F32 ? 4 : 1;
    if (s->kind == NN_F32) s->f32 = pool == POOL_MAX ? cfg.max_f32 : cfg.avg_f32;
    else if (pool == POOL_MAX) s->q8 = s->kind == NN_I8 ? cfg.max_s8 : cfg.max_u8;
    else if ((int64_t)s->fh * s->fw <= TR_POOL_AVG_Q8_MAX_COUNT) s->q8 = s->kind == NN_I8 ? cfg.avg_s8 : cfg.avg_u8;
    /* few output rows (global pooling): threads split the channels too, in 64s */
    const int32_t threads = tr_num_threads(n);
    s->slices = 1;
    if ((int64_t)s->B * s->OH < threads && s->C >= 128) s->slices = threads;
  }
  return TR_OK;
}

static tr_status avg_prepare(tr_node *n) { return pool_prepare_common(n, POOL_AVG); }
static tr_status max_prepare(tr_node *n) { return pool_prepare_common(n, POOL_MAX); }
static tr_status l2_prepare(tr_node *n) { return pool_prepare_common(n, POOL_L2); }

/* The window of output (oy, ox), clipped to the image. */
typedef struct {
  int32_t y0, y1, x0, x1, iy, ix;
} window;

static inline window pool_window(const pool_state *s, int32_t oy, int32_t ox) {
  window w;
  w.iy = oy * s->sh - s->pt;
  w.ix = ox * s->sw - s->pl;
  w.y0 = w.iy < 0 ? -w.iy : 0;
  w.y1 = s->H - w.iy < s->fh ? s->H - w.iy : s->fh;
  w.x0 = w.ix < 0 ? -w.ix : 0;
  w.x1 = s->W - w.ix < s->fw ? s->W - w.ix : s->fw;
  return w;
}

static void pool_f32_rows(void *vctx, int64_t begin, int64_t end) {
  const pool_state *s = (const pool_state *)vctx;
  const float *in = (const float *)s->in;
  for (int64_t row = begin; row < end; row++) {
    const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);
    for (int32_t ox = 0; ox < s->OW; ox++) {
      const window w = pool_window(s, oy, ox);
      const int32_t count = (w.y1 > w.y0 && w.x1 > w.x0) ? (w.y1 - w.y0) * (w.x1 - w.x0) : 0;
      float *o = (float *)s->out + (((size_t)b * s->OH + oy) * s->OW + ox) * s->C;
      for (int32_t c0 = 0; c0 < s->C; c0 += POOL_BLOCK) {
        const int32_t nc = s->C - c0 < POOL_BLOCK ? s->C - c0 : POOL_BLOCK;
        float acc[POOL_BLOCK];
        for (int32_t t = 0; t < nc; t++) acc[t] = s->pool == POOL_MAX ? -__builtin_inff() : 0.0f;
        for (int32_t fy = w.y0; fy < w.y1; fy++)
          for (int32_t fx = w.x0; fx < w.x1; fx++) {
            const float *x = in + (((size_t)b * s->H + w.iy + fy) * s->W + w.ix + fx) * s->C + c0;
            if (s->pool == POOL_MAX) {
              for (int32_t t = 0; t < nc; t++) acc[t] = x[t] > acc[t] ? x[t] : acc[t];
            } else if (s->pool == POOL_AVG) {
              for (int32_t t = 0; t < nc; t++) acc[t] += x[t];
            } else {
              for (int32_t t = 0; t < nc; t++) acc[t] += x[t] * x[t];
            }
          }
        for (int32_t t = 0; t < nc; t++) {
          float v = acc[t];
          if (s->pool == POOL_AVG) v = count ? v / (float)count : 0.0f;
          else if (s->pool == POOL_L2) v = count ? sqrtf(v / (float)count) : 0.0f;
          o[c0 + t] = tr_clamp_f32(v, s->flo, s->fhi);
        }
      }
    }
  }
}

#define POOL_Q_ROWS(NAME, T)                                                                          \
  static void NAME(void *vctx, int64_t begin, int64_t end) {                                          \
    const pool_state *s = (const pool_state *)vctx;                                                   \
    const T *in = (const T *)s->in;                                                                   \
    for (int64_t row = begin; row < end; row++) {                                                     \
      const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);                          \
      for (int32_t ox = 0; ox < s->OW; ox++) {                                                        \
        const window w = pool_window(s, oy, ox);                                                      \
        const int32_t count = (w.y1 > w.y0 && w.x1 > w.x0) ? (w.y1 - w.y0) * (w.x1 - w.x0) : 0;       \
        T *o = (T *)s->out + (((size_t)b * s->OH + oy) * s->OW + ox) * s->C;                          \
        for (int32_t c0 = 0; c0 < s->C; c0 += POOL_BLOCK) {                                           \
          const int32_t nc = s->C - c0 < POOL_BLOCK ? s->C - c0 : POOL_BLOCK;                         \
          int32_t acc[POOL_BLOCK];                                                                    \
          for (int32_t t = 0; t < nc; t++) acc[t] = s->pool == POOL_MAX ? INT32_MIN : 0;              \
          for (int32_t fy = w.y0; fy < w.y1; fy++)                                                    \
            for (int32_t fx = w.x0; fx < w.x1; fx++) {                                                \
              const T *x = in + (((size_t)b * s->H + w.iy + fy) * s->W + w.ix + fx) * s->C + c0;      \
              if (s->pool == POOL_MAX) {                                                              \
                for (int32_t t = 0; t < nc; t++) acc[t] = x[t] > acc[t] ? x[t] : acc[t];              \
              } else {                                                                                \
                for (int32_t t = 0; t < nc; t++) acc[t] += x[t];                                      \
              }                                                                                       \
            }                                                                                         \
          for (int32_t t = 0; t < nc; t++) {                                                          \
            int32_t v = acc[t];                                                                       \
            if (s->pool == POOL_AVG) {                                                                \
              if (!count) v = 0;                                                                      \
              else v = v > 0 ? (v + count / 2) / count : (v - count / 2) / count;                     \
            }                                                                                         \
            o[c0 + t] = (T)tr_clamp_i32(v, s->act_lo, s->act_hi);                                     \
          }                                                                                           \
        }                                                                                             \
      }                                                                                               \
    }                                                                                                 \
  }

POOL_Q_ROWS(pool_i8_rows, int8_t)
POOL_Q_ROWS(pool_u8_rows, uint8_t)
POOL_Q_ROWS(pool_i16_rows, int16_t)

/* The micro-kernel path: tasks are (output row, channel slice). */
static void pool_fast_rows(void *vctx, int64_t begin, int64_t end) {
  const pool_state *s = (const pool_state *)vctx;
  const size_t C = (size_t)s->C, es = (size_t)s->esize;
  const size_t per_slice = (C + (size_t)s->slices - 1) / (size_t)s->slices;
  const size_t slice_len = (per_slice + 63) / 64 * 64;
  for (int64_t task = begin; task < end; task++) {
    const int64_t row = task / s->slices;
    const size_t c0 = (size_t)(task % s->slices) * slice_len;
    if (c0 >= C) continue;
    const size_t nc = C - c0 < slice_len ? C - c0 : slice_len;
    const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);
    for (int32_t ox = 0; ox < s->OW; ox++) {
      const window w = pool_window(s, oy, ox);
      const int32_t rows = w.y1 > w.y0 ? w.y1 - w.y0 : 0, cols = w.x1 > w.x0 ? w.x1 - w.x0 : 0;
      const size_t first = (((size_t)b * s->H + (size_t)(w.iy + (rows ? w.y0 : 0))) * s->W +
                            (size_t)(w.ix + (cols ? w.x0 : 0))) * C + c0;
      const size_t opix = (((size_t)b * s->OH + oy) * s->OW + ox) * C + c0;
      if (s->f32)
        s->f32((size_t)rows, (size_t)cols, (const float *)s->in + first, (size_t)s->W * C, C, nc,
               (float *)s->out + opix, rows * cols, &s->fparams);
      else
        s->q8((size_t)rows, (size_t)cols, (const char *)s->in + first * es, (size_t)s->W * C, C, nc,
              (char *)s->out + opix * es, rows * cols, &s->qparams);
    }
  }
}

static tr_status pool_eval(tr_node *n) {
  pool_state *s = (pool_state *)n->state;
  s->in = n->inputs[0]->data;
  s->out = n->outputs[0]->data;
  if (s->f32 || s->q8) {
    tr_parallel_for(n, (int64_t)s->B * s->OH * s->slices, pool_fast_rows, s);
    return TR_OK;
  }
  tr_range_fn fn = s->kind == NN_F32 ? pool_f32_rows
                   : s->kind == NN_I8 ? pool_i8_rows
                   : s->kind == NN_U8 ? pool_u8_rows
                                      : pool_i16_rows;
  tr_parallel_for(n, (int64_t)s->B * s->OH, fn, s);
  return TR_OK;
}

const tr_op tr_op_average_pool_2d = {"AVERAGE_POOL_2D", avg_prepare, pool_eval, NULL};
const tr_op tr_op_max_pool_2d = {"MAX_POOL_2D", max_prepare, pool_eval, NULL};
const tr_op tr_op_l2_pool_2d = {"L2_POOL_2D", l2_prepare, pool_eval, NULL};
