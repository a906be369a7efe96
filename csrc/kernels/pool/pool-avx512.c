/* Pooling kernels for AVX-512 (F + BW): 64 float or 256 byte channels per step, then one
 * vector, then a masked tail; the window's taps are the inner loop (see pool.h). */
#include <immintrin.h>

#include "kernels/pool/pool.h"

static inline __mmask16 mask16(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }
static inline __mmask64 mask64(size_t n) { return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1); }

/* --- float --- */

#define F32_BODY(INIT, OP, FINISH)                                                                        \
  const __m512 vmin = _mm512_set1_ps(params->min), vmax = _mm512_set1_ps(params->max);                    \
  size_t c = 0;                                                                                           \
  for (; c + 64 <= channels; c += 64) {                                                                   \
    __m512 a0 = INIT, a1 = INIT, a2 = INIT, a3 = INIT;                                                    \
    for (size_t y = 0; y < rows; y++) {                                                                   \
      const float *p = input + y * row_stride + c;                                                        \
      for (size_t x = 0; x < cols; x++, p += pixel_stride) {                                              \
        a0 = OP(a0, _mm512_loadu_ps(p));                                                                  \
        a1 = OP(a1, _mm512_loadu_ps(p + 16));                                                             \
        a2 = OP(a2, _mm512_loadu_ps(p + 32));                                                             \
        a3 = OP(a3, _mm512_loadu_ps(p + 48));                                                             \
      }                                                                                                   \
    }                                                                                                     \
    _mm512_storeu_ps(output + c, _mm512_min_ps(_mm512_max_ps(FINISH(a0), vmin), vmax));                   \
    _mm512_storeu_ps(output + c + 16, _mm512_min_ps(_mm512_max_ps(FINISH(a1), vmin), vmax));              \
    _mm512_storeu_ps(output + c + 32, _mm512_min_ps(_mm512_max_ps(FINISH(a2), vmin), vmax));              \
    _mm512_storeu_ps(output + c + 48, _mm512_min_ps(_mm512_max_ps(FINISH(a3), vmin), vmax));              \
  }                                                                                                       \
  for (; c < channels; c += 16) {                                                                         \
    const __mmask16 m = mask16(channels - c);                                                             \
    __m512 a0 = INIT;                                                                                     \
    for (size_t y = 0; y < rows; y++) {                                                                   \
      const float *p = input + y * row_stride + c;                                                        \
      for (size_t x = 0; x < cols; x++, p += pixel_stride) a0 = OP(a0, _mm512_maskz_loadu_ps(m, p));      \
    }                                                                                                     \
    _mm512_mask_storeu_ps(output + c, m, _mm512_min_ps(_mm512_max_ps(FINISH(a0), vmin), vmax));           \
  }

void tr_pool_max_f32__avx512(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride,
                             size_t channels, float *output, int32_t count, const tr_pool_f32_params *params) {
  (void)count;
#define IDENT(a) (a)
  /* max(x, acc) keeps acc when x is a NaN, as the portable kernel's x > m ? x : m does */
#define MAXF(acc, x) _mm512_max_ps(x, acc)
  F32_BODY(_mm512_set1_ps(-__builtin_inff()), MAXF, IDENT)
}

void tr_pool_avg_f32__avx512(size_t rows, size_t cols, const float *input, size_t row_stride, size_t pixel_stride,
                             size_t channels, float *output, int32_t count, const tr_pool_f32_params *params) {
  /* a division, as the reference: sum / count; an empty window gives 0 / 1 */
  const __m512 vcount = _mm512_set1_ps(count ? (float)count : 1.0f);
#define DIVIDE(a) _mm512_div_ps(a, vcount)
  F32_BODY(_mm512_setzero_ps(), _mm512_add_ps, DIVIDE)
}

/* --- 8-bit max: bytes directly --- */

#define MAX_Q8(NAME, MAXOP, INITV)                                                                          \
  void NAME(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride, size_t channels, \
            void *output, int32_t count, const tr_pool_q8_params *params) {                                 \
    (void)count;                                                                                            \
    const __m512i vmin = _mm512_set1_epi8((char)params->min), vmax = _mm512_set1_epi8((char)params->max);   \
    const uint8_t *in = (const uint8_t *)input;                                                             \
    uint8_t *out = (uint8_t *)output;                                                                       \
    size_t c = 0;                                                                                           \
    for (; c + 256 <= channels; c += 256) {                                                                 \
      __m512i a0 = INITV, a1 = INITV, a2 = INITV, a3 = INITV;                                               \
      for (size_t y = 0; y < rows; y++) {                                                                   \
        const uint8_t *p = in + y * row_stride + c;                                                         \
        for (size_t x = 0; x < cols; x++, p += pixel_stride) {                                              \
          a0 = MAXOP(a0, _mm512_loadu_si512(p));                                                            \
          a1 = MAXOP(a1, _mm512_loadu_si512(p + 64));                                                       \
          a2 = MAXOP(a2, _mm512_loadu_si512(p + 128));                                                      \
          a3 = MAXOP(a3, _mm512_loadu_si512(p + 192));                                                      \
        }                                                                                                   \
      }                                                                                                     \
      _mm512_storeu_si512(out + c, CLAMP(a0));                                                              \
      _mm512_storeu_si512(out + c + 64, CLAMP(a1));                                                         \
      _mm512_storeu_si512(out + c + 128, CLAMP(a2));                                                        \
      _mm512_storeu_si512(out + c + 192, CLAMP(a3));                                                        \
    }                                                                                                       \
    for (; c < channels; c += 64) {                                                                         \
      const __mmask64 m = mask64(channels - c);                                                             \
      __m512i a0 = INITV;                                                                                   \
      for (size_t y = 0; y < rows; y++) {                                                                   \
        const uint8_t *p = in + y * row_stride + c;                                                         \
        for (size_t x = 0; x < cols; x++, p += pixel_stride) a0 = MAXOP(a0, _mm512_maskz_loadu_epi8(m, p)); \
      }                                                                                                     \
      _mm512_mask_storeu_epi8(out + c, m, CLAMP(a0));                                                       \
    }                                                                                                       \
  }

#define CLAMP(a) _mm512_min_epi8(_mm512_max_epi8(a, vmin), vmax)
MAX_Q8(tr_pool_max_s8__avx512, _mm512_max_epi8, _mm512_set1_epi8(-128))
#undef CLAMP
#define CLAMP(a) _mm512_min_epu8(_mm512_max_epu8(a, vmin), vmax)
MAX_Q8(tr_pool_max_u8__avx512, _mm512_max_epu8, _mm512_setzero_si512())
#undef CLAMP

/* --- 8-bit average: int32 sums, then (sum +- count/2) / count, exact in float --- */

static inline __m512i avg_finish(__m512i sum, __m512i half, __m512 vcount, __m512i vmin, __m512i vmax) {
  const __mmask16 neg = _mm512_cmplt_epi32_mask(sum, _mm512_setzero_si512());
  const __m512i a = _mm512_mask_sub_epi32(_mm512_add_epi32(sum, half), neg, sum, half);
  const __m512i q = _mm512_cvttps_epi32(_mm512_div_ps(_mm512_cvtepi32_ps(a), vcount));
  return _mm512_min_epi32(_mm512_max_epi32(q, vmin), vmax);
}

#define AVG_Q8(NAME, WIDEN)                                                                                 \
  void NAME(size_t rows, size_t cols, const void *input, size_t row_stride, size_t pixel_stride, size_t channels, \
            void *output, int32_t count, const tr_pool_q8_params *params) {                                 \
    const __m512i vmin = _mm512_set1_epi32(params->min), vmax = _mm512_set1_epi32(params->max); \
    const __m512i half = _mm512_set1_epi32(count / 2);                                                      \
    const __m512 vcount = _mm512_set1_ps(count ? (float)count : 1.0f);                                      \
    const uint8_t *in = (const uint8_t *)input;                                                             \
    uint8_t *out = (uint8_t *)output;                                                                       \
    size_t c = 0;                                                                                           \
    for (; c + 64 <= channels; c += 64) {                                                                   \
      __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;                                       \
      for (size_t y = 0; y < rows; y++) {                                                                   \
        const uint8_t *p = in + y * row_stride + c;                                                         \
        for (size_t x = 0; x < cols; x++, p += pixel_stride) {                                              \
          a0 = _mm512_add_epi32(a0, WIDEN(_mm_loadu_si128((const __m128i *)p)));                            \
          a1 = _mm512_add_epi32(a1, WIDEN(_mm_loadu_si128((const __m128i *)(p + 16))));                     \
          a2 = _mm512_add_epi32(a2, WIDEN(_mm_loadu_si128((const __m128i *)(p + 32))));                     \
          a3 = _mm512_add_epi32(a3, WIDEN(_mm_loadu_si128((const __m128i *)(p + 48))));                     \
        }                                                                                                   \
      }                                                                                                     \
      _mm_storeu_si128((__m128i *)(out + c), _mm512_cvtepi32_epi8(avg_finish(a0, half, vcount, vmin, vmax)));       \
      _mm_storeu_si128((__m128i *)(out + c + 16), _mm512_cvtepi32_epi8(avg_finish(a1, half, vcount, vmin, vmax)));  \
      _mm_storeu_si128((__m128i *)(out + c + 32), _mm512_cvtepi32_epi8(avg_finish(a2, half, vcount, vmin, vmax)));  \
      _mm_storeu_si128((__m128i *)(out + c + 48), _mm512_cvtepi32_epi8(avg_finish(a3, half, vcount, vmin, vmax)));  \
    }                                                                                                       \
    for (; c < channels; c += 16) {                                                                         \
      const __mmask16 m = mask16(channels - c);                                                             \
      __m512i a0 = _mm512_setzero_si512();                                                                  \
      for (size_t y = 0; y < rows; y++) {                                                                   \
        const uint8_t *p = in + y * row_stride + c;                                                         \
        for (size_t x = 0; x < cols; x++, p += pixel_stride)                                                \
          a0 = _mm512_add_epi32(a0, WIDEN(_mm_maskz_loadu_epi8(m, p)));                                     \
      }                                                                                                     \
      _mm_mask_storeu_epi8(out + c, m, _mm512_cvtepi32_epi8(avg_finish(a0, half, vcount, vmin, vmax)));    \
    }                                                                                                       \
  }

AVG_Q8(tr_pool_avg_s8__avx512, _mm512_cvtepi8_epi32)
AVG_Q8(tr_pool_avg_u8__avx512, _mm512_cvtepu8_epi32)
