/* float32 GEMM / IGEMM for aarch64 NEON: 6x8 and 1x8 tiles (layout in gemm.h, NR = 8).
 *
 * Preconditions: 1 <= mr <= MR, nc >= 1, kc >= 1, ks >= 1. Rows r >= mr read and write row
 * mr - 1. Accumulators: MR x 2 vectors (12 of the 32 registers for 6x8). K runs four at a time
 * (a 128-bit load per row of A, then FMLA by lane against four rows of packed weights), then one
 * at a time; A is never read past kc. Columns past nc are not stored (8, 4, 2, 1-lane stores).
 * The activation clamp is fused. Fused multiply-add: results differ from the scalar kernels by
 * rounding only (float tolerance). */
#include <arm_neon.h>
#include <assert.h>

#include "kernels/gemm/gemm.h"

#define NR 8

static inline __attribute__((always_inline)) void store_row(float *c, float32x4_t v0, float32x4_t v1, size_t n) {
  if (n >= 8) {
    vst1q_f32(c, v0);
    vst1q_f32(c + 4, v1);
    return;
  }
  if (n & 4) {
    vst1q_f32(c, v0);
    v0 = v1;
    c += 4;
  }
  if (n & 2) {
    vst1_f32(c, vget_low_f32(v0));
    v0 = vextq_f32(v0, v0, 2);
    c += 2;
  }
  if (n & 1) vst1q_lane_f32(c, v0, 0);
}

/* acc[r] += A rows (kc values each) x the next kc rows of packed weights; returns the weights
 * that follow. */
static inline __attribute__((always_inline)) const float *kloop(const size_t MR, size_t kc, const float **ar,
                                                                const float *w, float32x4_t (*acc)[2]) {
  size_t k = kc;
  for (; k >= 4; k -= 4) {
    float32x4_t va[MR];
    TR_GEMM_UNROLL(8)
    for (size_t r = 0; r < MR; r++) {
      va[r] = vld1q_f32(ar[r]);
      ar[r] += 4;
    }
    const float32x4_t w00 = vld1q_f32(w), w01 = vld1q_f32(w + 4), w10 = vld1q_f32(w + 8), w11 = vld1q_f32(w + 12);
    const float32x4_t w20 = vld1q_f32(w + 16), w21 = vld1q_f32(w + 20), w30 = vld1q_f32(w + 24),
                      w31 = vld1q_f32(w + 28);
    w += 4 * NR;
    TR_GEMM_UNROLL(8)
    for (size_t r = 0; r < MR; r++) {
      acc[r][0] = vfmaq_laneq_f32(acc[r][0], w00, va[r], 0);
      acc[r][1] = vfmaq_laneq_f32(acc[r][1], w01, va[r], 0);
      acc[r][0] = vfmaq_laneq_f32(acc[r][0], w10, va[r], 1);
      acc[r][1] = vfmaq_laneq_f32(acc[r][1], w11, va[r], 1);
      acc[r][0] = vfmaq_laneq_f32(acc[r][0], w20, va[r], 2);
      acc[r][1] = vfmaq_laneq_f32(acc[r][1], w21, va[r], 2);
      acc[r][0] = vfmaq_laneq_f32(acc[r][0], w30, va[r], 3);
      acc[r][1] = vfmaq_laneq_f32(acc[r][1], w31, va[r], 3);
    }
  }
  for (; k != 0; k--) {
    const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4);
    w += NR;
    TR_GEMM_UNROLL(8)
    for (size_t r = 0; r < MR; r++) {
      const float32x4_t x = vld1q_dup_f32(ar[r]);
      ar[r] += 1;
      acc[r][0] = vfmaq_f32(acc[r][0], x, w0);
      acc[r][1] = vfmaq_f32(acc[r][1], x, w1);
    }
  }
  return w;
}

static inline __attribute__((always_inline)) void f32_neon(const size_t MR, const int indirect, size_t mr, size_t nc,
                                                           size_t kc, size_t ks, const float *a, size_t a_stride,
                                                           const float **ind, size_t a_offset, const float *zero,
                                                           const float *w, float *c, size_t c_stride,
                                                           const tr_gemm_f32_params *params) {
  assert(mr >= 1 && mr <= MR && nc >= 1 && kc >= 1 && ks >= 1);
  const float32x4_t vmin = vdupq_n_f32(params->min), vmax = vdupq_n_f32(params->max);
  float *cr[MR];
  TR_GEMM_UNROLL(8)
  for (size_t r = 0; r < MR; r++) cr[r] = c + (r < mr ? r : mr - 1) * c_stride;
  for (;;) {
    float32x4_t acc[MR][2];
    const float32x4_t b0 = vld1q_f32(w), b1 = vld1q_f32(w + 4);
    w += NR;
    TR_GEMM_UNROLL(8)
    for (size_t r = 0; r < MR; r++) {
      acc[r][0] = b0;
      acc[r][1] = b1;
    }
    for (size_t t = 0; t < ks; t++) {
      const float *ar[MR];
      TR_GEMM_UNROLL(8)
      for (size_t r = 0; r < MR; r++) {
        const size_t rr = r < mr ? r : mr - 1;
        if (indirect) {
          const float *p = ind[t * MR + rr];
          ar[r] = p == zero ? p : (const float *)((const char *)p + a_offset);
        } else {
          ar[r] = a + rr * a_stride;
        }
      }
      w = kloop(MR, kc, ar, w, acc);
    }
    const size_t n = nc < NR ? nc : NR;
    /* rows past mr alias row mr - 1 and hold its values */
    TR_GEMM_UNROLL(8)
    for (size_t r = 0; r < MR; r++) {
      const float32x4_t v0 = vminq_f32(vmaxq_f32(acc[r][0], vmin), vmax);
      const float32x4_t v1 = vminq_f32(vmaxq_f32(acc[r][1], vmin), vmax);
      store_row(cr[r], v0, v1, n);
      cr[r] += NR;
    }
    if (nc <= NR) return;
    nc -= NR;
  }
}

#define F32_NEON(MR)                                                                                          \
  void tr_gemm_f32_##MR##x8__neon(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride,           \
                                  const float *w, float *c, size_t c_stride, const tr_gemm_f32_params *params) { \
    f32_neon(MR, 0, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);                             \
  }                                                                                                           \
  void tr_igemm_f32_##MR##x8__neon(size_t mr, size_t nc, size_t kc, size_t ks, const float **a, const float *w, \
                                   float *c, size_t c_stride, size_t a_offset, const float *zero,              \
                                   const tr_gemm_f32_params *params) {                                         \
    f32_neon(MR, 1, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params);                          \
  }

F32_NEON(6)
F32_NEON(1)
