/* int8 GEMM / IGEMM, AVX-512 VNNI: vpdpbusd multiplies unsigned bytes by signed bytes, four k at a
 * time into each int32 lane. A is read as a ^ 0x80 = a + 128 (unsigned); the weights were packed
 * with a_xor = 128, so the bias already subtracts (zero point + 128) * sum(w) and the result is
 * exactly sum((a - zero point) * w) + bias.
 *
 * Tiles: MR rows x NV vectors of 16 columns (7x32 and 7x16: MobileNet's and ResNet's pixel
 * counts are multiples of 7), KR = 4: the weights of 4 k for 16 columns are one 64-byte
 * vector. The one-row variant (matrix-vector products) keeps four k groups in flight.
 * Preconditions (gemm.h): mr in [1, MR], nc >= 1, kc >= 1, ks >= 1. */
#include "kernels/gemm/gemm-qs8-avx512.h"

enum { KR = 4, MAX_MR = 8, MAX_NV = 2 }; /* array bounds: MR, NV are constants only after inlining */

/* The rows of A a call reads, flipped to unsigned once (a ^ 0x80) into a stack buffer when
 * they fit: the k loop then broadcasts them without an xor per row and group, which costs as
 * much as a third of the dot products (7x16) on cores that split 512-bit operations. Each row
 * is padded to a multiple of 64 bytes, the padding 0x80 (against zero weights). */
enum { FLIP_BYTES = 16384 };

static inline size_t flip_stride(size_t kc) { return (kc + 63) & ~(size_t)63; }

static inline void flip_row(uint8_t *dst, const int8_t *src, size_t kc) {
  const __m512i vsign = _mm512_set1_epi32((int32_t)0x80808080u);
  for (size_t k = 0; k < kc; k += 64) {
    const __mmask64 m = kc - k >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (kc - k)) - 1;
    _mm512_storeu_si512(dst + k, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + k), vsign));
  }
}

/* acc + the four-byte dot products of x (unsigned) and w (signed) per int32 lane. Written as asm
 * for GCC, whose register allocator otherwise copies every accumulator of the tile on each
 * iteration (the instruction overwrites its accumulator operand). */
static inline __m512i dpbusd(__m512i acc, __m512i x, __m512i w) {
#if defined(__GNUC__) && !defined(__clang__)
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "vm"(w));
  return acc;
#else
  return _mm512_dpbusd_epi32(acc, x, w);
#endif
}

static inline __attribute__((always_inline)) void qs8_tile(
    const size_t MR, const size_t NV, const int indirect, const tr_gemm_qs8_requant rq, size_t mr, size_t nc,
    size_t kc, size_t ks, const int8_t *a, size_t a_stride, const int8_t **ind, size_t a_offset,
    const int8_t *zero, const void *wv, int8_t *c, size_t c_stride, const tr_gemm_qs8_params *params) {
  const size_t NR = 16 * NV;
  const uint8_t *w = (const uint8_t *)wv;
  const __m512i vsign = _mm512_set1_epi32((int32_t)0x80808080u);
  const __m512i vzp = _mm512_set1_epi32(params->output_zero_point);
  const __m128i vlo = _mm_set1_epi8((char)params->output_min), vhi = _mm_set1_epi8((char)params->output_max);
  const int clamp = params->output_min > -128 || params->output_max < 127;
  const int32_t *row_bias = indirect ? 0 : params->row_bias;
  int8_t *cr[MAX_MR];
  const int8_t *ar[MAX_MR];
  TR_GEMM_UNROLL(8)
  for (size_t r = 0; r < MR; r++) {
    const size_t rr = r < mr ? r : mr - 1;
    cr[r] = c + rr * c_stride;
    if (!indirect) ar[r] = a + rr * a_stride;
  }
  uint8_t flipped[FLIP_BYTES] __attribute__((aligned(64)));
  const size_t fs = flip_stride(kc);
  const int flip = NV == 1 && nc > NR && kc >= 64 && ks * MR * fs <= FLIP_BYTES;
  if (flip) {
    for (size_t t = 0; t < ks; t++)
      TR_GEMM_UNROLL(8)
      for (size_t r = 0; r < MR; r++) {
        const int8_t *src = ar[r];
        if (indirect) {
          const int8_t *p = ind[t * MR + r];
          src = p == zero ? p : (const int8_t *)((const char *)p + a_offset);
        }
        flip_row(flipped + (t * MR + r) * fs, src, kc);
      }
  }
  for (;;) {
    __m512i acc[MAX_MR][MAX_NV];
    TR_GEMM_UNROLL(2)
    for (size_t v = 0; v < NV; v++) acc[0][v] = _mm512_loadu_si512(w + 64 * v);
    TR_GEMM_UNROLL(8)
    for (size_t r = 1; r < MR; r++) {
      TR_GEMM_UNROLL(2)
      for (size_t v = 0; v < NV; v++) acc[r][v] = acc[0][v];
    }
    w += NR * sizeof(int32_t);
    if (flip) {
      const uint8_t *x = flipped;
      size_t t = ks;
      do {
        size_t k = 0;
        do {
          const __m512i w0 = _mm512_loadu_si512(w), w1 = NV > 1 ? _mm512_loadu_si512(w + 64) : w0;
          w += NR * KR;
          TR_GEMM_UNROLL(8)
          for (size_t r = 0; r < MR; r++) {
            const __m512i xr = _mm512_set1_epi32(qs8_load_u32((const int8_t *)x + r * fs + k));
            acc[r][0] = dpbusd(acc[r][0], xr, w0);
            if (NV > 1) acc[r][1] = dpbusd(acc[r][1], xr, w1);
          }
        } while ((k += KR) < kc);
        x += MR * fs;
      } while (--t != 0);
    } else {
      const int8_t **ip = ind;
      size_t t = ks;
      do {
        if (indirect) {
          TR_GEMM_UNROLL(8)
          for (size_t r = 0; r < MR; r++) {
            const int8_t *p = ip[r];
            ar[r] = p == zero ? p : (const int8_t *)((const char *)p + a_offset);
          }
          ip += MR;
        }
        if ((kc & (KR - 1)) == 0) {
          size_t k = 0;
          do { /* kc >= 1: no zero-trip path (which made GCC keep a copy of the tile in memory) */
            const __m512i w0 = _mm512_loadu_si512(w), w1 = NV > 1 ? _mm512_loadu_si512(w + 64) : w0;
            w += NR * KR;
            TR_GEMM_UNROLL(8)
            for (size_t r = 0; r < MR; r++) {
              const __m512i x = _mm512_xor_si512(_mm512_set1_epi32(qs8_load_u32(ar[r] + k)), vsign);
              acc[r][0] = dpbusd(acc[r][0], x, w0);
              if (NV > 1) acc[r][1] = dpbusd(acc[r][1], x, w1);
            }
          } while ((k += KR) < kc);
        } else {
          /* kc is not a multiple of 4: every group is a masked load, so that the last, partial
           * one reads only kc - k bytes; the bytes left out become 0x80, against zero weights */
          size_t k = 0;
          do {
            const __m512i w0 = _mm512_loadu_si512(w), w1 = NV > 1 ? _mm512_loadu_si512(w + 64) : w0;
            const __mmask16 m = (__mmask16)(kc - k >= KR ? 0xF : (1u << (kc - k)) - 1);
            w += NR * KR;
            TR_GEMM_UNROLL(8)
            for (size_t r = 0; r < MR; r++) {
              const __m512i x = _mm512_xor_si512(_mm512_broadcastd_epi32(_mm_maskz_loadu_epi8(m, ar[r] + k)), vsign);
              acc[r][0] = dpbusd(acc[r][0], x, w0);
              if (NV > 1) acc[r][1] = dpbusd(acc[r][1], x, w1);
            }
          } while ((k += KR) < kc);
        }
      } while (--t != 0);
    }
    if (row_bias) {
      TR_GEMM_UNROLL(8)
      for (size_t r = 0; r < MR; r++) {
        const __m512i b = _mm512_set1_epi32(row_bias[r < mr ? r : mr - 1]);
        TR_GEMM_UNROLL(2)
        for (size_t v = 0; v < NV; v++) acc[r][v] = _mm512_add_epi32(acc[r][v], b);
      }
    }
    __m128i out[MAX_MR][MAX_NV];
    TR_GEMM_UNROLL(2)
    for (size_t v = 0; v < NV; v++) {
      qs8_rq16 q = qs8_rq_load(rq, w, NR, v);
      if (rq == TR_GEMM_REQUANT_Q31 && params->acc_bounded && qs8_rq_short(&q, params->output_zero_point)) {
        TR_GEMM_UNROLL(8)
        for (size_t r = 0; r < MR; r++) out[r][v] = qs8_output16_short(acc[r][v], &q);
      } else if (rq == TR_GEMM_REQUANT_Q31 && qs8_rq_any_left(&q)) {
        TR_GEMM_UNROLL(8)
        for (size_t r = 0; r < MR; r++) out[r][v] = qs8_output16(rq, 1, acc[r][v], &q, vzp);
      } else {
        TR_GEMM_UNROLL(8)
        for (size_t r = 0; r < MR; r++) out[r][v] = qs8_output16(rq, 0, acc[r][v], &q, vzp);
      }
      if (clamp) {
        TR_GEMM_UNROLL(8)
        for (size_t r = 0; r < MR; r++) out[r][v] = qs8_clamp16(out[r][v], vlo, vhi);
      }
    }
    w += qs8_tail_bytes(rq, NR);
    if (nc >= NR) {
      TR_GEMM_UNROLL(8)
      for (size_t r = MR; r-- > 0;) {
        TR_GEMM_UNROLL(2)
        for (size_t v = 0; v < NV; v++) _mm_storeu_si128((__m128i *)(cr[r] + 16 * v), out[r][v]);
        cr[r] += NR;
      }
    } else {
      const __mmask16 m0 = qs8_tail_mask(nc), m1 = qs8_tail_mask(nc > 16 ? nc - 16 : 0);
      TR_GEMM_UNROLL(8)
      for (size_t r = MR; r-- > 0;) {
        _mm_mask_storeu_epi8(cr[r], m0, out[r][0]);
        if (NV > 1) _mm_mask_storeu_epi8(cr[r] + 16, m1, out[r][1]);
      }
    }
    if (nc <= NR) return;
    nc -= NR;
  }
}

/* One row: four k groups in flight (4 x NV accumulators), summed at the end. */
static inline __attribute__((always_inline)) void qs8_row(const size_t NV, const int indirect,
                                                          const tr_gemm_qs8_requant rq, size_t nc, size_t kc,
                                                          size_t ks, const int8_t *a, const int8_t **ind,
                                                          size_t a_offset, const int8_t *zero, const void *wv,
                                                          int8_t *c, const tr_gemm_qs8_params *params) {
  const size_t NR = 16 * NV;
  const uint8_t *w = (const uint8_t *)wv;
  const __m512i vsign = _mm512_set1_epi32((int32_t)0x80808080u);
  const __m512i vzp = _mm512_set1_epi32(params->output_zero_point);
  const __m128i vlo = _mm_set1_epi8((char)params->output_min), vhi = _mm_set1_epi8((char)params->output_max);
  const __m512i vrb = _mm512_set1_epi32(!indirect && params->row_bias ? params->row_bias[0] : 0);
  for (;;) {
    __m512i acc[4][MAX_NV];
    TR_GEMM_UNROLL(2)
    for (size_t v = 0; v < NV; v++) {
      acc[0][v] = _mm512_add_epi32(_mm512_loadu_si512(w + 64 * v), vrb);
      acc[1][v] = acc[2][v] = acc[3][v] = _mm512_setzero_si512();
    }
    w += NR * sizeof(int32_t);
    for (size_t t = 0; t < ks; t++) {
      const int8_t *x = a;
      if (indirect) x = ind[t] == zero ? zero : (const int8_t *)((const char *)ind[t] + a_offset);
      size_t k = 0;
      for (; k + 4 * KR <= kc; k += 4 * KR) {
        TR_GEMM_UNROLL(4)
        for (size_t u = 0; u < 4; u++) {
          const __m512i xu = _mm512_xor_si512(_mm512_set1_epi32(qs8_load_u32(x + k + KR * u)), vsign);
          TR_GEMM_UNROLL(2)
          for (size_t v = 0; v < NV; v++)
            acc[u][v] = dpbusd(acc[u][v], xu, _mm512_loadu_si512(w + (u * NR + 16 * v) * KR));
        }
        w += 4 * NR * KR;
      }
      for (; k < kc; k += KR) {
        const int32_t bits = kc - k >= KR ? qs8_load_u32(x + k) : (int32_t)qs8_load_partial(x + k, kc - k);
        const __m512i x0 = _mm512_xor_si512(_mm512_set1_epi32(bits), vsign);
        TR_GEMM_UNROLL(2)
        for (size_t v = 0; v < NV; v++) acc[0][v] = dpbusd(acc[0][v], x0, _mm512_loadu_si512(w + 64 * v));
        w += NR * KR;
      }
    }
    TR_GEMM_UNROLL(2)
    for (size_t v = 0; v < NV; v++) {
      const __m512i y =
          _mm512_add_epi32(_mm512_add_epi32(acc[0][v], acc[1][v]), _mm512_add_epi32(acc[2][v], acc[3][v]));
      const qs8_rq16 q = qs8_rq_load(rq, w, NR, v);
      const __m128i o = qs8_clamp16(qs8_output16(rq, 1, y, &q, vzp), vlo, vhi);
      if (nc >= NR) _mm_storeu_si128((__m128i *)(c + 16 * v), o);
      else _mm_mask_storeu_epi8(c + 16 * v, qs8_tail_mask(nc > 16 * v ? nc - 16 * v : 0), o);
    }
    w += qs8_tail_bytes(rq, NR);
    if (nc <= NR) return;
    c += NR;
    nc -= NR;
  }
}

#define QS8_VNNI(MR, NV, NR)                                                                                  \
  void tr_gemm_qs8_##MR##x##NR##c4__vnni(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,   \
                                         const void *w, int8_t *c, size_t c_stride,                           \
                                         const tr_gemm_qs8_params *params) {                                  \
    qs8_tile(MR, NV, 0, TR_GEMM_REQUANT_Q31, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params);    \
  }                                                                                                           \
  void tr_gemm_qs8_dq_##MR##x##NR##c4__vnni(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride, \
                                            const void *w, int8_t *c, size_t c_stride,                        \
                                            const tr_gemm_qs8_params *params) {                               \
    qs8_tile(MR, NV, 0, TR_GEMM_REQUANT_DOUBLE, mr, nc, kc, 1, a, a_stride, 0, 0, 0, w, c, c_stride, params); \
  }                                                                                                           \
  void tr_igemm_qs8_##MR##x##NR##c4__vnni(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a,       \
                                          const void *w, int8_t *c, size_t c_stride, size_t a_offset,         \
                                          const int8_t *zero, const tr_gemm_qs8_params *params) {             \
    qs8_tile(MR, NV, 1, TR_GEMM_REQUANT_Q31, mr, nc, kc, ks, 0, 0, a, a_offset, zero, w, c, c_stride, params); \
  }

#define QS8_VNNI_ROW(NV, NR)                                                                                  \
  void tr_gemm_qs8_1x##NR##c4__vnni(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,         \
                                    const void *w, int8_t *c, size_t c_stride, const tr_gemm_qs8_params *params) { \
    (void)mr, (void)a_stride, (void)c_stride;                                                                   \
    qs8_row(NV, 0, TR_GEMM_REQUANT_Q31, nc, kc, 1, a, 0, 0, 0, w, c, params);                                   \
  }                                                                                                             \
  void tr_gemm_qs8_dq_1x##NR##c4__vnni(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,      \
                                       const void *w, int8_t *c, size_t c_stride,                              \
                                       const tr_gemm_qs8_params *params) {                                     \
    (void)mr, (void)a_stride, (void)c_stride;                                                                   \
    qs8_row(NV, 0, TR_GEMM_REQUANT_DOUBLE, nc, kc, 1, a, 0, 0, 0, w, c, params);                                \
  }                                                                                                             \
  void tr_igemm_qs8_1x##NR##c4__vnni(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a,             \
                                     const void *w, int8_t *c, size_t c_stride, size_t a_offset,               \
                                     const int8_t *zero, const tr_gemm_qs8_params *params) {                   \
    (void)mr, (void)c_stride;                                                                                   \
    qs8_row(NV, 1, TR_GEMM_REQUANT_Q31, nc, kc, ks, 0, a, a_offset, zero, w, c, params);                        \
  }

QS8_VNNI(7, 2, 32)
QS8_VNNI(7, 1, 16)
QS8_VNNI_ROW(2, 32)
QS8_VNNI_ROW(1, 16)
