/* int8 GEMM / IGEMM in portable C: the fallback, and the oracle of every SIMD twin with the same
 * MR x NR cKR layout (gemm.h). Layouts with KR = 4 are the twins of kernels that read A as
 * unsigned bytes (a ^ 0x80, weights packed with a_xor = 128); the others read A signed. The
 * requantization is quant.h's, called directly. */
#include <math.h>
#include <string.h>

#include "kernels/gemm/gemm.h"

/* Fixed array bounds (MR, NR are constants only after inlining; a variable bound would make the
 * tile a VLA in memory). */
enum { MAX_MR = 8, MAX_NR = 32 };
#include "model/quant.h"

static inline int32_t requant_double(int32_t acc, double scale) {
  /* TFLite's reference fully connected: round(acc * scale), saturated to int32 */
  double v = round((double)acc * scale);
  if (v > 2147483647.0) v = 2147483647.0;
  if (v < -2147483648.0) v = -2147483648.0;
  return (int32_t)v;
}

static inline __attribute__((always_inline)) void qs8_tile(
    const size_t MR, const size_t NR, const size_t KR, const int a_xor, const int indirect,
    const tr_gemm_qs8_requant rq, size_t mr, size_t nc, size_t kc, size_t ks, const int8_t *a, size_t a_stride,
    const int8_t **ind, size_t a_offset, const int8_t *zero, const void *wv, int8_t *c, size_t c_stride,
    const tr_gemm_qs8_params *params) {
  const uint8_t *w = (const uint8_t *)wv;
  const size_t kcp = (kc + KR - 1) / KR * KR;
  for (;;) {
    int32_t acc[MAX_MR][MAX_NR];
    int32_t bias[MAX_NR];
    memcpy(bias, w, NR * sizeof(int32_t));
    w += NR * sizeof(int32_t);
    for (size_t r = 0; r < MR; r++) {
      for (size_t j = 0; j < NR; j++) acc[r][j] = bias[j];
    }
    for (size_t t = 0; t < ks; t++) {
      const int8_t *ar[MAX_MR];
      for (size_t r = 0; r < MR; r++) {
        const size_t rr = r < mr ? r : mr - 1;
        if (indirect) {
          const int8_t *p = ind[t * MR + rr];
          ar[r] = p == zero ? p : (const int8_t *)((const char *)p + a_offset);
        } else {
          ar[r] = a + rr * a_stride;
        }
      }
      const int8_t *wk = (const int8_t *)w;
      for (size_t k0 = 0; k0 < kcp; k0 += KR) {
        const size_t kn = kc - k0 < KR ? kc - k0 : KR;
        for (size_t i = 0; i < kn; i++) {
          for (size_t r = 0; r < MR; r++) {
            const int32_t x = a_xor ? (int32_t)(uint8_t)(ar[r][k0 + i] ^ 0x80) : (int32_t)ar[r][k0 + i];
            for (size_t j = 0; j < NR; j++) acc[r][j] += x * (int32_t)wk[j * KR + i];
          }
        }
        wk += NR * KR;
      }
      w += kcp * NR;
    }
    int32_t out[MAX_NR];
    const size_t n = nc < NR ? nc : NR;
    for (size_t r = 0; r < mr; r++) {
      const int32_t rb = params->row_bias ? params->row_bias[r] : 0;
      for (size_t j = 0; j < n; j++) {
        const int32_t x = (int32_t)((uint32_t)acc[r][j] + (uint32_t)rb);
        if (rq == TR_GEMM_REQUANT_DOUBLE) {
          double scale;
          memcpy(&scale, w + j * sizeof(double), sizeof(double));
          out[j] = requant_double(x, scale);
        } else {
          int32_t m, left, right;
          memcpy(&m, w + j * 4, 4);
          memcpy(&left, w + (NR + j) * 4, 4);
          memcpy(&right, w + (2 * NR + j) * 4, 4);
          out[j] = tr_multiply_by_quantized_multiplier(x, m, left > 0 ? left : -right);
        }
        out[j] = tr_clamp_i32(out[j] + params->output_zero_point, params->output_min, params->output_max);
        c[r * c_stride + j] = (int8_t)out[j];
      }
    }
    w += rq == TR_GEMM_REQUANT_DOUBLE ? NR * sizeof(double) : 4 * NR * sizeof(int32_t);
    if (nc <= NR) return;
    nc -= NR;
    c += NR;
  }
}

#define QS8_SCALAR(MR, NR, KR, XOR)                                                                          \
  void tr_gemm_qs8_##MR##x##NR##c##KR##__scalar(size_t mr, size_t nc, size_t kc, const int8_t *a,            \
                                                 size_t a_stride, const void *w, int8_t *c, size_t c_stride, \
                                                 const tr_gemm_qs8_params *params) {                         \
    qs8_tile(MR, NR, KR, XOR, 0, TR_GEMM_REQUANT_Q31, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride,    \
             params);                                                                                        \
  }                                                                                                          \
  void tr_gemm_qs8_dq_##MR##x##NR##c##KR##__scalar(size_t mr, size_t nc, size_t kc, const int8_t *a,         \
                                                    size_t a_stride, const void *w, int8_t *c,               \
                                                    size_t c_stride, const tr_gemm_qs8_params *params) {     \
    qs8_tile(MR, NR, KR, XOR, 0, TR_GEMM_REQUANT_DOUBLE, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, \
             params);                                                                                        \
  }                                                                                                          \
  void tr_igemm_qs8_##MR##x##NR##c##KR##__scalar(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a, \
                                                  const void *w, int8_t *c, size_t c_stride, size_t a_offset, \
                                                  const int8_t *zero, const tr_gemm_qs8_params *params) {      \
    tr_gemm_qs8_params p = *params;                                                                          \
    p.row_bias = 0;                                                                                          \
    qs8_tile(MR, NR, KR, XOR, 1, TR_GEMM_REQUANT_Q31, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, \
             &p);                                                                                            \
  }

QS8_SCALAR(4, 8, 1, 0)
QS8_SCALAR(1, 8, 1, 0)
QS8_SCALAR(3, 8, 8, 0)
QS8_SCALAR(1, 8, 8, 0)
QS8_SCALAR(4, 16, 8, 0)
QS8_SCALAR(1, 16, 8, 0)
QS8_SCALAR(7, 32, 4, 1)
QS8_SCALAR(1, 32, 4, 1)
QS8_SCALAR(7, 16, 4, 1)
QS8_SCALAR(1, 16, 4, 1)
