/* Helpers shared by the aarch64 int8 GEMM kernels (gemm-qs8-neon.c, -neondot.c, -i8mm.c):
 * partial loads of A (kc tails: A is never read past kc), the requantization of a row of
 * accumulators and partial stores. Include from aarch64 kernel files only. */
#ifndef TFLITE_RT_KERNELS_GEMM_QS8_NEON_H
#define TFLITE_RT_KERNELS_GEMM_QS8_NEON_H

#include <arm_neon.h>
#include <string.h>

#include "kernels/gemm/gemm.h"
#include "kernels/requant/requant-neon.h"

/* The first n (< 8) bytes of p, zeros after. */
static inline int8x8_t tr_qs8_load_partial8(const int8_t *p, size_t n) {
  uint64_t v = 0;
  memcpy(&v, p, n);
  return vcreate_s8(v);
}

/* The first n (< 4) bytes of p as lane 0 of an int32x4 (the other lanes zero). */
static inline int32x4_t tr_qs8_load_partial4(const int8_t *p, size_t n) {
  uint32_t v = 0;
  memcpy(&v, p, n);
  return vsetq_lane_s32((int32_t)v, vdupq_n_s32(0), 0);
}

/* Stores the first n (1..16) bytes of v. */
static inline __attribute__((always_inline)) void tr_qs8_store(int8_t *c, int8x16_t v, size_t n) {
  if (n >= 16) {
    vst1q_s8(c, v);
    return;
  }
  int8x8_t h = vget_low_s8(v);
  if (n & 8) {
    vst1_s8(c, h);
    h = vget_high_s8(v);
    c += 8;
  }
  if (n & 4) {
    vst1_lane_s32((int32_t *)(void *)c, vreinterpret_s32_s8(h), 0);
    h = vext_s8(h, h, 4);
    c += 4;
  }
  if (n & 2) {
    vst1_lane_s16((int16_t *)(void *)c, vreinterpret_s16_s8(h), 0);
    h = vext_s8(h, h, 2);
    c += 2;
  }
  if (n & 1) vst1_lane_s8(c, h, 0);
}

/* Requantizes 4 accumulators of columns j..j+3 with the block's requantization `rq` (after
 * the packed weights: Q31 multiplier[NR], left_shift[NR], right_shift[NR], rounding_mask[NR],
 * or double scale[NR]). */
static inline __attribute__((always_inline)) int32x4_t tr_qs8_requant4(int32x4_t x, const void *rq, size_t NR,
                                                                      size_t j, int dq) {
  if (dq) {
    const double *s = (const double *)rq + j;
    return tr_requant_double_neon(x, vld1q_f64(s), vld1q_f64(s + 2));
  }
  const int32_t *q = (const int32_t *)rq + j;
  return tr_requant_q31_neon(x, vld1q_s32(q), vld1q_s32(q + NR), vnegq_s32(vld1q_s32(q + 2 * NR)));
}

/* 8 requantized lanes -> 8 int8 outputs (zero point, clamp). */
static inline __attribute__((always_inline)) int8x8_t tr_qs8_finish8(int32x4_t a, int32x4_t b,
                                                                     const tr_gemm_qs8_params *p) {
  const int16x8_t v = tr_requant_finish_s16(a, b, vdupq_n_s16((int16_t)p->output_zero_point),
                                            vdupq_n_s16((int16_t)p->output_min), vdupq_n_s16((int16_t)p->output_max));
  return vqmovn_s16(v);
}

/* Bytes after the packed weights of a block: the requantization. */
static inline size_t tr_qs8_rq_bytes(size_t NR, int dq) { return dq ? NR * sizeof(double) : 4 * NR * sizeof(int32_t); }

#endif
