/* UNIDIRECTIONAL_SEQUENCE_LSTM, float32, in TFLite's 24-input layout:
 *   0 input, 1-4 input-to-{input, forget, cell, output} weights, 5-8 recurrent-to-{...}
 *   weights, 9-11 cell-to-{input, forget, output} peepholes, 12-15 {input, forget, cell,
 *   output} gate biases, 16 projection weights, 17 projection bias, 18 output state,
 *   19 cell state (both variable tensors that carry over between invokes), 20-23 layer norm
 *   coefficients. Absent optional inputs are NULL; without input-to-input weights the input
 *   gate is 1 - forget gate (CIFG).
 *
 * ip: [activation, time_major, T, B, n_input, n_cell, n_output]
 * fp: [cell_clip, proj_clip]
 *
 * Each gate is bias + W.x + R.h (+ peephole), the two products summed separately before
 * they are added, as TFLite's float kernel does; with layer norm the bias comes after the
 * normalisation.
 *
 * int8 inputs go to the full-integer kernel in lstm_int8.c, and float inputs with int8 weights
 * to the hybrid kernel in lstm_hybrid.c; each has its own ip / fp layout. */
#include "ops/nn/nn_common.h"

tr_status tr_lstm_int8_prepare(tr_node *n);
tr_status tr_lstm_int8_eval(tr_node *n);
void tr_lstm_int8_release(tr_node *n);
tr_status tr_lstm_hybrid_prepare(tr_node *n);
tr_status tr_lstm_hybrid_eval(tr_node *n);
void tr_lstm_hybrid_release(tr_node *n);

static int lstm_is_int8(const tr_node *n) { return n->inputs[0]->type == TR_INT8; }
/* the input-to-output weights decide, as in TFLite */
static int lstm_is_hybrid(const tr_node *n) {
  return n->inputs[0]->type == TR_FLOAT32 && n->inputs[4]->type == TR_INT8;
}

typedef struct {
  int32_t act, time_major, T, B, n_in, n_cell, n_out;
  float cell_clip, proj_clip;
  float *gates; /* 4 * n_cell */
  float *hidden; /* n_cell */
} lstm_state;

static void lstm_release(tr_node *n) {
  if (lstm_is_int8(n)) {
    tr_lstm_int8_release(n);
    return;
  }
  if (lstm_is_hybrid(n)) {
    tr_lstm_hybrid_release(n);
    return;
  }
  lstm_state *s = (lstm_state *)n->state;
  if (s) {
    free(s->gates);
    free(s->hidden);
  }
  free(s);
}

static tr_status lstm_prepare(tr_node *n) {
  if (lstm_is_int8(n)) return tr_lstm_int8_prepare(n);
  if (lstm_is_hybrid(n)) return tr_lstm_hybrid_prepare(n);
  lstm_state *s = (lstm_state *)calloc(1, sizeof(lstm_state));
  if (!s) return tr_fail(n, "out of memory");
  n->state = s;
  s->act = n->ip[0];
  s->time_major = n->ip[1];
  s->T = n->ip[2];
  s->B = n->ip[3];
  s->n_in = n->ip[4];
  s->n_cell = n->ip[5];
  s->n_out = n->ip[6];
  s->cell_clip = n->fp[0];
  s->proj_clip = n->fp[1];
  s->gates = (float *)calloc((size_t)4 * s->n_cell + 1, sizeof(float));
  s->hidden = (float *)calloc((size_t)s->n_cell + 1, sizeof(float));
  if (!s->gates || !s->hidden) return tr_fail(n, "out of memory");
  return TR_OK;
}

static inline float lstm_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline float lstm_activation(int32_t act, float x) {
  switch (act) {
    case TR_ACT_RELU: return x < 0.0f ? 0.0f : x;
    case TR_ACT_RELU_N1_TO_1: return tr_clamp_f32(x, -1.0f, 1.0f);
    case TR_ACT_RELU6: return tr_clamp_f32(x, 0.0f, 6.0f);
    case TR_ACT_TANH: return tanhf(x);
    default: return x;
  }
}

/* out[r] += sum_c w[r, c] * x[c], the sum formed on its own first. */
static void lstm_matvec_acc(const float *w, int32_t rows, int32_t cols, const float *x, float *out) {
  for (int32_t r = 0; r < rows; r++) {
    const float *wr = w + (size_t)r * cols;
    float dot = 0.0f;
    for (int32_t c = 0; c < cols; c++) dot += wr[c] * x[c];
    out[r] += dot;
  }
}

static void lstm_layer_norm(float *g, int32_t n) {
  float sum = 0.0f, sum_sq = 0.0f;
  for (int32_t i = 0; i < n; i++) {
    sum += g[i];
    sum_sq += g[i] * g[i];
  }
  const float mean = sum / (float)n;
  const float variance = sum_sq / (float)n - mean * mean;
  const float inv = variance == 0.0f ? 1.0f / sqrtf(1e-8f) : 1.0f / sqrtf(variance);
  for (int32_t i = 0; i < n; i++) g[i] = (g[i] - mean) * inv;
}

static int lstm_all_zero(const float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (x[i] != 0.0f) return 0;
  return 1;
}

static const float *fdata(tr_node *n, int i) {
  return (i < n->ninputs && n->inputs[i]) ? (const float *)n->inputs[i]->data : NULL;
}

static tr_status lstm_eval(tr_node *n) {
  if (lstm_is_int8(n)) return tr_lstm_int8_eval(n);
  if (lstm_is_hybrid(n)) return tr_lstm_hybrid_eval(n);
  lstm_state *s = (lstm_state *)n->state;
  const int32_t nc = s->n_cell, no = s->n_out, ni = s->n_in;
  const float *x_all = fdata(n, 0);
  const float *wx[4] = {fdata(n, 1), fdata(n, 2), fdata(n, 3), fdata(n, 4)};
  const float *wh[4] = {fdata(n, 5), fdata(n, 6), fdata(n, 7), fdata(n, 8)};
  const float *peep[4] = {fdata(n, 9), fdata(n, 10), NULL, fdata(n, 11)};
  const float *bias[4] = {fdata(n, 12), fdata(n, 13), fdata(n, 14), fdata(n, 15)};
  const float *proj = fdata(n, 16), *proj_bias = fdata(n, 17);
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
      /* With no cell activation (NONE) TFLite's activation step writes nothing: its cell gate
       * keeps whatever its scratch held, which is the bias (0 with layer norm) when the step's
       * input (the whole batch, time major) was all zero and its product skipped, and the
       * output multiplies that cell gate instead of the cell state. */
      int keep_bias = 0;
      if (s->act == TR_ACT_NONE)
        keep_bias = s->time_major ? lstm_all_zero(x_all + (size_t)t * s->B * ni, (int64_t)s->B * ni)
                                  : lstm_all_zero(x, ni);
      for (int32_t g = 0; g < 4; g++) {
        if (g == 0 && cifg) continue;
        float *gate = s->gates + (size_t)g * nc;
        for (int32_t i = 0; i < nc; i++) gate[i] = (layer_norm || !bias[g]) ? 0.0f : bias[g][i];
        lstm_matvec_acc(wx[g], nc, ni, x, gate);
        lstm_matvec_acc(wh[g], nc, no, h, gate);
        /* the output gate's peephole sees the updated cell state, so it waits */
        if (peep[g] && g != 3)
          for (int32_t i = 0; i < nc; i++) gate[i] += peep[g][i] * c[i];
        if (g == 3) continue;
        if (layer_norm) {
          lstm_layer_norm(gate, nc);
          for (int32_t i = 0; i < nc; i++) gate[i] = gate[i] * ln[g][i] + (bias[g] ? bias[g][i] : 0.0f);
        }
        if (g == 2 && keep_bias)
          for (int32_t i = 0; i < nc; i++) gate[i] = (layer_norm || !bias[g]) ? 0.0f : bias[g][i];
        for (int32_t i = 0; i < nc; i++)
          gate[i] = g == 2 ? lstm_activation(s->act, gate[i]) : lstm_sigmoid(gate[i]);
      }
      const float *ig = s->gates, *fg = s->gates + nc, *cg = s->gates + 2 * (size_t)nc;
      float *og = s->gates + 3 * (size_t)nc;
      for (int32_t i = 0; i < nc; i++) {
        const float in_gate = cifg ? 1.0f - fg[i] : ig[i];
        float v = c[i] * fg[i];
        v += cg[i] * in_gate;
        if (s->cell_clip > 0.0f) v = tr_clamp_f32(v, -s->cell_clip, s->cell_clip);
        c[i] = v;
      }
      if (peep[3])
        for (int32_t i = 0; i < nc; i++) og[i] += peep[3][i] * c[i];
      if (layer_norm) {
        lstm_layer_norm(og, nc);
        for (int32_t i = 0; i < nc; i++) og[i] = og[i] * ln[3][i] + (bias[3] ? bias[3][i] : 0.0f);
      }
      if (s->act == TR_ACT_NONE)
        for (int32_t i = 0; i < nc; i++) s->hidden[i] = lstm_sigmoid(og[i]) * cg[i];
      else
        for (int32_t i = 0; i < nc; i++) s->hidden[i] = lstm_sigmoid(og[i]) * lstm_activation(s->act, c[i]);
      if (proj) {
        for (int32_t i = 0; i < no; i++) h[i] = proj_bias ? proj_bias[i] : 0.0f;
        lstm_matvec_acc(proj, no, nc, s->hidden, h);
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

const tr_op tr_op_unidirectional_sequence_lstm = {"UNIDIRECTIONAL_SEQUENCE_LSTM", lstm_prepare, lstm_eval,
                                                  lstm_release};
