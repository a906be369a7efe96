/* Matrix-multiply micro-kernels: C[mr x nc] = clamp(A[mr x K] * W[K x nc] + bias).
 *
 * Two entry shapes share one packed-weight layout:
 *   gemm:  row r of A is a + r * a_stride (a 1x1 convolution, fully connected, batch matmul);
 *          K = kc.
 *   igemm: indirect; A is ks taps of kc values each, and row r of tap t starts at
 *          a[t * MR + r] (+ a_offset bytes, unless that pointer is `zero`); K = ks * kc. A
 *          convolution's indirection buffer points each (output pixel, tap) at its input
 *          pixel, or at `zero` where the tap falls into the padding.
 * Rows r >= mr are computed from row mr - 1 (the caller's pointers for them may repeat it)
 * and stored over it, so a kernel never reads or writes outside the rows it was given. A call
 * covers nc >= 1 columns in blocks of NR, the last one partial (masked stores); the packed
 * weights advance one block at a time. Row r of C starts at c + r * c_stride (elements).
 *
 * Packed weights, one block per NR output channels (the last zero-padded to NR):
 *   f32:  bias[NR], then w[t][k][NR] for each tap t < ks and k < kc.
 *   qs8:  bias[NR] (int32, see below), then for each tap the kc values padded to a multiple of
 *         KR, in groups of KR: w[t][k / KR][NR][KR] (int8); then the requantization of the NR
 *         channels (tr_gemm_qs8_requant): Q31 multiplier[NR], left_shift[NR],
 *         right_shift[NR], rounding_mask[NR] (int32) or, for TR_GEMM_REQUANT_DOUBLE, a double
 *         scale[NR].
 * The qs8 bias has the input zero point folded in: bias - (zp + a_xor) * sum_k w, where a_xor
 * is 128 for kernels that read A as unsigned bytes (a ^ 0x80, e.g. VNNI's vpdpbusd) and 0
 * for kernels that read it signed; the zero row holds zp, so padding contributes nothing.
 * Tails of kc that are not a multiple of KR are read with partial loads: A needs no padding.
 *
 * Requantization (qs8) reproduces quant.h bit for bit:
 *   TR_GEMM_REQUANT_Q31:    tr_multiply_by_quantized_multiplier (convolutions, batch matmul)
 *   TR_GEMM_REQUANT_DOUBLE: round half away from zero of acc * scale in double, saturated to
 *                           int32 (TFLite's reference fully connected)
 * then + output zero point, clamped to [output_min, output_max]. An optional row_bias[mr]
 * (gemm only, may be NULL) is added to each row's accumulators before requantization. */
#ifndef TFLITE_RT_KERNELS_GEMM_H
#define TFLITE_RT_KERNELS_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* For kernel files: fully unrolls a short constant-count loop (tile rows, vectors of a row), so
 * that a tile of accumulators indexed by it lives in registers. */
#define TR_GEMM_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define TR_GEMM_UNROLL(n) TR_GEMM_PRAGMA(unroll n)
#elif defined(__GNUC__)
#define TR_GEMM_UNROLL(n) TR_GEMM_PRAGMA(GCC unroll n)
#else
#define TR_GEMM_UNROLL(n)
#endif

typedef struct {
  float min, max;
} tr_gemm_f32_params;

typedef struct {
  int32_t output_zero_point;
  int32_t output_min, output_max;
  const int32_t *row_bias; /* gemm only; NULL or mr values */
  /* nonzero: the caller knows every accumulator (bias and row_bias included) lies in
   * [-2^30, 2^30), which lets some kernels requantize with fewer instructions */
  int32_t acc_bounded;
} tr_gemm_qs8_params;

typedef enum { TR_GEMM_REQUANT_Q31 = 0, TR_GEMM_REQUANT_DOUBLE = 1 } tr_gemm_qs8_requant;

typedef void (*tr_gemm_f32_fn)(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride,
                               const float *w, float *c, size_t c_stride, const tr_gemm_f32_params *params);
typedef void (*tr_igemm_f32_fn)(size_t mr, size_t nc, size_t kc, size_t ks, const float **a, const float *w,
                                float *c, size_t c_stride, size_t a_offset, const float *zero,
                                const tr_gemm_f32_params *params);
typedef void (*tr_gemm_qs8_fn)(size_t mr, size_t nc, size_t kc, const int8_t *a, size_t a_stride,
                               const void *w, int8_t *c, size_t c_stride, const tr_gemm_qs8_params *params);
typedef void (*tr_igemm_qs8_fn)(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a, const void *w,
                                int8_t *c, size_t c_stride, size_t a_offset, const int8_t *zero,
                                const tr_gemm_qs8_params *params);

/* The kernels chosen for the ISA level in force (gemm-config.c), copied by an op's prepare. */
typedef struct {
  tr_gemm_f32_fn gemm, gemm1; /* MR rows; one row (mr == 1: a matrix-vector product) */
  tr_igemm_f32_fn igemm;      /* MR rows (an indirection buffer is laid out for MR) */
  int32_t mr, nr;
  const char *name;
  /* optional (zero when absent): a narrower tile, for outputs of few columns */
  tr_gemm_f32_fn narrow_gemm, narrow_gemm1;
  tr_igemm_f32_fn narrow_igemm;
  int32_t narrow_mr, narrow_nr;
  /* optional (zero when absent): a taller gemm of the same nr, for row counts it divides into
   * fewer padded rows (128 tokens: 16 x 8 rather than 19 x 7) */
  tr_gemm_f32_fn tall_gemm;
  int32_t tall_mr;
  /* optional (NULL: tr_gemm_pack_f32): packs weights given as rows of kc contiguous values,
   * tr_gemm_pack_f32(n, 1, kc, nr, src, sn, 0, 1, NULL, packed) with SIMD gathers */
  void (*pack_rows)(size_t n, size_t kc, const float *src, size_t sn, void *packed);
} tr_gemm_f32_config;

typedef struct {
  tr_gemm_qs8_fn gemm[2], gemm1[2]; /* by tr_gemm_qs8_requant */
  tr_igemm_qs8_fn igemm;            /* Q31 only */
  int32_t mr, nr, kr, a_xor;
  const char *name;
  /* optional (zero when absent): a narrower tile with the same kr and a_xor */
  tr_gemm_qs8_fn narrow_gemm[2], narrow_gemm1[2];
  tr_igemm_qs8_fn narrow_igemm;
  int32_t narrow_mr, narrow_nr;
} tr_gemm_qs8_config;

void tr_gemm_f32_config_get(tr_gemm_f32_config *c);
void tr_gemm_qs8_config_get(tr_gemm_qs8_config *c);
/* The kernels for an output of n columns reduced over k: the narrow tile, when there is one
 * that pads n to fewer columns (float: or as few, with k < 32, where the shorter tile's
 * overheads weigh less), replaces the main one; the narrow fields are then cleared. */
void tr_gemm_f32_config_fit(tr_gemm_f32_config *c, size_t n, size_t k);
/* For gemm over m rows (after _fit): the tall tile, when it pads m to fewer rows, replaces gemm
 * and mr, and igemm is cleared (an indirection buffer is laid out for the old mr). */
void tr_gemm_f32_config_fit_rows(tr_gemm_f32_config *c, size_t m);
void tr_gemm_qs8_config_fit(tr_gemm_qs8_config *c, size_t n, size_t k);

/* --- packing (gemm-pack.c) ---
 * The source weight of output channel n, tap t, input k is src[n * sn + t * st + k * sk]
 * (elements): an OHWI filter has sn = KH*KW*IC, st = IC, sk = 1; a [K, N] matrix sn = 1,
 * sk = N. bias may be NULL (zeros). */
size_t tr_gemm_packed_size_f32(size_t n, size_t ks, size_t kc, size_t nr); /* bytes */
void tr_gemm_pack_f32(size_t n, size_t ks, size_t kc, size_t nr, const float *src, size_t sn, size_t st,
                      size_t sk, const float *bias, void *packed);

typedef struct {
  int32_t multiplier, shift; /* tr_qmul */
} tr_gemm_qmul;

size_t tr_gemm_packed_size_qs8(size_t n, size_t ks, size_t kc, size_t nr, size_t kr, tr_gemm_qs8_requant rq);
/* qmul (Q31) or scale (double) per channel, by rq; a_zero = input zero point + a_xor. Returns
 * nonzero if |bias| + 255 * sum |w| < 2^30 for every channel: then no accumulator of inputs
 * within 255 of the zero point leaves [-2^30, 2^30) (tr_gemm_qs8_params.acc_bounded). */
int tr_gemm_pack_qs8(size_t n, size_t ks, size_t kc, size_t nr, size_t kr, tr_gemm_qs8_requant rq,
                     const int8_t *src, size_t sn, size_t st, size_t sk, const int32_t *bias, int32_t a_zero,
                     const tr_gemm_qmul *qmul, const double *scale, void *packed);
/* Which in-register transposes the packers were built with: "sse2", "neon" or "portable"
 * (the tests check that the one they meant to cover is the one that ran). */
const char *tr_gemm_pack_transposes(void);

/* --- kernels --- */
#define TR_GEMM_F32_DECL(MR, NR, ISA)                                                                      \
  void tr_gemm_f32_##MR##x##NR##__##ISA(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride,  \
                                         const float *w, float *c, size_t c_stride,                        \
                                         const tr_gemm_f32_params *params);                                \
  void tr_igemm_f32_##MR##x##NR##__##ISA(size_t mr, size_t nc, size_t kc, size_t ks, const float **a,      \
                                          const float *w, float *c, size_t c_stride, size_t a_offset,      \
                                          const float *zero, const tr_gemm_f32_params *params);

#define TR_GEMM_QS8_DECL(MR, NR, KR, ISA)                                                                   \
  void tr_gemm_qs8_##MR##x##NR##c##KR##__##ISA(size_t mr, size_t nc, size_t kc, const int8_t *a,            \
                                                size_t a_stride, const void *w, int8_t *c, size_t c_stride, \
                                                const tr_gemm_qs8_params *params);                          \
  void tr_gemm_qs8_dq_##MR##x##NR##c##KR##__##ISA(size_t mr, size_t nc, size_t kc, const int8_t *a,         \
                                                   size_t a_stride, const void *w, int8_t *c,               \
                                                   size_t c_stride, const tr_gemm_qs8_params *params);      \
  void tr_igemm_qs8_##MR##x##NR##c##KR##__##ISA(size_t mr, size_t nc, size_t kc, size_t ks, const int8_t **a, \
                                                 const void *w, int8_t *c, size_t c_stride, size_t a_offset, \
                                                 const int8_t *zero, const tr_gemm_qs8_params *params);

/* scalar: the oracle and fallback of every layout below */
TR_GEMM_F32_DECL(4, 8, scalar)
TR_GEMM_F32_DECL(1, 8, scalar)
TR_GEMM_F32_DECL(6, 16, scalar)
TR_GEMM_F32_DECL(1, 16, scalar)
TR_GEMM_F32_DECL(7, 16, scalar)
TR_GEMM_F32_DECL(8, 16, scalar)
TR_GEMM_QS8_DECL(4, 8, 1, scalar)
TR_GEMM_QS8_DECL(1, 8, 1, scalar)
TR_GEMM_QS8_DECL(3, 8, 8, scalar)
TR_GEMM_QS8_DECL(1, 8, 8, scalar)
TR_GEMM_QS8_DECL(4, 16, 8, scalar)
TR_GEMM_QS8_DECL(1, 16, 8, scalar)
TR_GEMM_QS8_DECL(7, 32, 4, scalar)
TR_GEMM_QS8_DECL(1, 32, 4, scalar)
TR_GEMM_QS8_DECL(7, 16, 4, scalar)
TR_GEMM_QS8_DECL(1, 16, 4, scalar)

#if defined(TR_HAVE_AVX2)
void tr_gemm_pack_f32_rows16__avx2(size_t n, size_t kc, const float *src, size_t sn, void *packed);
TR_GEMM_F32_DECL(6, 16, avx2)
TR_GEMM_F32_DECL(1, 16, avx2)
TR_GEMM_QS8_DECL(3, 8, 8, avx2)
TR_GEMM_QS8_DECL(1, 8, 8, avx2)
#endif
#if defined(TR_HAVE_AVX512)
/* tr_gemm_pack_qs8's block of nr = 16 or 32 columns (cols of them real, the rest zeros) for
 * KR = 4, every tap, the source contiguous along k (sk = 1). tr_gemm_pack_qs8 calls these when
 * the ISA level in force allows.
 * _all: every k up to the padded end (returned), when the columns' magnitudes are not needed:
 * sums (wrapping) set for every column. stream: with streaming stores (the caller fences once
 * the whole filter is packed). ahead .. ahead_end: the next block, prefetched as this one packs.
 * _rest: the k from k_first (a multiple of 16) on, up to the padded end; adds each column's sum
 * (wrapping) to sums and, if magnitudes, its sum of magnitudes to magnitude_sums. */
size_t tr_gemm_pack_qs8_all_c4__avx512(size_t nr, size_t cols, size_t ks, size_t kc, const int8_t *col0, size_t sn,
                                       size_t st, int8_t *w, uint32_t *sums, uintptr_t ahead, uintptr_t ahead_end,
                                       int stream);
void tr_gemm_pack_qs8_rest_c4__avx512(size_t nr, size_t cols, size_t ks, size_t kc, size_t k_first,
                                      const int8_t *col0, size_t sn, size_t st, int8_t *w, int magnitudes,
                                      uint32_t *sums, uint64_t *magnitude_sums);
/* The largest |bias| (|INT32_MIN| as 2^31) of a block's cols columns (at most 32). */
uint32_t tr_gemm_qs8_largest_bias__avx512(const int32_t *bias, size_t cols);
/* The rest of a block of nr = 16 or 32 columns once its weights are packed: the bias slots
 * (bias - a_zero * sums, wrapping; bias may be NULL) at block and the requantization fields
 * (from qmul or scale, by rq) at tail, zeros past cols, as tr_gemm_pack_qs8's portable loops
 * write them. */
void tr_gemm_pack_qs8_finish__avx512(size_t nr, size_t cols, tr_gemm_qs8_requant rq, const int32_t *bias,
                                     int32_t a_zero, const uint32_t *sums, const tr_gemm_qmul *qmul,
                                     const double *scale, void *block, void *tail);
void tr_gemm_pack_f32_rows16__avx512(size_t n, size_t kc, const float *src, size_t sn, void *packed);
TR_GEMM_F32_DECL(7, 16, avx512)
TR_GEMM_F32_DECL(8, 16, avx512)
TR_GEMM_F32_DECL(1, 16, avx512)
TR_GEMM_QS8_DECL(4, 16, 8, avx512)
TR_GEMM_QS8_DECL(1, 16, 8, avx512)
#endif
#if defined(TR_HAVE_AVX512VNNI)
TR_GEMM_QS8_DECL(7, 32, 4, vnni)
TR_GEMM_QS8_DECL(1, 32, 4, vnni)
TR_GEMM_QS8_DECL(7, 16, 4, vnni)
TR_GEMM_QS8_DECL(1, 16, 4, vnni)
#endif

#endif
