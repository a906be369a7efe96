/* UNIDIRECTIONAL_SEQUENCE_LSTM, full integer: int8 input / output / output state, int8
 * weights, int32 biases, int16 cell state, int16 peepholes and layer norm coefficients,
 * bit-exact with TFLite's 8x8->16 integer kernel. Input layout as in lstm.c.
 *
 * ip: [time_major, T, B, n_input, n_cell, n_output, input_zp, output_state_zp, hidden_zp,
 *      cell_scale_log2 (-30..1), quantized_cell_clip, quantized_proj_clip, layer_norm,
 *      variance_guard_{input, forget, cell, output}]
 * fp: effective scales, each turned into a multiplier here:
 *      [input-to-{i, f, c, o}, recurrent-to-{i, f, c, o}, cell-to-{i, f, o}, projection,
 *       hidden, layer-norm-{i, f, c, o}]
 *
 * Each gate is accumulated in int16 with saturation after each of its terms (input product,
 * recurrent product, peephole), optionally layer-normalised, then squashed: sigmoid on Q3.12
 * gates, tanh on the Q3.12 cell gate, both to Q0.15. The input zero points are folded into
 * per-row biases at prepare; without layer norm the gate bias is folded there too, with it
 * the bias is added inside the normalisation. The kernel's activation option is ignored:
 * TFLite's integer LSTM always uses tanh. */
#include "model/fixedpoint.h"
#include "ops/nn/nn_common.h"

enum { Q_IX = 0, Q_RH = 4, Q_PEEP_I = 8, Q_PEEP_F, Q_PEEP_O, Q_PROJ, Q_HIDDEN, Q_LN = 13, Q_COUNT = 17 };

typedef struct {
  int32_t time_major, T, B, n_in, n_cell, n_out;
  int32_t input_zp, state_zp, hidden_zp, cell_scale, cell_clip, proj_clip, layer_norm;
  int32_t guard[4];
  tr_qmul q[Q_COUNT];
  int32_t *bias_x[4], *bias_h[4], *bias_proj; /* zero points (and biases) folded per row */
  int16_t *gates;                             /* 4 * B * n_cell */
  int16_t *cell_tanh;                         /* B * n_cell */
  int8_t *hidden;                             /* B * n_cell */
} lstm8_state;

void tr_lstm_int8_release(tr_node *n) {
  lstm8_state *s = (lstm8_state *)n->state;
  if (s) {
    for (int g = 0; g < 4; g++) {
      free(s->bias_x[g]);
      free(s->bias_h[g]);
    }
    free(s->bias_proj);
    free(s->gates);
    free(s->cell_tanh);
    free(s->hidden);
  }
  free(s);
}

static const void *in_data(tr_node *n, int i) {
  return (i < n->ninputs && n->inputs[i]) ? n->inputs[i]->data : NULL;
}

/* bias[r] + zp * sum_c w[r, c]: the zero point's share of a product, as one int32 per row
 * (with TFLite's int32 wrap-around). */
static int32_t *fold_zero_point(const int8_t *w, int32_t rows, int32_t cols, const int32_t *bias, int32_t zp) {
  int32_t *out = (int32_t *)calloc((size_t)rows + 1, sizeof(int32_t));
  if (!out) return NULL;
  for (int32_t r = 0; r < rows; r++) {
    uint32_t row_sum = 0;
    for (int32_t c = 0; c < cols; c++) row_sum += (uint32_t)(int32_t)w[(size_t)r * cols + c];
    out[r] = (int32_t)((uint32_t)(bias ? bias[r] : 0) + row_sum * (uint32_t)zp);
  }
  return out;
}

tr_status tr_lstm_int8_prepare(tr_node *n) {
  lstm8_state *s = (lstm8_state *)calloc(1, sizeof(lstm8_state));
  if (!s) return tr_fail(n, "out of memory");
  n->state = s;
  const int32_t *ip = n->ip;
  s->time_major = ip[0];
  s->T = ip[1];
  s->B = ip[2];
  s->n_in = ip[3];
  s->n_cell = ip[4];
  s->n_out = ip[5];
  s->input_zp = ip[6];
  s->state_zp = ip[7];
  s->hidden_zp = ip[8];
  s->cell_scale = ip[9];
  s->cell_clip = ip[10];
  s->proj_clip = ip[11];
  s->layer_norm = ip[12];
  for (int g = 0; g < 4; g++) s->guard[g] = ip[13 + g];
  for (int k = 0; k < Q_COUNT; k++) s->q[k] = tr_quantize_multiplier((double)n->fp[k]);

  const int32_t nc = s->n_cell;
  for (int g = 0; g < 4; g++) {
    const int8_t *wx = (const int8_t *)in_data(n, 1 + g), *wh = (const int8_t *)in_data(n, 5 + g);
    if (!wx) continue; /* CIFG: no input gate */
    const int32_t *bias = s->layer_norm ? NULL : (const int32_t *)in_data(n, 12 + g);
    s->bias_x[g] = fold_zero_point(wx, nc, s->n_in, bias, -s->input_zp);
    s->bias_h[g] = fold_zero_point(wh, nc, s->n_out, NULL, -s->state_zp);
    if (!s->bias_x[g] || !s->bias_h[g]) return tr_fail(n, "out of memory");
  }
  const int8_t *proj = (const int8_t *)in_data(n, 16);
  if (proj) {
    /* TFLite folds +hidden_zp here and subtracts it from the hidden state again, so the two
     * cancel; kept as is for identical int32 wrap-around */
    s->bias_proj = fold_zero_point(proj, s->n_out, nc, (const int32_t *)in_data(n, 17), s->hidden_zp);
    if (!s->bias_proj) return tr_fail(n, "out of memory");
  }
  const size_t bc = (size_t)s->B * nc + 1;
  s->gates = (int16_t *)calloc(4 * bc, sizeof(int16_t));
  s->cell_tanh = (int16_t *)calloc(bc, sizeof(int16_t));
  s->hidden = (int8_t *)calloc(bc, sizeof(int8_t));
  if (!s->gates || !s->cell_tanh || !s->hidden) return tr_fail(n, "out of memory");
  return TR_OK;
}

static inline int32_t sat16(int32_t x) { return x > INT16_MAX ? INT16_MAX : (x < INT16_MIN ? INT16_MIN : x); }
static inline int32_t sat8(int32_t x) { return x > INT8_MAX ? INT8_MAX : (x < INT8_MIN ? INT8_MIN : x); }

/* out[b, r] = sat16(out[b, r] + rescale(bias[r] + sum_c w[r, c] * x[b, c])). */
static void matvec_acc_i16(const int8_t *x, int32_t nb, int32_t cols, const int8_t *w, int32_t rows,
                           const int32_t *bias, tr_qmul q, int16_t *out) {
  for (int32_t b = 0; b < nb; b++) {
    const int8_t *xb = x + (size_t)b * cols;
    int16_t *ob = out + (size_t)b * rows;
    for (int32_t r = 0; r < rows; r++) {
      const int8_t *wr = w + (size_t)r * cols;
      uint32_t acc = (uint32_t)bias[r];
      for (int32_t c = 0; c < cols; c++) acc += (uint32_t)((int32_t)xb[c] * (int32_t)wr[c]);
      const int32_t v = tr_multiply_by_quantized_multiplier((int32_t)acc, q.multiplier, q.shift);
      ob[r] = (int16_t)sat16(v + ob[r]);
    }
  }
}

/* Layer norm of each row of g in place, in TFLite's integer formulation: mean and variance
 * with 10 extra fraction bits, 1/stddev as a multiplier, then coefficient and bias. */
static void layer_norm_i16(int16_t *g, int32_t nb, int32_t nc, const int16_t *coef, const int32_t *bias,
                           tr_qmul q, int32_t variance_guard) {
  for (int32_t b = 0; b < nb; b++) {
    int16_t *row = g + (size_t)b * nc;
    int64_t sum = 0, sum_sq = 0;
    for (int32_t j = 0; j < nc; j++) {
      sum += row[j];
      sum_sq += (int32_t)row[j] * row[j];
    }
    const int32_t mean = (int32_t)(sum * 1024 / nc);
    const int64_t variance = sum_sq * ((1 << 20) / nc) - (int64_t)mean * mean;
    int32_t variance2 = (int32_t)(variance / (1 << 20));
    if (variance2 < 1) variance2 = variance_guard;
    int32_t inv_mul, inv_shift;
    tr_fp_inv_sqrt_multiplier(variance2, -1, &inv_mul, &inv_shift);
    for (int32_t j = 0; j < nc; j++) {
      const int32_t shifted = (int32_t)((uint32_t)(1024 * (int32_t)row[j]) - (uint32_t)mean);
      const int32_t rescaled = tr_multiply_by_quantized_multiplier(shifted, inv_mul, inv_shift);
      /* the reference forms this in int32 before widening */
      const int64_t val3 = (int32_t)((uint32_t)rescaled * (uint32_t)(int32_t)coef[j] + (uint32_t)bias[j]);
      const int32_t val4 = (int32_t)((val3 > 0 ? val3 + 512 : val3 - 512) / 1024);
      row[j] = (int16_t)sat16(tr_multiply_by_quantized_multiplier(val4, q.multiplier, q.shift + 12));
    }
  }
}

/* One gate for nb batch rows: products, peephole, layer norm, activation. */
static void gate_i16(const lstm8_state *s, int g, int32_t nb, const int8_t *x, const int8_t *h, const int16_t *c,
                     const int8_t *wx, const int8_t *wh, const int16_t *peep, tr_qmul peep_q, const int16_t *ln,
                     const int32_t *bias, int16_t *out) {
  const int32_t nc = s->n_cell;
  memset(out, 0, (size_t)nb * nc * sizeof(int16_t));
  matvec_acc_i16(x, nb, s->n_in, wx, nc, s->bias_x[g], s->q[Q_IX + g], out);
  matvec_acc_i16(h, nb, s->n_out, wh, nc, s->bias_h[g], s->q[Q_RH + g], out);
  if (peep) {
    /* TFLite walks the peephole over n_output entries per batch row, not n_cell (the two are
     * equal unless there is a projection; prepare refuses n_output > n_cell) */
    const int32_t len = s->n_out;
    for (int32_t b = 0; b < nb; b++) {
      for (int32_t v = 0; v < len; v++) {
        const size_t k = (size_t)b * len + v;
        const int32_t prod = tr_multiply_by_quantized_multiplier((int32_t)peep[v] * c[k], peep_q.multiplier,
                                                                 peep_q.shift);
        out[k] = (int16_t)sat16(prod + out[k]);
      }
    }
  }
  if (s->layer_norm) layer_norm_i16(out, nb, nc, ln, bias, s->q[Q_LN + g], s->guard[g]);
  const size_t total = (size_t)nb * nc;
  if (g == 2)
    for (size_t i = 0; i < total; i++) out[i] = tr_fp16_tanh(out[i], 3);
  else
    for (size_t i = 0; i < total; i++) out[i] = tr_fp16_logistic(out[i], 3);
}

/* One time step for nb consecutive batch rows whose states are contiguous. */
static void lstm8_step(lstm8_state *s, tr_node *n, int32_t nb, const int8_t *x, int8_t *h, int16_t *c, int8_t *out) {
  const int32_t nc = s->n_cell, no = s->n_out;
  const size_t total = (size_t)nb * nc;
  int16_t *ig = s->gates, *fg = s->gates + total, *cg = s->gates + 2 * total, *og = s->gates + 3 * total;
  const int16_t *peep_i = (const int16_t *)in_data(n, 9), *peep_f = (const int16_t *)in_data(n, 10),
                *peep_o = (const int16_t *)in_data(n, 11);
  const int cifg = in_data(n, 1) == NULL;
  int16_t *g_out[4] = {ig, fg, cg, og};
  for (int g = 0; g < 3; g++) {
    if (g == 0 && cifg) continue;
    const int16_t *peep = g == 0 ? peep_i : (g == 1 ? peep_f : NULL);
    const tr_qmul pq = s->q[g == 0 ? Q_PEEP_I : Q_PEEP_F];
    gate_i16(s, g, nb, x, h, c, (const int8_t *)in_data(n, 1 + g), (const int8_t *)in_data(n, 5 + g), peep, pq,
             (const int16_t *)in_data(n, 20 + g), (const int32_t *)in_data(n, 12 + g), g_out[g]);
  }

  /* c = f * c + i * g, with i = 1 - f under CIFG */
  const int cell_shift = 30 + s->cell_scale;
  for (size_t i = 0; i < total; i++) {
    const int16_t kept = (int16_t)tr_rounding_divide_by_pot((int32_t)fg[i] * c[i], 15);
    const int16_t in_gate = cifg ? (int16_t)(INT16_MAX - fg[i]) : ig[i];
    const int16_t added = (int16_t)tr_rounding_divide_by_pot((int32_t)in_gate * cg[i], cell_shift);
    int32_t v = sat16((int32_t)kept + added);
    if (s->cell_clip > 0) v = v > s->cell_clip ? s->cell_clip : (v < -s->cell_clip ? -s->cell_clip : v);
    c[i] = (int16_t)v;
  }

  /* the output gate's peephole sees the updated cell state */
  gate_i16(s, 3, nb, x, h, c, (const int8_t *)in_data(n, 4), (const int8_t *)in_data(n, 8), peep_o, s->q[Q_PEEP_O],
           (const int16_t *)in_data(n, 23), (const int32_t *)in_data(n, 15), og);

  const int tanh_bits = 15 + s->cell_scale;
  if (tanh_bits >= 0 && tanh_bits <= 6) {
    for (size_t i = 0; i < total; i++) s->cell_tanh[i] = tr_fp16_tanh(c[i], tanh_bits);
  } else {
    /* TFLite's integer tanh supports 0..6 integer bits and otherwise leaves its output
     * untouched: that buffer then still holds the input gate (prepare refuses CIFG here) */
    memcpy(s->cell_tanh, ig, total * sizeof(int16_t));
  }
  const tr_qmul hq = s->q[Q_HIDDEN];
  const int8_t *proj = (const int8_t *)in_data(n, 16);
  if (proj) {
    for (size_t i = 0; i < total; i++) {
      const int32_t v = tr_multiply_by_quantized_multiplier((int32_t)og[i] * s->cell_tanh[i], hq.multiplier, hq.shift);
      s->hidden[i] = (int8_t)sat8(v - s->hidden_zp);
    }
    const tr_qmul pq = s->q[Q_PROJ];
    for (int32_t b = 0; b < nb; b++) {
      const int8_t *hb = s->hidden + (size_t)b * nc;
      for (int32_t r = 0; r < no; r++) {
        const int8_t *wr = proj + (size_t)r * nc;
        uint32_t acc = (uint32_t)s->bias_proj[r];
        for (int32_t k = 0; k < nc; k++) acc += (uint32_t)((int32_t)hb[k] * (int32_t)wr[k]);
        int32_t v = sat8(tr_multiply_by_quantized_multiplier((int32_t)acc, pq.multiplier, pq.shift) + s->state_zp);
        if (s->proj_clip > 0) v = v > s->proj_clip ? s->proj_clip : (v < -s->proj_clip ? -s->proj_clip : v);
        h[(size_t)b * no + r] = (int8_t)v;
      }
    }
  } else {
    for (size_t i = 0; i < total; i++) {
      const int32_t v = tr_multiply_by_quantized_multiplier((int32_t)og[i] * s->cell_tanh[i], hq.multiplier, hq.shift);
      h[i] = (int8_t)sat8(v + s->hidden_zp);
    }
  }
  memcpy(out, h, (size_t)nb * no);
}

tr_status tr_lstm_int8_eval(tr_node *n) {
  lstm8_state *s = (lstm8_state *)n->state;
  const int8_t *x_all = (const int8_t *)n->inputs[0]->data;
  int8_t *h_all = (int8_t *)n->inputs[18]->data;
  int16_t *c_all = (int16_t *)n->inputs[19]->data;
  int8_t *out_all = (int8_t *)n->outputs[0]->data;
  const int32_t ni = s->n_in, no = s->n_out, nc = s->n_cell;
  if (s->time_major) {
    /* all batch rows advance together, as in TFLite (this matters for the peephole quirk) */
    for (int32_t t = 0; t < s->T; t++)
      lstm8_step(s, n, s->B, x_all + (size_t)t * s->B * ni, h_all, c_all, out_all + (size_t)t * s->B * no);
  } else {
    for (int32_t b = 0; b < s->B; b++)
      for (int32_t t = 0; t < s->T; t++) {
        const size_t step = (size_t)b * s->T + t;
        lstm8_step(s, n, 1, x_all + step * ni, h_all + (size_t)b * no, c_all + (size_t)b * nc, out_all + step * no);
      }
  }
  return TR_OK;
}
