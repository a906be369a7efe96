/* Elementwise unary kernels for AVX2 + FMA: 8 floats per vector (two per step where it pays),
 * 32 table lookups per step; float tails masked, table tails portable (see vunary.h). */
#include <immintrin.h>

#include "kernels/vunary/vunary.h"

#define INLINE static inline __attribute__((always_inline))

static const int32_t lane_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* e^r - 1 - r = r^2 * q(r) on [-ln2/2, ln2/2]: relative error of e^r below 1e-8 */
#define Q0 0x1.ffffeap-2f
#define Q1 0x1.55545ap-3f
#define Q2 0x1.5563cep-5f
#define Q3 0x1.125b2ep-7f
#define Q4 0x1.63c2d8p-10f
#define LOG2E 0x1.715476p+0f
#define LN2_HI 0x1.62e400p-1f /* n * LN2_HI is exact for |n| < 256 */
#define LN2_LO 0x1.7f7d1cp-20f

/* -87 <= t <= 0: (2^n, e^r - 1) with t = n ln2 + r; 2^n is a normal float */
#define MAGIC 0x1.8000fep23f /* 1.5 * 2^23 + 127: rounds, and leaves the biased exponent */
INLINE void exp_parts(__m256 t, __m256 *s_out, __m256 *p_out) {
  const __m256 nb = _mm256_fmadd_ps(t, _mm256_set1_ps(LOG2E), _mm256_set1_ps(MAGIC));
  const __m256 n = _mm256_sub_ps(nb, _mm256_set1_ps(MAGIC));
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-LN2_HI), t);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-LN2_LO), r);
  __m256 q = _mm256_set1_ps(Q4);
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(Q3));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(Q2));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(Q1));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(Q0));
  *s_out = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(nb), 23));
  *p_out = _mm256_fmadd_ps(_mm256_mul_ps(r, r), q, r);
}

INLINE __m256 absf(__m256 x) { return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MAX))); }

INLINE __m256 sigmoid8(__m256 x) {
  /* e = exp(-|x|) (|x| capped at 87; below that the reference's value is under 2e-38), then
   * (x > 0 ? 1 : e) / (1 + e) */
  const __m256 t = _mm256_max_ps(_mm256_set1_ps(-87.0f), _mm256_sub_ps(_mm256_setzero_ps(), absf(x)));
  __m256 s, p;
  exp_parts(t, &s, &p);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = _mm256_fmadd_ps(s, p, s);
  __m256 y = _mm256_div_ps(_mm256_blendv_ps(e, one, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ)),
                           _mm256_add_ps(one, e));
  y = _mm256_blendv_ps(y, e, _mm256_cmp_ps(x, _mm256_set1_ps(-9.0f), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, one, _mm256_cmp_ps(x, _mm256_set1_ps(16.619047164916992188f), _CMP_GT_OQ));
}

INLINE __m256 tanh8(__m256 x) {
  /* tanh|x| = -m / (2 + m), m = expm1(-2|x|) = (2^n - 1) + 2^n p; |x| >= 9 rounds to 1 */
  const __m256 z = _mm256_min_ps(_mm256_set1_ps(9.0f), absf(x)); /* NaN stays NaN */
  __m256 s, p;
  exp_parts(_mm256_mul_ps(z, _mm256_set1_ps(-2.0f)), &s, &p);
  const __m256 m = _mm256_fmadd_ps(s, p, _mm256_sub_ps(s, _mm256_set1_ps(1.0f)));
  const __m256 y = _mm256_div_ps(_mm256_sub_ps(_mm256_setzero_ps(), m), _mm256_add_ps(_mm256_set1_ps(2.0f), m));
  return _mm256_or_ps(y, _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN))));
}

INLINE __m256 hardswish8(__m256 x) {
  /* fminf(6, fmaxf(0, x + 3)): max(x + 3, 0) gives 0 for a NaN as fmaxf does */
  const __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(x, _mm256_set1_ps(3.0f)), _mm256_setzero_ps()),
                                 _mm256_set1_ps(6.0f));
  return _mm256_div_ps(_mm256_mul_ps(x, t), _mm256_set1_ps(6.0f));
}

#define UNARY_F32(NAME, F)                                                                            \
  void NAME(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {                \
    (void)params;                                                                                    \
    size_t i = 0;                                                                                    \
    for (; i + 16 <= n; i += 16) {                                                                   \
      const __m256 y0 = F(_mm256_loadu_ps(x + i)), y1 = F(_mm256_loadu_ps(x + i + 8));               \
      _mm256_storeu_ps(y + i, y0);                                                                   \
      _mm256_storeu_ps(y + i + 8, y1);                                                               \
    }                                                                                                \
    for (; i < n; i += 8) {                                                                          \
      const __m256i m = _mm256_loadu_si256((const __m256i *)&lane_mask[8 - (n - i >= 8 ? 8 : n - i)]); \
      _mm256_maskstore_ps(y + i, m, F(_mm256_maskload_ps(x + i, m)));                                \
    }                                                                                                \
  }

UNARY_F32(tr_vsigmoid_f32__avx2, sigmoid8)
UNARY_F32(tr_vtanh_f32__avx2, tanh8)
UNARY_F32(tr_vhardswish_f32__avx2, hardswish8)

void tr_vclamp_f32__avx2(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  /* max(x, min) gives min for a NaN, as fmaxf(min, x) does */
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (size_t j = 0; j < 32; j += 8)
      _mm256_storeu_ps(y + i + j, _mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(x + i + j), vmin), vmax));
  for (; i < n; i += 8) {
    const __m256i m = _mm256_loadu_si256((const __m256i *)&lane_mask[8 - (n - i >= 8 ? 8 : n - i)]);
    _mm256_maskstore_ps(y + i, m, _mm256_min_ps(_mm256_max_ps(_mm256_maskload_ps(x + i, m), vmin), vmax));
  }
}

/* y = table[x]: the high nibble picks one of 16 sixteen-byte slices (compare and blend), the
 * low nibble indexes it (vpshufb, per 128-bit lane; each slice repeated in both lanes). */
void tr_vlut8__avx2(size_t n, const uint8_t *x, uint8_t *y, const uint8_t *table) {
  __m256i t[16];
  for (int j = 0; j < 16; j++) t[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(table + 16 * j)));
  const __m256i nib = _mm256_set1_epi8(0x0F);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)(x + i));
    const __m256i lo = _mm256_and_si256(v, nib), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
    __m256i r = _mm256_shuffle_epi8(t[0], lo);
    for (int j = 1; j < 16; j++)
      r = _mm256_blendv_epi8(r, _mm256_shuffle_epi8(t[j], lo), _mm256_cmpeq_epi8(hi, _mm256_set1_epi8((char)j)));
    _mm256_storeu_si256((__m256i *)(y + i), r);
  }
  for (; i < n; i++) y[i] = table[x[i]];
}

/* --- GELU (vunary-gelu.h): the portable kernel's operations, 8 lanes at a time ------------------ */

#include "kernels/vunary/vunary-gelu.h"

#define SPLAT(c) _mm256_set1_ps(c)

/* e^(th + tl) = mant * 2^n (exp_mant in vunary-scalar.c) */
INLINE __m256 gelu_exp_mant(__m256 th, __m256 tl, __m256i *n) {
  const __m256 nf = _mm256_sub_ps(_mm256_fmadd_ps(th, SPLAT(GELU_LOG2E), SPLAT(GELU_ROUND)), SPLAT(GELU_ROUND));
  __m256 r = _mm256_fmadd_ps(nf, SPLAT(-GELU_LN2_HI), th);
  r = _mm256_fmadd_ps(nf, SPLAT(-GELU_LN2_LO), r);
  r = _mm256_add_ps(r, tl);
  __m256 q = _mm256_fmadd_ps(SPLAT(GELU_E4), r, SPLAT(GELU_E3));
  q = _mm256_fmadd_ps(q, r, SPLAT(GELU_E2));
  q = _mm256_fmadd_ps(q, r, SPLAT(GELU_E1));
  q = _mm256_fmadd_ps(q, r, SPLAT(GELU_E0));
  *n = _mm256_cvttps_epi32(nf);
  return _mm256_add_ps(SPLAT(1.0f), _mm256_fmadd_ps(_mm256_mul_ps(r, r), q, r));
}

/* ldexpf(x, n) for -256 < n <= 0 and x * 2^(n >> 1) normal: exact, then one rounding */
INLINE __m256 gelu_scale(__m256 x, __m256i n) {
  const __m256i n1 = _mm256_srai_epi32(n, 1), bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(n, n1), bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(x, s1), s2);
}

INLINE __m256 gelu8(__m256 x) {
  /* max(-XMAX, x) keeps a NaN (the second operand wins); min / max (x, c) turn it into c */
  const __m256 m = _mm256_max_ps(SPLAT(-GELU_XMAX), x);
  const __m256 v = _mm256_max_ps(_mm256_min_ps(m, SPLAT(GELU_XMAX)), SPLAT(-GELU_XMAX));
  const __m256 h = _mm256_mul_ps(v, v), l = _mm256_fmsub_ps(v, v, h);
  const __m256 t = _mm256_div_ps(SPLAT(1.0f), _mm256_fmadd_ps(SPLAT(GELU_P), _mm256_mul_ps(absf(v), SPLAT(GELU_SQRT1_2)),
                                                               SPLAT(1.0f)));
  __m256 r = _mm256_fmadd_ps(SPLAT(GELU_R9), t, SPLAT(GELU_R8));
  r = _mm256_fmadd_ps(r, t, SPLAT(GELU_R7));
  r = _mm256_fmadd_ps(r, t, SPLAT(GELU_R6));
  r = _mm256_fmadd_ps(r, t, SPLAT(GELU_R5));
  r = _mm256_fmadd_ps(r, t, SPLAT(GELU_R4));
  r = _mm256_fmadd_ps(r, t, SPLAT(GELU_R3));
  r = _mm256_fmadd_ps(r, t, SPLAT(GELU_R2));
  r = _mm256_fmadd_ps(r, t, SPLAT(GELU_R1));
  r = _mm256_fmadd_ps(r, t, SPLAT(GELU_R0));
  __m256i n;
  const __m256 e = gelu_exp_mant(_mm256_mul_ps(SPLAT(-0.5f), h), _mm256_mul_ps(SPLAT(-0.5f), l), &n);
  const __m256 tail = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(SPLAT(0.5f), t), r), e);
  const __m256 neg = gelu_scale(_mm256_mul_ps(m, tail), n);
  const __m256 pos = _mm256_mul_ps(m, _mm256_sub_ps(SPLAT(1.0f), gelu_scale(tail, n)));
  return _mm256_blendv_ps(pos, neg, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ));
}

INLINE __m256 gelu_tanh8(__m256 x) {
  const __m256 m = _mm256_max_ps(SPLAT(-GELU_TANH_XMAX), x);
  const __m256 v = _mm256_max_ps(_mm256_min_ps(m, SPLAT(GELU_TANH_XMAX)), SPLAT(-GELU_TANH_XMAX));
  const __m256 w = _mm256_mul_ps(v, _mm256_fmadd_ps(SPLAT(GELU_C2), _mm256_mul_ps(v, v), SPLAT(GELU_C1)));
  __m256i n;
  const __m256 e = gelu_exp_mant(_mm256_sub_ps(_mm256_setzero_ps(), absf(w)), _mm256_setzero_ps(), &n);
  const __m256 d = _mm256_add_ps(SPLAT(1.0f), gelu_scale(e, n));
  const __m256 pos = _mm256_div_ps(m, d);
  const __m256 neg = gelu_scale(_mm256_div_ps(_mm256_mul_ps(m, e), d), n);
  return _mm256_blendv_ps(neg, pos, _mm256_cmp_ps(w, _mm256_setzero_ps(), _CMP_GT_OQ));
}

UNARY_F32(tr_vgelu_f32__avx2, gelu8)
UNARY_F32(tr_vgelu_tanh_f32__avx2, gelu_tanh8)
