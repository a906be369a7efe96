/* int8 GEMM / IGEMM for baseline aarch64 NEON (no dot product): 2x8c8 and 1x8c8 tiles.
 *
 * Layout: gemm.h with NR = 8, KR = 8, A read signed (a_xor = 0). Per row, 8 values of A
 * multiply each column's 8 packed weights into int16 (SMULL: |product| <= 2^14, exact), and
 * SADALP adds the pairs into that column's int32x4 accumulator: MR x 8 accumulators, reduced
 * by pairwise adds at the end. A kc tail (kc % 8) is read with a partial load; the packed
 * weights are zero there. Requantization (Q31 or double) is requant-neon.h's, bit for bit
 * with quant.h; then zero point and clamp. Rows r >= mr read and write row mr - 1; columns
 * past nc are not stored. */
#include <arm_neon.h>
#include <assert.h>

#include "kernels/gemm/gemm-qs8-neon.h"

#define NR 8
#define KR 8

static inline __attribute__((always_inline)) void mac8(const size_t MR, const int8x8_t *va, const int8_t *w,
                                                       int32x4_t (*acc)[NR]) {
  TR_GEMM_UNROLL(4)
  for (size_t q = 0; q < 4; q++) {
    const int8x16_t wq = vld1q_s8(w + 16 * q);
    TR_GEMM_UNROLL(4)
    for (size_t r = 0; r < MR; r++) {
      acc[r][2 * q] = vpadalq_s16(acc[r][2 * q], vmull_s8(va[r], vget_low_s8(wq)));
      acc[r][2 * q + 1] = vpadalq_s16(acc[r][2 * q + 1], vmull_s8(va[r], vget_high_s8(wq)));
    }
  }
}

static inline __attribute__((always_inline)) void qs8_neon(const size_t MR, const int indirect, const int dq,
                                                           size_t mr, size_t nc, size_t kc, size_t ks,
                                                           const int8_t *a, size_t a_stride, const int8_t **ind,
                                                           size_t a_offset, const int8_t *zero, const void *wv,
                                                           int8_t *c, size_t c_stride,
                                                           const tr_gemm_qs8_params *params) {
  assert(mr >= 1 && mr <= MR && nc >= 1 && kc >= 1 && ks >= 1);
  const int8_t *w = (const int8_t *)wv;
  int8_t *cr[MR];
  int32x4_t vrb[MR];
  TR_GEMM_UNROLL(4)
  for (size_t r = 0; r < MR; r++) {
    const size_t rr = r < mr ? r : mr - 1;
    cr[r] = c + rr * c_stride;
    vrb[r] = vdupq_n_s32(!indirect && params->row_bias ? params->row_bias[rr] : 0);
  }
  for (;;) {
    const int32_t *bias = (const int32_t *)(const void *)w;
    w += NR * sizeof(int32_t);
    int32x4_t acc[MR][NR];
    TR_GEMM_UNROLL(4)
    for (size_t r = 0; r < MR; r++) {
      TR_GEMM_UNROLL(8)
      for (size_t j = 0; j < NR; j++) acc[r][j] = vdupq_n_s32(0);
    }
    for (size_t t = 0; t < ks; t++) {
      const int8_t *ar[MR];
      TR_GEMM_UNROLL(4)
      for (size_t r = 0; r < MR; r++) {
        const size_t rr = r < mr ? r : mr - 1;
        if (indirect) {
          const int8_t *p = ind[t * MR + rr];
          ar[r] = p == zero ? p : (const int8_t *)((const char *)p + a_offset);
        } else {
          ar[r] = a + rr * a_stride;
        }
      }
      int8x8_t va[MR];
      size_t k = 0;
      for (; k + KR <= kc; k += KR) {
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) va[r] = vld1_s8(ar[r] + k);
        mac8(MR, va, w, acc);
        w += NR * KR;
      }
      if (k < kc) {
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) va[r] = tr_qs8_load_partial8(ar[r] + k, kc - k);
        mac8(MR, va, w, acc);
        w += NR * KR;
      }
    }
    const int32x4_t b0 = vld1q_s32(bias), b1 = vld1q_s32(bias + 4);
    const void *rq = w;
    const size_t n = nc < NR ? nc : NR;
    TR_GEMM_UNROLL(4)
    for (size_t r = 0; r < MR; r++) {
      int32x4_t s0 = vpaddq_s32(vpaddq_s32(acc[r][0], acc[r][1]), vpaddq_s32(acc[r][2], acc[r][3]));
      int32x4_t s1 = vpaddq_s32(vpaddq_s32(acc[r][4], acc[r][5]), vpaddq_s32(acc[r][6], acc[r][7]));
      s0 = vaddq_s32(vaddq_s32(s0, b0), vrb[r]);
      s1 = vaddq_s32(vaddq_s32(s1, b1), vrb[r]);
      const int8x8_t o = tr_qs8_finish8(tr_qs8_requant4(s0, rq, NR, 0, dq), tr_qs8_requant4(s1, rq, NR, 4, dq), params);
      tr_qs8_store(cr[r], vcombine_s8(o, o), n);
      cr[r] += NR;
    }
    w += tr_qs8_rq_bytes(NR, dq);
    if (nc <= NR) return;
    nc -= NR;
  }
}

#define QS8_NEON(MR)                                                                                              \
  void tr_gemm_qs8_##MR##x8c8__neon(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,            \
                                    const void *w, int8_t *c, size_t c_stride, const tr_gemm_qs8_params *params) { \
    qs8_neon(MR, 0, 0, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);                              \
  }                                                                                                               \
  void tr_gemm_qs8_dq_##MR##x8c8__neon(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,         \
                                       const void *w, int8_t *c, size_t c_stride,                                 \
                                       const tr_gemm_qs8_params *params) {                                        \
    qs8_neon(MR, 0, 1, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);                              \
  }                                                                                                               \
  void tr_igemm_qs8_##MR##x8c8__neon(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a, const void *w, \
                                     int8_t *c, size_t c_stride, size_t a_offset, const int8_t *zero,             \
                                     const tr_gemm_qs8_params *params) {                                          \
    qs8_neon(MR, 1, 0, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params);                          \
  }

QS8_NEON(2)
QS8_NEON(1)
