/* float32 GEMM / IGEMM in portable C: the fallback, and the oracle of every SIMD twin with the
 * same MR x NR (same packed layout, gemm.h). Each tile of MR x NR accumulators is a
 * fixed-size local array, so the compiler keeps it in registers. */
#include "kernels/gemm/gemm.h"

/* Fixed array bounds (MR, NR are constants only after inlining; a variable bound would make the
 * tile a VLA in memory). */
enum { MAX_MR = 8, MAX_NR = 32 };

static inline __attribute__((always_inline)) void f32_tile(
    const size_t MR, const size_t NR, const int indirect, size_t mr, size_t nc, size_t kc, size_t ks,
    const float *a, size_t a_stride, const float **ind, size_t a_offset, const float *zero, const float *w,
    float *c, size_t c_stride, const tr_gemm_f32_params *params) {
  const float lo = params->min, hi = params->max;
  for (;;) {
    float acc[MAX_MR][MAX_NR];
    for (size_t r = 0; r < MR; r++) {
      for (size_t j = 0; j < NR; j++) acc[r][j] = w[j];
    }
    w += NR;
    for (size_t t = 0; t < ks; t++) {
      const float *ar[MAX_MR];
      for (size_t r = 0; r < MR; r++) {
        const size_t rr = r < mr ? r : mr - 1;
        if (indirect) {
          const float *p = ind[t * MR + rr];
          ar[r] = p == zero ? p : (const float *)((const char *)p + a_offset);
        } else {
          ar[r] = a + rr * a_stride;
        }
      }
      for (size_t k = 0; k < kc; k++) {
        for (size_t r = 0; r < MR; r++) {
          const float x = ar[r][k];
          for (size_t j = 0; j < NR; j++) acc[r][j] += x * w[j];
        }
        w += NR;
      }
    }
    const size_t n = nc < NR ? nc : NR;
    for (size_t r = 0; r < mr; r++)
      for (size_t j = 0; j < n; j++) {
        const float v = acc[r][j];
        c[r * c_stride + j] = v < lo ? lo : (v > hi ? hi : v);
      }
    if (nc <= NR) return;
    nc -= NR;
    c += NR;
  }
}

#define F32_SCALAR(MR, NR)                                                                                   \
  void tr_gemm_f32_##MR##x##NR##__scalar(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride,   \
                                          const float *w, float *c, size_t c_stride,                         \
                                          const tr_gemm_f32_params *params) {                                \
    f32_tile(MR, NR, 0, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);                        \
  }                                                                                                          \
  void tr_igemm_f32_##MR##x##NR##__scalar(size_t mr, size_t nc, size_t kc, size_t ks, const float **a,       \
                                           const float *w, float *c, size_t c_stride, size_t a_offset,       \
                                           const float *zero, const tr_gemm_f32_params *params) {            \
    f32_tile(MR, NR, 1, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params);                    \
  }

F32_SCALAR(4, 8)
F32_SCALAR(1, 8)
F32_SCALAR(6, 16)
F32_SCALAR(1, 16)
F32_SCALAR(7, 16)
F32_SCALAR(8, 16)
