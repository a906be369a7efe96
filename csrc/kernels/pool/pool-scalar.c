/* Portable pooling kernels: the oracle of the SIMD ones and the fallback (see pool.h). */
#include "kernels/pool/pool.h"

static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }
static inline int32_t clampi(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : (x > hi ? hi : x); }

void tr_pool_max_f32__scalar(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride, size_t channels,
                             float *output, int32_t count, const tr_pool_f32_params *params) {
  (void)count;
  for (size_t c = 0; c < channels; c++) {
    float m = -__builtin_inff();
    for (size_t y = 0; y < rows; y++)
      for (size_t x = 0; x < cols; x++) {
        const float v = input[y * row_stride + x * pixel_stride + c];
        m = v > m ? v : m;
      }
    output[c] = clampf(m, params->min, params->max);
  }
}

void tr_pool_avg_f32__scalar(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride, size_t channels,
                             float *output, int32_t count, const tr_pool_f32_params *params) {
  for (size_t c = 0; c < channels; c++) {
    float s = 0.0f;
    for (size_t y = 0; y < rows; y++)
      for (size_t x = 0; x < cols; x++) s += input[y * row_stride + x * pixel_stride + c];
    output[c] = clampf(count ? s / (float)count : 0.0f, params->min, params->max);
  }
}

#define POOL_Q8_SCALAR(SUFFIX, T)                                                                     \
  void tr_pool_max_##SUFFIX##__scalar(size_t rows, size_t cols, const void *input, size_t row_stride,   \
                                      size_t pixel_stride, size_t channels, void *output, int32_t count,                     \
                                      const tr_pool_q8_params *params) {                                \
    (void)count;                                                                                        \
    const T *in = (const T *)input;                                                                     \
    for (size_t c = 0; c < channels; c++) {                                                             \
      int32_t m = INT32_MIN;                                                                            \
      for (size_t y = 0; y < rows; y++)                                                                 \
        for (size_t x = 0; x < cols; x++) {                                                             \
          const int32_t v = in[y * row_stride + x * pixel_stride + c];                                      \
          m = v > m ? v : m;                                                                            \
        }                                                                                               \
      ((T *)output)[c] = (T)clampi(m, params->min, params->max);                                        \
    }                                                                                                   \
  }                                                                                                     \
  void tr_pool_avg_##SUFFIX##__scalar(size_t rows, size_t cols, const void *input, size_t row_stride,   \
                                      size_t pixel_stride, size_t channels, void *output, int32_t count,                     \
                                      const tr_pool_q8_params *params) {                                \
    const T *in = (const T *)input;                                                                     \
    for (size_t c = 0; c < channels; c++) {                                                             \
      int32_t s = 0;                                                                                    \
      for (size_t y = 0; y < rows; y++)                                                                 \
        for (size_t x = 0; x < cols; x++) s += in[y * row_stride + x * pixel_stride + c];                   \
      const int32_t v = !count ? 0 : s > 0 ? (s + count / 2) / count : (s - count / 2) / count;         \
      ((T *)output)[c] = (T)clampi(v, params->min, params->max);                                        \
    }                                                                                                   \
  }

POOL_Q8_SCALAR(s8, int8_t)
POOL_Q8_SCALAR(u8, uint8_t)
