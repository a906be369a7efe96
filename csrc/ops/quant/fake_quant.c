/* FAKE_QUANT (float32): quantize to num_bits and back, with the range [min, max] first nudged so
 * that 0.0 is exactly representable (TensorFlow's FakeQuantWithMinMaxArgs). All arithmetic is in
 * float32 in the reference's order, so the results are bit-exact.
 *
 * ip: [num_bits]
 * fp: [min, max] */
#include <stdlib.h>

#include "model/quant.h"
#include "runtime/node.h"

typedef struct {
  float nudged_min, nudged_max, scale, inv_scale;
} nudged_range;

static nudged_range nudge(float min, float max, int32_t num_bits) {
  const float qmin = 0.0f, qmax = (float)((1 << num_bits) - 1);
  nudged_range r;
  r.scale = (max - min) / (qmax - qmin);
  const float zero_point_from_min = qmin - min / r.scale;
  float zero_point;
  if (zero_point_from_min < qmin) zero_point = qmin;
  else if (zero_point_from_min > qmax) zero_point = qmax;
  else zero_point = (float)(uint16_t)tr_round_f32(zero_point_from_min);
  r.nudged_min = (qmin - zero_point) * r.scale;
  r.nudged_max = (qmax - zero_point) * r.scale;
  r.inv_scale = 1.0f / r.scale;
  return r;
}

static tr_status eval(tr_node *n) {
  const nudged_range r = nudge(n->fp[0], n->fp[1], n->ip[0]);
  const float *x = (const float *)n->inputs[0]->data;
  float *y = (float *)n->outputs[0]->data;
  const int64_t count = tr_num_elements(n->inputs[0]);
  for (int64_t i = 0; i < count; i++) {
    /* this comparison order sends NaN to nudged_min, as the reference's std::max/std::min do */
    const float above = r.nudged_min < x[i] ? x[i] : r.nudged_min;
    const float clamped = above < r.nudged_max ? above : r.nudged_max;
    const float shifted = clamped - r.nudged_min;
    const float steps = tr_round_f32(shifted * r.inv_scale);
    const float scaled = steps * r.scale;
    y[i] = scaled + r.nudged_min;
  }
  return TR_OK;
}

const tr_op tr_quant_op_fake_quant = {"FAKE_QUANT", NULL, eval, NULL};
