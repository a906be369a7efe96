/* DEPTHWISE_CONV_2D: NHWC input, [1, KH, KW, IC * depth_multiplier] filter, optional bias.
 *
 * ip: [kind (NN_*), activation, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
 *      depth_multiplier, filter_and_bias_const]
 *
 * With depth multiplier 1, constant weights and float32 / int8 / uint8 data, prepare packs the
 * weights for the micro-kernels of csrc/kernels/dwconv (chosen for the ISA and the tap count),
 * and eval walks output rows: for a run of pixels it fills an indirection buffer on the stack
 * (a pointer per tap, the zero row where the tap is padding) and the kernel does the rest.
 *
 * Other cases (depth multipliers, int16, hybrid, weights computed at run time) take the plain
 * loops below: the filter already has the output channel innermost, so each output pixel
 * accumulates a block of channels over the valid taps with contiguous weights. */
#include "kernels/dwconv/dwconv.h"
#include "ops/nn/nn_common.h"

#define DW_BLOCK 16
/* Pointers in a stack indirection buffer: bounds the pixels per kernel call. */
#define DW_IND_CAP 1024

typedef struct {
  int32_t kind, act, sh, sw, dh, dw, pt, pl, dm;
  int32_t B, H, W, IC, OH, OW, OC, KH, KW;
  tr_qmul *qm;
  int32_t in_zp, w_zp, out_zp, act_lo, act_hi;
  float flo, fhi;
  int8_t *hq;
  float *hscale;
  int32_t *hzp;
  float *cscale;
  /* the micro-kernel path */
  int32_t fast, esize, K, step, chunk;
  int32_t slices, slice, tile; /* tasks split channels too, in whole tiles, when rows are few */
  size_t block_bytes;          /* packed bytes per tile of channels */
  tr_dwconv_config cfg;
  tr_dwconv_qs8_fn q8fn;
  void *packed, *zero; /* packed: the plan's */
  tr_dwconv_f32_params fparams;
  tr_dwconv_qs8_params qparams;
} dw_state;

static void dw_release(tr_node *n) {
  dw_state *s = (dw_state *)n->state;
  if (s) {
    free(s->qm);
    free(s->hq);
    free(s->hscale);
    free(s->hzp);
    free(s->cscale);
    free(s->zero);
  }
  free(s);
}

static void *dw_alloc(size_t bytes) {
  void *p = NULL;
  return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

/* Packs the weights for the micro-kernels and sizes the indirection runs. */
static tr_status dw_prepare_fast(tr_node *n, dw_state *s) {
  const tr_tensor *in = n->inputs[0], *filter = n->inputs[1], *out = n->outputs[0];
  const tr_tensor *bias = n->ninputs > 2 ? n->inputs[2] : NULL;
  s->K = s->KH * s->KW;
  s->step = s->dw == 1 ? s->sw * s->KH : s->K;
  s->chunk = s->dw == 1 ? (DW_IND_CAP / s->KH - s->KW) / s->sw + 1 : DW_IND_CAP / s->K;
  if (s->K > DW_IND_CAP || s->chunk < 1) return TR_OK; /* enormous kernels: the plain loops */
  tr_dwconv_config_get(s->K, &s->cfg);
  const size_t C = (size_t)s->OC;
  s->esize = s->kind == NN_F32 ? 4 : 1;
  s->zero = dw_alloc(C * (size_t)s->esize + 64);
  if (!s->zero) return tr_fail(n, "out of memory");
  if (s->kind == NN_F32) {
    memset(s->zero, 0, C * 4 + 64);
    s->packed = tr_node_alloc_packed(n, tr_dwconv_packed_size_f32(C, s->KH, s->KW, s->cfg.f32_ct) * sizeof(float));
    if (!s->packed) return tr_fail(n, "out of memory");
    tr_dwconv_pack_f32(C, s->KH, s->KW, s->cfg.f32_ct, (const float *)filter->data,
                       bias ? (const float *)bias->data : NULL, (float *)s->packed);
    s->fparams.min = s->flo;
    s->fparams.max = s->fhi;
  } else {
    tr_qmul *qm = (tr_qmul *)calloc(C + 1, sizeof(tr_qmul));
    tr_dwconv_qmul *dq = (tr_dwconv_qmul *)calloc(C + 1, sizeof(tr_dwconv_qmul));
    s->packed = tr_node_alloc_packed(n, tr_dwconv_packed_size_qs8(C, s->KH, s->KW, &s->cfg.q8_layout));
    if (!qm || !dq || !s->packed) {
      free(qm);
      free(dq);
      return tr_fail(n, "out of memory");
    }
    nn_channel_multipliers(in, filter, out, s->OC, qm);
    int32_t left_shifts = 0;
    for (size_t c = 0; c < C; c++) {
      dq[c] = (tr_dwconv_qmul){qm[c].multiplier, qm[c].shift};
      left_shifts |= qm[c].shift > 0;
    }
    const int is_u8 = s->kind == NN_U8;
    tr_dwconv_pack_qs8(C, s->KH, s->KW, &s->cfg.q8_layout, filter->data, is_u8,
                       is_u8 ? filter->zero_point : 0, bias ? (const int32_t *)bias->data : NULL,
                       in->zero_point, dq, s->packed);
    free(qm);
    free(dq);
    memset(s->zero, (uint8_t)in->zero_point, C + 64);
    int32_t lo, hi;
    tr_activation_range_quantized(s->act, out->type, out->scale, out->zero_point, &lo, &hi);
    s->qparams = (tr_dwconv_qs8_params){out->zero_point, lo, hi, !left_shifts};
    s->q8fn = is_u8 ? s->cfg.qu8 : s->cfg.qs8;
  }
  s->tile = s->kind == NN_F32 ? s->cfg.f32_ct : s->cfg.q8_layout.ct;
  const size_t tiles = (C + (size_t)s->tile - 1) / (size_t)s->tile;
  s->block_bytes = (s->kind == NN_F32 ? tr_dwconv_packed_size_f32(C, s->KH, s->KW, s->tile) * sizeof(float)
                                      : tr_dwconv_packed_size_qs8(C, s->KH, s->KW, &s->cfg.q8_layout)) / tiles;
  /* Few output rows for the threads (7x7 layers): each row is cut into channel slices too. */
  const int64_t rows_total = (int64_t)s->B * s->OH, threads = tr_num_threads(n);
  s->slices = 1;
  if (threads > 1 && rows_total < 8 * threads && rows_total % threads != 0) {
    s->slices = (int32_t)(tiles < (size_t)threads ? tiles : (size_t)threads);
    if (s->slices < 1) s->slices = 1;
  }
  s->slice = (int32_t)((tiles + (size_t)s->slices - 1) / (size_t)s->slices * (size_t)s->tile);
  s->fast = 1;
  return TR_OK;
}

static tr_status dw_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *filter = n->inputs[1], *out = n->outputs[0];
  dw_state *s = (dw_state *)calloc(1, sizeof(dw_state));
  if (!s) return tr_fail(n, "out of memory");
  n->state = s;
  s->kind = n->ip[0];
  s->act = n->ip[1];
  s->sh = n->ip[2];
  s->sw = n->ip[3];
  s->dh = n->ip[4];
  s->dw = n->ip[5];
  s->pt = n->ip[6];
  s->pl = n->ip[7];
  s->dm = n->ip[8];
  s->B = in->dims[0];
  s->H = in->dims[1];
  s->W = in->dims[2];
  s->IC = in->dims[3];
  s->KH = filter->dims[1];
  s->KW = filter->dims[2];
  s->OC = filter->dims[3];
  s->OH = out->dims[1];
  s->OW = out->dims[2];
  tr_activation_range_f32(s->act, &s->flo, &s->fhi);
  if (s->dm == 1 && n->ip[9] && (s->kind == NN_F32 || s->kind == NN_I8 || s->kind == NN_U8)) {
    const tr_status st = dw_prepare_fast(n, s);
    if (st != TR_OK || s->fast) return st;
  }
  if (s->kind == NN_F32) return TR_OK;
  if (s->kind == NN_HYBRID) {
    s->hq = (int8_t *)malloc((size_t)tr_num_elements(in) + 1);
    s->hscale = (float *)calloc((size_t)s->B + 1, sizeof(float));
    s->hzp = (int32_t *)calloc((size_t)s->B + 1, sizeof(int32_t));
    s->cscale = (float *)calloc((size_t)s->OC + 1, sizeof(float));
    if (!s->hq || !s->hscale || !s->hzp || !s->cscale) return tr_fail(n, "out of memory");
    for (int32_t c = 0; c < s->OC; c++) s->cscale[c] = nn_channel_scale(filter, c);
    return TR_OK;
  }
  s->qm = (tr_qmul *)calloc((size_t)s->OC + 1, sizeof(tr_qmul));
  if (!s->qm) return tr_fail(n, "out of memory");
  s->in_zp = in->zero_point;
  s->w_zp = filter->type == TR_UINT8 ? filter->zero_point : 0;
  s->out_zp = out->zero_point;
  nn_channel_multipliers(in, filter, out, s->OC, s->qm);
  tr_activation_range_quantized(s->act, out->type, out->scale, out->zero_point, &s->act_lo, &s->act_hi);
  return TR_OK;
}

typedef struct {
  dw_state *s;
  const void *in, *w, *bias;
  int32_t bias64;
  void *out;
} dw_ctx;

static void dw_f32_rows(void *vctx, int64_t begin, int64_t end) {
  const dw_ctx *c = (const dw_ctx *)vctx;
  const dw_state *s = c->s;
  const float *in = (const float *)c->in, *wts = (const float *)c->w, *bias = (const float *)c->bias;
  for (int64_t row = begin; row < end; row++) {
    const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);
    for (int32_t ox = 0; ox < s->OW; ox++) {
      float *o = (float *)c->out + (((size_t)b * s->OH + oy) * s->OW + ox) * s->OC;
      for (int32_t ob = 0; ob < s->OC; ob += DW_BLOCK) {
        const int32_t nc = s->OC - ob < DW_BLOCK ? s->OC - ob : DW_BLOCK;
        float acc[DW_BLOCK];
        NN_UNROLL(16)
        for (int32_t t = 0; t < DW_BLOCK; t++) acc[t] = (bias && t < nc) ? bias[ob + t] : 0.0f;
        for (int32_t fy = 0; fy < s->KH; fy++) {
          const int32_t iy = oy * s->sh - s->pt + fy * s->dh;
          if (iy < 0 || iy >= s->H) continue;
          for (int32_t fx = 0; fx < s->KW; fx++) {
            const int32_t ix = ox * s->sw - s->pl + fx * s->dw;
            if (ix < 0 || ix >= s->W) continue;
            const float *x = in + (((size_t)b * s->H + iy) * s->W + ix) * s->IC;
            const float *w = wts + ((size_t)fy * s->KW + fx) * s->OC + ob;
            if (s->dm == 1 && nc == DW_BLOCK) {
              NN_UNROLL(16)
              for (int32_t t = 0; t < DW_BLOCK; t++) acc[t] += x[ob + t] * w[t];
            } else if (s->dm == 1) {
              for (int32_t t = 0; t < nc; t++) acc[t] += x[ob + t] * w[t];
            } else {
              for (int32_t t = 0; t < nc; t++) acc[t] += x[(ob + t) / s->dm] * w[t];
            }
          }
        }
        for (int32_t t = 0; t < nc; t++) o[ob + t] = tr_clamp_f32(acc[t], s->flo, s->fhi);
      }
    }
  }
}

/* acc[t] = sum over valid taps of (x - zp) * (w - w_zp), for one block of channels. */
#define DW_Q_BLOCK(NAME, IN_T, W_T, ACC_T)                                                           \
  static void NAME(const dw_state *s, const dw_ctx *c, int32_t b, int32_t oy, int32_t ox, int32_t ob, \
                   int32_t nc, int32_t zp, ACC_T *acc) {                                             \
    const IN_T *in = (const IN_T *)c->in;                                                            \
    const W_T *wts = (const W_T *)c->w;                                                              \
    for (int32_t t = 0; t < nc; t++) acc[t] = 0;                                                     \
    for (int32_t fy = 0; fy < s->KH; fy++) {                                                         \
      const int32_t iy = oy * s->sh - s->pt + fy * s->dh;                                            \
      if (iy < 0 || iy >= s->H) continue;                                                            \
      for (int32_t fx = 0; fx < s->KW; fx++) {                                                       \
        const int32_t ix = ox * s->sw - s->pl + fx * s->dw;                                          \
        if (ix < 0 || ix >= s->W) continue;                                                          \
        const IN_T *x = in + (((size_t)b * s->H + iy) * s->W + ix) * s->IC;                          \
        const W_T *w = wts + ((size_t)fy * s->KW + fx) * s->OC + ob;                                 \
        for (int32_t t = 0; t < nc; t++)                                                             \
          acc[t] += ((int32_t)x[(ob + t) / s->dm] - zp) * ((int32_t)w[t] - s->w_zp);                 \
      }                                                                                              \
    }                                                                                                \
  }

DW_Q_BLOCK(dw_block_i8, int8_t, int8_t, int32_t)
DW_Q_BLOCK(dw_block_u8, uint8_t, uint8_t, int32_t)
DW_Q_BLOCK(dw_block_i16, int16_t, int8_t, int64_t)

static void dw_q_rows(void *vctx, int64_t begin, int64_t end) {
  const dw_ctx *c = (const dw_ctx *)vctx;
  const dw_state *s = c->s;
  for (int64_t row = begin; row < end; row++) {
    const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);
    for (int32_t ox = 0; ox < s->OW; ox++) {
      const size_t obase = (((size_t)b * s->OH + oy) * s->OW + ox) * s->OC;
      for (int32_t ob = 0; ob < s->OC; ob += DW_BLOCK) {
        const int32_t nc = s->OC - ob < DW_BLOCK ? s->OC - ob : DW_BLOCK;
        if (s->kind == NN_I16) {
          int64_t acc[DW_BLOCK];
          dw_block_i16(s, c, b, oy, ox, ob, nc, 0, acc);
          for (int32_t t = 0; t < nc; t++) {
            const int32_t oc = ob + t;
            int64_t v = acc[t];
            if (c->bias) v += c->bias64 ? ((const int64_t *)c->bias)[oc] : ((const int32_t *)c->bias)[oc];
            int32_t q = tr_multiply_by_quantized_multiplier_64(v, s->qm[oc].multiplier, s->qm[oc].shift);
            ((int16_t *)c->out)[obase + oc] = (int16_t)tr_clamp_i32(q + s->out_zp, s->act_lo, s->act_hi);
          }
          continue;
        }
        int32_t acc[DW_BLOCK];
        if (s->kind == NN_U8) dw_block_u8(s, c, b, oy, ox, ob, nc, s->in_zp, acc);
        else if (s->kind == NN_I8) dw_block_i8(s, c, b, oy, ox, ob, nc, s->in_zp, acc);
        else dw_block_i8(s, c, b, oy, ox, ob, nc, s->hzp[b], acc);
        for (int32_t t = 0; t < nc; t++) {
          const int32_t oc = ob + t;
          if (s->kind == NN_HYBRID) {
            float v = (float)acc[t];
            v *= s->cscale[oc] * s->hscale[b];
            if (c->bias) v += ((const float *)c->bias)[oc];
            ((float *)c->out)[obase + oc] = tr_clamp_f32(v, s->flo, s->fhi);
            continue;
          }
          int32_t v = acc[t];
          if (c->bias) v += ((const int32_t *)c->bias)[oc];
          v = tr_multiply_by_quantized_multiplier(v, s->qm[oc].multiplier, s->qm[oc].shift) + s->out_zp;
          v = tr_clamp_i32(v, s->act_lo, s->act_hi);
          if (s->kind == NN_U8) ((uint8_t *)c->out)[obase + oc] = (uint8_t)v;
          else ((int8_t *)c->out)[obase + oc] = (int8_t)v;
        }
      }
    }
  }
}

/* The micro-kernel path: output rows [begin, end), in runs of at most s->chunk pixels. */
static void dw_fast_rows(void *vctx, int64_t begin, int64_t end) {
  const dw_ctx *c = (const dw_ctx *)vctx;
  const dw_state *s = c->s;
  const void *ind[DW_IND_CAP];
  const char *rows[DW_IND_CAP];
  const size_t pix = (size_t)s->IC * (size_t)s->esize;
  for (int64_t task = begin; task < end; task++) {
    /* a task: one output row, one slice of channels (whole channel tiles) */
    const int64_t row = task / s->slices;
    const size_t c0 = (size_t)(task % s->slices) * (size_t)s->slice;
    if (c0 >= (size_t)s->OC) continue;
    const size_t nc = (size_t)s->OC - c0 < (size_t)s->slice ? (size_t)s->OC - c0 : (size_t)s->slice;
    const size_t coff = c0 * (size_t)s->esize;
    const char *zero = (const char *)s->zero + coff;
    const char *packed = (const char *)s->packed + c0 / (size_t)s->tile * s->block_bytes;
    const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);
    for (int32_t ky = 0; ky < s->KH; ky++) {
      const int32_t iy = oy * s->sh - s->pt + ky * s->dh;
      rows[ky] = (iy >= 0 && iy < s->H) ? (const char *)c->in + ((size_t)b * s->H + iy) * s->W * pix + coff : NULL;
    }
    for (int32_t ox0 = 0; ox0 < s->OW; ox0 += s->chunk) {
      const int32_t npix = s->OW - ox0 < s->chunk ? s->OW - ox0 : s->chunk;
      if (s->dw == 1) {
        /* shared columns: pixel i starts at column i * stride_w */
        const int32_t ncols = (npix - 1) * s->sw + s->KW, x0 = ox0 * s->sw - s->pl;
        for (int32_t j = 0; j < ncols; j++) {
          const int32_t ix = x0 + j;
          const int valid = ix >= 0 && ix < s->W;
          for (int32_t ky = 0; ky < s->KH; ky++)
            ind[j * s->KH + ky] = (valid && rows[ky]) ? rows[ky] + (size_t)ix * pix : zero;
        }
      } else {
        for (int32_t i = 0; i < npix; i++)
          for (int32_t kx = 0; kx < s->KW; kx++) {
            const int32_t ix = (ox0 + i) * s->sw - s->pl + kx * s->dw;
            const int valid = ix >= 0 && ix < s->W;
            for (int32_t ky = 0; ky < s->KH; ky++)
              ind[i * s->K + kx * s->KH + ky] = (valid && rows[ky]) ? rows[ky] + (size_t)ix * pix : zero;
          }
      }
      const size_t opix = ((size_t)b * s->OH + oy) * s->OW + ox0;
      if (s->kind == NN_F32)
        s->cfg.f32(nc, (size_t)npix, (size_t)s->K, (const float **)ind, (size_t)s->step, (const float *)packed,
                   (float *)c->out + opix * s->OC + c0, (size_t)s->OC, &s->fparams);
      else
        s->q8fn(nc, (size_t)npix, (size_t)s->K, ind, (size_t)s->step, packed, (char *)c->out + opix * s->OC + c0,
                (size_t)s->OC, &s->qparams);
    }
  }
}

static tr_status dw_eval(tr_node *n) {
  dw_state *s = (dw_state *)n->state;
  const tr_tensor *in = n->inputs[0], *filter = n->inputs[1];
  const tr_tensor *bias = n->ninputs > 2 ? n->inputs[2] : NULL;
  dw_ctx c = {s, in->data, filter->data, bias ? bias->data : NULL, bias && bias->type == TR_INT64,
              n->outputs[0]->data};
  if (s->fast) {
    /* rows in small batches: a worker descheduled on a busy machine holds up a few of them */
    nn_parallel_claim(n, (int64_t)s->B * s->OH * s->slices, dw_fast_rows, &c, 8);
    return TR_OK;
  }
  if (s->kind == NN_F32) {
    tr_parallel_for(n, (int64_t)s->B * s->OH, dw_f32_rows, &c);
    return TR_OK;
  }
  if (s->kind == NN_HYBRID) {
    const int64_t per_batch = (int64_t)s->H * s->W * s->IC;
    for (int32_t b = 0; b < s->B; b++)
      nn_quantize_asymmetric((const float *)in->data + b * per_batch, per_batch, s->hq + b * per_batch,
                             &s->hscale[b], &s->hzp[b]);
    c.in = s->hq;
  }
  tr_parallel_for(n, (int64_t)s->B * s->OH, dw_q_rows, &c);
  return TR_OK;
}

const tr_op tr_op_depthwise_conv_2d = {"DEPTHWISE_CONV_2D", dw_prepare, dw_eval, dw_release};
