/* Float softmax over rows for AVX2 + FMA (see reduce.h): a vector max, then
 * exp((x - max) * beta) stored and summed, then a multiply by 1 / sum.
 *
 * exp: n = round(x / ln2), r = x - n ln2 (ln2 in two parts, with FMA), exp(r) by a degree-6
 * polynomial on [-ln2/2, ln2/2] fitted for relative error (3e-9 before rounding; about 1 ulp in
 * float), times 2^(n/2) and 2^(n - n/2), two normal powers of two, so that the second product
 * rounds once into the subnormals or overflows to infinity as expf does. x is clamped to
 * [-104, 89] first (beyond them expf is 0 or inf); NaN passes through. */
#include <assert.h>
#include <float.h>
#include <immintrin.h>

#include "kernels/reduce/reduce.h"

/* lanes [0, n) on, for n in 1..7 */
static inline __m256i tail_mask(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* 2^n for n in [-126, 127] */
static inline __m256 pow2i(__m256i n) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

static inline __m256 exp_ps(__m256 x) {
  /* max_ps / min_ps return their second operand when either is NaN */
  x = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693147182464599609375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-1.904654299957768e-09f), r);
  __m256 p = _mm256_set1_ps(1.381459297e-03f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.368708193e-03f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166838899e-02f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.666652113e-01f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.999999404e-01f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  /* n in [-150, 129]: halves in [-75, 65], each a normal power of two (NaN: any n, p is NaN) */
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  return _mm256_mul_ps(_mm256_mul_ps(p, pow2i(n1)), pow2i(n2));
}

static inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

static inline float hadd(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

void tr_softmax_f32__avx2(size_t rows, size_t cols, const float *x, float *y, float beta) {
  assert(cols >= 1);
  const __m256 vlow = _mm256_set1_ps(-FLT_MAX), vbeta = _mm256_set1_ps(beta);
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    /* max, as the reference: v > max ? v : max from -FLT_MAX */
    __m256 m0 = vlow, m1 = vlow, m2 = vlow, m3 = vlow;
    size_t j = 0;
    for (; j + 32 <= cols; j += 32) {
      m0 = _mm256_max_ps(_mm256_loadu_ps(x + j), m0);
      m1 = _mm256_max_ps(_mm256_loadu_ps(x + j + 8), m1);
      m2 = _mm256_max_ps(_mm256_loadu_ps(x + j + 16), m2);
      m3 = _mm256_max_ps(_mm256_loadu_ps(x + j + 24), m3);
    }
    for (; j + 8 <= cols; j += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + j), m0);
    float max = hmax(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    for (; j < cols; j++) max = x[j] > max ? x[j] : max;
    const __m256 vmax = _mm256_set1_ps(max);

    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (j = 0; j + 16 <= cols; j += 16) {
      const __m256 e0 = exp_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmax), vbeta));
      const __m256 e1 = exp_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8), vmax), vbeta));
      _mm256_storeu_ps(y + j, e0);
      _mm256_storeu_ps(y + j + 8, e1);
      s0 = _mm256_add_ps(s0, e0);
      s1 = _mm256_add_ps(s1, e1);
    }
    for (; j + 8 <= cols; j += 8) {
      const __m256 e = exp_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmax), vbeta));
      _mm256_storeu_ps(y + j, e);
      s0 = _mm256_add_ps(s0, e);
    }
    if (j < cols) {
      const __m256i m = tail_mask(cols - j);
      const __m256 e = exp_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vmax), vbeta));
      _mm256_maskstore_ps(y + j, m, e);
      s1 = _mm256_add_ps(s1, _mm256_and_ps(e, _mm256_castsi256_ps(m)));
    }
    const __m256 vscale = _mm256_set1_ps(1.0f / hadd(_mm256_add_ps(s0, s1)));

    for (j = 0; j + 8 <= cols; j += 8) _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), vscale));
    for (; j < cols; j++) y[j] *= _mm256_cvtss_f32(vscale);
  }
}
