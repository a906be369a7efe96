/* int8 GEMM / IGEMM for aarch64 with the int8 matrix-multiply extension (SMMLA): 4x16c8 and
 * 1x16c8, the layout of the scalar 4x16c8 twin.
 *
 * Layout: gemm.h with NR = 16, KR = 8, A read signed (a_xor = 0). Each 16-byte row of packed
 * weights holds 2 columns x 8 consecutive k; SMMLA multiplies it by two rows of A (8 bytes
 * each, side by side) into a 2x2 block of int32: [r0 c0, r0 c1, r1 c0, r1 c1]. Accumulators:
 * (MR + 1) / 2 row pairs x 8 column pairs; ZIP1/ZIP2 on 64-bit halves put them back in row
 * order at the end (a 1-row tile pairs row 0 with itself). K runs 8 at a time, the tail
 * (kc % 8) through a partial load; the packed weights are zero there. Requantization is
 * requant-neon.h's, bit for bit with quant.h. Rows r >= mr read and write row mr - 1; columns
 * past nc are not stored. */
#include <arm_neon.h>
#include <assert.h>

#include "kernels/gemm/gemm-qs8-neon.h"

#define NR 16
#define KR 8

static inline __attribute__((always_inline)) void mmla8(const size_t MP, const int8x16_t *va, const int8_t *w,
                                                        int32x4_t (*acc)[8]) {
  TR_GEMM_UNROLL(8)
  for (size_t q = 0; q < 8; q++) {
    const int8x16_t wq = vld1q_s8(w + 16 * q);
    TR_GEMM_UNROLL(2)
    for (size_t p = 0; p < MP; p++) acc[p][q] = vmmlaq_s32(acc[p][q], va[p], wq);
  }
}

static inline __attribute__((always_inline)) void qs8_mmla(const size_t MR, const int indirect, const int dq,
                                                           size_t mr, size_t nc, size_t kc, size_t ks,
                                                           const int8_t *a, size_t a_stride, const int8_t **ind,
                                                           size_t a_offset, const int8_t *zero, const void *wv,
                                                           int8_t *c, size_t c_stride,
                                                           const tr_gemm_qs8_params *params) {
  assert(mr >= 1 && mr <= MR && nc >= 1 && kc >= 1 && ks >= 1);
  const size_t MP = (MR + 1) / 2, RA = 2 * MP; /* row pairs; rows read (row MR pairs with MR - 1) */
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
    int32x4_t acc[MP][8];
    TR_GEMM_UNROLL(2)
    for (size_t p = 0; p < MP; p++) {
      TR_GEMM_UNROLL(8)
      for (size_t q = 0; q < 8; q++) acc[p][q] = vdupq_n_s32(0);
    }
    for (size_t t = 0; t < ks; t++) {
      const int8_t *ar[RA];
      TR_GEMM_UNROLL(4)
      for (size_t r = 0; r < RA; r++) {
        const size_t rr = r < mr ? r : mr - 1;
        if (indirect) {
          const int8_t *p = ind[t * MR + rr];
          ar[r] = p == zero ? p : (const int8_t *)((const char *)p + a_offset);
        } else {
          ar[r] = a + rr * a_stride;
        }
      }
      int8x16_t va[MP];
      size_t k = 0;
      for (; k + KR <= kc; k += KR) {
        TR_GEMM_UNROLL(2)
        for (size_t p = 0; p < MP; p++) va[p] = vcombine_s8(vld1_s8(ar[2 * p] + k), vld1_s8(ar[2 * p + 1] + k));
        mmla8(MP, va, w, acc);
        w += NR * KR;
      }
      if (k < kc) {
        TR_GEMM_UNROLL(2)
        for (size_t p = 0; p < MP; p++)
          va[p] = vcombine_s8(tr_qs8_load_partial8(ar[2 * p] + k, kc - k),
                              tr_qs8_load_partial8(ar[2 * p + 1] + k, kc - k));
        mmla8(MP, va, w, acc);
        w += NR * KR;
      }
    }
    const int32x4_t b0 = vld1q_s32(bias), b1 = vld1q_s32(bias + 4), b2 = vld1q_s32(bias + 8),
                    b3 = vld1q_s32(bias + 12);
    const void *rq = w;
    const size_t n = nc < NR ? nc : NR;
    TR_GEMM_UNROLL(4)
    for (size_t r = 0; r < MR; r++) {
      const size_t p = r / 2;
      int32x4_t s[4];
      TR_GEMM_UNROLL(4)
      for (size_t i = 0; i < 4; i++) {
        const int64x2_t x = vreinterpretq_s64_s32(acc[p][2 * i]), y = vreinterpretq_s64_s32(acc[p][2 * i + 1]);
        s[i] = vreinterpretq_s32_s64(r % 2 == 0 ? vzip1q_s64(x, y) : vzip2q_s64(x, y));
      }
      s[0] = vaddq_s32(vaddq_s32(s[0], b0), vrb[r]);
      s[1] = vaddq_s32(vaddq_s32(s[1], b1), vrb[r]);
      s[2] = vaddq_s32(vaddq_s32(s[2], b2), vrb[r]);
      s[3] = vaddq_s32(vaddq_s32(s[3], b3), vrb[r]);
      const int8x8_t lo = tr_qs8_finish8(tr_qs8_requant4(s[0], rq, NR, 0, dq), tr_qs8_requant4(s[1], rq, NR, 4, dq),
                                         params);
      const int8x8_t hi = tr_qs8_finish8(tr_qs8_requant4(s[2], rq, NR, 8, dq),
                                         tr_qs8_requant4(s[3], rq, NR, 12, dq), params);
      tr_qs8_store(cr[r], vcombine_s8(lo, hi), n);
      cr[r] += NR;
    }
    w += tr_qs8_rq_bytes(NR, dq);
    if (nc <= NR) return;
    nc -= NR;
  }
}

#define QS8_MMLA(MR)                                                                                              \
  void tr_gemm_qs8_##MR##x16c8__i8mm(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,           \
                                     const void *w, int8_t *c, size_t c_stride, const tr_gemm_qs8_params *params) { \
    qs8_mmla(MR, 0, 0, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);                              \
  }                                                                                                               \
  void tr_gemm_qs8_dq_##MR##x16c8__i8mm(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,        \
                                        const void *w, int8_t *c, size_t c_stride,                                \
                                        const tr_gemm_qs8_params *params) {                                       \
    qs8_mmla(MR, 0, 1, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);                              \
  }                                                                                                               \
  void tr_igemm_qs8_##MR##x16c8__i8mm(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a,               \
                                      const void *w, int8_t *c, size_t c_stride, size_t a_offset,                 \
                                      const int8_t *zero, const tr_gemm_qs8_params *params) {                     \
    qs8_mmla(MR, 1, 0, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params);                          \
  }

QS8_MMLA(4)
QS8_MMLA(1)
