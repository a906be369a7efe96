/* TRANSPOSE_CONV: inputs (output_shape, weights [OC, KH, KW, IC], input NHWC, optional bias).
 *
 * ip: [kind (NN_F32 / NN_I8 / NN_U8 / NN_I16), activation, stride_h, stride_w, pad_top,
 *      pad_left, weights_are_const, int16x8_in_32_bits]
 *
 * Written as a gather rather than TFLite's scatter: each output pixel sums the input pixels
 * whose stride grid lands on it, so rows split over threads without a shared accumulator.
 * Integer sums are the same as the reference's; float sums differ only in order. Weights are
 * packed as [KH][KW][IC][OC padded to 8]. */
#include "ops/nn/nn_common.h"

#define TC_N 8

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
} tc_state;

static void tc_release(tr_node *n) {
  tc_state *s = (tc_state *)n->state;
  if (s) {
    free(s->wf);
    free(s->wq);
    free(s->qm);
  }
  free(s);
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
