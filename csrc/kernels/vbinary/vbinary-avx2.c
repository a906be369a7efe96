/* Elementwise binary kernels for AVX2: float 32 per step, then 8, then a masked tail; 8-bit 32
 * per step (four vectors of int32 lanes), the tail through a zero-padded buffer (see
 * vbinary.h). One always-inlined body per type, specialised by operation and by
 * whether b is a vector. */
#include <immintrin.h>
#include <string.h>

#include "kernels/vbinary/vbinary.h"

#define INLINE static inline __attribute__((always_inline))

enum { ADD, SUB, RSUB, MUL };

static const int32_t lane_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* --- float --- */

INLINE __m256 f32_apply(int op, __m256 x, __m256 b) {
  return op == ADD ? _mm256_add_ps(x, b) : op == SUB ? _mm256_sub_ps(x, b) : op == RSUB ? _mm256_sub_ps(b, x)
                                                                                       : _mm256_mul_ps(x, b);
}

INLINE void f32_body(size_t n, const float *a, const float *b, float *y, const tr_vbinary_f32_params *p,
                     const int op, const int bconst) {
  const __m256 vlo = _mm256_set1_ps(p->min), vhi = _mm256_set1_ps(p->max);
  const __m256 vb = bconst ? _mm256_set1_ps(b[0]) : _mm256_setzero_ps();
  /* min(hi, max(lo, x)): x second, so a NaN passes through as in the portable kernels */
#define F32_STEP(i)                                                                                    \
  _mm256_storeu_ps(y + (i), _mm256_min_ps(vhi, _mm256_max_ps(vlo, f32_apply(op, _mm256_loadu_ps(a + (i)), \
                                                                         bconst ? vb : _mm256_loadu_ps(b + (i))))))
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    F32_STEP(i);
    F32_STEP(i + 8);
    F32_STEP(i + 16);
    F32_STEP(i + 24);
  }
  for (; i + 8 <= n; i += 8) F32_STEP(i);
#undef F32_STEP
  if (i < n) {
    const __m256i m = _mm256_loadu_si256((const __m256i *)&lane_mask[8 - (n - i)]);
    const __m256 x = _mm256_maskload_ps(a + i, m), bv = bconst ? vb : _mm256_maskload_ps(b + i, m);
    _mm256_maskstore_ps(y + i, m, _mm256_min_ps(vhi, _mm256_max_ps(vlo, f32_apply(op, x, bv))));
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

const tr_vbinary_f32_ops tr_vbinary_f32__avx2 = {add_f32, addc_f32, sub_f32, subc_f32, rsubc_f32, mul_f32, mulc_f32,
                                                 add_rows_f32, sub_rows_f32, rsub_rows_f32, mul_rows_f32};

/* --- 8-bit --- */

/* The exact arithmetic of vbinary-avx512.c (see there): s(x) from two 32-bit products,
 * RoundingDivideByPOT as one add and a shift, the output SRDHM from vpmuldq with the rounding
 * half folded in, 32 results packed at once. Tails go through a zero-padded buffer. */
typedef struct {
  __m256i mh16, ml, c1, c2, half, emask;
  __m128i e;
} scale_consts;

typedef struct {
  scale_consts a, b;
  __m256i a_offset, b_offset, out_mul, out_nudge, out_thr, zp16, lo8, hi8, scaled_b, order;
  __m128i out_left, out_e;
} q8_consts;

INLINE scale_consts scale_setup(int32_t offset, int32_t multiplier, int32_t shift) {
  scale_consts c;
  const int32_t mh = multiplier >> 15, ml = multiplier & 0x7FFF, e = -shift;
  c.mh16 = _mm256_set1_epi32(mh * 16);
  c.ml = _mm256_set1_epi32(ml);
  c.c1 = _mm256_set1_epi32(offset * mh * 16);
  c.c2 = _mm256_set1_epi32(offset * ml + 1024);
  c.half = _mm256_set1_epi32((int32_t)((1ll << e) >> 1));
  c.emask = _mm256_set1_epi32(e > 0 ? -1 : 0);
  c.e = _mm_cvtsi32_si128(e);
  return c;
}

INLINE q8_consts q8_setup(const tr_vbinary_q8_params *p) {
  q8_consts k;
  k.a = scale_setup(p->a_offset, p->a_multiplier, p->a_shift);
  k.b = scale_setup(p->b_offset, p->b_multiplier, p->b_shift);
  const int32_t ol = p->out_shift > 0 ? p->out_shift : 0, oe = p->out_shift > 0 ? 0 : -p->out_shift;
  const int64_t half = (1ll << oe) >> 1;
  k.a_offset = _mm256_set1_epi32(p->a_offset);
  k.b_offset = _mm256_set1_epi32(p->b_offset);
  k.out_mul = _mm256_set1_epi64x(p->out_multiplier);
  k.out_nudge = _mm256_set1_epi64x((1ll << 30) + (half << 31));
  k.out_thr = _mm256_set1_epi32(oe > 0 ? (int32_t)half : INT32_MIN);
  k.out_left = _mm_cvtsi32_si128(ol);
  k.out_e = _mm_cvtsi32_si128(oe);
  k.zp16 = _mm256_set1_epi16((int16_t)p->out_zero_point);
  k.lo8 = _mm256_set1_epi8((char)p->out_min);
  k.hi8 = _mm256_set1_epi8((char)p->out_max);
  k.scaled_b = _mm256_set1_epi32(p->scaled_b);
  k.order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  return k;
}

INLINE __m256i rdbpot(__m256i h, __m256i half, __m256i emask, __m128i e) {
  const __m256i t = _mm256_add_epi32(half, _mm256_and_si256(_mm256_srai_epi32(h, 31), emask));
  return _mm256_sra_epi32(_mm256_add_epi32(h, t), e);
}

INLINE __m256i scale_input(__m256i x, const scale_consts *c) {
  const __m256i hi = _mm256_add_epi32(_mm256_mullo_epi32(x, c->mh16), c->c1);
  const __m256i lo = _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(x, c->ml), c->c2), 11);
  return rdbpot(_mm256_add_epi32(hi, lo), c->half, c->emask, c->e);
}

INLINE __m256i widen(__m128i x, int is_unsigned) {
  return is_unsigned ? _mm256_cvtepu8_epi32(x) : _mm256_cvtepi8_epi32(x);
}

/* 8 results (int32, before the zero point) of one operation on 8 8-bit a (and b) */
INLINE __m256i q8_apply(const q8_consts *k, int op, __m128i a8, __m128i b8, int bconst, int is_unsigned,
                        int left) {
  const __m256i a = widen(a8, is_unsigned);
  __m256i raw;
  if (op == MUL) {
    const __m256i b = bconst ? k->scaled_b : _mm256_add_epi32(widen(b8, is_unsigned), k->b_offset);
    raw = _mm256_mullo_epi32(_mm256_add_epi32(a, k->a_offset), b);
  } else {
    const __m256i sa = scale_input(a, &k->a);
    const __m256i sb = bconst ? k->scaled_b : scale_input(widen(b8, is_unsigned), &k->b);
    raw = op == ADD ? _mm256_add_epi32(sa, sb) : op == SUB ? _mm256_sub_epi32(sa, sb) : _mm256_sub_epi32(sb, sa);
  }
  if (left) raw = _mm256_sll_epi32(raw, k->out_left);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(raw, k->out_mul), k->out_nudge);
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(raw, 32), k->out_mul), k->out_nudge);
  __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  h = _mm256_add_epi32(h, _mm256_cmpgt_epi32(k->out_thr, h)); /* -1 where h < 0 */
  return _mm256_sra_epi32(h, k->out_e);
}

/* 32 results to bytes: zero point, saturation, clamp, natural order */
INLINE __m256i q8_pack(const q8_consts *k, __m256i o0, __m256i o1, __m256i o2, __m256i o3, int is_unsigned) {
  const __m256i w01 = _mm256_adds_epi16(_mm256_packs_epi32(o0, o1), k->zp16);
  const __m256i w23 = _mm256_adds_epi16(_mm256_packs_epi32(o2, o3), k->zp16);
  __m256i b = is_unsigned ? _mm256_packus_epi16(w01, w23) : _mm256_packs_epi16(w01, w23);
  b = is_unsigned ? _mm256_min_epu8(_mm256_max_epu8(b, k->lo8), k->hi8)
                  : _mm256_min_epi8(_mm256_max_epi8(b, k->lo8), k->hi8);
  return _mm256_permutevar8x32_epi32(b, k->order);
}

INLINE __m256i q8_block(const q8_consts *k, const uint8_t *a, const uint8_t *b, const int op, const int bconst,
                        const int is_unsigned, const int left) {
  const __m128i zero = _mm_setzero_si128();
#define Q8_LOAD8(ptr) _mm_loadl_epi64((const __m128i *)(ptr))
#define Q8_APPLY(j) q8_apply(k, op, Q8_LOAD8(a + 8 * (j)), bconst ? zero : Q8_LOAD8(b + 8 * (j)), bconst, is_unsigned, left)
  return q8_pack(k, Q8_APPLY(0), Q8_APPLY(1), Q8_APPLY(2), Q8_APPLY(3), is_unsigned);
#undef Q8_APPLY
#undef Q8_LOAD8
}

INLINE void q8_run(const q8_consts *k, size_t n, const uint8_t *a, const uint8_t *b, uint8_t *y, const int op,
                   const int bconst, const int is_unsigned, const int left) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    _mm256_storeu_si256((__m256i *)(y + i), q8_block(k, a + i, bconst ? b : b + i, op, bconst, is_unsigned, left));
  if (i < n) {
    uint8_t ab[32] = {0}, bb[32] = {0}, yb[32];
    memcpy(ab, a + i, n - i);
    if (!bconst) memcpy(bb, b + i, n - i);
    _mm256_storeu_si256((__m256i *)yb, q8_block(k, ab, bconst ? b : bb, op, bconst, is_unsigned, left));
    memcpy(y + i, yb, n - i);
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

/* The fast input rescaling needs 8-bit headroom (left_shift 20); anything else goes to the
 * portable kernels. */
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
  const tr_vbinary_q8_ops tr_vbinary_##SUFFIX##__avx2 = {                                                    \
      add_##SUFFIX, addc_##SUFFIX, sub_##SUFFIX, rsubc_##SUFFIX, mul_##SUFFIX, mulc_##SUFFIX,               \
      add_rows_##SUFFIX, sub_rows_##SUFFIX, rsub_rows_##SUFFIX, mul_rows_##SUFFIX};
Q8_OPS(s8, 0)
Q8_OPS(u8, 1)
