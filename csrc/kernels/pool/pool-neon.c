/* Pooling kernels for aarch64 NEON (see pool.h): float 8 channels per step, 8-bit 16; the
 * channels left over (fewer than a step) go through the portable kernels, which take any
 * channel range on their own, so nothing is read or written past `channels`.
 *
 * Same arithmetic as the portable kernels, lane for lane: max starts from -inf / the type's
 * minimum and uses FMAXNM (a NaN input is skipped, as `v > m` skips it); float averages add the
 * window in the same order and divide once; 8-bit averages add in int32 and round half away
 * from zero with a division done in float, exact because |sum| + count / 2 < 2^24 (see pool.h). */
#include <arm_neon.h>
#include <assert.h>
#include <math.h>

#include "kernels/pool/pool.h"

#define INLINE static inline __attribute__((always_inline))

void tr_pool_max_f32__neon(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride,
                           size_t channels, float *output, int32_t count, const tr_pool_f32_params *params) {
  assert(rows >= 1 && cols >= 1);
  const float32x4_t vlo = vdupq_n_f32(params->min), vhi = vdupq_n_f32(params->max);
  size_t c = 0;
  for (; c + 8 <= channels; c += 8) {
    float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0;
    for (size_t y = 0; y < rows; y++) {
      const float *p = input + y * row_stride + c;
      for (size_t x = 0; x < cols; x++, p += pixel_stride) {
        m0 = vmaxnmq_f32(m0, vld1q_f32(p));
        m1 = vmaxnmq_f32(m1, vld1q_f32(p + 4));
      }
    }
    vst1q_f32(output + c, vminq_f32(vmaxq_f32(m0, vlo), vhi));
    vst1q_f32(output + c + 4, vminq_f32(vmaxq_f32(m1, vlo), vhi));
  }
  if (c < channels)
    tr_pool_max_f32__scalar(rows, cols, input + c, row_stride, pixel_stride, channels - c, output + c, count, params);
}

void tr_pool_avg_f32__neon(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride,
                           size_t channels, float *output, int32_t count, const tr_pool_f32_params *params) {
  const float32x4_t vlo = vdupq_n_f32(params->min), vhi = vdupq_n_f32(params->max);
  const float32x4_t vcount = vdupq_n_f32((float)count);
  size_t c = 0;
  for (; c + 8 <= channels; c += 8) {
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
    for (size_t y = 0; y < rows; y++) {
      const float *p = input + y * row_stride + c;
      for (size_t x = 0; x < cols; x++, p += pixel_stride) {
        s0 = vaddq_f32(s0, vld1q_f32(p));
        s1 = vaddq_f32(s1, vld1q_f32(p + 4));
      }
    }
    if (count) {
      s0 = vdivq_f32(s0, vcount);
      s1 = vdivq_f32(s1, vcount);
    } else {
      s0 = s1 = vdupq_n_f32(0.0f);
    }
    vst1q_f32(output + c, vminq_f32(vmaxq_f32(s0, vlo), vhi));
    vst1q_f32(output + c + 4, vminq_f32(vmaxq_f32(s1, vlo), vhi));
  }
  if (c < channels)
    tr_pool_avg_f32__scalar(rows, cols, input + c, row_stride, pixel_stride, channels - c, output + c, count, params);
}

/* --- 8-bit --- */

INLINE void max_q8(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride,
                   size_t channels, void *output, int32_t count, const tr_pool_q8_params *params, const int u) {
  assert(rows >= 1 && cols >= 1);
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  size_t c = 0;
  if (u) {
    const uint8x16_t vlo = vdupq_n_u8((uint8_t)params->min), vhi = vdupq_n_u8((uint8_t)params->max);
    for (; c + 16 <= channels; c += 16) {
      uint8x16_t m = vdupq_n_u8(0);
      for (size_t y = 0; y < rows; y++) {
        const uint8_t *p = in + y * row_stride + c;
        for (size_t x = 0; x < cols; x++, p += pixel_stride) m = vmaxq_u8(m, vld1q_u8(p));
      }
      vst1q_u8(out + c, vminq_u8(vmaxq_u8(m, vlo), vhi));
    }
    if (c < channels)
      tr_pool_max_u8__scalar(rows, cols, in + c, row_stride, pixel_stride, channels - c, out + c, count, params);
  } else {
    const int8x16_t vlo = vdupq_n_s8((int8_t)params->min), vhi = vdupq_n_s8((int8_t)params->max);
    for (; c + 16 <= channels; c += 16) {
      int8x16_t m = vdupq_n_s8(INT8_MIN);
      for (size_t y = 0; y < rows; y++) {
        const int8_t *p = (const int8_t *)in + y * row_stride + c;
        for (size_t x = 0; x < cols; x++, p += pixel_stride) m = vmaxq_s8(m, vld1q_s8(p));
      }
      vst1q_s8((int8_t *)out + c, vminq_s8(vmaxq_s8(m, vlo), vhi));
    }
    if (c < channels)
      tr_pool_max_s8__scalar(rows, cols, in + c, row_stride, pixel_stride, channels - c, out + c, count, params);
  }
}

/* round half away from zero of s / count (count > 0), exactly: see the top of the file */
INLINE int32x4_t avg_div(int32x4_t s, int32x4_t half, float32x4_t vcount) {
  const int32x4_t t = vbslq_s32(vcgtq_s32(s, vdupq_n_s32(0)), vaddq_s32(s, half), vsubq_s32(s, half));
  return vcvtq_s32_f32(vdivq_f32(vcvtq_f32_s32(t), vcount));
}

INLINE void avg_q8(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride,
                   size_t channels, void *output, int32_t count, const tr_pool_q8_params *params, const int u) {
  assert(count >= 0 && count <= TR_POOL_AVG_Q8_MAX_COUNT);
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const int32x4_t half = vdupq_n_s32(count / 2);
  const float32x4_t vcount = vdupq_n_f32((float)count);
  const int16x8_t vlo = vdupq_n_s16((int16_t)params->min), vhi = vdupq_n_s16((int16_t)params->max);
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
    for (size_t y = 0; y < rows; y++) {
      const uint8_t *p = in + y * row_stride + c;
      for (size_t x = 0; x < cols; x++, p += pixel_stride) {
        const uint8x16_t v = vld1q_u8(p);
        int16x8_t lo, hi;
        if (u) {
          lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v)));
          hi = vreinterpretq_s16_u16(vmovl_high_u8(v));
        } else {
          lo = vmovl_s8(vget_low_s8(vreinterpretq_s8_u8(v)));
          hi = vmovl_high_s8(vreinterpretq_s8_u8(v));
        }
        s0 = vaddw_s16(s0, vget_low_s16(lo));
        s1 = vaddw_high_s16(s1, lo);
        s2 = vaddw_s16(s2, vget_low_s16(hi));
        s3 = vaddw_high_s16(s3, hi);
      }
    }
    int16x8_t r0 = vdupq_n_s16(0), r1 = r0;
    if (count) {
      r0 = vcombine_s16(vqmovn_s32(avg_div(s0, half, vcount)), vqmovn_s32(avg_div(s1, half, vcount)));
      r1 = vcombine_s16(vqmovn_s32(avg_div(s2, half, vcount)), vqmovn_s32(avg_div(s3, half, vcount)));
    }
    r0 = vminq_s16(vmaxq_s16(r0, vlo), vhi);
    r1 = vminq_s16(vmaxq_s16(r1, vlo), vhi);
    /* in [min, max], inside the 8-bit range: narrowing is exact */
    if (u) vst1q_u8(out + c, vcombine_u8(vqmovun_s16(r0), vqmovun_s16(r1)));
    else vst1q_s8((int8_t *)out + c, vcombine_s8(vqmovn_s16(r0), vqmovn_s16(r1)));
  }
  if (c < channels) {
    if (u) tr_pool_avg_u8__scalar(rows, cols, in + c, row_stride, pixel_stride, channels - c, out + c, count, params);
    else tr_pool_avg_s8__scalar(rows, cols, in + c, row_stride, pixel_stride, channels - c, out + c, count, params);
  }
}

void tr_pool_max_s8__neon(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride,
                          size_t channels, void *output, int32_t count, const tr_pool_q8_params *params) {
  max_q8(rows, cols, input, row_stride, pixel_stride, channels, output, count, params, 0);
}

void tr_pool_max_u8__neon(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride,
                          size_t channels, void *output, int32_t count, const tr_pool_q8_params *params) {
  max_q8(rows, cols, input, row_stride, pixel_stride, channels, output, count, params, 1);
}

void tr_pool_avg_s8__neon(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride,
                          size_t channels, void *output, int32_t count, const tr_pool_q8_params *params) {
  avg_q8(rows, cols, input, row_stride, pixel_stride, channels, output, count, params, 0);
}

void tr_pool_avg_u8__neon(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride,
                          size_t channels, void *output, int32_t count, const tr_pool_q8_params *params) {
  avg_q8(rows, cols, input, row_stride, pixel_stride, channels, output, count, params, 1);
}
