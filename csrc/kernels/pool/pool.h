/* Pooling micro-kernels (NHWC), vectorised over channels.
 *
 * A call reduces one window of `rows` x `cols` input pixels, already clipped to the image,
 * to one output pixel of `channels` values: input points to the window's first pixel, pixels
 * of a row are `pixel_stride` elements apart and rows `row_stride` elements apart (so a range
 * of channels can be pooled on its own). Max kernels
 * need rows, cols >= 1. Average kernels divide by `count` (the taps inside the image), as
 * TFLite's reference does: float by a division, 8-bit sums rounded half away from zero with
 * an integer division (done exactly in float: counts up to TR_POOL_AVG_Q8_MAX_COUNT).
 * An empty window gives zeros (average) and the activation clamp is fused. */
#ifndef TFLITE_RT_KERNELS_POOL_H
#define TFLITE_RT_KERNELS_POOL_H

#include <stddef.h>
#include <stdint.h>

#define TR_POOL_AVG_Q8_MAX_COUNT 65536

typedef struct {
  float min, max;
} tr_pool_f32_params;

typedef struct {
  int32_t min, max;
} tr_pool_q8_params;

typedef void (*tr_pool_f32_fn)(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride, size_t channels,
                               float *output, int32_t count, const tr_pool_f32_params *params);
/* int8 (s8) or uint8 (u8) in and out */
typedef void (*tr_pool_q8_fn)(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride, size_t channels,
                              void *output, int32_t count, const tr_pool_q8_params *params);

#define TR_POOL_F32_DECL(name)                                                                       \
  void name(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride, size_t channels, float *output, \
            int32_t count, const tr_pool_f32_params *params);
#define TR_POOL_Q8_DECL(name)                                                                        \
  void name(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride, size_t channels, void *output, \
            int32_t count, const tr_pool_q8_params *params);

TR_POOL_F32_DECL(tr_pool_max_f32__scalar)
TR_POOL_F32_DECL(tr_pool_avg_f32__scalar)
TR_POOL_Q8_DECL(tr_pool_max_s8__scalar)
TR_POOL_Q8_DECL(tr_pool_max_u8__scalar)
TR_POOL_Q8_DECL(tr_pool_avg_s8__scalar)
TR_POOL_Q8_DECL(tr_pool_avg_u8__scalar)

TR_POOL_F32_DECL(tr_pool_max_f32__avx2)
TR_POOL_F32_DECL(tr_pool_avg_f32__avx2)
TR_POOL_Q8_DECL(tr_pool_max_s8__avx2)
TR_POOL_Q8_DECL(tr_pool_max_u8__avx2)
TR_POOL_Q8_DECL(tr_pool_avg_s8__avx2)
TR_POOL_Q8_DECL(tr_pool_avg_u8__avx2)

TR_POOL_F32_DECL(tr_pool_max_f32__avx512)
TR_POOL_F32_DECL(tr_pool_avg_f32__avx512)
TR_POOL_Q8_DECL(tr_pool_max_s8__avx512)
TR_POOL_Q8_DECL(tr_pool_max_u8__avx512)
TR_POOL_Q8_DECL(tr_pool_avg_s8__avx512)
TR_POOL_Q8_DECL(tr_pool_avg_u8__avx512)

typedef struct {
  tr_pool_f32_fn max_f32, avg_f32;
  tr_pool_q8_fn max_s8, max_u8, avg_s8, avg_u8;
  const char *name;
} tr_pool_config;

/* The best pooling kernels at the ISA level in force (pool-config.c). */
void tr_pool_config_get(tr_pool_config *config);

#endif
