/* Elementwise unary kernels for AVX-512 (F + BW): 16 floats per vector (two per step where it
 * pays), 64 table lookups per step; tails masked (see vunary.h). exp for sigmoid reduces by
 * ln2/32 and looks 2^(j/32) up (vpermt2ps), leaving a cubic; tanh keeps 2^n exact. */
#include <immintrin.h>

#include "kernels/vunary/vunary.h"

#define INLINE static inline __attribute__((always_inline))

/* exp for sigmoid with a 32-entry table: t = (32 m + j) ln2/32 + r, |r| <= ln2/64, so
 * e^t = 2^m * 2^(j/32) * e^r; vpermt2ps looks 2^(j/32) up, e^r - 1 = r + r^2 (C2 + C3 r) is
 * within 2e-10 of exact there. */
static const float exp2_32[32] = {
    0x1.000000p+0f, 0x1.059b0ep+0f, 0x1.0b5586p+0f, 0x1.11301ep+0f, 0x1.172b84p+0f, 0x1.1d4874p+0f, 0x1.2387a6p+0f,
    0x1.29e9e0p+0f, 0x1.306fe0p+0f, 0x1.371a74p+0f, 0x1.3dea64p+0f, 0x1.44e086p+0f, 0x1.4bfdaep+0f, 0x1.5342b6p+0f,
    0x1.5ab07ep+0f, 0x1.6247ecp+0f, 0x1.6a09e6p+0f, 0x1.71f75ep+0f, 0x1.7a1148p+0f, 0x1.82589ap+0f, 0x1.8ace54p+0f,
    0x1.93737cp+0f, 0x1.9c4918p+0f, 0x1.a5503cp+0f, 0x1.ae89fap+0f, 0x1.b7f770p+0f, 0x1.c199bep+0f, 0x1.cb720ep+0f,
    0x1.d5818ep+0f, 0x1.dfc974p+0f, 0x1.ea4afap+0f, 0x1.f50766p+0f};
#define C2 0x1.000076p-1f
#define C3 0x1.5555bcp-3f
#define LOG2E 0x1.715476p+0f
#define LN2_HI 0x1.62e400p-1f /* Cody-Waite: ln2 = LN2_HI + LN2_LO, each step one fma */
#define LN2_LO 0x1.7f7d1cp-20f
#define MAGIC32 0x1.8p18f /* adding it rounds to a multiple of 1/32, left in the low mantissa bits */

typedef struct {
  __m512 t0, t1;
} exp_table;

INLINE exp_table exp_table_load(void) {
  exp_table e = {_mm512_loadu_ps(exp2_32), _mm512_loadu_ps(exp2_32 + 16)};
  return e;
}

/* -100 <= t <= 0: e^t = 2^floor(n) 2^(j/32) (1 + p), n = t log2(e) rounded to 32nds */
INLINE __m512 exp_table_eval(__m512 t, const exp_table *tab) {
  const __m512 nb = _mm512_fmadd_ps(t, _mm512_set1_ps(LOG2E), _mm512_set1_ps(MAGIC32));
  const __m512 n = _mm512_sub_ps(nb, _mm512_set1_ps(MAGIC32));
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_HI), t);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_LO), r);
  /* the low 5 bits of nb are j = 32 n mod 32 (vpermt2ps reads only those) */
  const __m512 l = _mm512_permutex2var_ps(tab->t0, _mm512_castps_si512(nb), tab->t1);
  const __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(C3), r, _mm512_set1_ps(C2));
  const __m512 p = _mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r);
  /* vscalefps multiplies by 2^floor(n), underflowing to subnormals and zero as it should */
  return _mm512_scalef_ps(_mm512_fmadd_ps(l, p, l), n);
}

/* For tanh, without a table (degree 6 after a reduction by ln2): 2^n is exact, which tanh needs
 * (it subtracts 1 from it). e^r - 1 - r = r^2 q(r) on [-ln2/2, ln2/2], within 1e-8. */
#define Q0 0x1.ffffeap-2f
#define Q1 0x1.55545ap-3f
#define Q2 0x1.5563cep-5f
#define Q3 0x1.125b2ep-7f
#define Q4 0x1.63c2d8p-10f
#define MAGIC_BIASED 0x1.8000fep23f /* 1.5 * 2^23 + 127: rounds, and leaves the biased exponent */

/* -87 <= t <= 0: (2^n, e^r - 1) with t = n ln2 + r */
INLINE void exp_parts_pow2(__m512 t, __m512 *s_out, __m512 *p_out) {
  const __m512 nb = _mm512_fmadd_ps(t, _mm512_set1_ps(LOG2E), _mm512_set1_ps(MAGIC_BIASED));
  const __m512 n = _mm512_sub_ps(nb, _mm512_set1_ps(MAGIC_BIASED));
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_HI), t);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_LO), r);
  __m512 q = _mm512_set1_ps(Q4);
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(Q3));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(Q2));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(Q1));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(Q0));
  *s_out = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(nb), 23));
  *p_out = _mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r);
}

INLINE __m512 sigmoid16(__m512 x, const exp_table *tab) {
  /* e = exp(-|x|) (-|x| no lower than -100, where the reduction stays exact; a NaN stays NaN),
   * then (x > 0 ? 1 : e) / (1 + e) */
  const __m512 z = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN)));
  const __m512 e = exp_table_eval(_mm512_max_ps(_mm512_set1_ps(-100.0f), z), tab);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
  __m512 y = _mm512_div_ps(_mm512_mask_blend_ps(pos, e, one), _mm512_add_ps(one, e));
  /* the reference's shortcuts at both ends */
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-9.0f), _CMP_LT_OQ), y, e);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(16.619047164916992188f), _CMP_GT_OQ), y, one);
}

INLINE __m512 tanh16(__m512 x, const exp_table *tab) {
  /* tanh|x| = -m / (2 + m), m = expm1(-2|x|) = (2^n - 1) + 2^n p; |x| >= 9 rounds to 1 */
  const __m512 z = _mm512_min_ps(_mm512_set1_ps(9.0f), _mm512_abs_ps(x)); /* NaN stays NaN */
  __m512 s, p;
  (void)tab;
  exp_parts_pow2(_mm512_mul_ps(z, _mm512_set1_ps(-2.0f)), &s, &p);
  const __m512 m = _mm512_fmadd_ps(s, p, _mm512_sub_ps(s, _mm512_set1_ps(1.0f)));
  const __m512 y = _mm512_div_ps(_mm512_sub_ps(_mm512_setzero_ps(), m), _mm512_add_ps(_mm512_set1_ps(2.0f), m));
  const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), sign));
}

INLINE __m512 hardswish16(__m512 x, const exp_table *tab) {
  (void)tab;
  /* fminf(6, fmaxf(0, x + 3)): max(x + 3, 0) gives 0 for a NaN as fmaxf does */
  const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, _mm512_set1_ps(3.0f)), _mm512_setzero_ps()),
                                 _mm512_set1_ps(6.0f));
  return _mm512_div_ps(_mm512_mul_ps(x, t), _mm512_set1_ps(6.0f));
}

#define UNARY_F32(NAME, F)                                                                            \
  void NAME(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {                \
    (void)params;                                                                                    \
    const exp_table tab = exp_table_load();                                                          \
    size_t i = 0;                                                                                    \
    for (; i + 32 <= n; i += 32) {                                                                   \
      const __m512 y0 = F(_mm512_loadu_ps(x + i), &tab), y1 = F(_mm512_loadu_ps(x + i + 16), &tab);  \
      _mm512_storeu_ps(y + i, y0);                                                                   \
      _mm512_storeu_ps(y + i + 16, y1);                                                              \
    }                                                                                                \
    for (; i < n; i += 16) {                                                                         \
      const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);        \
      _mm512_mask_storeu_ps(y + i, m, F(_mm512_maskz_loadu_ps(m, x + i), &tab));                     \
    }                                                                                                \
  }

UNARY_F32(tr_vsigmoid_f32__avx512, sigmoid16)
UNARY_F32(tr_vtanh_f32__avx512, tanh16)
UNARY_F32(tr_vhardswish_f32__avx512, hardswish16)

void tr_vclamp_f32__avx512(size_t n, const float *x, float *y, const tr_vunary_f32_params *params) {
  /* max(x, min) gives min for a NaN, as fmaxf(min, x) does */
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);
  size_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (size_t j = 0; j < 64; j += 16)
      _mm512_storeu_ps(y + i + j, _mm512_min_ps(_mm512_max_ps(_mm512_loadu_ps(x + i + j), vmin), vmax));
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, _mm512_min_ps(_mm512_max_ps(_mm512_maskz_loadu_ps(m, x + i), vmin), vmax));
  }
}

/* y = table[x]: the high nibble picks one of 16 sixteen-byte slices (a compare into a mask),
 * the low nibble indexes it (vpshufb, per 128-bit lane; each slice repeated in all lanes). */
void tr_vlut8__avx512(size_t n, const uint8_t *x, uint8_t *y, const uint8_t *table) {
  __m512i t[16];
  for (int j = 0; j < 16; j++) t[j] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(table + 16 * j)));
  const __m512i nib = _mm512_set1_epi8(0x0F);
  size_t i = 0;
  for (; i < n; i += 64) {
    const __mmask64 m = n - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (n - i)) - 1);
    const __m512i v = _mm512_maskz_loadu_epi8(m, x + i);
    const __m512i lo = _mm512_and_si512(v, nib), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
    __m512i r = _mm512_shuffle_epi8(t[0], lo);
    for (int j = 1; j < 16; j++)
      r = _mm512_mask_shuffle_epi8(r, _mm512_cmpeq_epi8_mask(hi, _mm512_set1_epi8((char)j)), t[j], lo);
    _mm512_mask_storeu_epi8(y + i, m, r);
  }
}

/* With AVX512-VBMI (Ice Lake, Zen 4 and later), vpermi2b looks up 128 bytes at once: two
 * lookups and a blend on bit 7 cover the table. Only called when the CPU reports VBMI
 * (vunary-config.c). */
__attribute__((target("avx512vbmi"))) void tr_vlut8__avx512vbmi(size_t n, const uint8_t *x, uint8_t *y,
                                                                 const uint8_t *table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i v = _mm512_loadu_si512(x + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, v, t1), hi = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
  }
  if (i < n) {
    const __mmask64 m = ((__mmask64)1 << (n - i)) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(m, x + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, v, t1), hi = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_mask_storeu_epi8(y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
  }
}

/* --- GELU (vunary-gelu.h): the portable kernel's operations, 16 lanes at a time ----------------- */

#include "kernels/vunary/vunary-gelu.h"

#define SPLAT(c) _mm512_set1_ps(c)

/* e^(th + tl) = mant * 2^n (exp_mant in vunary-scalar.c; n as a float, for vscalefps) */
INLINE __m512 gelu_exp_mant(__m512 th, __m512 tl, __m512 *n) {
  *n = _mm512_sub_ps(_mm512_fmadd_ps(th, SPLAT(GELU_LOG2E), SPLAT(GELU_ROUND)), SPLAT(GELU_ROUND));
  __m512 r = _mm512_fmadd_ps(*n, SPLAT(-GELU_LN2_HI), th);
  r = _mm512_fmadd_ps(*n, SPLAT(-GELU_LN2_LO), r);
  r = _mm512_add_ps(r, tl);
  __m512 q = _mm512_fmadd_ps(SPLAT(GELU_E4), r, SPLAT(GELU_E3));
  q = _mm512_fmadd_ps(q, r, SPLAT(GELU_E2));
  q = _mm512_fmadd_ps(q, r, SPLAT(GELU_E1));
  q = _mm512_fmadd_ps(q, r, SPLAT(GELU_E0));
  return _mm512_add_ps(SPLAT(1.0f), _mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r));
}

INLINE __m512 gelu16(__m512 x, const exp_table *tab) {
  (void)tab;
  /* max(-XMAX, x) keeps a NaN (the second operand wins); min / max (x, c) turn it into c */
  const __m512 m = _mm512_max_ps(SPLAT(-GELU_XMAX), x);
  const __m512 v = _mm512_max_ps(_mm512_min_ps(m, SPLAT(GELU_XMAX)), SPLAT(-GELU_XMAX));
  const __m512 h = _mm512_mul_ps(v, v), l = _mm512_fmsub_ps(v, v, h);
  const __m512 t = _mm512_div_ps(SPLAT(1.0f), _mm512_fmadd_ps(SPLAT(GELU_P), _mm512_mul_ps(_mm512_abs_ps(v),
                                                                                           SPLAT(GELU_SQRT1_2)),
                                                               SPLAT(1.0f)));
  __m512 r = _mm512_fmadd_ps(SPLAT(GELU_R9), t, SPLAT(GELU_R8));
  r = _mm512_fmadd_ps(r, t, SPLAT(GELU_R7));
  r = _mm512_fmadd_ps(r, t, SPLAT(GELU_R6));
  r = _mm512_fmadd_ps(r, t, SPLAT(GELU_R5));
  r = _mm512_fmadd_ps(r, t, SPLAT(GELU_R4));
  r = _mm512_fmadd_ps(r, t, SPLAT(GELU_R3));
  r = _mm512_fmadd_ps(r, t, SPLAT(GELU_R2));
  r = _mm512_fmadd_ps(r, t, SPLAT(GELU_R1));
  r = _mm512_fmadd_ps(r, t, SPLAT(GELU_R0));
  __m512 n;
  const __m512 e = gelu_exp_mant(_mm512_mul_ps(SPLAT(-0.5f), h), _mm512_mul_ps(SPLAT(-0.5f), l), &n);
  const __m512 tail = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(SPLAT(0.5f), t), r), e);
  const __m512 neg = _mm512_scalef_ps(_mm512_mul_ps(m, tail), n);
  const __m512 pos = _mm512_mul_ps(m, _mm512_sub_ps(SPLAT(1.0f), _mm512_scalef_ps(tail, n)));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), pos, neg);
}

INLINE __m512 gelu_tanh16(__m512 x, const exp_table *tab) {
  (void)tab;
  const __m512 m = _mm512_max_ps(SPLAT(-GELU_TANH_XMAX), x);
  const __m512 v = _mm512_max_ps(_mm512_min_ps(m, SPLAT(GELU_TANH_XMAX)), SPLAT(-GELU_TANH_XMAX));
  const __m512 w = _mm512_mul_ps(v, _mm512_fmadd_ps(SPLAT(GELU_C2), _mm512_mul_ps(v, v), SPLAT(GELU_C1)));
  __m512 n;
  const __m512 e = gelu_exp_mant(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(w)), _mm512_setzero_ps(), &n);
  const __m512 d = _mm512_add_ps(SPLAT(1.0f), _mm512_scalef_ps(e, n));
  const __m512 pos = _mm512_div_ps(m, d);
  const __m512 neg = _mm512_scalef_ps(_mm512_div_ps(_mm512_mul_ps(m, e), d), n);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(w, _mm512_setzero_ps(), _CMP_GT_OQ), neg, pos);
}

UNARY_F32(tr_vgelu_f32__avx512, gelu16)
UNARY_F32(tr_vgelu_tanh_f32__avx512, gelu_tanh16)
