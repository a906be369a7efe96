/* RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR on NHWC tensors.
 *
 * ip: [batches, in_h, in_w, depth, out_h, out_w, align_corners, half_pixel_centers]
 *
 * Bilinear follows TFLite's reference kernels: float and uint8 interpolate in float (uint8
 * adds 0.5 before truncating); int8 and int16 use the 10-bit fixed-point variant. Nearest
 * neighbour picks a source pixel per output pixel and copies its channels. */
#include <math.h>
#include <string.h>

#include "runtime/node.h"

typedef struct {
  int32_t b, ih, iw, d, oh, ow, align, half;
} resize_params;

static resize_params params_of(const tr_node *n) {
  const int32_t *p = n->ip;
  resize_params r = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]};
  return r;
}

static float float_scale(int32_t in, int32_t out, int align) {
  if (align && out > 1) return (float)(in - 1) / (float)(out - 1);
  return (float)in / (float)out;
}

static void float_coord(int32_t v, float scale, int half, int32_t size, float *pos, int32_t *lo, int32_t *hi) {
  *pos = half ? ((float)v + 0.5f) * scale - 0.5f : (float)v * scale;
  const int32_t f = (int32_t)floorf(*pos);
  const int32_t c = (int32_t)ceilf(*pos);
  *lo = f > 0 ? f : 0;
  *hi = c < size - 1 ? c : size - 1;
}

#define DEFINE_BILINEAR_FLOAT(NAME, T, ROUNDING)                                                 \
  static void NAME(const resize_params *r, const T *x, T *y) {                                   \
    const float hs = float_scale(r->ih, r->oh, r->align), ws = float_scale(r->iw, r->ow, r->align); \
    const int64_t row = (int64_t)r->iw * r->d, img = (int64_t)r->ih * row;                       \
    for (int32_t b = 0; b < r->b; b++) {                                                         \
      const T *xb = x + b * img;                                                                 \
      for (int32_t oy = 0; oy < r->oh; oy++) {                                                   \
        float iy;                                                                                \
        int32_t y0, y1;                                                                          \
        float_coord(oy, hs, r->half, r->ih, &iy, &y0, &y1);                                      \
        const float dy = iy - (float)y0;                                                         \
        for (int32_t ox = 0; ox < r->ow; ox++) {                                                 \
          float ix;                                                                              \
          int32_t x0, x1;                                                                        \
          float_coord(ox, ws, r->half, r->iw, &ix, &x0, &x1);                                    \
          const float dx = ix - (float)x0;                                                       \
          const T *p00 = xb + y0 * row + (int64_t)x0 * r->d, *p10 = xb + y1 * row + (int64_t)x0 * r->d; \
          const T *p01 = xb + y0 * row + (int64_t)x1 * r->d, *p11 = xb + y1 * row + (int64_t)x1 * r->d; \
          for (int32_t c = 0; c < r->d; c++) {                                                   \
            /* same operation order as the reference, so results are identical */               \
            const float v = (float)p00[c] * (1 - dy) * (1 - dx) + (float)p10[c] * dy * (1 - dx) + \
                            (float)p01[c] * (1 - dy) * dx + (float)p11[c] * dy * dx + ROUNDING;  \
            *y++ = (T)v;                                                                         \
          }                                                                                      \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

DEFINE_BILINEAR_FLOAT(bilinear_f32, float, 0.0f)
DEFINE_BILINEAR_FLOAT(bilinear_u8, uint8_t, 0.5f)

static int32_t scale10(int32_t in, int32_t out, int align) {
  if (align && out > 1) return ((1 << 10) * (in - 1) + (out - 1) / 2) / (out - 1);
  return ((1 << 10) * in + out / 2) / out;
}

static void int_coord(int32_t v, int32_t s10, int half, int32_t size, int32_t *pos, int32_t *lo, int32_t *hi) {
  *pos = half ? v * s10 + s10 / 2 - (1 << 9) : v * s10;
  const int32_t l = *pos / (1 << 10);
  const int32_t h = (*pos + (1 << 10) - 1) / (1 << 10);
  *lo = l > 0 ? l : 0;
  *hi = h < size - 1 ? h : size - 1;
}

#define DEFINE_BILINEAR_INT(NAME, T)                                                             \
  static void NAME(const resize_params *r, const T *x, T *y) {                                   \
    const int32_t hs = scale10(r->ih, r->oh, r->align), ws = scale10(r->iw, r->ow, r->align);    \
    const int64_t row = (int64_t)r->iw * r->d, img = (int64_t)r->ih * row;                       \
    for (int32_t b = 0; b < r->b; b++) {                                                         \
      const T *xb = x + b * img;                                                                 \
      for (int32_t oy = 0; oy < r->oh; oy++) {                                                   \
        int32_t iy, y0, y1;                                                                      \
        int_coord(oy, hs, r->half, r->ih, &iy, &y0, &y1);                                        \
        const int64_t wy1 = iy - (1 << 10) * y0, wy0 = (1 << 10) - wy1;                         \
        for (int32_t ox = 0; ox < r->ow; ox++) {                                                 \
          int32_t ix, x0, x1;                                                                    \
          int_coord(ox, ws, r->half, r->iw, &ix, &x0, &x1);                                      \
          const int64_t wx1 = ix - (1 << 10) * x0, wx0 = (1 << 10) - wx1;                       \
          const T *p00 = xb + y0 * row + (int64_t)x0 * r->d, *p10 = xb + y1 * row + (int64_t)x0 * r->d; \
          const T *p01 = xb + y0 * row + (int64_t)x1 * r->d, *p11 = xb + y1 * row + (int64_t)x1 * r->d; \
          for (int32_t c = 0; c < r->d; c++) {                                                   \
            const int64_t v = p00[c] * wy0 * wx0 + p10[c] * wy1 * wx0 + p01[c] * wy0 * wx1 +      \
                              p11[c] * wy1 * wx1;                                                \
            const int64_t rnd = v > 0 ? (1 << 19) : -(1 << 19);                                  \
            *y++ = (T)((v + rnd) / (1 << 20));                                                   \
          }                                                                                      \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

DEFINE_BILINEAR_INT(bilinear_i8, int8_t)
DEFINE_BILINEAR_INT(bilinear_i16, int16_t)

static tr_status bilinear_eval(tr_node *n) {
  const resize_params r = params_of(n);
  const tr_tensor *in = n->inputs[0];
  tr_tensor *out = n->outputs[0];
  switch (in->type) {
    case TR_FLOAT32: bilinear_f32(&r, in->data, out->data); break;
    case TR_UINT8: bilinear_u8(&r, in->data, out->data); break;
    case TR_INT8: bilinear_i8(&r, in->data, out->data); break;
    case TR_INT16: bilinear_i16(&r, in->data, out->data); break;
    default: return tr_fail(n, "unsupported input type %d", in->type);
  }
  return TR_OK;
}

static int32_t nearest(int32_t v, int32_t in, int32_t out, int align, int half) {
  const float scale = (align && out > 1) ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
  const float offset = half ? 0.5f : 0.0f;
  int32_t r = align ? (int32_t)roundf(((float)v + offset) * scale) : (int32_t)floorf(((float)v + offset) * scale);
  if (r > in - 1) r = in - 1;
  if (half && r < 0) r = 0;
  return r;
}

static tr_status nearest_eval(tr_node *n) {
  const resize_params r = params_of(n);
  const tr_tensor *in = n->inputs[0];
  tr_tensor *out = n->outputs[0];
  const size_t es = tr_type_size(in->type);
  const size_t pix = es * (size_t)r.d;
  const char *x = in->data;
  char *y = out->data;
  for (int32_t b = 0; b < r.b; b++) {
    const char *xb = x + (size_t)b * r.ih * r.iw * pix;
    for (int32_t oy = 0; oy < r.oh; oy++) {
      const char *xr = xb + (size_t)nearest(oy, r.ih, r.oh, r.align, r.half) * r.iw * pix;
      for (int32_t ox = 0; ox < r.ow; ox++) {
        memcpy(y, xr + (size_t)nearest(ox, r.iw, r.ow, r.align, r.half) * pix, pix);
        y += pix;
      }
    }
  }
  return TR_OK;
}

const tr_op tr_op_resize_bilinear = {"RESIZE_BILINEAR", NULL, bilinear_eval, NULL};
const tr_op tr_op_resize_nearest = {"RESIZE_NEAREST_NEIGHBOR", NULL, nearest_eval, NULL};
