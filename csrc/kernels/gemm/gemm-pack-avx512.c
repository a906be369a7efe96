/* int8 weight packing for the KR = 4 kernels with NR = 16 or 32 (the VNNI tiles) with AVX-512,
 * in the layout of gemm.h: the same bytes as the portable loops of gemm-pack.c.
 *
 * When the magnitudes are not needed (gemm-pack.c), all of k (tr_gemm_pack_qs8_all_c4__avx512):
 * the baseline's 4 x 4 transposes of 4-byte groups, but each column's sum is taken from the
 * transposed rows (pmaddubsw, pmaddwd: a 32-bit lane per column) rather than with psadbw from
 * every loaded column, about a third fewer instructions per weight. The k past the last whole
 * 16 are one masked load per column (nothing past a column is read, the padding reads as
 * zeros) in the same transposes: a block's last few k cost as much as 16 more, where a pass of
 * their own (below) cost as much as 100 more.
 *
 * With the magnitudes (tr_gemm_pack_qs8_rest_c4__avx512, all of k), sixteen columns at a time:
 * the up to 16 remaining k of each column are one masked load, four columns to a 128-bit lane
 * of four registers. The 4 x 4 transpose of 4-byte groups inside every lane then gives whole
 * 64-byte packed rows (one group of k for 16 columns). Each column's sums come from the same
 * registers (psadbw, one column per lane). A scalar loop took ~2.5 cycles per such weight. */
#include <immintrin.h>
#include <string.h>

#include "kernels/gemm/gemm.h"

/* Columns first to first + 15 (those at or past cols zero) of every tap, k from k_first (a
 * multiple of 16): packed rows of 16 columns at w + t * tap_stride + g * group_stride. Adds
 * each column's sum of (w + 128) to sum_lanes and, if asked, of |w| to magnitude_lanes (two
 * 64-bit halves per column: column first + i + 4 * lane in register i). Returns the bytes summed
 * per column (16 per load, zeros included). */
static size_t pack_columns16(size_t first, size_t cols, size_t ks, size_t kc, size_t k_first, const int8_t *col0,
                             size_t sn, size_t st, int8_t *w, size_t tap_stride, size_t group_stride,
                             int magnitudes, __m512i sum_lanes[4], __m512i magnitude_lanes[4]) {
  const __m512i bias = _mm512_set1_epi8((char)0x80), zero = _mm512_setzero_si512();
  const size_t groups = (kc + 3) / 4;
  size_t summed = 0;
  for (size_t t = 0; t < ks; t++) {
    for (size_t k = k_first; k < kc; k += 16) {
      const __mmask16 mask = kc - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (kc - k)) - 1);
      __m128i x[16];
      for (size_t i = 0; i < 16; i++)
        x[i] = first + i < cols ? _mm_maskz_loadu_epi8(mask, col0 + (first + i) * sn + t * st + k)
                                : _mm_setzero_si128();
      __m512i z[4];
      for (size_t i = 0; i < 4; i++) {
        __m512i v = _mm512_castsi128_si512(x[i]);
        v = _mm512_inserti32x4(v, x[i + 4], 1);
        v = _mm512_inserti32x4(v, x[i + 8], 2);
        z[i] = _mm512_inserti32x4(v, x[i + 12], 3);
        sum_lanes[i] = _mm512_add_epi64(sum_lanes[i], _mm512_sad_epu8(_mm512_xor_si512(z[i], bias), zero));
        if (magnitudes)
          magnitude_lanes[i] = _mm512_add_epi64(magnitude_lanes[i], _mm512_sad_epu8(_mm512_abs_epi8(z[i]), zero));
      }
      const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpacklo_epi32(z[2], z[3]);
      const __m512i t2 = _mm512_unpackhi_epi32(z[0], z[1]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
      const __m512i rows[4] = {_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1),
                               _mm512_unpacklo_epi64(t2, t3), _mm512_unpackhi_epi64(t2, t3)};
      const size_t g0 = k / 4, count = groups - g0 < 4 ? groups - g0 : 4;
      int8_t *d = w + t * tap_stride + g0 * group_stride + first * 4;
      for (size_t g = 0; g < count; g++) _mm512_storeu_si512((void *)(d + g * group_stride), rows[g]);
      summed += 16;
    }
  }
  return summed;
}

void tr_gemm_pack_qs8_rest_c4__avx512(size_t nr, size_t cols, size_t ks, size_t kc, size_t k_first,
                                      const int8_t *col0, size_t sn, size_t st, int8_t *w, int magnitudes,
                                      uint32_t *sums, uint64_t *magnitude_sums) {
  const size_t group_stride = nr * 4, tap_stride = (kc + 3) / 4 * group_stride;
  for (size_t first = 0; first < nr; first += 16) {
    __m512i sum_lanes[4], magnitude_lanes[4];
    for (size_t i = 0; i < 4; i++) sum_lanes[i] = magnitude_lanes[i] = _mm512_setzero_si512();
    /* the two variants inlined, so the sums of magnitudes cost nothing where they are not asked */
    const size_t summed =
        magnitudes ? pack_columns16(first, cols, ks, kc, k_first, col0, sn, st, w, tap_stride, group_stride, 1,
                                    sum_lanes, magnitude_lanes)
                   : pack_columns16(first, cols, ks, kc, k_first, col0, sn, st, w, tap_stride, group_stride, 0,
                                    sum_lanes, magnitude_lanes);
    for (size_t i = 0; i < 4; i++) {
      uint64_t s[8], m[8];
      _mm512_storeu_si512((void *)s, sum_lanes[i]);
      _mm512_storeu_si512((void *)m, magnitude_lanes[i]);
      for (size_t lane = 0; lane < 4; lane++) {
        const size_t j = first + i + 4 * lane;
        /* every byte loaded was summed as w + 128, the zeros past kc too */
        sums[j] += (uint32_t)(s[2 * lane] + s[2 * lane + 1] - 128u * (uint64_t)summed);
        magnitude_sums[j] += m[2 * lane] + m[2 * lane + 1];
      }
    }
  }
}

/* Four columns (cj, cj + sn, ...; those at or past cols zeros) of one tap, 16 k from the first
 * of cj (the bytes past kmask zeros) transposed into the packed rows at d (group_stride apart),
 * rows of groups past kc not written; returns each column's sum of the 16 as a 32-bit lane. */
static inline __attribute__((always_inline)) __m128i tile4(const int8_t *cj, size_t sn, size_t j, size_t cols,
                                                           __mmask16 kmask, size_t rows, int8_t *dj,
                                                           size_t group_stride, int stream) {
  const __m128i ones8 = _mm_set1_epi8(1), ones16 = _mm_set1_epi16(1);
#define TILE4_LOAD(p) (kmask == (__mmask16)0xFFFF ? _mm_loadu_si128((const __m128i *)(p)) : _mm_maskz_loadu_epi8(kmask, p))
  const __m128i c0 = TILE4_LOAD(cj);
  const __m128i c1 = j + 1 < cols ? TILE4_LOAD(cj + sn) : _mm_setzero_si128();
  const __m128i c2 = j + 2 < cols ? TILE4_LOAD(cj + 2 * sn) : _mm_setzero_si128();
  const __m128i c3 = j + 3 < cols ? TILE4_LOAD(cj + 3 * sn) : _mm_setzero_si128();
#undef TILE4_LOAD
  const __m128i t0 = _mm_unpacklo_epi32(c0, c1), t1 = _mm_unpacklo_epi32(c2, c3);
  const __m128i t2 = _mm_unpackhi_epi32(c0, c1), t3 = _mm_unpackhi_epi32(c2, c3);
  const __m128i r0 = _mm_unpacklo_epi64(t0, t1), r1 = _mm_unpackhi_epi64(t0, t1);
  const __m128i r2 = _mm_unpacklo_epi64(t2, t3), r3 = _mm_unpackhi_epi64(t2, t3);
  if (stream) { /* a row's lines fill as its tiles are stored, left to right */
    _mm_stream_si128((__m128i *)dj, r0);
    if (rows > 1) _mm_stream_si128((__m128i *)(dj + group_stride), r1);
    if (rows > 2) _mm_stream_si128((__m128i *)(dj + 2 * group_stride), r2);
    if (rows > 3) _mm_stream_si128((__m128i *)(dj + 3 * group_stride), r3);
  } else {
    _mm_storeu_si128((__m128i *)dj, r0);
    if (rows > 1) _mm_storeu_si128((__m128i *)(dj + group_stride), r1);
    if (rows > 2) _mm_storeu_si128((__m128i *)(dj + 2 * group_stride), r2);
    if (rows > 3) _mm_storeu_si128((__m128i *)(dj + 3 * group_stride), r3);
  }
  /* each 32-bit lane of a packed row is one column's 4 bytes: byte pairs (at most 256 in
   * magnitude), the four rows added (1024), then the 32-bit sum of the column */
  const __m128i pairs = _mm_add_epi16(_mm_add_epi16(_mm_maddubs_epi16(ones8, r0), _mm_maddubs_epi16(ones8, r1)),
                                      _mm_add_epi16(_mm_maddubs_epi16(ones8, r2), _mm_maddubs_epi16(ones8, r3)));
  return _mm_madd_epi16(pairs, ones16);
}

/* Every k, for nr a constant (16 or 32) so that the column sums stay in registers: whole 16s
 * with plain loads, the rest with one masked load per column. */
static inline __attribute__((always_inline)) size_t pack_all(size_t nr, size_t cols, size_t ks, size_t kc,
                                                             const int8_t *col0, size_t sn, size_t st, int8_t *w,
                                                             uint32_t *sums, uintptr_t ahead, uintptr_t ahead_end,
                                                             int stream) {
  const size_t group_stride = nr * 4, groups = (kc + 3) / 4, tap_stride = groups * group_stride;
  const size_t k_end = kc / 16 * 16;
  const __mmask16 rest = (__mmask16)((1u << (kc - k_end)) - 1);
  __m128i acc[8];
  for (size_t i = 0; i < nr / 4; i++) acc[i] = _mm_setzero_si128();
  for (size_t t = 0; t < ks; t++) {
    for (size_t k = 0; k < k_end; k += 16) {
      int8_t *d = w + t * tap_stride + k / 4 * group_stride;
      const int8_t *c = col0 + t * st + k;
      for (size_t j = 0; j < nr; j += 4) {
        if (j >= cols) break;
        /* the next block, a line per tile, as the baseline transposes do */
        if (ahead < ahead_end) _mm_prefetch((const char *)ahead, _MM_HINT_T0);
        ahead += 64;
        acc[j / 4] = _mm_add_epi32(acc[j / 4], tile4(c + j * sn, sn, j, cols, (__mmask16)0xFFFF, 4, d + j * 4,
                                                     group_stride, stream));
      }
    }
    if (rest) {
      int8_t *d = w + t * tap_stride + k_end / 4 * group_stride;
      const int8_t *c = col0 + t * st + k_end;
      for (size_t j = 0; j < nr; j += 4) {
        if (j >= cols) break;
        acc[j / 4] = _mm_add_epi32(acc[j / 4], tile4(c + j * sn, sn, j, cols, rest, groups - k_end / 4, d + j * 4,
                                                     group_stride, stream));
      }
    }
  }
  for (size_t i = 0; i < nr / 4; i++) _mm_storeu_si128((__m128i *)(sums + 4 * i), acc[i]);
  return groups * 4;
}

size_t tr_gemm_pack_qs8_all_c4__avx512(size_t nr, size_t cols, size_t ks, size_t kc, const int8_t *col0, size_t sn,
                                       size_t st, int8_t *w, uint32_t *sums, uintptr_t ahead, uintptr_t ahead_end,
                                       int stream) {
  /* streaming stores need 16-byte alignment: every row of a block starts on one if w does */
  stream = stream && (uintptr_t)w % 16 == 0;
  return nr == 32 ? pack_all(32, cols, ks, kc, col0, sn, st, w, sums, ahead, ahead_end, stream)
                  : pack_all(16, cols, ks, kc, col0, sn, st, w, sums, ahead, ahead_end, stream);
}

/* Columns first to first + 15 of a block, those at or past cols masked off. */
static __mmask16 columns_mask(size_t first, size_t cols) {
  if (cols <= first) return 0;
  return cols - first >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - first)) - 1);
}

uint32_t tr_gemm_qs8_largest_bias__avx512(const int32_t *bias, size_t cols) {
  __m512i largest = _mm512_setzero_si512();
  for (size_t first = 0; first < cols; first += 16) /* |INT32_MIN| reads as 2^31 unsigned */
    largest = _mm512_max_epu32(largest, _mm512_abs_epi32(_mm512_maskz_loadu_epi32(columns_mask(first, cols),
                                                                                  bias + first)));
  return _mm512_reduce_max_epu32(largest);
}

void tr_gemm_pack_qs8_finish__avx512(size_t nr, size_t cols, tr_gemm_qs8_requant rq, const int32_t *bias,
                                     int32_t a_zero, const uint32_t *sums, const tr_gemm_qmul *qmul,
                                     const double *scale, void *block, void *tail) {
  /* the even 32-bit halves of 16 (multiplier, shift) pairs from two registers, then the odd */
  const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
  const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1), az = _mm512_set1_epi32(a_zero);
  int32_t *mult = (int32_t *)tail, *left = mult + nr, *right = left + nr, *mask = right + nr;
  for (size_t first = 0; first < nr; first += 16) {
    const __mmask16 m = columns_mask(first, cols);
    const __m512i b = bias ? _mm512_maskz_loadu_epi32(m, bias + first) : zero;
    const __m512i s = _mm512_maskz_loadu_epi32(m, sums + first);
    /* bias - a_zero * sum, wrapping; zero past cols */
    _mm512_storeu_si512((char *)block + first * sizeof(int32_t),
                        _mm512_maskz_sub_epi32(m, b, _mm512_mullo_epi32(az, s)));
    const __mmask8 lo = (__mmask8)(m & 0xFF), hi = (__mmask8)(m >> 8);
    if (rq == TR_GEMM_REQUANT_DOUBLE) { /* the scales as they are, zeros past cols */
      double *scales = (double *)tail + first;
      _mm512_storeu_pd(scales, _mm512_maskz_loadu_pd(lo, scale + first));
      _mm512_storeu_pd(scales + 8, _mm512_maskz_loadu_pd(hi, scale + first + 8));
      continue;
    }
    /* pair i of the 16 is 64-bit lane i: the low 8 columns' pairs, then the high 8 */
    const __m512i q0 = _mm512_maskz_loadu_epi64(lo, qmul + first), q1 = _mm512_maskz_loadu_epi64(hi, qmul + first + 8);
    const __m512i multiplier = _mm512_permutex2var_epi32(q0, evens, q1);
    const __m512i shift = _mm512_permutex2var_epi32(q0, odds, q1);
    const __m512i r = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
    _mm512_storeu_si512(mult + first, multiplier);
    _mm512_storeu_si512(left + first, _mm512_max_epi32(shift, zero));
    _mm512_storeu_si512(right + first, r);
    /* (1 << right) - 1 in 32 bits: a shift of 32 or more leaves 0, so -1, as the 64-bit
     * shift truncated gives */
    _mm512_storeu_si512(mask + first, _mm512_sub_epi32(_mm512_sllv_epi32(one, r), one));
  }
}
