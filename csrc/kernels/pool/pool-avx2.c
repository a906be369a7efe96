/* Pooling kernels for AVX2: 32 float or 128 byte channels per step, then one vector; float
 * tails are masked, 8-bit tails go to the portable kernel (see pool.h). */
#include <immintrin.h>

#include "kernels/pool/pool.h"

static const int32_t lane_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* --- float --- */

#define F32_BODY(INIT, OP, FINISH)                                                                        \
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);                    \
  size_t c = 0;                                                                                           \
  for (; c + 32 <= channels; c += 32) {                                                                   \
    __m256 a0 = INIT, a1 = INIT, a2 = INIT, a3 = INIT;                                                    \
    for (size_t y = 0; y < rows; y++) {                                                                   \
      const float *p = input + y * row_stride + c;                                                        \
      for (size_t x = 0; x < cols; x++, p += pixel_stride) {                                              \
        a0 = OP(a0, _mm256_loadu_ps(p));                                                                  \
        a1 = OP(a1, _mm256_loadu_ps(p + 8));                                                              \
        a2 = OP(a2, _mm256_loadu_ps(p + 16));                                                             \
        a3 = OP(a3, _mm256_loadu_ps(p + 24));                                                             \
      }                                                                                                   \
    }                                                                                                     \
    _mm256_storeu_ps(output + c, _mm256_min_ps(_mm256_max_ps(FINISH(a0), vmin), vmax));                   \
    _mm256_storeu_ps(output + c + 8, _mm256_min_ps(_mm256_max_ps(FINISH(a1), vmin), vmax));               \
    _mm256_storeu_ps(output + c + 16, _mm256_min_ps(_mm256_max_ps(FINISH(a2), vmin), vmax));              \
    _mm256_storeu_ps(output + c + 24, _mm256_min_ps(_mm256_max_ps(FINISH(a3), vmin), vmax));              \
  }                                                                                                       \
  for (; c < channels; c += 8) {                                                                          \
    const size_t n = channels - c >= 8 ? 8 : channels - c;                                                \
    const __m256i m = _mm256_loadu_si256((const __m256i *)&lane_mask[8 - n]);                             \
    __m256 a0 = INIT;                                                                                     \
    for (size_t y = 0; y < rows; y++) {                                                                   \
      const float *p = input + y * row_stride + c;                                                        \
      for (size_t x = 0; x < cols; x++, p += pixel_stride) a0 = OP(a0, _mm256_maskload_ps(p, m));         \
    }                                                                                                     \
    _mm256_maskstore_ps(output + c, m, _mm256_min_ps(_mm256_max_ps(FINISH(a0), vmin), vmax));             \
  }

/* masked-off lanes load 0.0, harmless: they are not stored */
void tr_pool_max_f32__avx2(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride,
                           size_t channels, float *output, int32_t count, const tr_pool_f32_params *params) {
  (void)count;
#define IDENT(a) (a)
  /* max(x, acc) keeps acc when x is a NaN, as the portable kernel's x > m ? x : m does */
#define MAXF(acc, x) _mm256_max_ps(x, acc)
  F32_BODY(_mm256_set1_ps(-__builtin_inff()), MAXF, IDENT)
}

void tr_pool_avg_f32__avx2(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride,
                           size_t channels, float *output, int32_t count, const tr_pool_f32_params *params) {
  const __m256 vcount = _mm256_set1_ps(count ? (float)count : 1.0f);
#define DIVIDE(a) _mm256_div_ps(a, vcount)
  F32_BODY(_mm256_setzero_ps(), _mm256_add_ps, DIVIDE)
}

/* --- 8-bit max --- */

#define MAX_Q8(NAME, MAXOP, INITV, SCALAR)                                                                  \
  void NAME(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride, size_t channels, \
            void *output, int32_t count, const tr_pool_q8_params *params) {                                 \
    const __m256i vmin = _mm256_set1_epi8((char)params->min), vmax = _mm256_set1_epi8((char)params->max);   \
    const uint8_t *in = (const uint8_t *)input;                                                             \
    uint8_t *out = (uint8_t *)output;                                                                       \
    size_t c = 0;                                                                                           \
    for (; c + 128 <= channels; c += 128) {                                                                 \
      __m256i a0 = INITV, a1 = INITV, a2 = INITV, a3 = INITV;                                               \
      for (size_t y = 0; y < rows; y++) {                                                                   \
        const uint8_t *p = in + y * row_stride + c;                                                         \
        for (size_t x = 0; x < cols; x++, p += pixel_stride) {                                              \
          a0 = MAXOP(a0, _mm256_loadu_si256((const __m256i *)p));                                           \
          a1 = MAXOP(a1, _mm256_loadu_si256((const __m256i *)(p + 32)));                                    \
          a2 = MAXOP(a2, _mm256_loadu_si256((const __m256i *)(p + 64)));                                    \
          a3 = MAXOP(a3, _mm256_loadu_si256((const __m256i *)(p + 96)));                                    \
        }                                                                                                   \
      }                                                                                                     \
      _mm256_storeu_si256((__m256i *)(out + c), CLAMP(a0));                                                 \
      _mm256_storeu_si256((__m256i *)(out + c + 32), CLAMP(a1));                                            \
      _mm256_storeu_si256((__m256i *)(out + c + 64), CLAMP(a2));                                            \
      _mm256_storeu_si256((__m256i *)(out + c + 96), CLAMP(a3));                                            \
    }                                                                                                       \
    for (; c + 32 <= channels; c += 32) {                                                                   \
      __m256i a0 = INITV;                                                                                   \
      for (size_t y = 0; y < rows; y++) {                                                                   \
        const uint8_t *p = in + y * row_stride + c;                                                         \
        for (size_t x = 0; x < cols; x++, p += pixel_stride)                                                \
          a0 = MAXOP(a0, _mm256_loadu_si256((const __m256i *)p));                                           \
      }                                                                                                     \
      _mm256_storeu_si256((__m256i *)(out + c), CLAMP(a0));                                                 \
    }                                                                                                       \
    if (c < channels)                                                                                       \
      SCALAR(rows, cols, in + c, row_stride, pixel_stride, channels - c, out + c, count, params);           \
  }

#define CLAMP(a) _mm256_min_epi8(_mm256_max_epi8(a, vmin), vmax)
MAX_Q8(tr_pool_max_s8__avx2, _mm256_max_epi8, _mm256_set1_epi8(-128), tr_pool_max_s8__scalar)
#undef CLAMP
#define CLAMP(a) _mm256_min_epu8(_mm256_max_epu8(a, vmin), vmax)
MAX_Q8(tr_pool_max_u8__avx2, _mm256_max_epu8, _mm256_setzero_si256(), tr_pool_max_u8__scalar)
#undef CLAMP

/* --- 8-bit average: int32 sums, then (sum +- count/2) / count, exact in float --- */

static inline __m256i avg_finish(__m256i sum, __m256i half, __m256 vcount, __m256i vmin, __m256i vmax) {
  const __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), sum);
  /* sum + half, or sum - half where negative: (half ^ neg) - neg negates half there */
  const __m256i a = _mm256_add_epi32(sum, _mm256_sub_epi32(_mm256_xor_si256(half, neg), neg));
  const __m256i q = _mm256_cvttps_epi32(_mm256_div_ps(_mm256_cvtepi32_ps(a), vcount));
  return _mm256_min_epi32(_mm256_max_epi32(q, vmin), vmax);
}

/* 8 int32 in [-128, 255] to 8 bytes */
static inline void store8(uint8_t *out, __m256i v) {
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64((__m128i *)out, _mm_packus_epi16(w, w));
}
static inline void store8s(uint8_t *out, __m256i v) {
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64((__m128i *)out, _mm_packs_epi16(w, w));
}

#define AVG_Q8(NAME, WIDEN, STORE, SCALAR)                                                                  \
  void NAME(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride, size_t channels, \
            void *output, int32_t count, const tr_pool_q8_params *params) {                                 \
    const __m256i vmin = _mm256_set1_epi32(params->min), vmax = _mm256_set1_epi32(params->max);             \
    const __m256i half = _mm256_set1_epi32(count / 2);                                                      \
    const __m256 vcount = _mm256_set1_ps(count ? (float)count : 1.0f);                                      \
    const uint8_t *in = (const uint8_t *)input;                                                             \
    uint8_t *out = (uint8_t *)output;                                                                       \
    size_t c = 0;                                                                                           \
    for (; c + 32 <= channels; c += 32) {                                                                   \
      __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;                                       \
      for (size_t y = 0; y < rows; y++) {                                                                   \
        const uint8_t *p = in + y * row_stride + c;                                                         \
        for (size_t x = 0; x < cols; x++, p += pixel_stride) {                                              \
          a0 = _mm256_add_epi32(a0, WIDEN(_mm_loadl_epi64((const __m128i *)p)));                            \
          a1 = _mm256_add_epi32(a1, WIDEN(_mm_loadl_epi64((const __m128i *)(p + 8))));                      \
          a2 = _mm256_add_epi32(a2, WIDEN(_mm_loadl_epi64((const __m128i *)(p + 16))));                     \
          a3 = _mm256_add_epi32(a3, WIDEN(_mm_loadl_epi64((const __m128i *)(p + 24))));                     \
        }                                                                                                   \
      }                                                                                                     \
      STORE(out + c, avg_finish(a0, half, vcount, vmin, vmax));                                             \
      STORE(out + c + 8, avg_finish(a1, half, vcount, vmin, vmax));                                         \
      STORE(out + c + 16, avg_finish(a2, half, vcount, vmin, vmax));                                        \
      STORE(out + c + 24, avg_finish(a3, half, vcount, vmin, vmax));                                        \
    }                                                                                                       \
    for (; c + 8 <= channels; c += 8) {                                                                     \
      __m256i a0 = _mm256_setzero_si256();                                                                  \
      for (size_t y = 0; y < rows; y++) {                                                                   \
        const uint8_t *p = in + y * row_stride + c;                                                         \
        for (size_t x = 0; x < cols; x++, p += pixel_stride)                                                \
          a0 = _mm256_add_epi32(a0, WIDEN(_mm_loadl_epi64((const __m128i *)p)));                            \
      }                                                                                                     \
      STORE(out + c, avg_finish(a0, half, vcount, vmin, vmax));                                             \
    }                                                                                                       \
    if (c < channels)                                                                                       \
      SCALAR(rows, cols, in + c, row_stride, pixel_stride, channels - c, out + c, count, params);           \
  }

AVG_Q8(tr_pool_avg_s8__avx2, _mm256_cvtepi8_epi32, store8s, tr_pool_avg_s8__scalar)
AVG_Q8(tr_pool_avg_u8__avx2, _mm256_cvtepu8_epi32, store8, tr_pool_avg_u8__scalar)
