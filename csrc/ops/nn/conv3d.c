/* CONV_3D (float32): NDHWC input, [KD, KH, KW, IC, OC] filter, optional bias.
 *
 * ip: [activation, stride_d, stride_h, stride_w, dilation_d, dilation_h, dilation_w,
 *      pad_front, pad_top, pad_left]
 *
 * The filter's layout already puts output channels innermost, so each output voxel
 * accumulates whole rows of contiguous weights straight into its output channels. */
#include "ops/nn/nn_common.h"

typedef struct {
  int32_t sd, sh, sw, dd, dh, dw, pd, ph, pw;
  int32_t B, D, H, W, IC, OD, OH, OW, OC, KD, KH, KW;
  float lo, hi;
  const float *in, *w, *bias;
  float *out;
} c3_state;

static tr_status c3_prepare(tr_node *n) {
  const tr_tensor *in = n->inputs[0], *w = n->inputs[1], *out = n->outputs[0];
  c3_state *s = (c3_state *)calloc(1, sizeof(c3_state));
  if (!s) return tr_fail(n, "out of memory");
  n->state = s;
  tr_activation_range_f32(n->ip[0], &s->lo, &s->hi);
  s->sd = n->ip[1];
  s->sh = n->ip[2];
  s->sw = n->ip[3];
  s->dd = n->ip[4];
  s->dh = n->ip[5];
  s->dw = n->ip[6];
  s->pd = n->ip[7];
  s->ph = n->ip[8];
  s->pw = n->ip[9];
  s->B = in->dims[0];
  s->D = in->dims[1];
  s->H = in->dims[2];
  s->W = in->dims[3];
  s->IC = in->dims[4];
  s->KD = w->dims[0];
  s->KH = w->dims[1];
  s->KW = w->dims[2];
  s->OC = w->dims[4];
  s->OD = out->dims[1];
  s->OH = out->dims[2];
  s->OW = out->dims[3];
  return TR_OK;
}

static void c3_rows(void *vctx, int64_t begin, int64_t end) {
  const c3_state *s = (const c3_state *)vctx;
  for (int64_t row = begin; row < end; row++) {
    const int32_t oy = (int32_t)(row % s->OH), oz = (int32_t)((row / s->OH) % s->OD);
    const int32_t b = (int32_t)(row / ((int64_t)s->OH * s->OD));
    for (int32_t ox = 0; ox < s->OW; ox++) {
      float *o = s->out + ((((size_t)b * s->OD + oz) * s->OH + oy) * s->OW + ox) * s->OC;
      for (int32_t oc = 0; oc < s->OC; oc++) o[oc] = 0.0f;
      for (int32_t fz = 0; fz < s->KD; fz++) {
        const int32_t iz = oz * s->sd - s->pd + fz * s->dd;
        if (iz < 0 || iz >= s->D) continue;
        for (int32_t fy = 0; fy < s->KH; fy++) {
          const int32_t iy = oy * s->sh - s->ph + fy * s->dh;
          if (iy < 0 || iy >= s->H) continue;
          for (int32_t fx = 0; fx < s->KW; fx++) {
            const int32_t ix = ox * s->sw - s->pw + fx * s->dw;
            if (ix < 0 || ix >= s->W) continue;
            const float *x = s->in + ((((size_t)b * s->D + iz) * s->H + iy) * s->W + ix) * s->IC;
            const float *w = s->w + ((((size_t)fz * s->KH + fy) * s->KW + fx) * s->IC) * s->OC;
            for (int32_t ic = 0; ic < s->IC; ic++) {
              const float xv = x[ic];
              const float *wr = w + (size_t)ic * s->OC;
              for (int32_t oc = 0; oc < s->OC; oc++) o[oc] += xv * wr[oc];
            }
          }
        }
      }
      for (int32_t oc = 0; oc < s->OC; oc++)
        o[oc] = tr_clamp_f32(o[oc] + (s->bias ? s->bias[oc] : 0.0f), s->lo, s->hi);
    }
  }
}

static tr_status c3_eval(tr_node *n) {
  c3_state *s = (c3_state *)n->state;
  s->in = (const float *)n->inputs[0]->data;
  s->w = (const float *)n->inputs[1]->data;
  s->bias = (n->ninputs > 2 && n->inputs[2]) ? (const float *)n->inputs[2]->data : NULL;
  s->out = (float *)n->outputs[0]->data;
  tr_parallel_for(n, (int64_t)s->B * s->OD * s->OH, c3_rows, s);
  return TR_OK;
}

const tr_op tr_op_conv_3d = {"CONV_3D", c3_prepare, c3_eval, NULL};
