/* Float softmax over rows for AVX-512F (see reduce.h): a vector max, then exp((x - max) * beta)
 * stored and summed, then a multiply by 1 / sum.
 *
 * exp: n = round(x / ln2), r = x - n ln2 (ln2 in two parts, with FMA), exp(r) by a degree-6
 * polynomial on [-ln2/2, ln2/2] fitted for relative error (3e-9 before rounding; about 1 ulp in
 * float), scaled by 2^n with VSCALEFPS, which rounds once into the subnormals and overflows to
 * infinity as expf does. x is clamped to [-104, 89] first (beyond them expf is 0 or inf); NaN
 * passes through. */
#include <assert.h>
#include <float.h>
#include <immintrin.h>

#include "kernels/reduce/reduce.h"

static inline __mmask16 tail_mask(size_t n) { return (__mmask16)((1u << n) - 1); }

static inline __m512 exp_ps(__m512 x) {
  /* max_ps / min_ps return their second operand when either is NaN */
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693147182464599609375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-1.904654299957768e-09f), r);
  __m512 p = _mm512_set1_ps(1.381459297e-03f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.368708193e-03f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166838899e-02f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.666652113e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.999999404e-01f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

void tr_softmax_f32__avx512(size_t rows, size_t cols, const float *x, float *y, float beta) {
  assert(cols >= 1);
  const __m512 vlow = _mm512_set1_ps(-FLT_MAX), vbeta = _mm512_set1_ps(beta);
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    /* max, as the reference: v > max ? v : max from -FLT_MAX */
    __m512 m0 = vlow, m1 = vlow, m2 = vlow, m3 = vlow;
    size_t j = 0;
    for (; j + 64 <= cols; j += 64) {
      m0 = _mm512_max_ps(_mm512_loadu_ps(x + j), m0);
      m1 = _mm512_max_ps(_mm512_loadu_ps(x + j + 16), m1);
      m2 = _mm512_max_ps(_mm512_loadu_ps(x + j + 32), m2);
      m3 = _mm512_max_ps(_mm512_loadu_ps(x + j + 48), m3);
    }
    for (; j + 16 <= cols; j += 16) m0 = _mm512_max_ps(_mm512_loadu_ps(x + j), m0);
    if (j < cols) m1 = _mm512_max_ps(_mm512_mask_loadu_ps(vlow, tail_mask(cols - j), x + j), m1);
    const __m512 m = _mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3));
    const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(m));

    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    for (j = 0; j + 32 <= cols; j += 32) {
      const __m512 e0 = exp_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j), vmax), vbeta));
      const __m512 e1 = exp_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j + 16), vmax), vbeta));
      _mm512_storeu_ps(y + j, e0);
      _mm512_storeu_ps(y + j + 16, e1);
      s0 = _mm512_add_ps(s0, e0);
      s1 = _mm512_add_ps(s1, e1);
    }
    for (; j + 16 <= cols; j += 16) {
      const __m512 e = exp_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j), vmax), vbeta));
      _mm512_storeu_ps(y + j, e);
      s0 = _mm512_add_ps(s0, e);
    }
    if (j < cols) {
      const __mmask16 m = tail_mask(cols - j);
      const __m512 e = exp_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vmax), vbeta));
      _mm512_mask_storeu_ps(y + j, m, e);
      s1 = _mm512_mask_add_ps(s1, m, s1, e);
    }
    const __m512 vscale = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)));

    for (j = 0; j + 16 <= cols; j += 16) _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_loadu_ps(y + j), vscale));
    if (j < cols) {
      const __mmask16 m = tail_mask(cols - j);
      _mm512_mask_storeu_ps(y + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + j), vscale));
    }
  }
}
