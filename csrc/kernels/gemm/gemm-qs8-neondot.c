/* int8 GEMM / IGEMM for aarch64 with the dot-product extension (SDOT): 4x16c4 and 1x16c4.
 *
 * Layout: gemm.h with NR = 16, KR = 4, A read signed (a_xor = 0). Each 16-byte row of packed
 * weights holds 4 columns x 4 consecutive k, exactly SDOT's operand: one SDOT (by lane of a
 * 16-byte load of A) adds 4 products into each of 4 columns. Accumulators: MR x 4 vectors in
 * column order, started at the bias, so no reduction is needed. K runs 16 at a time, then 4,
 * then a partial tail (kc % 4) whose packed weights are zero. Requantization is
 * requant-neon.h's, bit for bit with quant.h. Rows r >= mr read and write row mr - 1; columns
 * past nc are not stored. */
#include <arm_neon.h>
#include <assert.h>

#include "kernels/gemm/gemm-qs8-neon.h"

#define NR 16
#define KR 4

static inline __attribute__((always_inline)) void qs8_dot(const size_t MR, const int indirect, const int dq,
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
    int32x4_t acc[MR][4];
    {
      const int32_t *bias = (const int32_t *)(const void *)w;
      TR_GEMM_UNROLL(4)
      for (size_t q = 0; q < 4; q++) {
        const int32x4_t b = vld1q_s32(bias + 4 * q);
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) acc[r][q] = vaddq_s32(b, vrb[r]);
      }
      w += NR * sizeof(int32_t);
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
      size_t k = 0;
      for (; k + 16 <= kc; k += 16) {
        int8x16_t va[MR];
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) va[r] = vld1q_s8(ar[r] + k);
#define DOT_GROUP(g)                                                                              \
  {                                                                                               \
    const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), w2 = vld1q_s8(w + 32),               \
                    w3 = vld1q_s8(w + 48);                                                        \
    w += NR * KR;                                                                                 \
    TR_GEMM_UNROLL(4)                                                                             \
    for (size_t r = 0; r < MR; r++) {                                                             \
      acc[r][0] = vdotq_laneq_s32(acc[r][0], w0, va[r], g);                                       \
      acc[r][1] = vdotq_laneq_s32(acc[r][1], w1, va[r], g);                                       \
      acc[r][2] = vdotq_laneq_s32(acc[r][2], w2, va[r], g);                                       \
      acc[r][3] = vdotq_laneq_s32(acc[r][3], w3, va[r], g);                                       \
    }                                                                                             \
  }
        DOT_GROUP(0)
        DOT_GROUP(1)
        DOT_GROUP(2)
        DOT_GROUP(3)
      }
      for (; k < kc; k += KR) {
        int8x16_t va[MR];
        TR_GEMM_UNROLL(4)
        for (size_t r = 0; r < MR; r++) {
          int32x4_t v;
          if (k + KR <= kc) {
            int32_t x;
            memcpy(&x, ar[r] + k, sizeof x);
            v = vdupq_n_s32(x);
          } else {
            v = tr_qs8_load_partial4(ar[r] + k, kc - k);
          }
          va[r] = vreinterpretq_s8_s32(v);
        }
        DOT_GROUP(0)
      }
#undef DOT_GROUP
    }
    const void *rq = w;
    const size_t n = nc < NR ? nc : NR;
    TR_GEMM_UNROLL(4)
    for (size_t r = 0; r < MR; r++) {
      const int8x8_t lo = tr_qs8_finish8(tr_qs8_requant4(acc[r][0], rq, NR, 0, dq),
                                         tr_qs8_requant4(acc[r][1], rq, NR, 4, dq), params);
      const int8x8_t hi = tr_qs8_finish8(tr_qs8_requant4(acc[r][2], rq, NR, 8, dq),
                                         tr_qs8_requant4(acc[r][3], rq, NR, 12, dq), params);
      tr_qs8_store(cr[r], vcombine_s8(lo, hi), n);
      cr[r] += NR;
    }
    w += tr_qs8_rq_bytes(NR, dq);
    if (nc <= NR) return;
    nc -= NR;
  }
}

#define QS8_DOT(MR)                                                                                               \
  void tr_gemm_qs8_##MR##x16c4__neondot(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,        \
                                        const void *w, int8_t *c, size_t c_stride,                                \
                                        const tr_gemm_qs8_params *params) {                                       \
    qs8_dot(MR, 0, 0, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);                               \
  }                                                                                                               \
  void tr_gemm_qs8_dq_##MR##x16c4__neondot(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,     \
                                           const void *w, int8_t *c, size_t c_stride,                             \
                                           const tr_gemm_qs8_params *params) {                                    \
    qs8_dot(MR, 0, 1, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);                               \
  }                                                                                                               \
  void tr_igemm_qs8_##MR##x16c4__neondot(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a,            \
                                         const void *w, int8_t *c, size_t c_stride, size_t a_offset,              \
                                         const int8_t *zero, const tr_gemm_qs8_params *params) {                  \
    qs8_dot(MR, 1, 0, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params);                           \
  }

QS8_DOT(4)
QS8_DOT(1)
