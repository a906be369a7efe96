/* BATCH_MATMUL: out[b] = lhs[b] x rhs[b] with numpy-style broadcasting of the batch dims.
 *
 * ip: [kind (NN_F32 / NN_I8 / NN_I16), adj_x, adj_y, M, K, N,
 *      out_batch[3], lhs_batch_stride[3], rhs_batch_stride[3]]
 * The batch dims are padded on the left to 3; strides are in elements and 0 where a side is
 * broadcast. Without adj_y the inner loop runs over contiguous rhs columns; with adj_y it is
 * a dot product over contiguous rhs rows. */
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
} bmm_state;

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
  return TR_OK;
}

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
  const int64_t rows = (int64_t)s->ob[0] * s->ob[1] * s->ob[2] * s->M;
  tr_range_fn fn = bmm_f32_rows;
  if (s->kind == NN_I8) fn = bmm_i8_rows;
  else if (s->kind == NN_I16) fn = n->inputs[1]->type == TR_INT8 ? bmm_i16i8_rows : bmm_i16_rows;
  tr_parallel_for(n, rows, fn, s);
  return TR_OK;
}

const tr_op tr_op_batch_matmul = {"BATCH_MATMUL", bmm_prepare, bmm_eval, NULL};
