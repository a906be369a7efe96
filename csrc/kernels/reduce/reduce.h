/* Reduction micro-kernels: sums, maxima and minima along one axis, softmax and L2
 * normalisation over rows.
 *
 * Column kernels reduce the middle axis of an [outer, rows, cols] block (MEAN over the H,W of
 * NHWC is one): y[j] = OP over i < rows of x[i * stride + j], for j < cols, vectorised over j.
 * Float sums start from 0 and add the rows in increasing i, lane by lane: the same additions in
 * the same order as a sequential loop per output (TFLite's reference Reduce), so they are
 * bit-identical on every ISA. The SIMD kernels take the rows in groups (a few input streams
 * at a time) and keep the running results in y between groups, so y must not overlap x.
 *
 * Row kernels reduce the last axis: y[i] = OP over j < cols of x[i * stride + j], for i < rows.
 * SIMD float sums keep several vector accumulators (a blocked sum: the rounding differs from a
 * sequential loop, and is no worse).
 *
 * MEAN kernels are the sum kernels followed by a division by the count (rows or cols), as the
 * reference divides. Max / min keep the first operand only when it is strictly greater /
 * smaller, starting from -FLT_MAX / FLT_MAX as TFLite does, so NaN inputs are skipped.
 *
 * 8-bit sums are exact int32 sums of the raw values (no zero point): callers keep the count
 * per sum at most TR_REDUCE_Q8_MAX_COUNT. Every kernel needs rows >= 1 and cols >= 1. The
 * requant kernels turn such sums into int8 / uint8 outputs: clamp(M(sum + bias) + zero_point),
 * M being quant.h's tr_multiply_by_quantized_multiplier, bit for bit (shift in [-31, 30]). */
#ifndef TFLITE_RT_KERNELS_REDUCE_H
#define TFLITE_RT_KERNELS_REDUCE_H

#include <stddef.h>
#include <stdint.h>

/* 8-bit sums stay exact in int32 while each adds at most this many values. */
#define TR_REDUCE_Q8_MAX_COUNT (1 << 23)

typedef void (*tr_reduce_f32_fn)(size_t rows, size_t cols, size_t stride, const float *x, float *y);
/* int8 (s8) or uint8 (u8) in, int32 sums out */
typedef void (*tr_reduce_q8_fn)(size_t rows, size_t cols, size_t stride, const void *x, int32_t *y);
typedef struct {
  int32_t bias, multiplier, shift, zero_point, min, max;
} tr_reduce_q8_params;
typedef void (*tr_reduce_requant_fn)(size_t n, const int32_t *sums, void *y, const tr_reduce_q8_params *params);
/* softmax of each of `rows` contiguous rows of `cols` values: exp((x - max) * beta) / sum */
typedef void (*tr_softmax_f32_fn)(size_t rows, size_t cols, const float *x, float *y, float beta);
/* each row divided by max(sqrt(sum of squares), 1e-6) */
typedef void (*tr_l2norm_f32_fn)(size_t rows, size_t cols, const float *x, float *y);

#define TR_REDUCE_F32_DECL(name) void name(size_t rows, size_t cols, size_t stride, const float *x, float *y);
#define TR_REDUCE_Q8_DECL(name) void name(size_t rows, size_t cols, size_t stride, const void *x, int32_t *y);
#define TR_SOFTMAX_F32_DECL(name) void name(size_t rows, size_t cols, const float *x, float *y, float beta);
#define TR_L2NORM_F32_DECL(name) void name(size_t rows, size_t cols, const float *x, float *y);
#define TR_REQUANT_DECL(name) void name(size_t n, const int32_t *sums, void *y, const tr_reduce_q8_params *params);

#define TR_REDUCE_DECLS(isa)                               \
  TR_REDUCE_F32_DECL(tr_reduce_sum_cols_f32__##isa)        \
  TR_REDUCE_F32_DECL(tr_reduce_mean_cols_f32__##isa)       \
  TR_REDUCE_F32_DECL(tr_reduce_max_cols_f32__##isa)        \
  TR_REDUCE_F32_DECL(tr_reduce_min_cols_f32__##isa)        \
  TR_REDUCE_F32_DECL(tr_reduce_sum_rows_f32__##isa)        \
  TR_REDUCE_F32_DECL(tr_reduce_mean_rows_f32__##isa)       \
  TR_REDUCE_F32_DECL(tr_reduce_max_rows_f32__##isa)        \
  TR_REDUCE_F32_DECL(tr_reduce_min_rows_f32__##isa)        \
  TR_REDUCE_Q8_DECL(tr_reduce_sum_cols_s8__##isa)          \
  TR_REDUCE_Q8_DECL(tr_reduce_sum_cols_u8__##isa)          \
  TR_REDUCE_Q8_DECL(tr_reduce_sum_rows_s8__##isa)          \
  TR_REDUCE_Q8_DECL(tr_reduce_sum_rows_u8__##isa)          \
  TR_REQUANT_DECL(tr_reduce_requant_s8__##isa)             \
  TR_REQUANT_DECL(tr_reduce_requant_u8__##isa)             \
  TR_SOFTMAX_F32_DECL(tr_softmax_f32__##isa)               \
  TR_L2NORM_F32_DECL(tr_l2norm_f32__##isa)

TR_REDUCE_DECLS(scalar)
TR_REDUCE_DECLS(avx2)
TR_REDUCE_DECLS(avx512)

enum { TR_REDUCE_SUM = 0, TR_REDUCE_MEAN, TR_REDUCE_MAX, TR_REDUCE_MIN, TR_REDUCE_NUM_KINDS };

typedef struct {
  tr_reduce_f32_fn cols_f32[TR_REDUCE_NUM_KINDS], rows_f32[TR_REDUCE_NUM_KINDS];
  tr_reduce_q8_fn sum_cols_s8, sum_cols_u8, sum_rows_s8, sum_rows_u8;
  tr_reduce_requant_fn requant_s8, requant_u8;
  tr_softmax_f32_fn softmax_f32;
  tr_l2norm_f32_fn l2norm_f32;
  const char *name;
} tr_reduce_config;

/* The best reduction kernels at the ISA level in force (reduce-config.c). */
void tr_reduce_config_get(tr_reduce_config *config);

#endif
