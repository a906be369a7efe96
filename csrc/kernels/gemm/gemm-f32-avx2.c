/* float32 GEMM / IGEMM, AVX2 + FMA: 6 rows x 16 columns of accumulators (12 ymm), the weights of a
 * k step in two vectors, each A value broadcast. A one-row variant for matrix-vector products
 * keeps four k steps in flight instead (it is bound by streaming the packed weights).
 *
 * Preconditions (gemm.h): mr in [1, MR], nc >= 1, kc >= 1, ks >= 1; weights packed for NR = 16. */
#include <immintrin.h>

#include "kernels/gemm/gemm.h"

enum { MAX_MR = 8 }; /* array bound: MR is a constant only after inlining (no VLA) */

/* Lanes [0, n) of a ymm store (n <= 8). */
static inline __m256i tail_mask(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__((always_inline)) void f32_tile(
    const size_t MR, const int indirect, size_t mr, size_t nc, size_t kc, size_t ks, const float *a,
    size_t a_stride, const float **ind, size_t a_offset, const float *zero, const float *w, float *c,
    size_t c_stride, const tr_gemm_f32_params *params) {
  enum { NR = 16, NV = 2 };
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  float *cr[MAX_MR];
  const float *ar[MAX_MR];
  TR_GEMM_UNROLL(8)
  for (size_t r = 0; r < MR; r++) {
    const size_t rr = r < mr ? r : mr - 1;
    cr[r] = c + rr * c_stride;
    if (!indirect) ar[r] = a + rr * a_stride;
  }
  for (;;) {
    __m256 acc[MAX_MR][NV];
    TR_GEMM_UNROLL(2)
    for (size_t v = 0; v < NV; v++) acc[0][v] = _mm256_loadu_ps(w + 8 * v);
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
        const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
        w += NR;
        TR_GEMM_UNROLL(8)
        for (size_t r = 0; r < MR; r++) {
          const __m256 x = _mm256_set1_ps(ar[r][k]);
          acc[r][0] = _mm256_fmadd_ps(x, w0, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps(x, w1, acc[r][1]);
        }
      } while (++k < kc);
    } while (--t != 0);
    if (nc >= NR) {
      TR_GEMM_UNROLL(8)
      for (size_t r = MR; r-- > 0;) {
        TR_GEMM_UNROLL(2)
        for (size_t v = 0; v < NV; v++)
          _mm256_storeu_ps(cr[r] + 8 * v, _mm256_min_ps(_mm256_max_ps(acc[r][v], vmin), vmax));
        cr[r] += NR;
      }
    } else {
      const __m256i m0 = tail_mask(nc > 8 ? 8 : nc), m1 = tail_mask(nc > 8 ? nc - 8 : 0);
      TR_GEMM_UNROLL(8)
      for (size_t r = MR; r-- > 0;) {
        _mm256_maskstore_ps(cr[r], m0, _mm256_min_ps(_mm256_max_ps(acc[r][0], vmin), vmax));
        _mm256_maskstore_ps(cr[r] + 8, m1, _mm256_min_ps(_mm256_max_ps(acc[r][1], vmin), vmax));
      }
    }
    if (nc <= NR) return;
    nc -= NR;
  }
}

/* One row: four k steps, eight independent accumulators. */
static inline __attribute__((always_inline)) void f32_row(const int indirect, size_t nc, size_t kc, size_t ks,
                                                          const float *a, const float **ind, size_t a_offset,
                                                          const float *zero, const float *w, float *c,
                                                          const tr_gemm_f32_params *params) {
  enum { NR = 16 };
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  for (;;) {
    __m256 s0 = _mm256_loadu_ps(w), s1 = _mm256_loadu_ps(w + 8);
    __m256 t0 = _mm256_setzero_ps(), t1 = t0, u0 = t0, u1 = t0, v0 = t0, v1 = t0;
    w += NR;
    for (size_t t = 0; t < ks; t++) {
      const float *x = a;
      if (indirect) x = ind[t] == zero ? zero : (const float *)((const char *)ind[t] + a_offset);
      size_t k = 0;
      for (; k + 4 <= kc; k += 4) {
        const __m256 x0 = _mm256_set1_ps(x[k]), x1 = _mm256_set1_ps(x[k + 1]);
        const __m256 x2 = _mm256_set1_ps(x[k + 2]), x3 = _mm256_set1_ps(x[k + 3]);
        s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w), s0);
        s1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w + 8), s1);
        t0 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(w + 16), t0);
        t1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(w + 24), t1);
        u0 = _mm256_fmadd_ps(x2, _mm256_loadu_ps(w + 32), u0);
        u1 = _mm256_fmadd_ps(x2, _mm256_loadu_ps(w + 40), u1);
        v0 = _mm256_fmadd_ps(x3, _mm256_loadu_ps(w + 48), v0);
        v1 = _mm256_fmadd_ps(x3, _mm256_loadu_ps(w + 56), v1);
        w += 4 * NR;
      }
      for (; k < kc; k++) {
        const __m256 x0 = _mm256_set1_ps(x[k]);
        s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w), s0);
        s1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w + 8), s1);
        w += NR;
      }
    }
    s0 = _mm256_add_ps(_mm256_add_ps(s0, t0), _mm256_add_ps(u0, v0));
    s1 = _mm256_add_ps(_mm256_add_ps(s1, t1), _mm256_add_ps(u1, v1));
    s0 = _mm256_min_ps(_mm256_max_ps(s0, vmin), vmax);
    s1 = _mm256_min_ps(_mm256_max_ps(s1, vmin), vmax);
    if (nc >= NR) {
      _mm256_storeu_ps(c, s0);
      _mm256_storeu_ps(c + 8, s1);
      c += NR;
    } else {
      _mm256_maskstore_ps(c, tail_mask(nc > 8 ? 8 : nc), s0);
      _mm256_maskstore_ps(c + 8, tail_mask(nc > 8 ? nc - 8 : 0), s1);
    }
    if (nc <= NR) return;
    nc -= NR;
  }
}

void tr_gemm_f32_6x16__avx2(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride, const float *w,
                              float *c, size_t c_stride, const tr_gemm_f32_params *params) {
  f32_tile(6, 0, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);
}

void tr_igemm_f32_6x16__avx2(size_t mr, size_t nc, size_t kc, size_t ks, const float **a, const float *w,
                               float *c, size_t c_stride, size_t a_offset, const float *zero,
                               const tr_gemm_f32_params *params) {
  f32_tile(6, 1, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params);
}

void tr_gemm_f32_1x16__avx2(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride, const float *w,
                              float *c, size_t c_stride, const tr_gemm_f32_params *params) {
  (void)mr, (void)a_stride, (void)c_stride;
  f32_row(0, nc, kc, 1, a, 0, 0, 0, w, c, params);
}

void tr_igemm_f32_1x16__avx2(size_t mr, size_t nc, size_t kc, size_t ks, const float **a, const float *w,
                               float *c, size_t c_stride, size_t a_offset, const float *zero,
                               const tr_gemm_f32_params *params) {
  (void)mr, (void)c_stride;
  f32_row(1, nc, kc, ks, 0, a, a_offset, zero, w, c, params);
}

/* Weights given as rows of kc contiguous values (BATCH_MATMUL's rhs with adj_y, packed on every
 * invoke): each k step of a block gathers the block's 16 columns, masked in the last block. */
void tr_gemm_pack_f32_rows16__avx2(size_t n, size_t kc, const float *src, size_t sn, void *packed) {
  float *out = (float *)packed;
  const __m256i stride = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)sn));
  for (size_t n0 = 0; n0 < n; n0 += 16) {
    const size_t cols = n - n0;
    const __m256 m0 = _mm256_castsi256_ps(tail_mask(cols > 8 ? 8 : cols));
    const __m256 m1 = _mm256_castsi256_ps(tail_mask(cols > 8 ? cols - 8 : 0));
    const float *col0 = src + n0 * sn, *col8 = col0 + 8 * sn;
    _mm256_storeu_ps(out, _mm256_setzero_ps());
    _mm256_storeu_ps(out + 8, _mm256_setzero_ps());
    out += 16;
    for (size_t k = 0; k < kc; k++) {
      _mm256_storeu_ps(out, _mm256_mask_i32gather_ps(_mm256_setzero_ps(), col0 + k, stride, m0, 4));
      /* the second half's base stays inside the matrix only when it has columns */
      _mm256_storeu_ps(out + 8, cols > 8 ? _mm256_mask_i32gather_ps(_mm256_setzero_ps(), col8 + k, stride, m1, 4)
                                         : _mm256_setzero_ps());
      out += 16;
    }
  }
}
