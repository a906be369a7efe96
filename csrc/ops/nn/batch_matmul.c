/* BATCH_MATMUL: out[b] = lhs[b] x rhs[b] with numpy-style broadcasting of the batch dims.
 *
 * ip: [kind (NN_F32 / NN_I8 / NN_I16), adj_x, adj_y, M, K, N,
 *      out_batch[3], lhs_batch_stride[3], rhs_batch_stride[3], rhs_is_const]
 * The batch dims are padded on the left to 3; strides are in elements and 0 where a side is
 * broadcast.
 *
 * float32 and int8 run on the GEMM micro-kernels (kernels/gemm): each rhs matrix is packed as
 * the kernels' weights (once when it is constant, else on every invoke; a float adj_y rhs with
 * the ISA's gathering packer), an adj_x lhs is first
 * transposed into rows, and tiles of (batch, columns, rows) split over threads. For int8,
 * sum((l - lzp) * (r - rzp)) = sum((l - lzp) * r) - rzp * sum(l - lzp): the packed rhs carries
 * the first (its column sums fold lzp into the bias) and a per-row bias the second.
 *
 * int16 keeps the portable loops below: without adj_y the inner loop runs over contiguous rhs
 * columns; with adj_y it is a dot product over contiguous rhs rows. */
#include "kernels/gemm/gemm.h"
#include "ops/nn/nn_common.h"

#define BMM_BLOCK 64

typedef struct {
  int32_t kind, adj_x, adj_y, M, K, N;
  int32_t ob[3];
  int64_t ls[3], rs[3];
  tr_qmul qm;
  int32_t lzp, rzp, ozp, lo, hi;
  const void *lhs, *rhs;
  void *out;
  /* GEMM path (float32, int8) */
  int32_t gemm, rhs_const, packed;
  tr_gemm_f32_config fk;
  tr_gemm_qs8_config qk;
  int32_t mr, nr, kr;
  int64_t nlhs, nrhs;        /* distinct lhs / rhs matrices */
  void *pw;                  /* nrhs packed matrices (the plan's) */
  size_t pw_mat, pw_block;   /* bytes per packed matrix, per block of nr columns */
  tr_gemm_qmul *qmul;        /* the per-tensor multiplier, once per column */
  void *lhs_t;               /* adj_x: lhs transposed to [M][K] */
  int32_t *row_bias;         /* int8 with rzp != 0: -rzp * sum_k(l - lzp) per lhs row */
  int64_t nc, mtiles, ntiles;
} bmm_state;

static void bmm_release(tr_node *n) {
  bmm_state *s = (bmm_state *)n->state;
  if (s) {
    free(s->qmul);
    free(s->lhs_t);
    free(s->row_bias);
  }
  free(s);
}

static tr_status bmm_gemm_prepare(tr_node *n, bmm_state *s) {
  const tr_tensor *l = n->inputs[0], *r = n->inputs[1];
  const size_t esize = s->kind == NN_F32 ? sizeof(float) : 1;
  s->gemm = 1;
  s->rhs_const = n->nip > 15 ? n->ip[15] : 0;
  s->nlhs = tr_num_elements(l) / ((int64_t)s->M * s->K);
  s->nrhs = tr_num_elements(r) / ((int64_t)s->K * s->N);
  if (s->kind == NN_F32) {
    tr_gemm_f32_config_get(&s->fk);
    tr_gemm_f32_config_fit(&s->fk, (size_t)s->N, (size_t)s->K);
    tr_gemm_f32_config_fit_rows(&s->fk, (size_t)s->M);
    s->mr = s->fk.mr, s->nr = s->fk.nr, s->kr = 1;
    s->pw_mat = tr_gemm_packed_size_f32((size_t)s->N, 1, (size_t)s->K, (size_t)s->nr);
    s->pw_block = tr_gemm_packed_size_f32((size_t)s->nr, 1, (size_t)s->K, (size_t)s->nr);
  } else {
    tr_gemm_qs8_config_get(&s->qk);
    tr_gemm_qs8_config_fit(&s->qk, (size_t)s->N, (size_t)s->K);
    s->mr = s->qk.mr, s->nr = s->qk.nr, s->kr = s->qk.kr;
    s->pw_mat = tr_gemm_packed_size_qs8((size_t)s->N, 1, (size_t)s->K, (size_t)s->nr, (size_t)s->kr,
                                        TR_GEMM_REQUANT_Q31);
    s->pw_block = tr_gemm_packed_size_qs8((size_t)s->nr, 1, (size_t)s->K, (size_t)s->nr, (size_t)s->kr,
                                          TR_GEMM_REQUANT_Q31);
    s->qmul = (tr_gemm_qmul *)malloc((size_t)s->N * sizeof(tr_gemm_qmul));
    if (!s->qmul) return tr_fail(n, "out of memory");
    for (int32_t j = 0; j < s->N; j++) s->qmul[j] = (tr_gemm_qmul){s->qm.multiplier, s->qm.shift};
    if (s->rzp != 0) {
      s->row_bias = (int32_t *)malloc((size_t)(s->nlhs * s->M) * sizeof(int32_t));
      if (!s->row_bias) return tr_fail(n, "out of memory");
    }
  }
  s->pw = tr_node_alloc_packed(n, s->pw_mat * (size_t)s->nrhs + 1);
  if (!s->pw) return tr_fail(n, "out of memory");
  if (s->adj_x) {
    s->lhs_t = malloc((size_t)tr_num_elements(l) * esize + 1);
    if (!s->lhs_t) return tr_fail(n, "out of memory");
  }
  nn_gemm_tiles(s->M, s->N, s->mr, s->nr, s->pw_block / (size_t)s->nr, tr_num_threads(n), &s->nc, &s->mtiles,
                &s->ntiles);
  return TR_OK;
}


static tr_status bmm_prepare(tr_node *n) {
  bmm_state *s = (bmm_state *)calloc(1, sizeof(bmm_state));
  if (!s) return tr_fail(n, "out of memory");
  n->state = s;
  s->kind = n->ip[0];
  s->adj_x = n->ip[1];
  s->adj_y = n->ip[2];
  s->M = n->ip[3];
  s->K = n->ip[4];
  s->N = n->ip[5];
  for (int i = 0; i < 3; i++) {
    s->ob[i] = n->ip[6 + i];
    s->ls[i] = n->ip[9 + i];
    s->rs[i] = n->ip[12 + i];
  }
  if (s->kind != NN_F32) {
    const tr_tensor *l = n->inputs[0], *r = n->inputs[1], *o = n->outputs[0];
    s->qm = tr_quantize_multiplier(tr_conv_real_multiplier(l->scale, r->scale, o->scale));
    s->lzp = l->zero_point;
    s->rzp = r->zero_point;
    s->ozp = o->zero_point;
    s->lo = s->kind == NN_I8 ? -128 : -32768;
    s->hi = s->kind == NN_I8 ? 127 : 32767;
  }
  if ((s->kind == NN_F32 || s->kind == NN_I8) && s->M > 0 && s->K > 0 && s->N > 0) return bmm_gemm_prepare(n, s);
  return TR_OK;
}

static tr_status bmm_gemm_eval(tr_node *n, bmm_state *s);

/* Element offsets of the lhs / rhs matrices of flat output batch b. */
static inline void bmm_batch(const bmm_state *s, int64_t b, int64_t *lo, int64_t *ro) {
  const int64_t b2 = b % s->ob[2], b1 = (b / s->ob[2]) % s->ob[1], b0 = b / ((int64_t)s->ob[2] * s->ob[1]);
  *lo = b0 * s->ls[0] + b1 * s->ls[1] + b2 * s->ls[2];
  *ro = b0 * s->rs[0] + b1 * s->rs[1] + b2 * s->rs[2];
}

static void bmm_f32_rows(void *vctx, int64_t begin, int64_t end) {
  const bmm_state *s = (const bmm_state *)vctx;
  const int32_t M = s->M, K = s->K, N = s->N;
  for (int64_t row = begin; row < end; row++) {
    const int64_t b = row / M;
    const int32_t m = (int32_t)(row % M);
    int64_t lo, ro;
    bmm_batch(s, b, &lo, &ro);
    const float *L = (const float *)s->lhs + lo, *R = (const float *)s->rhs + ro;
    float *o = (float *)s->out + row * N;
    const int64_t lstep = s->adj_x ? M : 1;
    const float *lrow = s->adj_x ? L + m : L + (int64_t)m * K;
    if (!s->adj_y) {
      for (int32_t j = 0; j < N; j++) o[j] = 0.0f;
      for (int32_t k = 0; k < K; k++) {
        const float a = lrow[k * lstep];
        const float *r = R + (int64_t)k * N;
        for (int32_t j = 0; j < N; j++) o[j] += a * r[j];
      }
    } else {
      for (int32_t j = 0; j < N; j++) {
        const float *r = R + (int64_t)j * K;
        float acc = 0.0f;
        for (int32_t k = 0; k < K; k++) acc += lrow[k * lstep] * r[k];
        o[j] = acc;
      }
    }
  }
}

#define BMM_Q_ROWS(NAME, LT, RT, OT, ACC_T, REQUANT)                                             \
  static void NAME(void *vctx, int64_t begin, int64_t end) {                                     \
    const bmm_state *s = (const bmm_state *)vctx;                                                \
    const int32_t M = s->M, K = s->K, N = s->N;                                                  \
    for (int64_t row = begin; row < end; row++) {                                                \
      const int64_t b = row / M;                                                                 \
      const int32_t m = (int32_t)(row % M);                                                      \
      int64_t lo, ro;                                                                            \
      bmm_batch(s, b, &lo, &ro);                                                                 \
      const LT *L = (const LT *)s->lhs + lo;                                                     \
      const RT *R = (const RT *)s->rhs + ro;                                                     \
      OT *o = (OT *)s->out + row * N;                                                            \
      const int64_t lstep = s->adj_x ? M : 1;                                                    \
      const LT *lrow = s->adj_x ? L + m : L + (int64_t)m * K;                                    \
      for (int32_t j0 = 0; j0 < N; j0 += BMM_BLOCK) {                                            \
        const int32_t nb = N - j0 < BMM_BLOCK ? N - j0 : BMM_BLOCK;                              \
        ACC_T acc[BMM_BLOCK];                                                                    \
        for (int32_t t = 0; t < nb; t++) acc[t] = 0;                                             \
        if (!s->adj_y) {                                                                         \
          for (int32_t k = 0; k < K; k++) {                                                      \
            const int32_t a = (int32_t)lrow[k * lstep] - s->lzp;                                 \
            const RT *r = R + (int64_t)k * N + j0;                                               \
            for (int32_t t = 0; t < nb; t++) acc[t] += a * ((int32_t)r[t] - s->rzp);             \
          }                                                                                      \
        } else {                                                                                 \
          for (int32_t t = 0; t < nb; t++) {                                                     \
            const RT *r = R + (int64_t)(j0 + t) * K;                                             \
            ACC_T sum = 0;                                                                       \
            for (int32_t k = 0; k < K; k++)                                                      \
              sum += ((int32_t)lrow[k * lstep] - s->lzp) * ((int32_t)r[k] - s->rzp);             \
            acc[t] = sum;                                                                        \
          }                                                                                      \
        }                                                                                        \
        for (int32_t t = 0; t < nb; t++) {                                                       \
          const int32_t v = REQUANT(acc[t], s->qm.multiplier, s->qm.shift) + s->ozp;             \
          o[j0 + t] = (OT)tr_clamp_i32(v, s->lo, s->hi);                                         \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

BMM_Q_ROWS(bmm_i8_rows, int8_t, int8_t, int8_t, int32_t, tr_multiply_by_quantized_multiplier)
BMM_Q_ROWS(bmm_i16_rows, int16_t, int16_t, int16_t, int64_t, tr_multiply_by_quantized_multiplier_64)
BMM_Q_ROWS(bmm_i16i8_rows, int16_t, int8_t, int16_t, int64_t, tr_multiply_by_quantized_multiplier_64)

static tr_status bmm_eval(tr_node *n) {
  bmm_state *s = (bmm_state *)n->state;
  s->lhs = n->inputs[0]->data;
  s->rhs = n->inputs[1]->data;
  s->out = n->outputs[0]->data;
  if (s->gemm) return bmm_gemm_eval(n, s);
  const int64_t rows = (int64_t)s->ob[0] * s->ob[1] * s->ob[2] * s->M;
  tr_range_fn fn = bmm_f32_rows;
  if (s->kind == NN_I8) fn = bmm_i8_rows;
  else if (s->kind == NN_I16) fn = n->inputs[1]->type == TR_INT8 ? bmm_i16i8_rows : bmm_i16_rows;
  tr_parallel_for(n, rows, fn, s);
  return TR_OK;
}

/* --- GEMM path ----------------------------------------------------------------------------- */

static void bmm_gemm_pack(void *vctx, int64_t begin, int64_t end) {
  bmm_state *s = (bmm_state *)vctx;
  /* src(n, k): rhs [K][N], or [N][K] with adj_y */
  const size_t sn = s->adj_y ? (size_t)s->K : 1, sk = s->adj_y ? 1 : (size_t)s->N;
  const size_t count = (size_t)s->K * s->N;
  for (int64_t i = begin; i < end; i++) {
    void *dst = (char *)s->pw + (size_t)i * s->pw_mat;
    /* (the gathers index with int32: rows no longer than INT32_MAX / 16) */
    if (s->kind == NN_F32 && s->adj_y && s->fk.pack_rows && s->K <= INT32_MAX / 16)
      s->fk.pack_rows((size_t)s->N, (size_t)s->K, (const float *)s->rhs + i * count, (size_t)s->K, dst);
    else if (s->kind == NN_F32)
      tr_gemm_pack_f32((size_t)s->N, 1, (size_t)s->K, (size_t)s->nr, (const float *)s->rhs + i * count, sn, 0, sk,
                       NULL, dst);
    else
      tr_gemm_pack_qs8((size_t)s->N, 1, (size_t)s->K, (size_t)s->nr, (size_t)s->kr, TR_GEMM_REQUANT_Q31,
                       (const int8_t *)s->rhs + i * count, sn, 0, sk, NULL, s->lzp + s->qk.a_xor, s->qmul, NULL,
                       dst);
  }
}

static void bmm_gemm_run(void *vctx, int64_t begin, int64_t end) {
  const bmm_state *s = (const bmm_state *)vctx;
  const int64_t per_batch = s->ntiles * s->mtiles;
  const size_t esize = s->kind == NN_F32 ? sizeof(float) : 1;
  const char *lhs = (const char *)(s->adj_x ? s->lhs_t : s->lhs);
  const tr_gemm_f32_params fp = {-__builtin_inff(), __builtin_inff()};
  for (int64_t tile = begin; tile < end; tile++) {
    const int64_t b = tile / per_batch, nb = tile % per_batch / s->mtiles, mb = tile % s->mtiles;
    const int64_t m0 = mb * s->mr, n0 = nb * s->nc;
    const size_t rows = (size_t)(s->M - m0 < s->mr ? s->M - m0 : s->mr);
    const size_t cols = (size_t)(s->N - n0 < s->nc ? s->N - n0 : s->nc);
    int64_t lo, ro;
    bmm_batch(s, b, &lo, &ro);
    const char *a = lhs + ((size_t)lo + (size_t)m0 * s->K) * esize;
    const void *w = (const char *)s->pw + (size_t)(ro / ((int64_t)s->K * s->N)) * s->pw_mat +
                    (size_t)(n0 / s->nr) * s->pw_block;
    char *c = (char *)s->out + ((size_t)(b * s->M + m0) * s->N + (size_t)n0) * esize;
    if (s->kind == NN_F32) {
      (rows == 1 ? s->fk.gemm1 : s->fk.gemm)(rows, cols, (size_t)s->K, (const float *)a, (size_t)s->K,
                                             (const float *)w, (float *)c, (size_t)s->N, &fp);
    } else {
      const tr_gemm_qs8_params qp = {s->ozp, s->lo, s->hi, s->row_bias ? s->row_bias + lo / s->K + m0 : NULL};
      (rows == 1 ? s->qk.gemm1 : s->qk.gemm)[TR_GEMM_REQUANT_Q31](rows, cols, (size_t)s->K, (const int8_t *)a,
                                                                 (size_t)s->K, w, (int8_t *)c, (size_t)s->N, &qp);
    }
  }
}

static tr_status bmm_gemm_eval(tr_node *n, bmm_state *s) {
  const size_t esize = s->kind == NN_F32 ? sizeof(float) : 1;
  if (!s->packed || !s->rhs_const) {
    tr_parallel_for(n, s->nrhs, bmm_gemm_pack, s);
    s->packed = 1;
  }
  if (s->adj_x) {
    /* each lhs matrix [K][M] -> [M][K] */
    for (int64_t i = 0; i < s->nlhs; i++) {
      const char *src = (const char *)s->lhs + (size_t)i * s->M * s->K * esize;
      char *dst = (char *)s->lhs_t + (size_t)i * s->M * s->K * esize;
      for (int32_t m = 0; m < s->M; m++)
        for (int32_t k = 0; k < s->K; k++)
          memcpy(dst + ((size_t)m * s->K + k) * esize, src + ((size_t)k * s->M + m) * esize, esize);
    }
  }
  if (s->row_bias) {
    const int8_t *l = (const int8_t *)(s->adj_x ? s->lhs_t : s->lhs);
    for (int64_t row = 0; row < s->nlhs * s->M; row++) {
      int32_t sum = 0;
      for (int32_t k = 0; k < s->K; k++) sum += l[row * s->K + k] - s->lzp;
      s->row_bias[row] = (int32_t)((uint32_t)-s->rzp * (uint32_t)sum);
    }
  }
  const int64_t batches = (int64_t)s->ob[0] * s->ob[1] * s->ob[2];
  nn_parallel_tiles(n, batches * s->ntiles * s->mtiles, bmm_gemm_run, s, (double)batches * s->M * s->N * s->K,
                    s->kind != NN_F32);
  return TR_OK;
}

const tr_op tr_op_batch_matmul = {"BATCH_MATMUL", bmm_prepare, bmm_eval, bmm_release};
