/* Float depthwise kernels for aarch64 NEON: channel tile 8 (two vectors), fused multiply-add,
 * the last block's 1..7 channels through lane loads and narrower stores (no reads or writes
 * past the channel count). One body, instantiated for 9 taps (3x3), 25 taps (5x5) and any tap
 * count. Layout in dwconv.h (float32, ct 8). */
#include <arm_neon.h>
#include <assert.h>

#include "kernels/dwconv/dwconv.h"

#define CT 8

/* The first n (1..3) floats of p, zeros after. */
static inline float32x4_t load_partial(const float *p, size_t n) {
  float32x4_t v = vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
  if (n > 1) v = vld1q_lane_f32(p + 1, v, 1);
  if (n > 2) v = vld1q_lane_f32(p + 2, v, 2);
  return v;
}

static inline void store_partial(float *p, float32x4_t v, size_t n) {
  if (n & 2) {
    vst1_f32(p, vget_low_f32(v));
    p += 2;
    v = vextq_f32(v, v, 2);
  }
  if (n & 1) vst1q_lane_f32(p, v, 0);
}

static inline __attribute__((always_inline)) void dwconv_f32_neon(
    size_t channels, size_t output_width, const size_t K, const float **input, size_t input_step,
    const float *weights, float *output, size_t output_stride, const tr_dwconv_f32_params *params) {
  assert(channels != 0 && output_width != 0 && K != 0);
  const float32x4_t vmin = vdupq_n_f32(params->min), vmax = vdupq_n_f32(params->max);
  do {
    const float *w = weights;
    float *o = output;
    size_t c = 0;
    for (; c + CT <= channels; c += CT) {
      float32x4_t a0 = vld1q_f32(w), a1 = vld1q_f32(w + 4);
      w += CT;
      for (size_t k = 0; k < K; k++) {
        const float *x = input[k] + c;
        a0 = vfmaq_f32(a0, vld1q_f32(x), vld1q_f32(w));
        a1 = vfmaq_f32(a1, vld1q_f32(x + 4), vld1q_f32(w + 4));
        w += CT;
      }
      vst1q_f32(o, vminq_f32(vmaxq_f32(a0, vmin), vmax));
      vst1q_f32(o + 4, vminq_f32(vmaxq_f32(a1, vmin), vmax));
      o += CT;
    }
    if (c < channels) {
      const size_t n = channels - c; /* 1..7 */
      float32x4_t a0 = vld1q_f32(w), a1 = vld1q_f32(w + 4);
      w += CT;
      for (size_t k = 0; k < K; k++) {
        const float *x = input[k] + c;
        if (n >= 4) {
          a0 = vfmaq_f32(a0, vld1q_f32(x), vld1q_f32(w));
          if (n > 4) a1 = vfmaq_f32(a1, load_partial(x + 4, n - 4), vld1q_f32(w + 4));
        } else {
          a0 = vfmaq_f32(a0, load_partial(x, n), vld1q_f32(w));
        }
        w += CT;
      }
      a0 = vminq_f32(vmaxq_f32(a0, vmin), vmax);
      a1 = vminq_f32(vmaxq_f32(a1, vmin), vmax);
      if (n >= 4) {
        vst1q_f32(o, a0);
        if (n > 4) store_partial(o + 4, a1, n - 4);
      } else {
        store_partial(o, a0, n);
      }
    }
    input += input_step;
    output += output_stride;
  } while (--output_width != 0);
}

void tr_dwconv_f32_9p8c__neon(size_t channels, size_t output_width, size_t kernel_size, const float **input,
                              size_t input_step, const float *weights, float *output, size_t output_stride,
                              const tr_dwconv_f32_params *params) {
  assert(kernel_size == 9);
  (void)kernel_size;
  dwconv_f32_neon(channels, output_width, 9, input, input_step, weights, output, output_stride, params);
}

void tr_dwconv_f32_25p8c__neon(size_t channels, size_t output_width, size_t kernel_size, const float **input,
                               size_t input_step, const float *weights, float *output, size_t output_stride,
                               const tr_dwconv_f32_params *params) {
  assert(kernel_size == 25);
  (void)kernel_size;
  dwconv_f32_neon(channels, output_width, 25, input, input_step, weights, output, output_stride, params);
}

void tr_dwconv_f32_kp8c__neon(size_t channels, size_t output_width, size_t kernel_size, const float **input,
                              size_t input_step, const float *weights, float *output, size_t output_stride,
                              const tr_dwconv_f32_params *params) {
  dwconv_f32_neon(channels, output_width, kernel_size, input, input_step, weights, output, output_stride,
                  params);
}
