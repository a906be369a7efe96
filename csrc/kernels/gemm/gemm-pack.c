/* Weight packing for the GEMM micro-kernels: the layouts are described in gemm.h. Runs once per
 * prepare (or per invoke for weights that are not constant).
 *
 * Packing a filter whose columns are contiguous along k (OHWI, sk = 1) is a blocked transpose.
 * Where SSE2 (every x86-64) or NEON (every aarch64) is part of the baseline, the whole 4 x 4
 * tiles of 32-bit elements (floats, or KR = 4 groups of int8; KR = 8 groups go 2 x 2) are
 * transposed in registers: one 16-byte load per column and one 16-byte store per packed row,
 * instead of an element at a time from nr columns a row apart, which is what made packing
 * slow. The portable loops pack everything else, and everything when TR_PACK_PORTABLE is
 * defined (the tests build both, natively and for aarch64, and compare them with a reference
 * packer). */
#include <string.h>

#include "kernels/gemm/gemm.h"

#if defined(__SSE2__) && !defined(TR_PACK_PORTABLE)
#include <emmintrin.h>
#define TR_PACK_SSE2 1
#define TR_PACK_SIMD 1
#elif defined(__aarch64__) && !defined(TR_PACK_PORTABLE)
#include <arm_neon.h>
#define TR_PACK_NEON 1
#define TR_PACK_SIMD 1
#endif

/* With AVX-512 compiled in (and not TR_PACK_PORTABLE), the int8 blocks of the KR = 4 tiles go
 * to gemm-pack-avx512.c whenever the ISA level in force (which the cap lowers) is AVX-512. */
#if defined(TR_HAVE_AVX512) && defined(TR_PACK_SSE2)
#include "isa/cpu.h"
#define TR_PACK_AVX512 1

static int pack_avx512_allowed(void) {
  const tr_isa isa = tr_isa_level();
  return isa >= TR_ISA_AVX512 && isa < TR_ISA_NEON;
}
#endif

const char *tr_gemm_pack_transposes(void) {
#if defined(TR_PACK_AVX512)
  if (pack_avx512_allowed()) return "avx512+sse2";
#endif
#if defined(TR_PACK_SSE2)
  return "sse2";
#elif defined(TR_PACK_NEON)
  return "neon";
#else
  return "portable";
#endif
}

/* The widest column tile of any qs8 kernel, for the per-column sums of a block. */
#define TR_PACK_MAX_NR 64

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

size_t tr_gemm_packed_size_f32(size_t n, size_t ks, size_t kc, size_t nr) {
  return round_up(n, nr) * (1 + ks * kc) * sizeof(float);
}

#if defined(TR_PACK_SIMD)
/* Weights of at least this many bytes are packed with streaming stores (float: SSE2; int8: the
 * AVX-512 packer): written once here and first read at invoke, they would not stay in L2
 * anyway, and without the read-for-ownership of every destination line a large filter packs
 * ~25% faster from memory. */
#define TR_PACK_STREAM_BYTES ((size_t)1 << 20)

/* The next block's columns, nr * sn contiguous elements of an OHWI filter, are read a line at a
 * time while this block is transposed, so that they are in cache when its turn comes: the
 * transposes read nr columns at once, a pattern the hardware prefetchers follow poorly from
 * memory. The step per call makes one pass over the next block take one pass over this one. */
typedef struct {
  uintptr_t next, end; /* addresses, as they run past the filter */
} pack_ahead;

static inline void pack_prefetch(pack_ahead *a, size_t step) {
  if (a->next < a->end) __builtin_prefetch((const void *)a->next);
  a->next += step;
}

/* One tap of a full block of nr (a multiple of 4) columns, k from 0 while 4 remain: the packed
 * rows w[k][nr] from 4 x 4 tiles. Returns the k it stopped at. */
static size_t f32_transpose_tap(size_t nr, size_t kc, const float *col0, size_t sn, float *out,
                                pack_ahead *ahead, int stream) {
  size_t k = 0;
  for (; k + 4 <= kc; k += 4, out += 4 * nr)
    for (size_t j = 0; j < nr; j += 4) {
      pack_prefetch(ahead, 64);
      const float *c = col0 + j * sn + k;
#if defined(TR_PACK_SSE2)
      __m128 r0 = _mm_loadu_ps(c), r1 = _mm_loadu_ps(c + sn), r2 = _mm_loadu_ps(c + 2 * sn);
      __m128 r3 = _mm_loadu_ps(c + 3 * sn);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      if (stream) { /* a row's lines fill as its tiles are stored, left to right */
        _mm_stream_ps(out + j, r0);
        _mm_stream_ps(out + nr + j, r1);
        _mm_stream_ps(out + 2 * nr + j, r2);
        _mm_stream_ps(out + 3 * nr + j, r3);
      } else {
        _mm_storeu_ps(out + j, r0);
        _mm_storeu_ps(out + nr + j, r1);
        _mm_storeu_ps(out + 2 * nr + j, r2);
        _mm_storeu_ps(out + 3 * nr + j, r3);
      }
#else
      (void)stream;
      /* trn pairs columns 0/1 and 2/3 per k; the halves then combine into whole rows */
      const float32x4x2_t t01 = vtrnq_f32(vld1q_f32(c), vld1q_f32(c + sn));
      const float32x4x2_t t23 = vtrnq_f32(vld1q_f32(c + 2 * sn), vld1q_f32(c + 3 * sn));
      vst1q_f32(out + j, vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0])));
      vst1q_f32(out + nr + j, vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1])));
      vst1q_f32(out + 2 * nr + j, vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0])));
      vst1q_f32(out + 3 * nr + j, vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1])));
#endif
    }
  return k;
}
#endif

void tr_gemm_pack_f32(size_t n, size_t ks, size_t kc, size_t nr, const float *src, size_t sn, size_t st,
                      size_t sk, const float *bias, void *packed) {
  float *out = (float *)packed;
#if defined(TR_PACK_SIMD)
  const int stream = n * ks * kc * sizeof(float) >= TR_PACK_STREAM_BYTES && (uintptr_t)packed % 16 == 0;
#endif
  for (size_t n0 = 0; n0 < n; n0 += nr) {
    const size_t cols = n - n0 < nr ? n - n0 : nr;
#if defined(TR_PACK_SIMD)
    pack_ahead ahead = {(uintptr_t)src + (n0 + nr) * sn * sizeof(float), (uintptr_t)src + n * sn * sizeof(float)};
#endif
    for (size_t j = 0; j < nr; j++) *out++ = (j < cols && bias) ? bias[n0 + j] : 0.0f;
    for (size_t t = 0; t < ks; t++)
      for (size_t k = 0; k < kc; k++) {
#if defined(TR_PACK_SIMD)
        if (k == 0 && sk == 1 && sn != 1 && cols == nr && nr % 4 == 0) {
          k = f32_transpose_tap(nr, kc, src + n0 * sn + t * st, sn, out, &ahead, stream);
          out += k * nr;
          if (k == kc) break;
        }
#endif
        const float *row = src + n0 * sn + t * st + k * sk;
        if (sn == 1) { /* columns contiguous (a [K, N] matrix): a row copy */
          memcpy(out, row, cols * sizeof(float));
        } else {
          for (size_t j = 0; j < cols; j++) out[j] = row[j * sn];
        }
        for (size_t j = cols; j < nr; j++) out[j] = 0.0f;
        out += nr;
      }
  }
#if defined(TR_PACK_SSE2)
  if (stream) _mm_sfence(); /* streaming stores are weakly ordered: done before anyone reads */
#endif
}

static size_t qs8_tail_bytes(size_t nr, tr_gemm_qs8_requant rq) {
  return rq == TR_GEMM_REQUANT_DOUBLE ? nr * sizeof(double) : 4 * nr * sizeof(int32_t);
}

static size_t qs8_block_bytes(size_t ks, size_t kc, size_t nr, size_t kr, tr_gemm_qs8_requant rq) {
  return nr * sizeof(int32_t) + ks * round_up(kc, kr) * nr + qs8_tail_bytes(nr, rq);
}

size_t tr_gemm_packed_size_qs8(size_t n, size_t ks, size_t kc, size_t nr, size_t kr, tr_gemm_qs8_requant rq) {
  return (round_up(n, nr) / nr) * qs8_block_bytes(ks, kc, nr, kr, rq);
}

/* The sum (wrapping, like the accumulators it joins) and the sum of magnitudes of a weight row.
 * Fixed-count inner loops over 32-bit lanes let the compiler vectorise the contiguous case;
 * the lanes are folded every 2^16 values, far below where a magnitude lane could overflow. */
static void qs8_row_sums(const int8_t *row, size_t kc, size_t sk, uint32_t *sum, uint64_t *magnitude) {
  size_t k = 0;
  if (sk == 1)
    while (k + 16 <= kc) {
      int32_t s[16] = {0}, m[16] = {0};
      const size_t end = kc - k > 65536 ? k + 65536 : kc;
      for (; k + 16 <= end; k += 16)
        for (size_t i = 0; i < 16; i++) {
          const int32_t v = row[k + i];
          s[i] += v;
          m[i] += v < 0 ? -v : v;
        }
      for (size_t i = 0; i < 16; i++) *sum += (uint32_t)s[i], *magnitude += (uint64_t)m[i];
    }
  for (; k < kc; k++) {
    const int32_t v = row[k * sk];
    *sum += (uint32_t)v;
    *magnitude += (uint64_t)(v < 0 ? -v : v);
  }
}

/* kr weights of one column from k0 on, zero past kc: whole groups are plain copies when the
 * column is contiguous along k. */
static inline void qs8_copy_group(int8_t *w, const int8_t *col, size_t k0, size_t kc, size_t kr, size_t sk) {
  if (sk == 1 && k0 + kr <= kc) {
    if (kr == 8) memcpy(w, col + k0, 8);
    else if (kr == 4) memcpy(w, col + k0, 4);
    else memcpy(w, col + k0, kr);
    return;
  }
  for (size_t i = 0; i < kr; i++) w[i] = k0 + i < kc ? col[(k0 + i) * sk] : 0;
}

#if defined(TR_PACK_SIMD)
/* A column's running sums over whole 16-byte loads, in 64-bit lanes so no length overflows
 * them: the signed sum (on SSE2 offset by 128 per byte, psadbw summing unsigned bytes) and the
 * sum of magnitudes. */
#if defined(TR_PACK_SSE2)
typedef struct {
  __m128i sum, magnitude;
} qs8_lanes;

static inline qs8_lanes qs8_lanes_zero(void) { return (qs8_lanes){_mm_setzero_si128(), _mm_setzero_si128()}; }

static inline void qs8_lanes_add(qs8_lanes *l, __m128i v, int magnitudes) {
  const __m128i zero = _mm_setzero_si128();
  l->sum = _mm_add_epi64(l->sum, _mm_sad_epu8(_mm_xor_si128(v, _mm_set1_epi8((char)0x80)), zero));
  if (magnitudes) {
    const __m128i negative = _mm_cmpgt_epi8(zero, v);
    l->magnitude = _mm_add_epi64(l->magnitude, _mm_sad_epu8(_mm_sub_epi8(_mm_xor_si128(v, negative), negative), zero));
  }
}

/* Folds the lanes, kn bytes in all, into the scalar sums. */
static void qs8_lanes_fold(qs8_lanes l, size_t kn, uint32_t *s, uint64_t *m) {
  uint64_t lanes[2];
  _mm_storeu_si128((__m128i *)lanes, l.sum);
  *s += (uint32_t)(lanes[0] + lanes[1] - 128u * (uint64_t)kn);
  _mm_storeu_si128((__m128i *)lanes, l.magnitude);
  *m += lanes[0] + lanes[1];
}

typedef __m128i qs8_bytes;
#define QS8_ZERO() _mm_setzero_si128()
#define QS8_LOAD(p) _mm_loadu_si128((const __m128i *)(p))
#define QS8_STORE(p, v) _mm_storeu_si128((__m128i *)(p), (v))
#else
typedef struct {
  int64x2_t sum;
  uint64x2_t magnitude;
} qs8_lanes;

static inline qs8_lanes qs8_lanes_zero(void) { return (qs8_lanes){vdupq_n_s64(0), vdupq_n_u64(0)}; }

static inline void qs8_lanes_add(qs8_lanes *l, int8x16_t v, int magnitudes) {
  l->sum = vpadalq_s32(l->sum, vpaddlq_s16(vpaddlq_s8(v)));
  /* |-128| wraps to -128 in int8, which read unsigned is 128 */
  if (magnitudes)
    l->magnitude = vpadalq_u32(l->magnitude, vpaddlq_u16(vpaddlq_u8(vreinterpretq_u8_s8(vabsq_s8(v)))));
}

static void qs8_lanes_fold(qs8_lanes l, size_t kn, uint32_t *s, uint64_t *m) {
  (void)kn;
  *s += (uint32_t)(uint64_t)vaddvq_s64(l.sum);
  *m += vaddvq_u64(l.magnitude);
}

typedef int8x16_t qs8_bytes;
#define QS8_ZERO() vdupq_n_s8(0)
#define QS8_LOAD(p) vld1q_s8((const int8_t *)(p))
#define QS8_STORE(p, v) vst1q_s8((int8_t *)(p), (v))
#endif

/* One tap of the cols columns of a block of nr (KR = 4: nr a multiple of 4; KR = 8: of 2), k
 * from 0 while 16 remain: 4 x 4 tiles of 4-byte groups (2 x 2 of 8-byte ones), with each
 * column's sums (the magnitudes only if asked). Columns past cols in the last tile read as
 * zeros. Returns the k it stopped at. Inlined with magnitudes a constant, so each variant has
 * only the work it needs. */
static inline __attribute__((always_inline)) size_t qs8_transpose_tap(size_t nr, size_t cols, size_t kr,
                                                                      size_t kc, const int8_t *col0, size_t sn,
                                                                      int8_t *w, qs8_lanes *lanes,
                                                                      int magnitudes, pack_ahead *ahead) {
  const size_t group_stride = nr * kr;
  size_t k = 0;
  for (; k + 16 <= kc; k += 16, w += 16 * nr) {
    if (kr == 4) {
      for (size_t j = 0; j < cols; j += 4) {
        pack_prefetch(ahead, 64);
        const int8_t *c = col0 + j * sn + k;
        qs8_bytes c0 = QS8_LOAD(c), c1, c2, c3;
        if (j + 4 <= cols) {
          c1 = QS8_LOAD(c + sn), c2 = QS8_LOAD(c + 2 * sn), c3 = QS8_LOAD(c + 3 * sn);
        } else {
          c1 = j + 1 < cols ? QS8_LOAD(c + sn) : QS8_ZERO();
          c2 = j + 2 < cols ? QS8_LOAD(c + 2 * sn) : QS8_ZERO();
          c3 = QS8_ZERO();
        }
        qs8_lanes_add(&lanes[j], c0, magnitudes);
        qs8_lanes_add(&lanes[j + 1], c1, magnitudes);
        qs8_lanes_add(&lanes[j + 2], c2, magnitudes);
        qs8_lanes_add(&lanes[j + 3], c3, magnitudes);
        int8_t *d = w + j * 4;
#if defined(TR_PACK_SSE2)
        const __m128i t0 = _mm_unpacklo_epi32(c0, c1), t1 = _mm_unpacklo_epi32(c2, c3);
        const __m128i t2 = _mm_unpackhi_epi32(c0, c1), t3 = _mm_unpackhi_epi32(c2, c3);
        QS8_STORE(d, _mm_unpacklo_epi64(t0, t1));
        QS8_STORE(d + group_stride, _mm_unpackhi_epi64(t0, t1));
        QS8_STORE(d + 2 * group_stride, _mm_unpacklo_epi64(t2, t3));
        QS8_STORE(d + 3 * group_stride, _mm_unpackhi_epi64(t2, t3));
#else
        const uint32x4x2_t t01 = vtrnq_u32(vreinterpretq_u32_s8(c0), vreinterpretq_u32_s8(c1));
        const uint32x4x2_t t23 = vtrnq_u32(vreinterpretq_u32_s8(c2), vreinterpretq_u32_s8(c3));
        vst1q_u32((uint32_t *)d, vcombine_u32(vget_low_u32(t01.val[0]), vget_low_u32(t23.val[0])));
        vst1q_u32((uint32_t *)(d + group_stride), vcombine_u32(vget_low_u32(t01.val[1]), vget_low_u32(t23.val[1])));
        vst1q_u32((uint32_t *)(d + 2 * group_stride),
                  vcombine_u32(vget_high_u32(t01.val[0]), vget_high_u32(t23.val[0])));
        vst1q_u32((uint32_t *)(d + 3 * group_stride),
                  vcombine_u32(vget_high_u32(t01.val[1]), vget_high_u32(t23.val[1])));
#endif
      }
    } else {
      for (size_t j = 0; j < cols; j += 2) {
        pack_prefetch(ahead, 32);
        const int8_t *c = col0 + j * sn + k;
        const qs8_bytes c0 = QS8_LOAD(c), c1 = j + 1 < cols ? QS8_LOAD(c + sn) : QS8_ZERO();
        qs8_lanes_add(&lanes[j], c0, magnitudes);
        qs8_lanes_add(&lanes[j + 1], c1, magnitudes);
        int8_t *d = w + j * 8;
#if defined(TR_PACK_SSE2)
        QS8_STORE(d, _mm_unpacklo_epi64(c0, c1));
        QS8_STORE(d + group_stride, _mm_unpackhi_epi64(c0, c1));
#else
        QS8_STORE(d, vcombine_s8(vget_low_s8(c0), vget_low_s8(c1)));
        QS8_STORE(d + group_stride, vcombine_s8(vget_high_s8(c0), vget_high_s8(c1)));
#endif
      }
    }
  }
  return k;
}
#endif

int tr_gemm_pack_qs8(size_t n, size_t ks, size_t kc, size_t nr, size_t kr, tr_gemm_qs8_requant rq,
                     const int8_t *src, size_t sn, size_t st, size_t sk, const int32_t *bias, int32_t a_zero,
                     const tr_gemm_qmul *qmul, const double *scale, void *packed) {
  const size_t kcp = round_up(kc, kr);
  uint8_t *out = (uint8_t *)packed;
  int bounded = 1;
#if defined(TR_PACK_AVX512)
  const int wide = kr == 4 && (nr == 16 || nr == 32) && sk == 1 && sn != 1 && pack_avx512_allowed();
  const int stream = n * ks * kc >= TR_PACK_STREAM_BYTES;
#endif
  for (size_t n0 = 0; n0 < n; n0 += nr) {
    const size_t cols = n - n0 < nr ? n - n0 : nr;
    int8_t *w = (int8_t *)(out + nr * sizeof(int32_t));
    /* column by column, so each source row is read once, in order (its sums while it is in
     * L1); the block being written stays in cache */
    const size_t group_stride = nr * kr, tap_stride = kcp / kr * group_stride;
    /* k below kdone of every tap is packed (and summed into sums[] / magnitudes[]) already */
    size_t kdone = 0;
    uint32_t sums[TR_PACK_MAX_NR];
    uint64_t magnitudes[TR_PACK_MAX_NR];
#if defined(TR_PACK_SIMD)
    /* the magnitudes only decide the bound below: when even weights of -128 everywhere keep
     * every column of the block within it, they cannot change it and are not summed */
    uint64_t largest_bias = 0;
#if defined(TR_PACK_AVX512)
    if (wide && bias) largest_bias = tr_gemm_qs8_largest_bias__avx512(bias + n0, cols);
    else
#endif
    for (size_t j = 0; j < cols && bias; j++) {
      const uint64_t b = (uint64_t)(bias[n0 + j] < 0 ? -(int64_t)bias[n0 + j] : bias[n0 + j]);
      largest_bias = b > largest_bias ? b : largest_bias;
    }
    const int need_magnitudes = largest_bias + 255u * 128u * (uint64_t)ks * (uint64_t)kc >= (1ull << 30);
#endif
    if (cols < nr) memset(w, 0, ks * tap_stride);
#if defined(TR_PACK_AVX512)
    if (wide && !need_magnitudes) {
      kdone = tr_gemm_pack_qs8_all_c4__avx512(nr, cols, ks, kc, src + n0 * sn, sn, st, w, sums,
                                              (uintptr_t)src + (n0 + nr) * sn, (uintptr_t)src + n * sn, stream);
      for (size_t j = 0; j < nr; j++) magnitudes[j] = 0;
    } else
#endif
#if defined(TR_PACK_SIMD)
    if (sk == 1 && sn != 1 && nr <= TR_PACK_MAX_NR &&
        ((kr == 4 && nr % 4 == 0) || (kr == 8 && nr % 2 == 0)) && kc >= 16) {
      qs8_lanes lanes[TR_PACK_MAX_NR];
      for (size_t j = 0; j < nr; j++) lanes[j] = qs8_lanes_zero();
      pack_ahead ahead = {(uintptr_t)src + (n0 + nr) * sn, (uintptr_t)src + n * sn};
      for (size_t t = 0; t < ks; t++) {
        const int8_t *col0 = src + n0 * sn + t * st;
        if (need_magnitudes)
          kdone = qs8_transpose_tap(nr, cols, kr, kc, col0, sn, w + t * tap_stride, lanes, 1, &ahead);
        else kdone = qs8_transpose_tap(nr, cols, kr, kc, col0, sn, w + t * tap_stride, lanes, 0, &ahead);
      }
      for (size_t j = 0; j < nr; j++) {
        sums[j] = 0, magnitudes[j] = 0;
        qs8_lanes_fold(lanes[j], ks * kdone, &sums[j], &magnitudes[j]);
      }
    }
#endif
#if defined(TR_PACK_AVX512)
    if (wide && kdone < kc) { /* the rest of k of every tap, the padding included */
      if (!kdone)
        for (size_t j = 0; j < nr; j++) sums[j] = 0, magnitudes[j] = 0;
      tr_gemm_pack_qs8_rest_c4__avx512(nr, cols, ks, kc, kdone, src + n0 * sn, sn, st, w, need_magnitudes, sums,
                                       magnitudes);
      kdone = kcp;
    }
    if (wide && !need_magnitudes) {
      /* every column within the bound (need_magnitudes), so the block leaves bounded as it is */
      tr_gemm_pack_qs8_finish__avx512(nr, cols, rq, bias ? bias + n0 : NULL, a_zero, sums,
                                      rq == TR_GEMM_REQUANT_DOUBLE ? NULL : qmul + n0,
                                      rq == TR_GEMM_REQUANT_DOUBLE ? scale + n0 : NULL, out, w + ks * kcp * nr);
      out += qs8_block_bytes(ks, kc, nr, kr, rq);
      continue;
    }
#endif
    for (size_t j = 0; j < cols; j++) {
      uint32_t sum = kdone ? sums[j] : 0;
      uint64_t magnitude = kdone ? magnitudes[j] : 0;
      for (size_t t = 0; t < ks && kdone < kc; t++) {
        const int8_t *row = src + (n0 + j) * sn + t * st;
        qs8_row_sums(row + kdone * sk, kc - kdone, sk, &sum, &magnitude);
        int8_t *dst = w + t * tap_stride + j * kr + kdone * nr;
        size_t k0 = kdone;
        if (sk == 1) { /* whole groups of the usual sizes: fixed-size copies, no tests */
          const size_t whole = kc / kr * kr;
          if (kr == 4)
            for (; k0 < whole; k0 += 4, dst += group_stride) memcpy(dst, row + k0, 4);
          else if (kr == 8)
            for (; k0 < whole; k0 += 8, dst += group_stride) memcpy(dst, row + k0, 8);
        }
        for (; k0 < kcp; k0 += kr, dst += group_stride) qs8_copy_group(dst, row, k0, kc, kr, sk);
      }
      /* the bias slot holds bias - a_zero * sum (wrapping 32-bit arithmetic, like the
       * accumulators it joins) */
      const int32_t bv = bias ? bias[n0 + j] : 0;
      const uint32_t folded = (uint32_t)bv - (uint32_t)a_zero * sum;
      memcpy(out + j * sizeof(int32_t), &folded, sizeof(folded));
      if ((uint64_t)(bv < 0 ? -(int64_t)bv : bv) + 255u * magnitude >= (1ull << 30)) bounded = 0;
    }
    for (size_t j = cols; j < nr; j++) memset(out + j * sizeof(int32_t), 0, sizeof(int32_t));
    uint8_t *tail = (uint8_t *)(w + ks * kcp * nr);
    if (rq == TR_GEMM_REQUANT_DOUBLE) {
      for (size_t j = 0; j < nr; j++) {
        const double v = n0 + j < n ? scale[n0 + j] : 0.0;
        memcpy(tail + j * sizeof(double), &v, sizeof(double));
      }
    } else {
      int32_t *mult = (int32_t *)tail, *left = mult + nr, *right = left + nr, *mask = right + nr;
      for (size_t j = 0; j < nr; j++) {
        const tr_gemm_qmul q = n0 + j < n ? qmul[n0 + j] : (tr_gemm_qmul){0, 0};
        mult[j] = q.multiplier;
        left[j] = q.shift > 0 ? q.shift : 0;
        right[j] = q.shift > 0 ? 0 : -q.shift;
        mask[j] = (int32_t)((1ll << right[j]) - 1);
      }
    }
    out += qs8_block_bytes(ks, kc, nr, kr, rq);
  }
#if defined(TR_PACK_AVX512)
  if (wide && stream) _mm_sfence(); /* streaming stores are weakly ordered: done before anyone reads */
#endif
  return bounded;
}
