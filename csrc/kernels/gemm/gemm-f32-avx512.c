/* float32 GEMM / IGEMM, AVX-512F: MR rows x NV vectors of 16 columns of accumulators (7x16:
 * seven zmm, one FMA per row and k step, the A value broadcast from memory into it; measured
 * on Zen 4 at least as fast as 7x32 for every k, and it pads fewer columns). MobileNet's and
 * ResNet's pixel counts are multiples of 7; 8x16 serves row counts that are multiples of 8
 * (sequence lengths: 128 rows are 19 tiles of 7, 5 rows wasted, or 16 of 8). A one-row variant for matrix-vector products keeps
 * four k steps in flight instead (it is bound by streaming the packed weights, not by FMAs).
 *
 * Preconditions (gemm.h): mr in [1, MR], nc >= 1, kc >= 1, ks >= 1; weights packed for NR = 16 NV. */
#include <immintrin.h>

#include "kernels/gemm/gemm.h"

enum { MAX_MR = 8, MAX_NV = 2 }; /* array bounds: MR, NV are constants only after inlining (no VLA) */

static inline __mmask16 tail_mask(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

static inline __attribute__((always_inline)) void f32_tile(
    const size_t MR, const size_t NV, const int indirect, size_t mr, size_t nc, size_t kc, size_t ks, const float *a,
    size_t a_stride, const float **ind, size_t a_offset, const float *zero, const float *w, float *c,
    size_t c_stride, const tr_gemm_f32_params *params) {
  const size_t NR = 16 * NV;
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  float *cr[MAX_MR];
  const float *ar[MAX_MR];
  TR_GEMM_UNROLL(8)
  for (size_t r = 0; r < MR; r++) {
    const size_t rr = r < mr ? r : mr - 1;
    cr[r] = c + rr * c_stride;
    if (!indirect) ar[r] = a + rr * a_stride;
  }
  for (;;) {
    __m512 acc[MAX_MR][MAX_NV];
    TR_GEMM_UNROLL(2)
    for (size_t v = 0; v < NV; v++) acc[0][v] = _mm512_loadu_ps(w + 16 * v);
    TR_GEMM_UNROLL(8)
    for (size_t r = 1; r < MR; r++) {
      TR_GEMM_UNROLL(2)
      for (size_t v = 0; v < NV; v++) acc[r][v] = acc[0][v];
    }
    w += NR;
    const float **ip = ind;
    size_t t = ks;
    do {
      if (indirect) {
        TR_GEMM_UNROLL(8)
        for (size_t r = 0; r < MR; r++) {
          const float *p = ip[r];
          ar[r] = p == zero ? p : (const float *)((const char *)p + a_offset);
        }
        ip += MR;
      }
      size_t k = 0;
      do { /* kc >= 1: no zero-trip path (which made GCC keep a copy of the tile in memory) */
        const __m512 w0 = _mm512_loadu_ps(w), w1 = NV > 1 ? _mm512_loadu_ps(w + 16) : w0;
        w += NR;
        TR_GEMM_UNROLL(8)
        for (size_t r = 0; r < MR; r++) {
          const __m512 x = _mm512_set1_ps(ar[r][k]);
          acc[r][0] = _mm512_fmadd_ps(x, w0, acc[r][0]);
          if (NV > 1) acc[r][1] = _mm512_fmadd_ps(x, w1, acc[r][1]);
        }
      } while (++k < kc);
    } while (--t != 0);
    if (nc >= NR) {
      TR_GEMM_UNROLL(8)
      for (size_t r = MR; r-- > 0;) {
        TR_GEMM_UNROLL(2)
        for (size_t v = 0; v < NV; v++)
          _mm512_storeu_ps(cr[r] + 16 * v, _mm512_min_ps(_mm512_max_ps(acc[r][v], vmin), vmax));
        cr[r] += NR;
      }
    } else {
      const __mmask16 m0 = tail_mask(nc), m1 = tail_mask(nc > 16 ? nc - 16 : 0);
      TR_GEMM_UNROLL(8)
      for (size_t r = MR; r-- > 0;) {
        _mm512_mask_storeu_ps(cr[r], m0, _mm512_min_ps(_mm512_max_ps(acc[r][0], vmin), vmax));
        if (NV > 1) _mm512_mask_storeu_ps(cr[r] + 16, m1, _mm512_min_ps(_mm512_max_ps(acc[r][1], vmin), vmax));
      }
    }
    if (nc <= NR) return;
    nc -= NR;
  }
}

/* One row: four k steps in flight (4 x NV independent accumulators), summed at the end. */
static inline __attribute__((always_inline)) void f32_row(const size_t NV, const int indirect, size_t nc, size_t kc,
                                                          size_t ks, const float *a, const float **ind,
                                                          size_t a_offset, const float *zero, const float *w,
                                                          float *c, const tr_gemm_f32_params *params) {
  const size_t NR = 16 * NV;
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  for (;;) {
    __m512 acc[4][MAX_NV];
    TR_GEMM_UNROLL(2)
    for (size_t v = 0; v < NV; v++) {
      acc[0][v] = _mm512_loadu_ps(w + 16 * v);
      acc[1][v] = acc[2][v] = acc[3][v] = _mm512_setzero_ps();
    }
    w += NR;
    for (size_t t = 0; t < ks; t++) {
      const float *x = a;
      if (indirect) x = ind[t] == zero ? zero : (const float *)((const char *)ind[t] + a_offset);
      size_t k = 0;
      for (; k + 4 <= kc; k += 4) {
        TR_GEMM_UNROLL(4)
        for (size_t u = 0; u < 4; u++) {
          const __m512 xu = _mm512_set1_ps(x[k + u]);
          TR_GEMM_UNROLL(2)
          for (size_t v = 0; v < NV; v++)
            acc[u][v] = _mm512_fmadd_ps(xu, _mm512_loadu_ps(w + u * NR + 16 * v), acc[u][v]);
        }
        w += 4 * NR;
      }
      for (; k < kc; k++) {
        const __m512 x0 = _mm512_set1_ps(x[k]);
        TR_GEMM_UNROLL(2)
        for (size_t v = 0; v < NV; v++) acc[0][v] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w + 16 * v), acc[0][v]);
        w += NR;
      }
    }
    TR_GEMM_UNROLL(2)
    for (size_t v = 0; v < NV; v++) {
      __m512 y = _mm512_add_ps(_mm512_add_ps(acc[0][v], acc[1][v]), _mm512_add_ps(acc[2][v], acc[3][v]));
      y = _mm512_min_ps(_mm512_max_ps(y, vmin), vmax);
      if (nc >= NR) _mm512_storeu_ps(c + 16 * v, y);
      else _mm512_mask_storeu_ps(c + 16 * v, tail_mask(nc > 16 * v ? nc - 16 * v : 0), y);
    }
    if (nc <= NR) return;
    c += NR;
    nc -= NR;
  }
}

#define F32_AVX512(MR, NV, NR)                                                                                  \
  void tr_gemm_f32_##MR##x##NR##__avx512(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride,        \
                                         const float *w, float *c, size_t c_stride,                              \
                                         const tr_gemm_f32_params *params) {                                     \
    f32_tile(MR, NV, 0, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);                             \
  }                                                                                                               \
  void tr_igemm_f32_##MR##x##NR##__avx512(size_t mr, size_t nc, size_t kc, size_t ks, const float **a,            \
                                          const float *w, float *c, size_t c_stride, size_t a_offset,            \
                                          const float *zero, const tr_gemm_f32_params *params) {                 \
    f32_tile(MR, NV, 1, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params);                         \
  }

#define F32_AVX512_ROW(NV, NR)                                                                                  \
  void tr_gemm_f32_1x##NR##__avx512(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride,             \
                                    const float *w, float *c, size_t c_stride, const tr_gemm_f32_params *params) { \
    (void)mr, (void)a_stride, (void)c_stride;                                                                     \
    f32_row(NV, 0, nc, kc, 1, a, 0, 0, 0, w, c, params);                                                          \
  }                                                                                                               \
  void tr_igemm_f32_1x##NR##__avx512(size_t mr, size_t nc, size_t kc, size_t ks, const float **a, const float *w,  \
                                     float *c, size_t c_stride, size_t a_offset, const float *zero,              \
                                     const tr_gemm_f32_params *params) {                                          \
    (void)mr, (void)c_stride;                                                                                     \
    f32_row(NV, 1, nc, kc, ks, 0, a, a_offset, zero, w, c, params);                                               \
  }

F32_AVX512(7, 1, 16)
F32_AVX512(8, 1, 16)
F32_AVX512_ROW(1, 16)

/* Weights given as rows of kc contiguous values (BATCH_MATMUL's rhs with adj_y, packed on every
 * invoke): each k step of a block gathers the block's 16 columns, masked in the last block. */
void tr_gemm_pack_f32_rows16__avx512(size_t n, size_t kc, const float *src, size_t sn, void *packed) {
  float *out = (float *)packed;
  const __m512i stride = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)sn));
  for (size_t n0 = 0; n0 < n; n0 += 16) {
    const __mmask16 m = tail_mask(n - n0);
    const float *col0 = src + n0 * sn;
    _mm512_storeu_ps(out, _mm512_setzero_ps());
    out += 16;
    for (size_t k = 0; k < kc; k++) {
      _mm512_storeu_ps(out, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, stride, col0 + k, 4));
      out += 16;
    }
  }
}
