/* TRANSPOSE_CONV: inputs (output_shape, weights [OC, KH, KW, IC], input NHWC, optional bias).
 *
 * ip: [kind (NN_F32 / NN_I8 / NN_U8 / NN_I16), activation, stride_h, stride_w, pad_top,
 *      pad_left, weights_are_const, int16x8_in_32_bits, bias_is_const]
 *
 * Written as a gather rather than TFLite's scatter: each output pixel sums the input pixels
 * whose stride grid lands on it, so rows split over threads without a shared accumulator.
 * Integer sums are the same as the reference's; float sums differ only in order.
 *
 * float32 and int8 run on the GEMM micro-kernels (kernels/gemm), one sub-pixel convolution per
 * stride phase: the output pixels with (oy + pad_top) % stride_h == py and (ox + pad_left) %
 * stride_w == px all use the taps fy = py, py + stride_h, ... and fx = px, px + stride_w, ...,
 * so each phase is an indirect GEMM with its own packed taps, over rows of output pixels
 * stride_w apart (input pixels outside the image read the zero row). A phase without taps
 * gets one zero tap: its outputs are the bias.
 *
 * The other variants pack the weights as [KH][KW][IC][OC padded to 8]. */
#include "kernels/gemm/gemm.h"
#include "ops/nn/nn_common.h"

#define TC_N 8
#define TC_MAX_GEMM_PHASES 256

typedef struct {
  int32_t kind, sh, sw, pt, pl, filter_const, acc32, packed;
  int32_t B, H, W, IC, OH, OW, OC, KH, KW, OCp;
  float *wf;
  int16_t *wq;
  tr_qmul *qm;
  int32_t in_zp, out_zp, act_lo, act_hi;
  float flo, fhi;
  const void *in, *bias;
  int32_t bias64;
  void *out;
  /* GEMM path (float32, int8) */
  int32_t gemm, bias_const, mr, nr;
  tr_gemm_f32_config fk;
  tr_gemm_qs8_config qk;
  struct tc_phase *phases;   /* stride_h * stride_w */
  struct tc_tile *tiles;     /* row tiles of every phase */
  int64_t ntiles, nc, nblocks;
  void *pw;                  /* every phase's packed weights (the plan's) */
  const void **ind;          /* per row tile: [tap][mr] input pixel pointers (the plan's) */
  uintptr_t ind_base;
  void *zero;
} tc_state;

/* One stride phase: its taps (ks of them; tap t is (fy[t], fx[t]), or a zero tap), where its
 * packed weights start and how long a block of nr columns is. */
typedef struct tc_phase {
  size_t ks, pw_offset, pw_block;
  int32_t *fy, *fx; /* NULL for the zero tap */
} tc_phase;

/* A row of up to mr output pixels of one phase, stride_w apart in one output row. */
typedef struct tc_tile {
  int32_t phase, rows;
  int64_t out;  /* element offset of the first pixel's first channel */
  int64_t ind;  /* offset of the tile's pointers in the indirection buffer */
} tc_tile;

static void tc_release(tr_node *n) {
  tc_state *s = (tc_state *)n->state;
  if (s) {
    free(s->wf);
    free(s->wq);
    free(s->qm);
    if (s->phases)
      for (int32_t p = 0; p < s->sh * s->sw; p++) free(s->phases[p].fy);
    free(s->phases);
    free(s->tiles);
    free(s->zero);
  }
  free(s);
}

/* --- GEMM path ----------------------------------------------------------------------------- */

static tr_status tc_gemm_pack(tc_state *s, const tr_tensor *w, const tr_tensor *bias) {
  const size_t esize = s->kind == NN_F32 ? sizeof(float) : 1;
  for (int32_t p = 0; p < s->sh * s->sw; p++) {
    const tc_phase *ph = &s->phases[p];
    /* the phase's taps gathered as a [OC][ks][IC] filter */
    char *taps = (char *)calloc((size_t)s->OC * ph->ks * s->IC + 1, esize);
    if (!taps) return TR_ERROR;
    if (ph->fy)
      for (int32_t oc = 0; oc < s->OC; oc++)
        for (size_t t = 0; t < ph->ks; t++)
          memcpy(taps + (((size_t)oc * ph->ks + t) * s->IC) * esize,
                 (const char *)w->data + ((((size_t)oc * s->KH + ph->fy[t]) * s->KW + ph->fx[t]) * s->IC) * esize,
                 (size_t)s->IC * esize);
    void *dst = (char *)s->pw + ph->pw_offset;
    const size_t sn = ph->ks * s->IC;
    if (s->kind == NN_F32)
      tr_gemm_pack_f32((size_t)s->OC, ph->ks, (size_t)s->IC, (size_t)s->nr, (const float *)taps, sn, (size_t)s->IC,
                       1, bias ? (const float *)bias->data : NULL, dst);
    else
      tr_gemm_pack_qs8((size_t)s->OC, ph->ks, (size_t)s->IC, (size_t)s->nr, (size_t)s->qk.kr, TR_GEMM_REQUANT_Q31,
                       (const int8_t *)taps, sn, (size_t)s->IC, 1, bias ? (const int32_t *)bias->data : NULL,
                       s->in_zp + s->qk.a_xor, (const tr_gemm_qmul *)s->qm, NULL, dst);
    free(taps);
  }
  s->packed = 1;
  return TR_OK;
}

static size_t tc_packed_size(const tc_state *s, size_t n, size_t ks) {
  return s->kind == NN_F32 ? tr_gemm_packed_size_f32(n, ks, (size_t)s->IC, (size_t)s->nr)
                           : tr_gemm_packed_size_qs8(n, ks, (size_t)s->IC, (size_t)s->nr, (size_t)s->qk.kr,
                                                     TR_GEMM_REQUANT_Q31);
}

static tr_status tc_gemm_prepare(tr_node *n, tc_state *s) {
  const tr_tensor *w = n->inputs[1], *in = n->inputs[2];
  const tr_tensor *bias = n->ninputs > 3 ? n->inputs[3] : NULL;
  const int f32 = s->kind == NN_F32;
  const size_t esize = f32 ? sizeof(float) : 1;
  const int32_t nph = s->sh * s->sw;
  s->gemm = 1;
  s->bias_const = n->nip > 8 ? n->ip[8] : 0;
  const size_t k_avg = (size_t)s->IC * s->KH * s->KW / (size_t)nph + 1;
  if (f32) {
    tr_gemm_f32_config_get(&s->fk);
    tr_gemm_f32_config_fit(&s->fk, (size_t)s->OC, k_avg);
    s->mr = s->fk.mr, s->nr = s->fk.nr;
  } else {
    tr_gemm_qs8_config_get(&s->qk);
    tr_gemm_qs8_config_fit(&s->qk, (size_t)s->OC, k_avg);
    s->mr = s->qk.mr, s->nr = s->qk.nr;
  }
  s->phases = (tc_phase *)calloc((size_t)nph, sizeof(tc_phase));
  s->zero = malloc((size_t)s->IC * esize + 1);
  if (!s->phases || !s->zero) return tr_fail(n, "out of memory");
  memset(s->zero, f32 ? 0 : s->in_zp, (size_t)s->IC * esize);
  /* the taps of each phase, the packed weights' layout, the count of row tiles and pointers */
  size_t pw_total = 0, ind_total = 0, max_col = 0;
  int64_t tiles = 0;
  for (int32_t py = 0; py < s->sh; py++)
    for (int32_t px = 0; px < s->sw; px++) {
      tc_phase *ph = &s->phases[py * s->sw + px];
      const int32_t ny = py < s->KH ? (s->KH - py + s->sh - 1) / s->sh : 0;
      const int32_t nx = px < s->KW ? (s->KW - px + s->sw - 1) / s->sw : 0;
      ph->ks = ny * nx > 0 ? (size_t)ny * nx : 1;
      if (ny * nx > 0) {
        ph->fy = (int32_t *)malloc(2 * ph->ks * sizeof(int32_t));
        if (!ph->fy) return tr_fail(n, "out of memory");
        ph->fx = ph->fy + ph->ks;
        for (int32_t i = 0; i < ny; i++)
          for (int32_t j = 0; j < nx; j++) {
            ph->fy[i * nx + j] = py + i * s->sh;
            ph->fx[i * nx + j] = px + j * s->sw;
          }
      }
      ph->pw_offset = pw_total;
      ph->pw_block = tc_packed_size(s, (size_t)s->nr, ph->ks);
      pw_total += tc_packed_size(s, (size_t)s->OC, ph->ks);
      if (ph->pw_block / (size_t)s->nr > max_col) max_col = ph->pw_block / (size_t)s->nr;
      /* output rows and columns of the phase: (o + pad) % stride == phase */
      const int32_t oy0 = ((py - s->pt) % s->sh + s->sh) % s->sh, ox0 = ((px - s->pl) % s->sw + s->sw) % s->sw;
      const int64_t rows = oy0 < s->OH ? (s->OH - oy0 + s->sh - 1) / s->sh : 0;
      const int64_t cols = ox0 < s->OW ? (s->OW - ox0 + s->sw - 1) / s->sw : 0;
      const int64_t per_row = (cols + s->mr - 1) / s->mr;
      tiles += (int64_t)s->B * rows * per_row;
      ind_total += (size_t)s->B * rows * per_row * ph->ks * s->mr;
    }
  s->ntiles = tiles;
  s->pw = tr_node_alloc_packed(n, pw_total + 1);
  s->tiles = (tc_tile *)malloc((size_t)tiles * sizeof(tc_tile) + 1);
  s->ind = (const void **)tr_node_alloc_packed(n, ind_total * sizeof(void *) + 1);
  if (!s->pw || !s->tiles || !s->ind) return tr_fail(n, "out of memory");
  /* the row tiles and their pointers */
  const char *base = (const char *)in->data;
  s->ind_base = (uintptr_t)base;
  int64_t t = 0, at = 0;
  for (int32_t p = 0; p < nph; p++) {
    const tc_phase *ph = &s->phases[p];
    const int32_t py = p / s->sw, px = p % s->sw;
    const int32_t oy0 = ((py - s->pt) % s->sh + s->sh) % s->sh, ox0 = ((px - s->pl) % s->sw + s->sw) % s->sw;
    for (int32_t b = 0; b < s->B; b++)
      for (int32_t oy = oy0; oy < s->OH; oy += s->sh)
        for (int32_t ox = ox0; ox < s->OW; ox += s->sw * s->mr) {
          tc_tile *tile = &s->tiles[t++];
          const int32_t left = (s->OW - ox + s->sw - 1) / s->sw;
          tile->phase = p;
          tile->rows = left < s->mr ? left : s->mr;
          tile->out = (((int64_t)b * s->OH + oy) * s->OW + ox) * s->OC;
          tile->ind = at;
          for (size_t k = 0; k < ph->ks; k++)
            for (int32_t r = 0; r < s->mr; r++) {
              const int32_t x = ox + (r < tile->rows ? r : tile->rows - 1) * s->sw;
              const void *ptr = s->zero;
              if (ph->fy) {
                /* the tap's input pixel: exact divisions, by the choice of phase */
                const int32_t iy = (oy + s->pt - ph->fy[k]) / s->sh, ix = (x + s->pl - ph->fx[k]) / s->sw;
                if (oy + s->pt - ph->fy[k] >= 0 && iy < s->H && x + s->pl - ph->fx[k] >= 0 && ix < s->W)
                  ptr = base + ((((size_t)b * s->H + iy) * s->W + ix) * s->IC) * esize;
              }
              s->ind[at++] = ptr;
            }
        }
  }
  int64_t mt_unused;
  nn_gemm_tiles(s->ntiles * s->mr, s->OC, s->mr, s->nr, max_col, tr_num_threads(n), &s->nc, &mt_unused,
                &s->nblocks);
  if (s->filter_const && (s->bias_const || !bias) && tc_gemm_pack(s, w, bias) != TR_OK)
    return tr_fail(n, "out of memory");
  return TR_OK;
}

typedef struct {
  const tc_state *s;
  char *out;
  size_t a_offset;
  tr_gemm_f32_params fp;
  tr_gemm_qs8_params qp;
} tc_gemm_ctx;

static void tc_gemm_run(void *vctx, int64_t begin, int64_t end) {
  const tc_gemm_ctx *c = (const tc_gemm_ctx *)vctx;
  const tc_state *s = c->s;
  const size_t esize = s->kind == NN_F32 ? sizeof(float) : 1;
  for (int64_t i = begin; i < end; i++) {
    const tc_tile *tile = &s->tiles[i / s->nblocks];
    const tc_phase *ph = &s->phases[tile->phase];
    const int64_t n0 = i % s->nblocks * s->nc;
    const size_t cols = (size_t)(s->OC - n0 < s->nc ? s->OC - n0 : s->nc);
    const void *w = (const char *)s->pw + ph->pw_offset + (size_t)(n0 / s->nr) * ph->pw_block;
    char *out = c->out + ((size_t)tile->out + (size_t)n0) * esize;
    const void **ind = s->ind + tile->ind;
    const size_t c_stride = (size_t)s->sw * s->OC;
    if (s->kind == NN_F32)
      s->fk.igemm((size_t)tile->rows, cols, (size_t)s->IC, ph->ks, (const float **)ind, (const float *)w,
                  (float *)out, c_stride, c->a_offset, (const float *)s->zero, &c->fp);
    else
      s->qk.igemm((size_t)tile->rows, cols, (size_t)s->IC, ph->ks, (const int8_t **)ind, w, (int8_t *)out, c_stride,
                  c->a_offset, (const int8_t *)s->zero, &c->qp);
  }
}

static tr_status tc_gemm_eval(tr_node *n, tc_state *s) {
  const tr_tensor *bias = n->ninputs > 3 ? n->inputs[3] : NULL;
  if ((!s->packed || !s->filter_const || (bias && !s->bias_const)) && tc_gemm_pack(s, n->inputs[1], bias) != TR_OK)
    return tr_fail(n, "out of memory");
  const tr_tensor *in = n->inputs[2];
  tc_gemm_ctx c = {s, (char *)n->outputs[0]->data, (size_t)((uintptr_t)in->data - s->ind_base), {s->flo, s->fhi},
                   {s->out_zp, s->act_lo, s->act_hi, NULL}};
  nn_parallel_tiles(n, s->ntiles * s->nblocks, tc_gemm_run, &c,
                    (double)s->B * s->H * s->W * s->IC * s->KH * s->KW * s->OC, s->kind != NN_F32);
  return TR_OK;
}

static tr_status tc_prepare(tr_node *n) {
  const tr_tensor *w = n->inputs[1], *in = n->inputs[2], *out = n->outputs[0];
  tc_state *s = (tc_state *)calloc(1, sizeof(tc_state));
  if (!s) return tr_fail(n, "out of memory");
  n->state = s;
  s->kind = n->ip[0];
  s->sh = n->ip[2];
  s->sw = n->ip[3];
  s->pt = n->ip[4];
  s->pl = n->ip[5];
  s->filter_const = n->ip[6];
  s->acc32 = n->ip[7];
  s->B = in->dims[0];
  s->H = in->dims[1];
  s->W = in->dims[2];
  s->IC = in->dims[3];
  s->OC = w->dims[0];
  s->KH = w->dims[1];
  s->KW = w->dims[2];
  s->OH = out->dims[1];
  s->OW = out->dims[2];
  s->OCp = (int32_t)nn_round_up((size_t)s->OC, TC_N);
  const size_t count = (size_t)s->KH * s->KW * s->IC * s->OCp;
  tr_activation_range_f32(n->ip[1], &s->flo, &s->fhi);
  /* the GEMM path keeps a packed filter per stride phase (sh * sw of them); past a few hundred
   * phases most have no taps at all, and the direct loops below serve any stride */
  const int gemm = (s->kind == NN_F32 || s->kind == NN_I8) && s->IC > 0 && s->OC > 0 &&
                   (int64_t)s->sh * s->sw <= TC_MAX_GEMM_PHASES;
  if (s->kind == NN_F32 && gemm) return tc_gemm_prepare(n, s);
  if (s->kind == NN_F32) {
    s->wf = (float *)malloc(count * sizeof(float) + 1);
    return s->wf ? TR_OK : tr_fail(n, "out of memory");
  }
  s->wq = (int16_t *)malloc(count * sizeof(int16_t) + 1);
  s->qm = (tr_qmul *)calloc((size_t)s->OC + 1, sizeof(tr_qmul));
  if (!s->wq || !s->qm) return tr_fail(n, "out of memory");
  s->in_zp = in->zero_point;
  s->out_zp = out->zero_point;
  nn_channel_multipliers(in, w, out, s->OC, s->qm);
  tr_activation_range_quantized(n->ip[1], out->type, out->scale, out->zero_point, &s->act_lo, &s->act_hi);
  if (gemm) {
    free(s->wq);
    s->wq = NULL;
    return tc_gemm_prepare(n, s);
  }
  return TR_OK;
}

static void tc_pack(tc_state *s, const tr_tensor *w) {
  const int32_t taps = s->KH * s->KW;
  for (int32_t t = 0; t < taps; t++)
    for (int32_t ic = 0; ic < s->IC; ic++)
      for (int32_t oc = 0; oc < s->OCp; oc++) {
        const size_t dst = ((size_t)t * s->IC + ic) * s->OCp + oc;
        const size_t src = ((size_t)oc * taps + t) * s->IC + ic;
        if (s->kind == NN_F32) s->wf[dst] = oc < s->OC ? ((const float *)w->data)[src] : 0.0f;
        else if (oc >= s->OC) s->wq[dst] = 0;
        else if (w->type == TR_UINT8) s->wq[dst] = (int16_t)(((const uint8_t *)w->data)[src] - w->zero_point);
        else s->wq[dst] = (int16_t)((const int8_t *)w->data)[src];
      }
  s->packed = 1;
}

/* The input coordinate that reaches output coordinate o through filter tap f, or -1. */
static inline int32_t tc_source(int32_t o, int32_t pad, int32_t f, int32_t stride, int32_t size) {
  const int32_t t = o + pad - f;
  if (t < 0 || t % stride) return -1;
  return t / stride < size ? t / stride : -1;
}

static void tc_f32_rows(void *vctx, int64_t begin, int64_t end) {
  const tc_state *s = (const tc_state *)vctx;
  const float *in = (const float *)s->in, *bias = (const float *)s->bias;
  for (int64_t row = begin; row < end; row++) {
    const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);
    for (int32_t ox = 0; ox < s->OW; ox++) {
      float *o = (float *)s->out + (((size_t)b * s->OH + oy) * s->OW + ox) * s->OC;
      for (int32_t ob = 0; ob < s->OC; ob += TC_N) {
        float acc[TC_N];
        for (int32_t t = 0; t < TC_N; t++) acc[t] = 0.0f;
        for (int32_t fy = 0; fy < s->KH; fy++) {
          const int32_t iy = tc_source(oy, s->pt, fy, s->sh, s->H);
          if (iy < 0) continue;
          for (int32_t fx = 0; fx < s->KW; fx++) {
            const int32_t ix = tc_source(ox, s->pl, fx, s->sw, s->W);
            if (ix < 0) continue;
            const float *x = in + (((size_t)b * s->H + iy) * s->W + ix) * s->IC;
            const float *w = s->wf + (((size_t)fy * s->KW + fx) * s->IC) * s->OCp + ob;
            for (int32_t ic = 0; ic < s->IC; ic++) {
              const float xv = x[ic];
              const float *wr = w + (size_t)ic * s->OCp;
              for (int32_t t = 0; t < TC_N; t++) acc[t] += xv * wr[t];
            }
          }
        }
        const int32_t nc = s->OC - ob < TC_N ? s->OC - ob : TC_N;
        for (int32_t t = 0; t < nc; t++) {
          float v = acc[t];
          if (bias) v += bias[ob + t];
          o[ob + t] = tr_clamp_f32(v, s->flo, s->fhi);
        }
      }
    }
  }
}

#define TC_Q_ROWS(NAME, IN_T, ACC_T, REQUANT)                                                        \
  static void NAME(void *vctx, int64_t begin, int64_t end) {                                        \
    const tc_state *s = (const tc_state *)vctx;                                                     \
    const IN_T *in = (const IN_T *)s->in;                                                           \
    for (int64_t row = begin; row < end; row++) {                                                   \
      const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);                        \
      for (int32_t ox = 0; ox < s->OW; ox++) {                                                      \
        const size_t obase = (((size_t)b * s->OH + oy) * s->OW + ox) * s->OC;                       \
        for (int32_t ob = 0; ob < s->OC; ob += TC_N) {                                              \
          ACC_T acc[TC_N];                                                                          \
          for (int32_t t = 0; t < TC_N; t++) acc[t] = 0;                                            \
          for (int32_t fy = 0; fy < s->KH; fy++) {                                                  \
            const int32_t iy = tc_source(oy, s->pt, fy, s->sh, s->H);                               \
            if (iy < 0) continue;                                                                   \
            for (int32_t fx = 0; fx < s->KW; fx++) {                                                \
              const int32_t ix = tc_source(ox, s->pl, fx, s->sw, s->W);                             \
              if (ix < 0) continue;                                                                 \
              const IN_T *x = in + (((size_t)b * s->H + iy) * s->W + ix) * s->IC;                   \
              const int16_t *w = s->wq + (((size_t)fy * s->KW + fx) * s->IC) * s->OCp + ob;         \
              for (int32_t ic = 0; ic < s->IC; ic++) {                                              \
                const int32_t xv = (int32_t)x[ic] - s->in_zp;                                       \
                const int16_t *wr = w + (size_t)ic * s->OCp;                                        \
                for (int32_t t = 0; t < TC_N; t++) acc[t] += xv * (int32_t)wr[t];                   \
              }                                                                                     \
            }                                                                                       \
          }                                                                                         \
          const int32_t nc = s->OC - ob < TC_N ? s->OC - ob : TC_N;                                 \
          for (int32_t t = 0; t < nc; t++) {                                                        \
            const int32_t oc = ob + t;                                                              \
            ACC_T v = acc[t];                                                                       \
            if (s->bias)                                                                            \
              v += s->bias64 ? (ACC_T)((const int64_t *)s->bias)[oc] : (ACC_T)((const int32_t *)s->bias)[oc]; \
            int32_t q = REQUANT(v, s->qm[oc].multiplier, s->qm[oc].shift) + s->out_zp;              \
            ((IN_T *)s->out)[obase + oc] = (IN_T)tr_clamp_i32(q, s->act_lo, s->act_hi);             \
          }                                                                                         \
        }                                                                                           \
      }                                                                                             \
    }                                                                                               \
  }

TC_Q_ROWS(tc_i8_rows, int8_t, int32_t, tr_multiply_by_quantized_multiplier)
TC_Q_ROWS(tc_u8_rows, uint8_t, int32_t, tr_multiply_by_quantized_multiplier)
/* With an int32 bias TFLite accumulates int16 x int8 products in 32 bits and requantizes
 * with the 32-bit rule. */
static inline int32_t tc_requant_i16_b32(int64_t acc, int32_t multiplier, int32_t shift) {
  return tr_multiply_by_quantized_multiplier((int32_t)acc, multiplier, shift);
}

TC_Q_ROWS(tc_i16_rows, int16_t, int64_t, tr_multiply_by_quantized_multiplier_64)
TC_Q_ROWS(tc_i16_b32_rows, int16_t, int64_t, tc_requant_i16_b32)

static tr_status tc_eval(tr_node *n) {
  tc_state *s = (tc_state *)n->state;
  if (s->gemm) return tc_gemm_eval(n, s);
  const tr_tensor *bias = n->ninputs > 3 ? n->inputs[3] : NULL;
  if (!s->packed || !s->filter_const) tc_pack(s, n->inputs[1]);
  s->in = n->inputs[2]->data;
  s->bias = bias ? bias->data : NULL;
  s->bias64 = bias && bias->type == TR_INT64;
  s->out = n->outputs[0]->data;
  tr_range_fn fn = s->kind == NN_F32 ? tc_f32_rows
                   : s->kind == NN_I8 ? tc_i8_rows
                   : s->kind == NN_U8 ? tc_u8_rows
                   : s->acc32 ? tc_i16_b32_rows
                                             : tc_i16_rows;
  tr_parallel_for(n, (int64_t)s->B * s->OH, fn, s);
  return TR_OK;
}

const tr_op tr_op_transpose_conv = {"TRANSPOSE_CONV", tc_prepare, tc_eval, tc_release};
