/* FULLY_CONNECTED: out[m, n] = act(sum_k in[m, k] * w[n, k] + bias[n]), the input's leading
 * dimensions flattened into m.
 *
 * ip: [kind (NN_*), activation, filter_is_const, asymmetric_quantize_inputs, bias_is_const]
 *
 * Integer outputs are requantized as TFLite's reference kernels do for this op: the
 * accumulator times the real scale in double, rounded half away from zero (its optimized
 * int8 kernels use the fixed-point multiplier instead; the two differ by one unit at most).
 *
 * float32 and int8 (symmetric weights) run on the GEMM micro-kernels (kernels/gemm), weights
 * packed once at prepare (or per invoke when they are not constant); a single row is a
 * matrix-vector product that streams the packed weights. Work is split over column tiles and
 * row tiles.
 *
 * The other variants use a blocked matrix product: the weights are packed once as
 * [n / 8][k][8] so a 4 x 8 tile of outputs streams through contiguous weights. */
#include "kernels/gemm/gemm.h"
#include "ops/nn/nn_common.h"

#define FC_M 4
#define FC_N 8

typedef struct {
  int32_t kind, act, filter_const, asym;
  int32_t M, K, N, Np;
  int32_t packed;
  float *wf;
  int16_t *wq;
  double *eff; /* per output channel: input scale * filter scale / output scale */
  int32_t in_zp, out_zp, act_lo, act_hi;
  float flo, fhi;
  int8_t *hq;
  float *hscale;
  int32_t *hzp;
  float *cscale;
  /* GEMM path (float32, int8) */
  int32_t gemm, bias_const;
  tr_gemm_f32_config fk;
  tr_gemm_qs8_config qk;
  int32_t mr, nr;
  void *pw;        /* packed weights (the plan's) */
  size_t pw_block; /* bytes per block of nr columns */
  int64_t nc, mtiles, ntiles;
} fc_state;

static void fc_release(tr_node *n) {
  fc_state *s = (fc_state *)n->state;
  if (s) {
    free(s->wf);
    free(s->wq);
    free(s->eff);
    free(s->hq);
    free(s->hscale);
    free(s->hzp);
    free(s->cscale);
  }
  free(s);
}

/* --- GEMM path ----------------------------------------------------------------------------- */

static void fc_gemm_pack(fc_state *s, const tr_tensor *filter, const tr_tensor *bias) {
  nn_prefault(filter->data, (size_t)s->N * (size_t)s->K * (s->kind == NN_F32 ? sizeof(float) : 1));
  if (s->kind == NN_F32)
    tr_gemm_pack_f32((size_t)s->N, 1, (size_t)s->K, (size_t)s->nr, (const float *)filter->data, (size_t)s->K, 0, 1,
                     bias ? (const float *)bias->data : NULL, s->pw);
  else
    tr_gemm_pack_qs8((size_t)s->N, 1, (size_t)s->K, (size_t)s->nr, (size_t)s->qk.kr, TR_GEMM_REQUANT_DOUBLE,
                     (const int8_t *)filter->data, (size_t)s->K, 0, 1, bias ? (const int32_t *)bias->data : NULL,
                     s->in_zp + s->qk.a_xor, NULL, s->eff, s->pw);
  s->packed = 1;
}

static tr_status fc_gemm_prepare(tr_node *n, fc_state *s) {
  const tr_tensor *filter = n->inputs[1];
  const tr_tensor *bias = n->ninputs > 2 ? n->inputs[2] : NULL;
  s->gemm = 1;
  s->bias_const = n->nip > 4 ? n->ip[4] : 0;
  size_t total;
  if (s->kind == NN_F32) {
    tr_gemm_f32_config_get(&s->fk);
    tr_gemm_f32_config_fit(&s->fk, (size_t)s->N, (size_t)s->K);
    tr_gemm_f32_config_fit_rows(&s->fk, (size_t)s->M);
    s->mr = s->fk.mr, s->nr = s->fk.nr;
    total = tr_gemm_packed_size_f32((size_t)s->N, 1, (size_t)s->K, (size_t)s->nr);
    s->pw_block = tr_gemm_packed_size_f32((size_t)s->nr, 1, (size_t)s->K, (size_t)s->nr);
  } else {
    tr_gemm_qs8_config_get(&s->qk);
    tr_gemm_qs8_config_fit(&s->qk, (size_t)s->N, (size_t)s->K);
    s->mr = s->qk.mr, s->nr = s->qk.nr;
    total = tr_gemm_packed_size_qs8((size_t)s->N, 1, (size_t)s->K, (size_t)s->nr, (size_t)s->qk.kr,
                                    TR_GEMM_REQUANT_DOUBLE);
    s->pw_block = tr_gemm_packed_size_qs8((size_t)s->nr, 1, (size_t)s->K, (size_t)s->nr, (size_t)s->qk.kr,
                                          TR_GEMM_REQUANT_DOUBLE);
  }
  s->pw = tr_node_alloc_packed(n, total + 1);
  if (!s->pw) return tr_fail(n, "out of memory");
  nn_gemm_tiles(s->M, s->N, s->mr, s->nr, s->pw_block / (size_t)s->nr, tr_num_threads(n), &s->nc, &s->mtiles,
                &s->ntiles);
  if (s->filter_const && (s->bias_const || !bias)) fc_gemm_pack(s, filter, bias);
  return TR_OK;
}

typedef struct {
  const fc_state *s;
  const char *in;
  char *out;
  tr_gemm_f32_params fp;
  tr_gemm_qs8_params qp;
} fc_gemm_ctx;

/* Tiles column-tile major, so that consecutive row tiles of a thread reuse the same weights. */
static void fc_gemm_run(void *vctx, int64_t begin, int64_t end) {
  const fc_gemm_ctx *c = (const fc_gemm_ctx *)vctx;
  const fc_state *s = c->s;
  for (int64_t tile = begin; tile < end; tile++) {
    const int64_t nb = tile / s->mtiles, mb = tile % s->mtiles;
    const int64_t m0 = mb * s->mr, n0 = nb * s->nc;
    const size_t rows = (size_t)(s->M - m0 < s->mr ? s->M - m0 : s->mr);
    const size_t cols = (size_t)(s->N - n0 < s->nc ? s->N - n0 : s->nc);
    const void *w = (const char *)s->pw + (size_t)(n0 / s->nr) * s->pw_block;
    if (s->kind == NN_F32) {
      (rows == 1 ? s->fk.gemm1 : s->fk.gemm)(rows, cols, (size_t)s->K, (const float *)c->in + (size_t)m0 * s->K,
                                             (size_t)s->K, (const float *)w,
                                             (float *)c->out + (size_t)m0 * s->N + n0, (size_t)s->N, &c->fp);
    } else {
      (rows == 1 ? s->qk.gemm1 : s->qk.gemm)[TR_GEMM_REQUANT_DOUBLE](
          rows, cols, (size_t)s->K, (const int8_t *)c->in + (size_t)m0 * s->K, (size_t)s->K, w,
          (int8_t *)c->out + (size_t)m0 * s->N + n0, (size_t)s->N, &c->qp);
    }
  }
}

static tr_status fc_gemm_eval(tr_node *n, fc_state *s) {
  const tr_tensor *filter = n->inputs[1];
  const tr_tensor *bias = n->ninputs > 2 ? n->inputs[2] : NULL;
  if (!s->packed || !s->filter_const || (bias && !s->bias_const)) fc_gemm_pack(s, filter, bias);
  fc_gemm_ctx c = {s, (const char *)n->inputs[0]->data, (char *)n->outputs[0]->data, {s->flo, s->fhi},
                   {s->out_zp, s->act_lo, s->act_hi, NULL}};
  nn_parallel_tiles(n, s->ntiles * s->mtiles, fc_gemm_run, &c, (double)s->M * s->N * s->K, s->kind != NN_F32);
  return TR_OK;
}

static tr_status fc_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *filter = n->inputs[1], *out = n->outputs[0];
  fc_state *s = (fc_state *)calloc(1, sizeof(fc_state));
  if (!s) return tr_fail(n, "out of memory");
  n->state = s;
  s->kind = n->ip[0];
  s->act = n->ip[1];
  s->filter_const = n->ip[2];
  s->asym = n->ip[3];
  s->N = filter->dims[0];
  s->K = filter->dims[1];
  s->M = s->K > 0 ? (int32_t)(tr_num_elements(in) / s->K) : 0;
  s->Np = (int32_t)nn_round_up((size_t)s->N, FC_N);
  const size_t wcount = (size_t)s->K * s->Np;
  tr_activation_range_f32(s->act, &s->flo, &s->fhi);
  if (s->kind == NN_F32 && s->M > 0 && s->N > 0) return fc_gemm_prepare(n, s);
  if (s->kind == NN_F32) {
    s->wf = (float *)malloc(wcount * sizeof(float) + 1);
    return s->wf ? TR_OK : tr_fail(n, "out of memory");
  }
  if (s->kind == NN_HYBRID) {
    s->wq = (int16_t *)malloc(wcount * sizeof(int16_t) + 1);
    s->hq = (int8_t *)malloc((size_t)s->M * s->K + 1);
    s->hscale = (float *)calloc((size_t)s->M + 1, sizeof(float));
    s->hzp = (int32_t *)calloc((size_t)s->M + 1, sizeof(int32_t));
    s->cscale = (float *)calloc((size_t)s->N + 1, sizeof(float));
    if (!s->wq || !s->hq || !s->hscale || !s->hzp || !s->cscale) return tr_fail(n, "out of memory");
    for (int32_t c = 0; c < s->N; c++) s->cscale[c] = nn_channel_scale(filter, c);
    return TR_OK;
  }
  s->eff = (double *)calloc((size_t)s->N + 1, sizeof(double));
  if (!s->eff) return tr_fail(n, "out of memory");
  s->in_zp = in->zero_point;
  s->out_zp = out->zero_point;
  for (int32_t c = 0; c < s->N; c++)
    s->eff[c] = (double)in->scale * (double)nn_channel_scale(filter, c) / (double)out->scale;
  tr_activation_range_quantized(s->act, out->type, out->scale, out->zero_point, &s->act_lo, &s->act_hi);
  /* int8 weights with a zero point would not fit int8 once it is subtracted: portable path */
  if (s->kind == NN_I8 && filter->zero_point == 0 && s->M > 0 && s->N > 0) return fc_gemm_prepare(n, s);
  /* the portable path's weights, allocated only now: the GEMM path never reads them */
  s->wq = (int16_t *)malloc(wcount * sizeof(int16_t) + 1);
  return s->wq ? TR_OK : tr_fail(n, "out of memory");
}

static inline int32_t fc_requant(double acc, double eff) {
  double v = round(acc * eff);
  if (v > 2147483647.0) v = 2147483647.0;
  if (v < -2147483648.0) v = -2147483648.0;
  return (int32_t)v;
}

static void fc_pack(fc_state *s, const tr_tensor *filter) {
  for (int32_t k = 0; k < s->K; k++)
    for (int32_t c = 0; c < s->Np; c++) {
      const size_t dst = ((size_t)(c / FC_N) * s->K + k) * FC_N + c % FC_N, src = (size_t)c * s->K + k;
      if (s->kind == NN_F32) s->wf[dst] = c < s->N ? ((const float *)filter->data)[src] : 0.0f;
      else if (c >= s->N) s->wq[dst] = 0;
      else if (filter->type == TR_UINT8)
        s->wq[dst] = (int16_t)(((const uint8_t *)filter->data)[src] - filter->zero_point);
      else s->wq[dst] = (int16_t)(((const int8_t *)filter->data)[src] - (s->kind == NN_HYBRID ? 0 : filter->zero_point));
    }
  s->packed = 1;
}

typedef struct {
  fc_state *s;
  const void *in, *bias;
  int32_t bias64;
  void *out;
  int32_t col_blocks;
} fc_ctx;

/* One tile of up to FC_M rows by FC_N columns; acc has constant indices only after the short
 * loops unroll, so it stays in registers. A 1-row variant serves tails and single rows. */
static void fc_f32_tile(const fc_state *s, const float *in, int32_t m0, int32_t nr, int32_t n0,
                        float out[FC_M][FC_N]) {
  const float *w = s->wf + (size_t)n0 * s->K;
  if (nr == FC_M) {
    const float *a0 = in + (size_t)m0 * s->K, *a1 = a0 + s->K, *a2 = a1 + s->K, *a3 = a2 + s->K;
    float acc[FC_M][FC_N];
    NN_UNROLL(4)
    for (int32_t r = 0; r < FC_M; r++) {
      NN_UNROLL(8)
      for (int32_t t = 0; t < FC_N; t++) acc[r][t] = 0.0f;
    }
    for (int32_t k = 0; k < s->K; k++) {
      const float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
      const float *wr = w + (size_t)k * FC_N;
      NN_UNROLL(8)
      for (int32_t t = 0; t < FC_N; t++) {
        const float wv = wr[t];
        acc[0][t] += x0 * wv;
        acc[1][t] += x1 * wv;
        acc[2][t] += x2 * wv;
        acc[3][t] += x3 * wv;
      }
    }
    NN_UNROLL(4)
    for (int32_t r = 0; r < FC_M; r++) {
      NN_UNROLL(8)
      for (int32_t t = 0; t < FC_N; t++) out[r][t] = acc[r][t];
    }
    return;
  }
  for (int32_t r = 0; r < nr; r++) {
    const float *a = in + (size_t)(m0 + r) * s->K;
    float acc[FC_N];
    NN_UNROLL(8)
    for (int32_t t = 0; t < FC_N; t++) acc[t] = 0.0f;
    for (int32_t k = 0; k < s->K; k++) {
      const float x = a[k];
      const float *wr = w + (size_t)k * FC_N;
      NN_UNROLL(8)
      for (int32_t t = 0; t < FC_N; t++) acc[t] += x * wr[t];
    }
    NN_UNROLL(8)
    for (int32_t t = 0; t < FC_N; t++) out[r][t] = acc[t];
  }
}

static void fc_f32_tiles(void *vctx, int64_t begin, int64_t end) {
  const fc_ctx *c = (const fc_ctx *)vctx;
  const fc_state *s = c->s;
  const float *bias = (const float *)c->bias;
  for (int64_t tile = begin; tile < end; tile++) {
    const int32_t m0 = (int32_t)(tile / c->col_blocks) * FC_M, n0 = (int32_t)(tile % c->col_blocks) * FC_N;
    const int32_t nr = s->M - m0 < FC_M ? s->M - m0 : FC_M, nc = s->N - n0 < FC_N ? s->N - n0 : FC_N;
    float acc[FC_M][FC_N];
    fc_f32_tile(s, (const float *)c->in, m0, nr, n0, acc);
    for (int32_t r = 0; r < nr; r++) {
      float *o = (float *)c->out + (size_t)(m0 + r) * s->N + n0;
      for (int32_t t = 0; t < nc; t++)
        o[t] = tr_clamp_f32(bias ? bias[n0 + t] + acc[r][t] : acc[r][t], s->flo, s->fhi);
    }
  }
}

#define FC_Q_TILE(NAME, IN_T, ACC_T)                                                              \
  static void NAME(const fc_state *s, const IN_T *const *a, const int32_t *zp, int32_t n0,        \
                   ACC_T acc[FC_M][FC_N]) {                                                       \
    for (int32_t r = 0; r < FC_M; r++)                                                            \
      for (int32_t t = 0; t < FC_N; t++) acc[r][t] = 0;                                           \
    const int16_t *w = s->wq + (size_t)n0 * s->K;                                                 \
    for (int32_t k = 0; k < s->K; k++) {                                                          \
      const int32_t x0 = a[0][k] - zp[0], x1 = a[1][k] - zp[1], x2 = a[2][k] - zp[2],             \
                    x3 = a[3][k] - zp[3];                                                         \
      const int16_t *wr = w + (size_t)k * FC_N;                                                   \
      for (int32_t t = 0; t < FC_N; t++) {                                                        \
        const int32_t wv = wr[t];                                                                 \
        acc[0][t] += x0 * wv;                                                                     \
        acc[1][t] += x1 * wv;                                                                     \
        acc[2][t] += x2 * wv;                                                                     \
        acc[3][t] += x3 * wv;                                                                     \
      }                                                                                           \
    }                                                                                             \
  }

FC_Q_TILE(fc_tile_i8, int8_t, int32_t)
FC_Q_TILE(fc_tile_u8, uint8_t, int32_t)
FC_Q_TILE(fc_tile_i16, int16_t, int64_t)

static void fc_q_tiles(void *vctx, int64_t begin, int64_t end) {
  const fc_ctx *c = (const fc_ctx *)vctx;
  const fc_state *s = c->s;
  const size_t esize = s->kind == NN_I16 ? 2 : 1;
  for (int64_t tile = begin; tile < end; tile++) {
    const int32_t m0 = (int32_t)(tile / c->col_blocks) * FC_M, n0 = (int32_t)(tile % c->col_blocks) * FC_N;
    const int32_t nr = s->M - m0 < FC_M ? s->M - m0 : FC_M, nc = s->N - n0 < FC_N ? s->N - n0 : FC_N;
    const void *a[FC_M];
    int32_t zp[FC_M];
    for (int32_t r = 0; r < FC_M; r++) {
      const int32_t m = m0 + (r < nr ? r : 0);
      a[r] = (const char *)c->in + (size_t)m * s->K * esize;
      zp[r] = s->kind == NN_HYBRID ? s->hzp[m] : s->in_zp;
    }
    if (s->kind == NN_I16) {
      int64_t acc[FC_M][FC_N];
      fc_tile_i16(s, (const int16_t *const *)a, zp, n0, acc);
      for (int32_t r = 0; r < nr; r++)
        for (int32_t t = 0; t < nc; t++) {
          const int32_t col = n0 + t;
          int64_t v = acc[r][t];
          if (c->bias) v += c->bias64 ? ((const int64_t *)c->bias)[col] : ((const int32_t *)c->bias)[col];
          int32_t q = fc_requant((double)v, s->eff[col]);
          ((int16_t *)c->out)[(size_t)(m0 + r) * s->N + col] = (int16_t)tr_clamp_i32(q + s->out_zp, s->act_lo, s->act_hi);
        }
      continue;
    }
    int32_t acc[FC_M][FC_N];
    if (s->kind == NN_U8) fc_tile_u8(s, (const uint8_t *const *)a, zp, n0, acc);
    else fc_tile_i8(s, (const int8_t *const *)a, zp, n0, acc);
    for (int32_t r = 0; r < nr; r++)
      for (int32_t t = 0; t < nc; t++) {
        const int32_t col = n0 + t;
        const size_t at = (size_t)(m0 + r) * s->N + col;
        if (s->kind == NN_HYBRID) {
          const float scale = s->hscale[m0 + r] * s->cscale[col];
          float v = c->bias ? ((const float *)c->bias)[col] : 0.0f;
          v += (float)acc[r][t] * scale;
          ((float *)c->out)[at] = tr_clamp_f32(v, s->flo, s->fhi);
          continue;
        }
        int32_t v = acc[r][t];
        if (c->bias) v += ((const int32_t *)c->bias)[col];
        v = fc_requant((double)v, s->eff[col]) + s->out_zp;
        v = tr_clamp_i32(v, s->act_lo, s->act_hi);
        if (s->kind == NN_U8) ((uint8_t *)c->out)[at] = (uint8_t)v;
        else ((int8_t *)c->out)[at] = (int8_t)v;
      }
  }
}

static tr_status fc_eval(tr_node *n) {
  fc_state *s = (fc_state *)n->state;
  const tr_tensor *in = n->inputs[0], *filter = n->inputs[1];
  const tr_tensor *bias = n->ninputs > 2 ? n->inputs[2] : NULL;
  if (s->M == 0 || s->N == 0) return TR_OK;
  if (s->gemm) return fc_gemm_eval(n, s);
  if (!s->packed || !s->filter_const) fc_pack(s, filter);
  const int32_t col_blocks = (s->N + FC_N - 1) / FC_N;
  const int64_t tiles = (int64_t)((s->M + FC_M - 1) / FC_M) * col_blocks;
  fc_ctx c = {s, in->data, bias ? bias->data : NULL, bias && bias->type == TR_INT64, n->outputs[0]->data,
              col_blocks};
  if (s->kind == NN_F32) {
    tr_parallel_for(n, tiles, fc_f32_tiles, &c);
    return TR_OK;
  }
  if (s->kind == NN_HYBRID) {
    for (int32_t m = 0; m < s->M; m++) {
      const float *x = (const float *)in->data + (size_t)m * s->K;
      if (s->asym) {
        nn_quantize_asymmetric(x, s->K, s->hq + (size_t)m * s->K, &s->hscale[m], &s->hzp[m]);
      } else {
        nn_quantize_symmetric(x, s->K, s->hq + (size_t)m * s->K, &s->hscale[m]);
        s->hzp[m] = 0;
      }
    }
    c.in = s->hq;
  }
  tr_parallel_for(n, tiles, fc_q_tiles, &c);
  return TR_OK;
}

const tr_op tr_op_fully_connected = {"FULLY_CONNECTED", fc_prepare, fc_eval, fc_release};
