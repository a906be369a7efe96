/* Elementwise binary kernels for AVX-512 (F + BW): float 64 per step, then 16, then a masked
 * tail; 8-bit 64 per step (four vectors of int32 lanes), the tail masked (see vbinary.h).
 * One always-inlined body per type, specialised by operation and by whether b is a vector. */
#include <immintrin.h>

#include "kernels/vbinary/vbinary.h"

#define INLINE static inline __attribute__((always_inline))

enum { ADD, SUB, RSUB, MUL };

/* --- float --- */

INLINE __m512 f32_apply(int op, __m512 x, __m512 b) {
  return op == ADD ? _mm512_add_ps(x, b) : op == SUB ? _mm512_sub_ps(x, b) : op == RSUB ? _mm512_sub_ps(b, x)
                                                                                       : _mm512_mul_ps(x, b);
}

INLINE void f32_body(size_t n, const float *a, const float *b, float *y, const tr_vbinary_f32_params *p,
                     const int op, const int bconst) {
  const __m512 vlo = _mm512_set1_ps(p->min), vhi = _mm512_set1_ps(p->max);
  const __m512 vb = bconst ? _mm512_set1_ps(b[0]) : _mm512_setzero_ps();
  /* min(hi, max(lo, x)): x second, so a NaN passes through as in the portable kernels */
#define F32_STEP(i)                                                                                    \
  _mm512_storeu_ps(y + (i), _mm512_min_ps(vhi, _mm512_max_ps(vlo, f32_apply(op, _mm512_loadu_ps(a + (i)), \
                                                                         bconst ? vb : _mm512_loadu_ps(b + (i))))))
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    F32_STEP(i);
    F32_STEP(i + 16);
    F32_STEP(i + 32);
    F32_STEP(i + 48);
  }
  for (; i + 16 <= n; i += 16) F32_STEP(i);
#undef F32_STEP
  if (i < n) {
    const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    const __m512 x = _mm512_maskz_loadu_ps(m, a + i), bv = bconst ? vb : _mm512_maskz_loadu_ps(m, b + i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_min_ps(vhi, _mm512_max_ps(vlo, f32_apply(op, x, bv))));
  }
}

#define F32_FN(NAME, OP, BCONST)                                                                         \
  static void NAME(size_t n, const float *a, const float *b, float *y, const tr_vbinary_f32_params *p) { \
    f32_body(n, a, b, y, p, OP, BCONST);                                                                 \
  }
F32_FN(add_f32, ADD, 0)
F32_FN(addc_f32, ADD, 1)
F32_FN(sub_f32, SUB, 0)
F32_FN(subc_f32, SUB, 1)
F32_FN(rsubc_f32, RSUB, 1)
F32_FN(mul_f32, MUL, 0)
F32_FN(mulc_f32, MUL, 1)

#define F32_ROWS(NAME, OP)                                                                               \
  static void NAME(size_t rows, size_t n, const float *a, const float *b, float *y,                     \
                   const tr_vbinary_f32_params *p) {                                                    \
    for (size_t r = 0; r < rows; r++, a += n, y += n) f32_body(n, a, b, y, p, OP, 0);                   \
  }
F32_ROWS(add_rows_f32, ADD)
F32_ROWS(sub_rows_f32, SUB)
F32_ROWS(rsub_rows_f32, RSUB)
F32_ROWS(mul_rows_f32, MUL)

const tr_vbinary_f32_ops tr_vbinary_f32__avx512 = {add_f32, addc_f32, sub_f32, subc_f32, rsubc_f32, mul_f32, mulc_f32,
                                                 add_rows_f32, sub_rows_f32, rsub_rows_f32, mul_rows_f32};

/* --- 8-bit --- */

/* The exact arithmetic, cheaper than quant.h's general form (the rules are in vbinary.h):
 *  - s(x) for 8-bit x with left_shift 20: v = x + offset is 9 bits, so with the multiplier
 *    m = mh * 2^15 + ml, SRDHM(v << 20, m) = floor((v m + 2^10) / 2^11)
 *    = 16 v mh + ((v ml + 2^10) >> 11), two 32-bit products (the offset folded into constants);
 *  - RoundingDivideByPOT(h, e) = (h + 2^(e-1) - (h < 0)) >> e when e > 0, valid here since
 *    |h| < 2^30 (inputs rescaled below 2^28, sums of two, products of 9-bit values);
 *  - the output's SRDHM takes the 64-bit products of vpmuldq, with 2^(e-1) added there already:
 *    floor((r m + 2^30 + 2^(e-1) 2^31) / 2^31) = h + 2^(e-1), and h < 0 is h + 2^(e-1) < 2^(e-1);
 *  - 64 results pack at once (vpackssdw, vpacksswb / vpackuswb, one dword permute), the zero
 *    point added and the clamp applied on the packed values: saturation only moves values that
 *    are outside [out_min, out_max] anyway. */
typedef struct {
  __m512i mh16, ml, c1, c2, half, emask;
  __m128i e;
} scale_consts;

typedef struct {
  scale_consts a, b;
  __m512i a_offset, b_offset, out_mul, out_nudge, out_thr, zp16, lo8, hi8, scaled_b, order;
  __m128i out_left, out_e;
} q8_consts;

INLINE scale_consts scale_setup(int32_t offset, int32_t multiplier, int32_t shift) {
  scale_consts c;
  const int32_t mh = multiplier >> 15, ml = multiplier & 0x7FFF, e = -shift;
  c.mh16 = _mm512_set1_epi32(mh * 16);
  c.ml = _mm512_set1_epi32(ml);
  c.c1 = _mm512_set1_epi32(offset * mh * 16);
  c.c2 = _mm512_set1_epi32(offset * ml + 1024);
  c.half = _mm512_set1_epi32((int32_t)((1ll << e) >> 1));
  c.emask = _mm512_set1_epi32(e > 0 ? -1 : 0);
  c.e = _mm_cvtsi32_si128(e);
  return c;
}

INLINE q8_consts q8_setup(const tr_vbinary_q8_params *p) {
  q8_consts k;
  k.a = scale_setup(p->a_offset, p->a_multiplier, p->a_shift);
  k.b = scale_setup(p->b_offset, p->b_multiplier, p->b_shift);
  const int32_t ol = p->out_shift > 0 ? p->out_shift : 0, oe = p->out_shift > 0 ? 0 : -p->out_shift;
  const int64_t half = (1ll << oe) >> 1;
  k.a_offset = _mm512_set1_epi32(p->a_offset);
  k.b_offset = _mm512_set1_epi32(p->b_offset);
  k.out_mul = _mm512_set1_epi64(p->out_multiplier);
  k.out_nudge = _mm512_set1_epi64((1ll << 30) + (half << 31));
  /* h + half < half means h < 0; with no right shift nothing is below INT32_MIN */
  k.out_thr = _mm512_set1_epi32(oe > 0 ? (int32_t)half : INT32_MIN);
  k.out_left = _mm_cvtsi32_si128(ol);
  k.out_e = _mm_cvtsi32_si128(oe);
  k.zp16 = _mm512_set1_epi16((int16_t)p->out_zero_point);
  k.lo8 = _mm512_set1_epi8((char)p->out_min);
  k.hi8 = _mm512_set1_epi8((char)p->out_max);
  k.scaled_b = _mm512_set1_epi32(p->scaled_b);
  /* dword d of the packed bytes (lane L, vector i) goes to 4 i + L */
  k.order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
  return k;
}

INLINE __m512i rdbpot(__m512i h, __m512i half, __m512i emask, __m128i e) {
  const __m512i t = _mm512_add_epi32(half, _mm512_and_si512(_mm512_srai_epi32(h, 31), emask));
  return _mm512_sra_epi32(_mm512_add_epi32(h, t), e);
}

/* s(x) of 16 raw 8-bit values widened to int32 */
INLINE __m512i scale_input(__m512i x, const scale_consts *c) {
  const __m512i hi = _mm512_add_epi32(_mm512_mullo_epi32(x, c->mh16), c->c1);
  const __m512i lo = _mm512_srai_epi32(_mm512_add_epi32(_mm512_mullo_epi32(x, c->ml), c->c2), 11);
  return rdbpot(_mm512_add_epi32(hi, lo), c->half, c->emask, c->e);
}

INLINE __m512i widen(__m128i x, int is_unsigned) {
  return is_unsigned ? _mm512_cvtepu8_epi32(x) : _mm512_cvtepi8_epi32(x);
}

/* 16 results (int32, before the zero point) of one operation on 16 8-bit a (and b) */
INLINE __m512i q8_apply(const q8_consts *k, int op, __m128i a8, __m128i b8, int bconst, int is_unsigned,
                        int left) {
  const __m512i a = widen(a8, is_unsigned);
  __m512i raw;
  if (op == MUL) {
    const __m512i b = bconst ? k->scaled_b : _mm512_add_epi32(widen(b8, is_unsigned), k->b_offset);
    raw = _mm512_mullo_epi32(_mm512_add_epi32(a, k->a_offset), b);
  } else {
    const __m512i sa = scale_input(a, &k->a);
    const __m512i sb = bconst ? k->scaled_b : scale_input(widen(b8, is_unsigned), &k->b);
    raw = op == ADD ? _mm512_add_epi32(sa, sb) : op == SUB ? _mm512_sub_epi32(sa, sb) : _mm512_sub_epi32(sb, sa);
  }
  if (left) raw = _mm512_sll_epi32(raw, k->out_left);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(raw, k->out_mul), k->out_nudge);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(raw, 32), k->out_mul), k->out_nudge);
  __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  h = _mm512_mask_sub_epi32(h, _mm512_cmpgt_epi32_mask(k->out_thr, h), h, _mm512_set1_epi32(1));
  return _mm512_sra_epi32(h, k->out_e);
}

/* 64 results to bytes: zero point, saturation, clamp, natural order */
INLINE __m512i q8_pack(const q8_consts *k, __m512i o0, __m512i o1, __m512i o2, __m512i o3, int is_unsigned) {
  const __m512i w01 = _mm512_adds_epi16(_mm512_packs_epi32(o0, o1), k->zp16);
  const __m512i w23 = _mm512_adds_epi16(_mm512_packs_epi32(o2, o3), k->zp16);
  __m512i b = is_unsigned ? _mm512_packus_epi16(w01, w23) : _mm512_packs_epi16(w01, w23);
  b = is_unsigned ? _mm512_min_epu8(_mm512_max_epu8(b, k->lo8), k->hi8)
                  : _mm512_min_epi8(_mm512_max_epi8(b, k->lo8), k->hi8);
  return _mm512_permutexvar_epi32(k->order, b);
}

INLINE void q8_run(const q8_consts *k, size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y, const int op,
                   const int bconst, const int is_unsigned, const int left) {
  const __m128i zero = _mm_setzero_si128();
#define Q8_LOAD(ptr) _mm_loadu_si128((const __m128i *)(ptr))
#define Q8_APPLY(j) q8_apply(k, op, Q8_LOAD(a + i + 16 * (j)), bconst ? zero : Q8_LOAD(b + i + 16 * (j)), bconst, \
                             is_unsigned, left)
  size_t i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512(y + i, q8_pack(k, Q8_APPLY(0), Q8_APPLY(1), Q8_APPLY(2), Q8_APPLY(3), is_unsigned));
#undef Q8_APPLY
#undef Q8_LOAD
  if (i < n) {
    __m512i o[4];
    for (int j = 0; j < 4; j++) {
      const size_t at = i + 16 * (size_t)j, left_n = n > at ? n - at : 0;
      const __mmask16 m = left_n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left_n) - 1);
      const __m128i a8 = _mm_maskz_loadu_epi8(m, a + at), b8 = bconst ? zero : _mm_maskz_loadu_epi8(m, b + at);
      o[j] = left_n ? q8_apply(k, op, a8, b8, bconst, is_unsigned, left) : _mm512_setzero_si512();
    }
    _mm512_mask_storeu_epi8(y + i, ((__mmask64)1 << (n - i)) - 1, q8_pack(k, o[0], o[1], o[2], o[3], is_unsigned));
  }
}

INLINE void q8_body(size_t n, const void *a, const void *b, void *y, const tr_vbinary_q8_params *p,
                    const int op, const int bconst, const int is_unsigned) {
  const q8_consts k = q8_setup(p);
  if (p->out_shift > 0)
    q8_run(&k, n, (const uint8_t *)a, (const uint8_t *)b, (uint8_t *)y, op, bconst, is_unsigned, 1);
  else
    q8_run(&k, n, (const uint8_t *)a, (const uint8_t *)b, (uint8_t *)y, op, bconst, is_unsigned, 0);
}

/* rows of a against one row of b, the constants made once */
INLINE void q8_rows(size_t rows, size_t n, const void *a, const void *b, void *y, const tr_vbinary_q8_params *p,
                    const int op, const int is_unsigned) {
  const q8_consts k = q8_setup(p);
  for (size_t r = 0; r < rows; r++) {
    const uint8_t *ar = (const uint8_t *)a + r * n;
    uint8_t *yr = (uint8_t *)y + r * n;
    if (p->out_shift > 0) q8_run(&k, n, ar, (const uint8_t *)b, yr, op, 0, is_unsigned, 1);
    else q8_run(&k, n, ar, (const uint8_t *)b, yr, op, 0, is_unsigned, 0);
  }
}

/* The fast input rescaling needs 8-bit headroom (left_shift 20) and multipliers below 2^31;
 * anything else goes to the portable kernels. */
#define Q8_FN(NAME, OP, BCONST, UNSIGNED, PORTABLE)                                                          \
  static void NAME(size_t n, const void *a, const void *b, void *y, const tr_vbinary_q8_params *p) {        \
    if (OP != MUL && p->left_shift != 20) {                                                                  \
      PORTABLE(n, a, b, y, p);                                                                               \
      return;                                                                                                \
    }                                                                                                        \
    q8_body(n, a, b, y, p, OP, BCONST, UNSIGNED);                                                            \
  }
#define Q8_ROWS_FN(NAME, OP, UNSIGNED, PORTABLE)                                                             \
  static void NAME(size_t rows, size_t n, const void *a, const void *b, void *y, const tr_vbinary_q8_params *p) { \
    if (OP != MUL && p->left_shift != 20) {                                                                  \
      PORTABLE(rows, n, a, b, y, p);                                                                         \
      return;                                                                                                \
    }                                                                                                        \
    q8_rows(rows, n, a, b, y, p, OP, UNSIGNED);                                                              \
  }
#define Q8_OPS(SUFFIX, UNSIGNED)                                                                             \
  Q8_FN(add_##SUFFIX, ADD, 0, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.add)                                   \
  Q8_FN(addc_##SUFFIX, ADD, 1, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.addc)                                 \
  Q8_FN(sub_##SUFFIX, SUB, 0, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.sub)                                   \
  Q8_FN(rsubc_##SUFFIX, RSUB, 1, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.rsubc)                              \
  Q8_FN(mul_##SUFFIX, MUL, 0, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.mul)                                   \
  Q8_FN(mulc_##SUFFIX, MUL, 1, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.mulc)                                 \
  Q8_ROWS_FN(add_rows_##SUFFIX, ADD, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.add_rows)                       \
  Q8_ROWS_FN(sub_rows_##SUFFIX, SUB, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.sub_rows)                       \
  Q8_ROWS_FN(rsub_rows_##SUFFIX, RSUB, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.rsub_rows)                    \
  Q8_ROWS_FN(mul_rows_##SUFFIX, MUL, UNSIGNED, tr_vbinary_##SUFFIX##__scalar.mul_rows)                       \
  const tr_vbinary_q8_ops tr_vbinary_##SUFFIX##__avx512 = {                                                  \
      add_##SUFFIX, addc_##SUFFIX, sub_##SUFFIX, rsubc_##SUFFIX, mul_##SUFFIX, mulc_##SUFFIX,               \
      add_rows_##SUFFIX, sub_rows_##SUFFIX, rsub_rows_##SUFFIX, mul_rows_##SUFFIX};
Q8_OPS(s8, 0)
Q8_OPS(u8, 1)
