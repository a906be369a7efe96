/* UNIDIRECTIONAL_SEQUENCE_LSTM, hybrid (dynamic range): float32 activations, state, biases and
 * layer norm coefficients; int8 constant weights (input, recurrent, peephole, projection), each
 * with one scale. Inputs are laid out as for the float kernel (lstm.c).
 *
 * ip: [activation, time_major, T, B, n_input, n_cell, n_output, asymmetric_quantize_inputs]
 * fp: [cell_clip, proj_clip, input-to-{i, f, c, o} scale, recurrent-to-{i, f, c, o} scale,
 *      cell-to-{i, f, o} scale, projection scale]   (absent tensors: 1)
 *
 * As TFLite's hybrid kernel: at every step the input row and the previous output state row are
 * quantized to int8 (one scale per row, symmetric, or asymmetric with a zero point whose effect
 * is removed with the weights' row sums), multiplied with the weights in int32, and each dot
 * product is added to the gate as (float)dot * (row_scale * weight_scale). Peephole weights are
 * dequantized (scale * q) and applied in float. The projection quantizes the hidden row the same
 * way. An all-zero row skips its product, which leaves the gate exactly as a zero product would.
 * Batch rows are independent, so time-major and batch-major inputs both run one row at a time. */
#include "ops/nn/nn_common.h"

typedef struct {
  int32_t act, time_major, T, B, n_in, n_cell, n_out, asym;
  float cell_clip, proj_clip;
  float wx_scale[4], wh_scale[4], proj_scale;
  float *gates;     /* 4 * n_cell */
  float *hidden;    /* n_cell */
  float *peep[4];   /* dequantized peephole weights of gates i, f, o (index 2 unused) */
  int8_t *qx, *qh, *qhid;
  int32_t *rows_x[4], *rows_h[4], *rows_proj; /* weight row sums, asymmetric only */
  void *block;
} lstm_hybrid_state;

void tr_lstm_hybrid_release(tr_node *n) {
  lstm_hybrid_state *s = (lstm_hybrid_state *)n->state;
  if (s) free(s->block);
  free(s);
  n->state = NULL;
}

static const int8_t *wdata(tr_node *n, int i) {
  return (i < n->ninputs && n->inputs[i]) ? (const int8_t *)n->inputs[i]->data : NULL;
}

static const float *fdata(tr_node *n, int i) {
  return (i < n->ninputs && n->inputs[i]) ? (const float *)n->inputs[i]->data : NULL;
}

static void row_sums(const int8_t *w, int32_t rows, int32_t cols, int32_t *out) {
  for (int32_t r = 0; r < rows; r++) {
    int32_t sum = 0;
    for (int32_t c = 0; c < cols; c++) sum += w[(size_t)r * cols + c];
    out[r] = sum;
  }
}

tr_status tr_lstm_hybrid_prepare(tr_node *n) {
  lstm_hybrid_state *s = (lstm_hybrid_state *)calloc(1, sizeof(lstm_hybrid_state));
  if (!s) return tr_fail(n, "out of memory");
  n->state = s;
  s->act = n->ip[0];
  s->time_major = n->ip[1];
  s->T = n->ip[2];
  s->B = n->ip[3];
  s->n_in = n->ip[4];
  s->n_cell = n->ip[5];
  s->n_out = n->ip[6];
  s->asym = n->ip[7];
  s->cell_clip = n->fp[0];
  s->proj_clip = n->fp[1];
  for (int g = 0; g < 4; g++) {
    s->wx_scale[g] = n->fp[2 + g];
    s->wh_scale[g] = n->fp[6 + g];
  }
  s->proj_scale = n->fp[13];
  const size_t nc = (size_t)s->n_cell, ni = (size_t)s->n_in, no = (size_t)s->n_out;
  /* one block: floats first, then int32 row sums, then int8 rows */
  const size_t nfloat = 4 * nc + nc + 3 * nc;
  const size_t nint = s->asym ? 8 * nc + no : 0;
  const size_t nbyte = ni + no + nc;
  s->block = calloc(1, nfloat * sizeof(float) + nint * sizeof(int32_t) + nbyte + 16);
  if (!s->block) return tr_fail(n, "out of memory");
  float *f = (float *)s->block;
  s->gates = f;
  s->hidden = f + 4 * nc;
  float *peep = f + 5 * nc;
  int32_t *ints = (int32_t *)(f + nfloat);
  int8_t *bytes = (int8_t *)(ints + nint);
  s->qx = bytes;
  s->qh = bytes + ni;
  s->qhid = bytes + ni + no;
  const int peep_index[4] = {9, 10, -1, 11};
  for (int g = 0, k = 0; g < 4; g++) {
    if (g == 2) continue;
    const int8_t *w = wdata(n, peep_index[g]);
    const float scale = n->fp[10 + k];
    float *dst = peep + (size_t)k * nc;
    k++;
    if (!w) continue;
    for (size_t i = 0; i < nc; i++) dst[i] = scale * (float)w[i];
    s->peep[g] = dst;
  }
  if (s->asym) {
    for (int g = 0; g < 4; g++) {
      const int8_t *wx = wdata(n, 1 + g), *wh = wdata(n, 5 + g);
      if (wx) {
        s->rows_x[g] = ints + (size_t)g * nc;
        row_sums(wx, s->n_cell, s->n_in, s->rows_x[g]);
      }
      if (wh) {
        s->rows_h[g] = ints + (size_t)(4 + g) * nc;
        row_sums(wh, s->n_cell, s->n_out, s->rows_h[g]);
      }
    }
    const int8_t *proj = wdata(n, 16);
    if (proj) {
      s->rows_proj = ints + 8 * nc;
      row_sums(proj, s->n_out, s->n_cell, s->rows_proj);
    }
  }
  return TR_OK;
}

static inline float hyb_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline float hyb_activation(int32_t act, float x) {
  switch (act) {
    case TR_ACT_RELU: return x < 0.0f ? 0.0f : x;
    case TR_ACT_RELU_N1_TO_1: return tr_clamp_f32(x, -1.0f, 1.0f);
    case TR_ACT_RELU6: return tr_clamp_f32(x, 0.0f, 6.0f);
    case TR_ACT_TANH: return tanhf(x);
    default: return x;
  }
}

/* TFLite's MeanStddevNormalization: two passes, 1e-8 added to the variance. */
static void hyb_layer_norm(float *g, int32_t n) {
  float sum = 0.0f;
  for (int32_t i = 0; i < n; i++) sum += g[i];
  const float mean = sum / (float)n;
  float sum_sq = 0.0f;
  for (int32_t i = 0; i < n; i++) {
    const float d = g[i] - mean;
    sum_sq += d * d;
  }
  const float variance = sum_sq / (float)n;
  const float inv = 1.0f / sqrtf(variance + 1e-8f);
  for (int32_t i = 0; i < n; i++) g[i] = (g[i] - mean) * inv;
}

/* out[r] += (dot(w[r], q) - zp * row_sum[r]) * scale, the integer part exact. */
static void hyb_matvec_acc(const int8_t *w, int32_t rows, int32_t cols, const int8_t *q, float scale,
                           int32_t zp, const int32_t *sums, float *out) {
  for (int32_t r = 0; r < rows; r++) {
    const int8_t *wr = w + (size_t)r * cols;
    int32_t dot = 0;
    for (int32_t c = 0; c < cols; c++) dot += (int32_t)wr[c] * (int32_t)q[c];
    if (zp && sums) dot -= sums[r] * zp;
    out[r] += (float)dot * scale;
  }
}

static int hyb_all_zero(const float *x, int32_t n) {
  for (int32_t i = 0; i < n; i++)
    if (x[i] != 0.0f) return 0;
  return 1;
}

/* Quantizes one row; returns its scale and (asymmetric) zero point. */
static void hyb_quantize(const lstm_hybrid_state *s, const float *x, int32_t n, int8_t *q, float *scale,
                         int32_t *zp) {
  *zp = 0;
  if (s->asym) tr_hybrid_quantize_asymmetric(x, n, q, scale, zp);
  else tr_hybrid_quantize_symmetric(x, n, q, scale);
}

tr_status tr_lstm_hybrid_eval(tr_node *n) {
  lstm_hybrid_state *s = (lstm_hybrid_state *)n->state;
  const int32_t nc = s->n_cell, no = s->n_out, ni = s->n_in;
  const float *x_all = fdata(n, 0);
  const int8_t *wx[4] = {wdata(n, 1), wdata(n, 2), wdata(n, 3), wdata(n, 4)};
  const int8_t *wh[4] = {wdata(n, 5), wdata(n, 6), wdata(n, 7), wdata(n, 8)};
  const float *bias[4] = {fdata(n, 12), fdata(n, 13), fdata(n, 14), fdata(n, 15)};
  const int8_t *proj = wdata(n, 16);
  const float *proj_bias = fdata(n, 17);
  const float *ln[4] = {fdata(n, 20), fdata(n, 21), fdata(n, 22), fdata(n, 23)};
  float *h_all = (float *)n->inputs[18]->data, *c_all = (float *)n->inputs[19]->data;
  float *out_all = (float *)n->outputs[0]->data;
  const int cifg = wx[0] == NULL;
  const int layer_norm = ln[1] != NULL;
  for (int32_t t = 0; t < s->T; t++) {
    for (int32_t b = 0; b < s->B; b++) {
      const size_t step = s->time_major ? (size_t)t * s->B + b : (size_t)b * s->T + t;
      const float *x = x_all + step * ni;
      float *h = h_all + (size_t)b * no, *c = c_all + (size_t)b * nc;
      const int x_zero = hyb_all_zero(x, ni), h_zero = hyb_all_zero(h, no);
      float x_sf = 1.0f, h_sf = 1.0f;
      int32_t x_zp = 0, h_zp = 0;
      if (!x_zero) hyb_quantize(s, x, ni, s->qx, &x_sf, &x_zp);
      if (!h_zero) hyb_quantize(s, h, no, s->qh, &h_sf, &h_zp);
      for (int32_t g = 0; g < 4; g++) {
        if (g == 0 && cifg) continue;
        float *gate = s->gates + (size_t)g * nc;
        for (int32_t i = 0; i < nc; i++) gate[i] = layer_norm ? 0.0f : bias[g][i];
        if (!x_zero) hyb_matvec_acc(wx[g], nc, ni, s->qx, x_sf * s->wx_scale[g], x_zp, s->rows_x[g], gate);
        if (!h_zero) hyb_matvec_acc(wh[g], nc, no, s->qh, h_sf * s->wh_scale[g], h_zp, s->rows_h[g], gate);
        /* the output gate's peephole sees the updated cell state, so it waits */
        if (g == 3) continue;
        if (s->peep[g])
          for (int32_t i = 0; i < nc; i++) gate[i] += s->peep[g][i] * c[i];
        if (layer_norm) {
          hyb_layer_norm(gate, nc);
          for (int32_t i = 0; i < nc; i++) gate[i] = gate[i] * ln[g][i] + bias[g][i];
        }
        for (int32_t i = 0; i < nc; i++)
          gate[i] = g == 2 ? hyb_activation(s->act, gate[i]) : hyb_sigmoid(gate[i]);
      }
      const float *ig = s->gates, *fg = s->gates + nc, *cg = s->gates + 2 * (size_t)nc;
      float *og = s->gates + 3 * (size_t)nc;
      for (int32_t i = 0; i < nc; i++) {
        float v = c[i] * fg[i];
        v += cg[i] * (cifg ? 1.0f - fg[i] : ig[i]);
        if (s->cell_clip > 0.0f) v = tr_clamp_f32(v, -s->cell_clip, s->cell_clip);
        c[i] = v;
      }
      if (s->peep[3])
        for (int32_t i = 0; i < nc; i++) og[i] += s->peep[3][i] * c[i];
      if (layer_norm) {
        hyb_layer_norm(og, nc);
        for (int32_t i = 0; i < nc; i++) og[i] = og[i] * ln[3][i] + bias[3][i];
      }
      /* TFLite's activation step writes nothing for NONE, so its output gate then multiplies
       * the scratch that still holds the cell gate rather than the cell state */
      const float *cell_out = c;
      if (s->act == TR_ACT_NONE) cell_out = cg;
      for (int32_t i = 0; i < nc; i++) {
        const float v = s->act == TR_ACT_NONE ? cell_out[i] : hyb_activation(s->act, cell_out[i]);
        s->hidden[i] = hyb_sigmoid(og[i]) * v;
      }
      if (proj) {
        for (int32_t i = 0; i < no; i++) h[i] = proj_bias ? proj_bias[i] : 0.0f;
        if (!hyb_all_zero(s->hidden, nc)) {
          float sf;
          int32_t zp;
          hyb_quantize(s, s->hidden, nc, s->qhid, &sf, &zp);
          hyb_matvec_acc(proj, no, nc, s->qhid, sf * s->proj_scale, zp, s->rows_proj, h);
        }
        if (s->proj_clip > 0.0f)
          for (int32_t i = 0; i < no; i++) h[i] = tr_clamp_f32(h[i], -s->proj_clip, s->proj_clip);
      } else {
        memcpy(h, s->hidden, (size_t)no * sizeof(float));
      }
      memcpy(out_all + step * no, h, (size_t)no * sizeof(float));
    }
  }
  return TR_OK;
}
