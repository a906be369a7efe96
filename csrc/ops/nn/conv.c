/* CONV_2D: NHWC input, OHWI filter, optional bias, grouped when the input has a multiple of
 * the filter's input channels.
 *
 * ip: [kind (NN_*), activation, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
 *      filter_is_const, hybrid_per_channel, int16x8_in_32_bits, bias_is_const]
 *
 * float32 and int8 run on the GEMM micro-kernels (kernels/gemm): the weights of each group are
 * packed once for the kernels chosen at prepare, and the pixels are the rows of A:
 *   direct:   a 1x1 convolution with stride 1 and no padding is a plain matrix product;
 *   indirect: otherwise, an indirect GEMM through a buffer of input-pixel pointers built at
 *             prepare (the zero row for padding taps).
 * Work is split over (group, column tile, row tile).
 *
 * The other variants (uint8, int16x8, hybrid) share one portable loop: a tile of 4 output pixels
 * of one output row by 8 output channels, accumulated over the filter taps with the weights
 * packed as [group][tap][in_channel][out_channel padded to 8], so the innermost loop is 8
 * contiguous weights. Taps that fall into the padding read a row holding the input zero point,
 * which contributes nothing, exactly as the reference kernels skip them. */
#include "kernels/gemm/gemm.h"
#include "ops/nn/nn_common.h"

#define TILE_M 4
#define TILE_N 8

typedef struct {
  int32_t kind, act, sh, sw, dh, dw, pt, pl, filter_const, per_channel, acc32;
  int32_t B, H, W, IC, OH, OW, OC, KH, KW, ICg, OCg, OCp, groups;
  int32_t packed;
  float *wf;      /* float weights, packed */
  int16_t *wq;    /* integer weights minus their zero point, packed */
  void *pad;      /* per batch, IC values that stand for "outside the image" */
  tr_qmul *qm;    /* per output channel */
  int32_t in_zp, out_zp, act_lo, act_hi;
  float flo, fhi;
  /* hybrid */
  int8_t *hq;
  float *hscale;  /* per batch input scale */
  int32_t *hzp;   /* per batch input zero point */
  float *cscale;  /* per output channel filter scale */
  /* GEMM path (float32, int8) */
  int32_t gemm, mode, bias_const; /* mode: CONV_DIRECT or CONV_INDIRECT */
  int32_t acc_bounded;            /* int8: every accumulator lies in [-2^30, 2^30) (gemm.h) */
  tr_gemm_f32_config fk;
  tr_gemm_qs8_config qk;
  int32_t mr, nr, kr;
  size_t ks, kc;
  void *pw;                 /* packed weights, groups x pw_group bytes (the plan's) */
  size_t pw_group, pw_block; /* bytes per group, per block of nr columns */
  const void **ind;         /* indirection: [row tile][tap][mr] input pixel pointers (the plan's) */
  uintptr_t ind_base;       /* the input address the pointers were built for */
  void *zero;               /* the padding row */
  int64_t M, mtiles, ntiles, nc;
} conv_state;

static void conv_release(tr_node *n) {
  conv_state *s = (conv_state *)n->state;
  if (s) {
    free(s->wf);
    free(s->wq);
    free(s->pad);
    free(s->qm);
    free(s->hq);
    free(s->hscale);
    free(s->hzp);
    free(s->cscale);
    free(s->zero);
  }
  free(s);
}

static void pack_weights(conv_state *s, const tr_tensor *filter) {
  const int32_t taps = s->KH * s->KW;
  for (int32_t g = 0; g < s->groups; g++)
    for (int32_t t = 0; t < taps; t++)
      for (int32_t ic = 0; ic < s->ICg; ic++) {
        size_t dst = (((size_t)g * taps + t) * s->ICg + ic) * s->OCp;
        for (int32_t oc = 0; oc < s->OCp; oc++) {
          size_t src = ((size_t)(g * s->OCg + oc) * taps + t) * s->ICg + ic;
          if (s->kind == NN_F32) {
            s->wf[dst + oc] = oc < s->OCg ? ((const float *)filter->data)[src] : 0.0f;
          } else if (oc >= s->OCg) {
            s->wq[dst + oc] = 0;
          } else if (filter->type == TR_UINT8) {
            s->wq[dst + oc] = (int16_t)(((const uint8_t *)filter->data)[src] - filter->zero_point);
          } else {
            /* int8 filters are symmetric in every TFLite variant that reaches here */
            s->wq[dst + oc] = (int16_t)((const int8_t *)filter->data)[src];
          }
        }
      }
  s->packed = 1;
}

/* --- GEMM path ----------------------------------------------------------------------------- */

enum { CONV_DIRECT = 0, CONV_INDIRECT = 1 };

static void conv_gemm_pack(conv_state *s, const tr_tensor *filter, const tr_tensor *bias) {
  const size_t sn = (size_t)s->KH * s->KW * s->ICg;
  int bounded = 1;
  nn_prefault(filter->data, (size_t)s->OC * sn * (s->kind == NN_F32 ? sizeof(float) : 1));
  for (int32_t g = 0; g < s->groups; g++) {
    void *dst = (char *)s->pw + (size_t)g * s->pw_group;
    const size_t first = (size_t)g * s->OCg;
    if (s->kind == NN_F32) {
      tr_gemm_pack_f32((size_t)s->OCg, s->ks, s->kc, (size_t)s->nr, (const float *)filter->data + first * sn, sn,
                       (size_t)s->ICg, 1, bias ? (const float *)bias->data + first : NULL, dst);
    } else {
      /* the packer sums every weight's magnitude anyway: it tells whether the accumulators
       * stay within the range the short requantization needs */
      bounded &= tr_gemm_pack_qs8((size_t)s->OCg, s->ks, s->kc, (size_t)s->nr, (size_t)s->kr, TR_GEMM_REQUANT_Q31,
                                  (const int8_t *)filter->data + first * sn, sn, (size_t)s->ICg, 1,
                                  bias ? (const int32_t *)bias->data + first : NULL, s->in_zp + s->qk.a_xor,
                                  (const tr_gemm_qmul *)(s->qm + first), NULL, dst) != 0;
    }
  }
  if (s->kind != NN_F32) s->acc_bounded = bounded;
  s->packed = 1;
}

/* dst[r] = tap + r * step for the mr rows of a tile, two pointers to a vector (a pointer at a
 * time was most of the cost of a large convolution's indirection); the usual mr as constants,
 * so that the loop unrolls */
typedef uintptr_t ptr_pair __attribute__((vector_size(2 * sizeof(uintptr_t))));

static inline __attribute__((always_inline)) void tap_rows_n(const void **dst, uintptr_t tap, size_t step, int32_t mr) {
  const ptr_pair first = {tap, tap + step}, twice = {2 * step, 2 * step};
  ptr_pair p = first;
  int32_t r = 0;
  for (; r + 2 <= mr; r += 2, p += twice) memcpy(dst + r, &p, sizeof(p));
  if (r < mr) dst[r] = (const void *)p[0];
}

static inline void tap_rows(const void **dst, uintptr_t tap, size_t step, int32_t mr) {
  switch (mr) {
    case 4: tap_rows_n(dst, tap, step, 4); break;
    case 6: tap_rows_n(dst, tap, step, 6); break;
    case 7: tap_rows_n(dst, tap, step, 7); break;
    case 8: tap_rows_n(dst, tap, step, 8); break;
    default: tap_rows_n(dst, tap, step, mr); break;
  }
}

/* Row tile mb, tap t, row r -> the input pixel it reads, or the zero row. Rows past M repeat
 * the last one. The output pixel (b, oy, ox) and the tap (fy, fx) advance as counters: a
 * division per (row, tap) dominated prepare. */
static void conv_gemm_indirection(conv_state *s, const tr_tensor *in, size_t esize) {
  const char *base = (const char *)in->data;
  const size_t pixel = (size_t)s->IC * esize;
  const size_t tap_row = (size_t)s->dh * s->W * pixel, tap_col = (size_t)s->dw * pixel;
  const size_t step = (size_t)s->sw * pixel; /* from one output pixel of a row to the next */
  const int64_t last_dy = (int64_t)(s->KH - 1) * s->dh, last_dx = (int64_t)(s->KW - 1) * s->dw;
  const int32_t mr = s->mr;
  s->ind_base = (uintptr_t)base;
  int32_t b = 0, oy = 0, ox = 0;
  int64_t m = 0;
  for (int64_t mb = 0; mb < s->mtiles; mb++) {
    const void **tile = s->ind + (size_t)mb * s->ks * (size_t)mr;
    const int32_t iy0 = oy * s->sh - s->pt, ix0 = ox * s->sw - s->pl;
    const int64_t ix_last = (int64_t)(ox + mr - 1) * s->sw - s->pl;
    if (m + mr <= s->M && ox + mr <= s->OW && iy0 >= 0 && iy0 + last_dy < s->H && ix0 >= 0 &&
        ix_last + last_dx < s->W) {
      /* the tile's rows are consecutive pixels of one output row with every tap inside the
       * image (most tiles): the rows of each tap are step apart */
      const uintptr_t first = (uintptr_t)(base + (size_t)b * s->H * s->W * pixel +
                                          ((size_t)iy0 * s->W + (size_t)ix0) * pixel);
      const void **dst = tile;
      for (int32_t fy = 0; fy < s->KH; fy++)
        for (int32_t fx = 0; fx < s->KW; fx++, dst += mr) {
          const uintptr_t tap = first + (size_t)fy * tap_row + (size_t)fx * tap_col;
          tap_rows(dst, tap, step, mr);
        }
      m += mr;
      ox += mr;
      if (ox == s->OW) {
        ox = 0;
        if (++oy == s->OH) oy = 0, b++;
      }
      continue;
    }
    for (int32_t r = 0; r < mr; r++, m++) {
      const char *image = base + (size_t)b * s->H * s->W * pixel;
      const void **dst = tile + (size_t)r;
      const int32_t iy0 = oy * s->sh - s->pt, ix0 = ox * s->sw - s->pl;
      if (iy0 >= 0 && iy0 + last_dy < s->H && ix0 >= 0 && ix0 + last_dx < s->W) {
        /* every tap inside the image: no tests per tap */
        const char *row = image + ((size_t)iy0 * s->W + (size_t)ix0) * pixel;
        for (int32_t fy = 0; fy < s->KH; fy++, row += tap_row) {
          const char *tap = row;
          for (int32_t fx = 0; fx < s->KW; fx++, dst += mr, tap += tap_col) *dst = tap;
        }
      } else {
        for (int32_t fy = 0; fy < s->KH; fy++) {
          const int32_t iy = iy0 + fy * s->dh;
          const int row_inside = iy >= 0 && iy < s->H;
          const char *row = image + (size_t)(row_inside ? iy : 0) * s->W * pixel;
          for (int32_t fx = 0; fx < s->KW; fx++, dst += mr) {
            const int32_t ix = ix0 + fx * s->dw;
            *dst = (row_inside && ix >= 0 && ix < s->W) ? (const void *)(row + (size_t)ix * pixel) : s->zero;
          }
        }
      }
      if (m + 1 >= s->M) continue; /* the rows past M repeat row M - 1 */
      if (++ox == s->OW) {
        ox = 0;
        if (++oy == s->OH) oy = 0, b++;
      }
    }
  }
}

static tr_status conv_gemm_prepare(tr_node *n, conv_state *s) {
  const tr_tensor *in = n->inputs[0], *filter = n->inputs[1], *out = n->outputs[0];
  const tr_tensor *bias = n->ninputs > 2 ? n->inputs[2] : NULL;
  const int f32 = s->kind == NN_F32;
  const size_t esize = f32 ? sizeof(float) : 1;
  s->gemm = 1;
  s->bias_const = n->nip > 11 ? n->ip[11] : 0;
  if (f32) {
    tr_gemm_f32_config_get(&s->fk);
    tr_gemm_f32_config_fit(&s->fk, (size_t)s->OCg, (size_t)s->KH * s->KW * s->ICg);
    s->mr = s->fk.mr, s->nr = s->fk.nr, s->kr = 1;
  } else {
    tr_gemm_qs8_config_get(&s->qk);
    tr_gemm_qs8_config_fit(&s->qk, (size_t)s->OCg, (size_t)s->KH * s->KW * s->ICg);
    s->mr = s->qk.mr, s->nr = s->qk.nr, s->kr = s->qk.kr;
    s->in_zp = in->zero_point;
    s->out_zp = out->zero_point;
    s->qm = (tr_qmul *)calloc((size_t)s->OC + 1, sizeof(tr_qmul));
    if (!s->qm) return tr_fail(n, "out of memory");
    nn_channel_multipliers(in, filter, out, s->OC, s->qm);
    tr_activation_range_quantized(s->act, out->type, out->scale, out->zero_point, &s->act_lo, &s->act_hi);
  }
  const size_t taps = (size_t)s->KH * s->KW;
  if (s->KH == 1 && s->KW == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pl == 0 && s->OH == s->H &&
      s->OW == s->W)
    s->mode = CONV_DIRECT;
  else
    s->mode = CONV_INDIRECT;
  s->ks = s->mode == CONV_INDIRECT ? taps : 1;
  s->kc = (size_t)s->ICg;
  s->M = (int64_t)s->B * s->OH * s->OW;
  if (f32) {
    s->pw_group = tr_gemm_packed_size_f32((size_t)s->OCg, s->ks, s->kc, (size_t)s->nr);
    s->pw_block = tr_gemm_packed_size_f32((size_t)s->nr, s->ks, s->kc, (size_t)s->nr);
  } else {
    s->pw_group = tr_gemm_packed_size_qs8((size_t)s->OCg, s->ks, s->kc, (size_t)s->nr, (size_t)s->kr,
                                          TR_GEMM_REQUANT_Q31);
    s->pw_block = tr_gemm_packed_size_qs8((size_t)s->nr, s->ks, s->kc, (size_t)s->nr, (size_t)s->kr,
                                          TR_GEMM_REQUANT_Q31);
  }
  s->pw = tr_node_alloc_packed(n, s->pw_group * (size_t)s->groups + 1);
  if (!s->pw) return tr_fail(n, "out of memory");
  nn_gemm_tiles(s->M, s->OCg, s->mr, s->nr, s->pw_block / (size_t)s->nr, tr_num_threads(n), &s->nc, &s->mtiles,
                &s->ntiles);
  if (s->mode == CONV_INDIRECT && s->M > 0) {
    s->zero = malloc((size_t)s->ICg * esize + 1);
    if (!s->zero) return tr_fail(n, "out of memory");
    memset(s->zero, f32 ? 0 : s->in_zp, (size_t)s->ICg * esize);
    s->ind = (const void **)tr_node_alloc_packed(n, (size_t)s->mtiles * s->ks * (size_t)s->mr * sizeof(void *));
    if (!s->ind) return tr_fail(n, "out of memory");
    conv_gemm_indirection(s, in, esize);
  }
  if (s->filter_const && (s->bias_const || !bias)) conv_gemm_pack(s, filter, bias);
  return TR_OK;
}

typedef struct {
  const conv_state *s;
  const char *in;
  char *out;
  size_t a_offset;
  tr_gemm_f32_params fp;
  tr_gemm_qs8_params qp;
} conv_gemm_ctx;

static void conv_gemm_run(void *vctx, int64_t begin, int64_t end) {
  const conv_gemm_ctx *c = (const conv_gemm_ctx *)vctx;
  const conv_state *s = c->s;
  const int64_t per_group = s->ntiles * s->mtiles;
  const size_t esize = s->kind == NN_F32 ? sizeof(float) : 1;
  for (int64_t tile = begin; tile < end; tile++) {
    const int32_t g = (int32_t)(tile / per_group);
    const int64_t nb = tile % per_group / s->mtiles, mb = tile % s->mtiles;
    const int64_t m0 = mb * s->mr, n0 = nb * s->nc;
    const size_t rows = (size_t)(s->M - m0 < s->mr ? s->M - m0 : s->mr);
    const size_t cols = (size_t)(s->OCg - n0 < s->nc ? s->OCg - n0 : s->nc);
    const void *w = (const char *)s->pw + (size_t)g * s->pw_group + (size_t)(n0 / s->nr) * s->pw_block;
    const size_t col = (size_t)g * s->OCg + (size_t)n0;
    char *out = c->out + ((size_t)m0 * s->OC + col) * esize;
    const char *a = c->in + ((size_t)m0 * s->IC + (size_t)g * s->ICg) * esize;
    const size_t a_stride = (size_t)s->IC;
    const void **ind = s->mode == CONV_INDIRECT ? s->ind + (size_t)mb * s->ks * s->mr : NULL;
    const size_t a_offset = c->a_offset + (size_t)g * s->ICg * esize;
    if (s->kind == NN_F32) {
      if (ind)
        s->fk.igemm(rows, cols, s->kc, s->ks, (const float **)ind, (const float *)w, (float *)out, (size_t)s->OC,
                    a_offset, (const float *)s->zero, &c->fp);
      else
        (rows == 1 ? s->fk.gemm1 : s->fk.gemm)(rows, cols, s->kc, (const float *)a, a_stride, (const float *)w,
                                               (float *)out, (size_t)s->OC, &c->fp);
    } else {
      if (ind)
        s->qk.igemm(rows, cols, s->kc, s->ks, (const int8_t **)ind, w, (int8_t *)out, (size_t)s->OC, a_offset,
                    (const int8_t *)s->zero, &c->qp);
      else
        (rows == 1 ? s->qk.gemm1 : s->qk.gemm)[TR_GEMM_REQUANT_Q31](rows, cols, s->kc, (const int8_t *)a,
                                                                   a_stride, w, (int8_t *)out,
                                                                   (size_t)s->OC, &c->qp);
    }
  }
}

static tr_status conv_gemm_eval(tr_node *n, conv_state *s) {
  const tr_tensor *in = n->inputs[0], *filter = n->inputs[1];
  const tr_tensor *bias = n->ninputs > 2 ? n->inputs[2] : NULL;
  if (!s->packed || !s->filter_const || (bias && !s->bias_const)) conv_gemm_pack(s, filter, bias);
  conv_gemm_ctx c = {s, (const char *)in->data, (char *)n->outputs[0]->data,
                     (size_t)((uintptr_t)in->data - s->ind_base), {s->flo, s->fhi},
                     {s->out_zp, s->act_lo, s->act_hi, NULL, s->acc_bounded}};
  nn_parallel_tiles(n, (int64_t)s->groups * s->ntiles * s->mtiles, conv_gemm_run, &c,
                    (double)s->M * s->OC * s->KH * s->KW * s->ICg, s->kind != NN_F32);
  return TR_OK;
}

static tr_status conv_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *filter = n->inputs[1], *out = n->outputs[0];
  conv_state *s = (conv_state *)calloc(1, sizeof(conv_state));
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
  s->filter_const = n->ip[8];
  s->per_channel = n->ip[9];
  s->acc32 = n->ip[10];
  s->B = in->dims[0];
  s->H = in->dims[1];
  s->W = in->dims[2];
  s->IC = in->dims[3];
  s->OC = filter->dims[0];
  s->KH = filter->dims[1];
  s->KW = filter->dims[2];
  s->ICg = filter->dims[3];
  s->OH = out->dims[1];
  s->OW = out->dims[2];
  s->groups = s->IC / s->ICg;
  s->OCg = s->OC / s->groups;
  s->OCp = (int32_t)nn_round_up((size_t)s->OCg, TILE_N);
  const size_t wcount = (size_t)s->groups * s->KH * s->KW * s->ICg * s->OCp;
  const size_t padcount = (size_t)s->B * s->IC;
  tr_activation_range_f32(s->act, &s->flo, &s->fhi);
  if ((s->kind == NN_F32 || s->kind == NN_I8) && s->OCg > 0 && s->ICg > 0) return conv_gemm_prepare(n, s);
  if (s->kind == NN_F32) {
    s->wf = (float *)malloc(wcount * sizeof(float) + 1);
    s->pad = calloc(padcount + 1, sizeof(float));
    if (!s->wf || !s->pad) return tr_fail(n, "out of memory");
    return TR_OK;
  }
  s->wq = (int16_t *)malloc(wcount * sizeof(int16_t) + 1);
  s->qm = (tr_qmul *)calloc((size_t)s->OC + 1, sizeof(tr_qmul));
  s->pad = calloc(padcount + 1, s->kind == NN_I16 ? sizeof(int16_t) : 1);
  if (!s->wq || !s->qm || !s->pad) return tr_fail(n, "out of memory");
  if (s->kind == NN_HYBRID) {
    s->hq = (int8_t *)malloc((size_t)tr_num_elements(in) + 1);
    s->hscale = (float *)calloc((size_t)s->B + 1, sizeof(float));
    s->hzp = (int32_t *)calloc((size_t)s->B + 1, sizeof(int32_t));
    s->cscale = (float *)calloc((size_t)s->OC + 1, sizeof(float));
    if (!s->hq || !s->hscale || !s->hzp || !s->cscale) return tr_fail(n, "out of memory");
    for (int32_t c = 0; c < s->OC; c++)
      s->cscale[c] = s->per_channel ? nn_channel_scale(filter, c) : nn_channel_scale(filter, 0);
    return TR_OK;
  }
  s->in_zp = in->zero_point;
  s->out_zp = out->zero_point;
  nn_channel_multipliers(in, filter, out, s->OC, s->qm);
  tr_activation_range_quantized(s->act, out->type, out->scale, out->zero_point, &s->act_lo, &s->act_hi);
  for (size_t i = 0; i < padcount; i++) {
    if (s->kind == NN_I8) ((int8_t *)s->pad)[i] = (int8_t)s->in_zp;
    else if (s->kind == NN_U8) ((uint8_t *)s->pad)[i] = (uint8_t)s->in_zp;
    else ((int16_t *)s->pad)[i] = (int16_t)s->in_zp;
  }
  return TR_OK;
}

typedef struct {
  conv_state *s;
  const void *in;
  const void *bias;
  int32_t bias64;
  void *out;
} conv_ctx;

/* The input row of each of the tile's pixels for one tap, or the padding row. Returns how
 * many of them are inside the image. */
static inline int tile_rows(const conv_state *s, const char *in, const char *pad, size_t esize,
                            int32_t b, int32_t iy, int32_t ox0, int32_t nr, int32_t fx, int32_t coff,
                            const char **a) {
  int any = 0;
  for (int32_t r = 0; r < TILE_M; r++) {
    const int32_t ix = (ox0 + r) * s->sw - s->pl + fx * s->dw;
    if (r < nr && ix >= 0 && ix < s->W) {
      a[r] = in + ((((size_t)b * s->H + iy) * s->W + ix) * s->IC + coff) * esize;
      any = 1;
    } else {
      a[r] = pad + ((size_t)b * s->IC + coff) * esize;
    }
  }
  return any;
}

/* The taps of one pixel tile that touch the image: the input row of each of the tile's pixels
 * (or the padding row) and the tap's index, found once per tile and reused for every block
 * of output channels. */
#define MAX_TAPS 64
typedef struct {
  const char *a[TILE_M];
  int32_t tap;
} tile_tap;

static int32_t tile_taps(const conv_state *s, const char *in, size_t esize, int32_t b, int32_t oy, int32_t g,
                         int32_t ox0, int32_t nr, int32_t first, tile_tap *list, int32_t *next) {
  int32_t count = 0, t = first;
  const int32_t taps = s->KH * s->KW;
  for (; t < taps && count < MAX_TAPS; t++) {
    const int32_t fy = t / s->KW, fx = t % s->KW;
    const int32_t iy = oy * s->sh - s->pt + fy * s->dh;
    if (iy < 0 || iy >= s->H) continue;
    if (tile_rows(s, in, (const char *)s->pad, esize, b, iy, ox0, nr, fx, g * s->ICg, list[count].a)) {
      list[count].tap = t;
      count++;
    }
  }
  *next = t;
  return count;
}

/* acc[r][t] += over the listed taps, for one 4-pixel x 8-channel tile; every access to acc
 * has constant indices once the short loops are unrolled, so it lives in registers. */
static void tile_f32(const conv_state *s, const tile_tap *list, int32_t count, int32_t g, int32_t ob,
                     float io[TILE_M][TILE_N]) {
  const int32_t taps = s->KH * s->KW;
  float acc[TILE_M][TILE_N];
  NN_UNROLL(4)
  for (int32_t r = 0; r < TILE_M; r++) {
    NN_UNROLL(8)
    for (int32_t t = 0; t < TILE_N; t++) acc[r][t] = io[r][t];
  }
  for (int32_t i = 0; i < count; i++) {
    const float *a0 = (const float *)list[i].a[0], *a1 = (const float *)list[i].a[1];
    const float *a2 = (const float *)list[i].a[2], *a3 = (const float *)list[i].a[3];
    const float *w = s->wf + (((size_t)g * taps + list[i].tap) * s->ICg) * s->OCp + ob;
    for (int32_t ic = 0; ic < s->ICg; ic++) {
      const float x0 = a0[ic], x1 = a1[ic], x2 = a2[ic], x3 = a3[ic];
      const float *wr = w + (size_t)ic * s->OCp;
      NN_UNROLL(8)
      for (int32_t t = 0; t < TILE_N; t++) {
        const float wv = wr[t];
        acc[0][t] += x0 * wv;
        acc[1][t] += x1 * wv;
        acc[2][t] += x2 * wv;
        acc[3][t] += x3 * wv;
      }
    }
  }
  NN_UNROLL(4)
  for (int32_t r = 0; r < TILE_M; r++) {
    NN_UNROLL(8)
    for (int32_t t = 0; t < TILE_N; t++) io[r][t] = acc[r][t];
  }
}

static void conv_f32_rows(void *vctx, int64_t begin, int64_t end) {
  const conv_ctx *c = (const conv_ctx *)vctx;
  const conv_state *s = c->s;
  const float *bias = (const float *)c->bias;
  const int32_t taps = s->KH * s->KW;
  tile_tap list[MAX_TAPS];
  for (int64_t row = begin; row < end; row++) {
    const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);
    for (int32_t g = 0; g < s->groups; g++) {
      for (int32_t ox0 = 0; ox0 < s->OW; ox0 += TILE_M) {
        const int32_t nr = s->OW - ox0 < TILE_M ? s->OW - ox0 : TILE_M;
        int32_t next = 0;
        int32_t count = tile_taps(s, (const char *)c->in, sizeof(float), b, oy, g, ox0, nr, 0, list, &next);
        const int single = next >= taps; /* all taps fit in one list (the usual case) */
        for (int32_t ob = 0; ob < s->OCg; ob += TILE_N) {
          float acc[TILE_M][TILE_N] = {{0}};
          if (single) {
            tile_f32(s, list, count, g, ob, acc);
          } else {
            for (int32_t first = 0; first < taps; first = next) {
              count = tile_taps(s, (const char *)c->in, sizeof(float), b, oy, g, ox0, nr, first, list, &next);
              tile_f32(s, list, count, g, ob, acc);
            }
          }
          const int32_t nc = s->OCg - ob < TILE_N ? s->OCg - ob : TILE_N;
          if (nr == TILE_M && nc == TILE_N) {
            /* whole tile: fixed-count loops the compiler turns into vector clamps */
            float bv[TILE_N];
            NN_UNROLL(8)
            for (int32_t t = 0; t < TILE_N; t++) bv[t] = bias ? bias[g * s->OCg + ob + t] : 0.0f;
            NN_UNROLL(4)
            for (int32_t r = 0; r < TILE_M; r++) {
              float *o = (float *)c->out + (((size_t)b * s->OH + oy) * s->OW + ox0 + r) * s->OC + g * s->OCg + ob;
              NN_UNROLL(8)
              for (int32_t t = 0; t < TILE_N; t++) {
                const float v = acc[r][t] + bv[t];
                o[t] = v < s->flo ? s->flo : (v > s->fhi ? s->fhi : v);
              }
            }
            continue;
          }
          for (int32_t r = 0; r < nr; r++) {
            float *o = (float *)c->out + (((size_t)b * s->OH + oy) * s->OW + ox0 + r) * s->OC + g * s->OCg + ob;
            for (int32_t t = 0; t < nc; t++) {
              const float v = bias ? bias[g * s->OCg + ob + t] + acc[r][t] : acc[r][t];
              o[t] = tr_clamp_f32(v, s->flo, s->fhi);
            }
          }
        }
      }
    }
  }
}

/* The integer tile: acc += (x - input zero point) * (w - filter zero point). ACC is int32_t
 * for 8-bit activations and int64_t for int16 ones. */
#define CONV_Q_TILE(NAME, IN_T, ACC_T)                                                                \
  static void NAME(const conv_state *s, const conv_ctx *c, int32_t b, int32_t oy, int32_t g,          \
                   int32_t ox0, int32_t nr, int32_t ob, int32_t zp, ACC_T out[TILE_M][TILE_N]) {       \
    const int32_t taps = s->KH * s->KW;                                                               \
    ACC_T acc[TILE_M][TILE_N];                                                                        \
    NN_UNROLL(4)                                                                                      \
    for (int32_t r = 0; r < TILE_M; r++) {                                                            \
      NN_UNROLL(8)                                                                                    \
      for (int32_t t = 0; t < TILE_N; t++) acc[r][t] = 0;                                             \
    }                                                                                                 \
    for (int32_t fy = 0; fy < s->KH; fy++) {                                                          \
      const int32_t iy = oy * s->sh - s->pt + fy * s->dh;                                             \
      if (iy < 0 || iy >= s->H) continue;                                                             \
      for (int32_t fx = 0; fx < s->KW; fx++) {                                                        \
        const char *a[TILE_M];                                                                        \
        if (!tile_rows(s, (const char *)c->in, (const char *)s->pad, sizeof(IN_T), b, iy, ox0, nr, fx, \
                       g * s->ICg, a))                                                                \
          continue;                                                                                   \
        const IN_T *a0 = (const IN_T *)a[0], *a1 = (const IN_T *)a[1];                                \
        const IN_T *a2 = (const IN_T *)a[2], *a3 = (const IN_T *)a[3];                                \
        const int16_t *w = s->wq + (((size_t)g * taps + fy * s->KW + fx) * s->ICg) * s->OCp + ob;     \
        for (int32_t ic = 0; ic < s->ICg; ic++) {                                                     \
          /* 16-bit operands let the compiler use widening 16 x 16 -> 32 multiplies */                \
          const int16_t x0 = (int16_t)(a0[ic] - zp), x1 = (int16_t)(a1[ic] - zp);                     \
          const int16_t x2 = (int16_t)(a2[ic] - zp), x3 = (int16_t)(a3[ic] - zp);                     \
          const int16_t *wr = w + (size_t)ic * s->OCp;                                                \
          NN_UNROLL(8)                                                                                \
          for (int32_t t = 0; t < TILE_N; t++) {                                                      \
            const int16_t wv = wr[t];                                                                 \
            acc[0][t] += (int32_t)x0 * wv;                                                            \
            acc[1][t] += (int32_t)x1 * wv;                                                            \
            acc[2][t] += (int32_t)x2 * wv;                                                            \
            acc[3][t] += (int32_t)x3 * wv;                                                            \
          }                                                                                           \
        }                                                                                             \
      }                                                                                               \
    }                                                                                                 \
    NN_UNROLL(4)                                                                                      \
    for (int32_t r = 0; r < TILE_M; r++) {                                                            \
      NN_UNROLL(8)                                                                                    \
      for (int32_t t = 0; t < TILE_N; t++) out[r][t] = acc[r][t];                                     \
    }                                                                                                 \
  }

CONV_Q_TILE(tile_i8, int8_t, int32_t)
CONV_Q_TILE(tile_u8, uint8_t, int32_t)
CONV_Q_TILE(tile_i16, int16_t, int64_t)

static void conv_q_rows(void *vctx, int64_t begin, int64_t end) {
  const conv_ctx *c = (const conv_ctx *)vctx;
  const conv_state *s = c->s;
  for (int64_t row = begin; row < end; row++) {
    const int32_t b = (int32_t)(row / s->OH), oy = (int32_t)(row % s->OH);
    for (int32_t g = 0; g < s->groups; g++) {
      for (int32_t ox0 = 0; ox0 < s->OW; ox0 += TILE_M) {
        const int32_t nr = s->OW - ox0 < TILE_M ? s->OW - ox0 : TILE_M;
        for (int32_t ob = 0; ob < s->OCg; ob += TILE_N) {
          const int32_t nc = s->OCg - ob < TILE_N ? s->OCg - ob : TILE_N;
          const size_t obase = (((size_t)b * s->OH + oy) * s->OW + ox0) * s->OC + g * s->OCg + ob;
          if (s->kind == NN_I16) {
            int64_t acc[TILE_M][TILE_N];
            tile_i16(s, c, b, oy, g, ox0, nr, ob, 0, acc);
            for (int32_t r = 0; r < nr; r++) {
              int16_t *o = (int16_t *)c->out + obase + (size_t)r * s->OC;
              for (int32_t t = 0; t < nc; t++) {
                const int32_t oc = g * s->OCg + ob + t;
                int64_t v = acc[r][t];
                int32_t q;
                /* an int32 bias makes TFLite accumulate, and requantize, in 32 bits */
                if (c->bias) v += c->bias64 ? ((const int64_t *)c->bias)[oc] : ((const int32_t *)c->bias)[oc];
                if (s->acc32)
                  q = tr_multiply_by_quantized_multiplier((int32_t)v, s->qm[oc].multiplier, s->qm[oc].shift);
                else
                  q = tr_multiply_by_quantized_multiplier_64(v, s->qm[oc].multiplier, s->qm[oc].shift);
                o[t] = (int16_t)tr_clamp_i32(q + s->out_zp, s->act_lo, s->act_hi);
              }
            }
            continue;
          }
          int32_t acc[TILE_M][TILE_N];
          if (s->kind == NN_U8) tile_u8(s, c, b, oy, g, ox0, nr, ob, s->in_zp, acc);
          else if (s->kind == NN_I8) tile_i8(s, c, b, oy, g, ox0, nr, ob, s->in_zp, acc);
          else tile_i8(s, c, b, oy, g, ox0, nr, ob, s->hzp[b], acc);
          for (int32_t r = 0; r < nr; r++) {
            for (int32_t t = 0; t < nc; t++) {
              const int32_t oc = g * s->OCg + ob + t;
              const size_t at = obase + (size_t)r * s->OC + t;
              if (s->kind == NN_HYBRID) {
                float v = s->per_channel ? (float)acc[r][t] * s->cscale[oc] * s->hscale[b]
                                         : (float)acc[r][t] * (s->hscale[b] * s->cscale[oc]);
                if (c->bias) v += ((const float *)c->bias)[oc];
                ((float *)c->out)[at] = tr_clamp_f32(v, s->flo, s->fhi);
                continue;
              }
              int32_t v = acc[r][t];
              if (c->bias) v += ((const int32_t *)c->bias)[oc];
              v = tr_multiply_by_quantized_multiplier(v, s->qm[oc].multiplier, s->qm[oc].shift) + s->out_zp;
              v = tr_clamp_i32(v, s->act_lo, s->act_hi);
              if (s->kind == NN_U8) ((uint8_t *)c->out)[at] = (uint8_t)v;
              else ((int8_t *)c->out)[at] = (int8_t)v;
            }
          }
        }
      }
    }
  }
}

static tr_status conv_eval(tr_node *n) {
  conv_state *s = (conv_state *)n->state;
  if (s->gemm) return conv_gemm_eval(n, s);
  const tr_tensor *in = n->inputs[0], *filter = n->inputs[1];
  const tr_tensor *bias = n->ninputs > 2 ? n->inputs[2] : NULL;
  if (!s->packed || !s->filter_const) pack_weights(s, filter);
  conv_ctx c = {s, in->data, bias ? bias->data : NULL, bias && bias->type == TR_INT64, n->outputs[0]->data};
  if (s->kind == NN_F32) {
    tr_parallel_for(n, (int64_t)s->B * s->OH, conv_f32_rows, &c);
    return TR_OK;
  }
  if (s->kind == NN_HYBRID) {
    const int64_t per_batch = (int64_t)s->H * s->W * s->IC;
    for (int32_t b = 0; b < s->B; b++) {
      const float *x = (const float *)in->data + b * per_batch;
      if (s->per_channel) {
        nn_quantize_asymmetric(x, per_batch, s->hq + b * per_batch, &s->hscale[b], &s->hzp[b]);
      } else {
        nn_quantize_symmetric(x, per_batch, s->hq + b * per_batch, &s->hscale[b]);
        s->hzp[b] = 0;
      }
      memset((int8_t *)s->pad + (size_t)b * s->IC, (int8_t)s->hzp[b], (size_t)s->IC);
    }
    c.in = s->hq;
  }
  tr_parallel_for(n, (int64_t)s->B * s->OH, conv_q_rows, &c);
  return TR_OK;
}

const tr_op tr_op_conv_2d = {"CONV_2D", conv_prepare, conv_eval, conv_release};
