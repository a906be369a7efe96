/* 8-bit depthwise kernels for aarch64 NEON: 16 channels per step.
 *
 * Each tap's 16 bytes widen to int16 (SXTL / UXTL) and multiply-accumulate with the packed
 * int16 weights into four int32x4 accumulators (SMLAL / SMLAL2), so slots stay linear: the
 * same packing as the scalar kernels (channel tile 16, group 1, TR_DW_SLOTS_LINEAR).
 * Requantization is requant-neon.h's, bit for bit. The last block's 1..15 channels are read
 * and written through a small buffer, never past the channel count. */
#include <arm_neon.h>
#include <assert.h>
#include <string.h>

#include "kernels/dwconv/dwconv.h"
#include "kernels/requant/requant-neon.h"

#define CT 16

static inline __attribute__((always_inline)) int8x16_t load_taps(const void *p, size_t n, int tail) {
  if (!tail) return vld1q_s8((const int8_t *)p);
  int8_t buf[CT] = {0};
  memcpy(buf, p, n);
  return vld1q_s8(buf);
}

static inline __attribute__((always_inline)) void block_q8(
    const size_t K, const void **input, size_t c, size_t n, int tail, const char *w, char *o,
    int16x8_t vzp, int16x8_t vlo, int16x8_t vhi, int is_unsigned) {
  const int32_t *b = (const int32_t *)w;
  int32x4_t a0 = vld1q_s32(b), a1 = vld1q_s32(b + 4), a2 = vld1q_s32(b + 8), a3 = vld1q_s32(b + 12);
  const int16_t *wk = (const int16_t *)(w + CT * 4);
  for (size_t k = 0; k < K; k++) {
    const int8x16_t x = load_taps((const char *)input[k] + c, n, tail);
    int16x8_t xl, xh;
    if (is_unsigned) {
      xl = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(vreinterpretq_u8_s8(x))));
      xh = vreinterpretq_s16_u16(vmovl_high_u8(vreinterpretq_u8_s8(x)));
    } else {
      xl = vmovl_s8(vget_low_s8(x));
      xh = vmovl_high_s8(x);
    }
    const int16x8_t w0 = vld1q_s16(wk), w1 = vld1q_s16(wk + 8);
    a0 = vmlal_s16(a0, vget_low_s16(xl), vget_low_s16(w0));
    a1 = vmlal_high_s16(a1, xl, w0);
    a2 = vmlal_s16(a2, vget_low_s16(xh), vget_low_s16(w1));
    a3 = vmlal_high_s16(a3, xh, w1);
    wk += CT;
  }
  /* multiplier[16], left_shift[16], right_shift[16], rounding_mask[16] */
  const int32_t *q = (const int32_t *)wk;
  a0 = tr_requant_q31_neon(a0, vld1q_s32(q), vld1q_s32(q + 16), vnegq_s32(vld1q_s32(q + 32)));
  a1 = tr_requant_q31_neon(a1, vld1q_s32(q + 4), vld1q_s32(q + 20), vnegq_s32(vld1q_s32(q + 36)));
  a2 = tr_requant_q31_neon(a2, vld1q_s32(q + 8), vld1q_s32(q + 24), vnegq_s32(vld1q_s32(q + 40)));
  a3 = tr_requant_q31_neon(a3, vld1q_s32(q + 12), vld1q_s32(q + 28), vnegq_s32(vld1q_s32(q + 44)));
  const int16x8_t v0 = tr_requant_finish_s16(a0, a1, vzp, vlo, vhi);
  const int16x8_t v1 = tr_requant_finish_s16(a2, a3, vzp, vlo, vhi);
  /* values are in [lo, hi], inside the 8-bit range: narrowing is exact */
  const int8x16_t r = is_unsigned ? vreinterpretq_s8_u8(vcombine_u8(vqmovun_s16(v0), vqmovun_s16(v1)))
                                  : vcombine_s8(vqmovn_s16(v0), vqmovn_s16(v1));
  if (!tail) {
    vst1q_s8((int8_t *)o, r);
  } else {
    int8_t buf[CT];
    vst1q_s8(buf, r);
    memcpy(o, buf, n);
  }
}

static inline __attribute__((always_inline)) void dwconv_q8_neon(
    size_t channels, size_t output_width, const size_t K, const void **input, size_t input_step,
    const void *weights, void *output, size_t output_stride, const tr_dwconv_qs8_params *params,
    const int is_unsigned) {
  assert(channels != 0 && output_width != 0 && K != 0);
  const size_t block = CT * 4 + K * CT * 2 + CT * 16;
  const int16x8_t vzp = vdupq_n_s16((int16_t)params->output_zero_point);
  const int16x8_t vlo = vdupq_n_s16((int16_t)params->output_min);
  const int16x8_t vhi = vdupq_n_s16((int16_t)params->output_max);
  do {
    const char *w = (const char *)weights;
    size_t c = 0;
    for (; c + CT <= channels; c += CT, w += block)
      block_q8(K, input, c, CT, 0, w, (char *)output + c, vzp, vlo, vhi, is_unsigned);
    if (c < channels) block_q8(K, input, c, channels - c, 1, w, (char *)output + c, vzp, vlo, vhi, is_unsigned);
    input += input_step;
    output = (char *)output + output_stride;
  } while (--output_width != 0);
}

#define DEFINE(NAME, KCONST, UNSIGNED)                                                                     \
  void NAME(size_t channels, size_t output_width, size_t kernel_size, const void **input, size_t input_step, \
            const void *weights, void *output, size_t output_stride, const tr_dwconv_qs8_params *params) {   \
    assert(KCONST == 0 || kernel_size == KCONST);                                                          \
    dwconv_q8_neon(channels, output_width, KCONST ? KCONST : kernel_size, input, input_step, weights,      \
                   output, output_stride, params, UNSIGNED);                                               \
  }

DEFINE(tr_dwconv_qs8_9p16c__neon, 9, 0)
DEFINE(tr_dwconv_qs8_25p16c__neon, 25, 0)
DEFINE(tr_dwconv_qs8_kp16c__neon, 0, 0)
DEFINE(tr_dwconv_qu8_kp16c__neon, 0, 1)
