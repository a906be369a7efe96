/* Float depthwise kernels for AVX2 + FMA: 8 channels per vector, four pixels or two blocks
 * per step, the tail masked (maskload). One body, instantiated for 9 taps (3x3), 25 taps (5x5) and any tap count. */
#include <assert.h>
#include <immintrin.h>

#include "kernels/dwconv/dwconv.h"

/* clamps as min(max, max(min, acc)): a NaN passes through, as in the portable kernel */
#define CT 8

/* lane_mask[CT - n ..] enables the first n lanes */
static const int32_t lane_mask[2 * CT] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline __attribute__((always_inline)) void dwconv_f32_avx2(
    size_t channels, size_t output_width, const size_t K, const float **input, size_t input_step,
    const float *weights, float *output, size_t output_stride, const tr_dwconv_f32_params *params) {
  assert(channels != 0 && output_width != 0 && K != 0);
  const __m256 vmin = _mm256_set1_ps(params->min), vmax = _mm256_set1_ps(params->max);
  const size_t block = CT * (1 + K);
  /* four pixels at a time share each weight load (the kernel is bound by loads) */
  for (; output_width >= 4; output_width -= 4) {
    const float *w = weights;
    const float **i0 = input, **i1 = input + input_step, **i2 = input + 2 * input_step, **i3 = input + 3 * input_step;
    float *o0 = output, *o1 = output + output_stride, *o2 = output + 2 * output_stride, *o3 = output + 3 * output_stride;
    size_t c = 0;
    for (; c + CT <= channels; c += CT) {
      __m256 a0 = _mm256_loadu_ps(w), a1 = a0, a2 = a0, a3 = a0;
      for (size_t k = 0; k < K; k++) {
        const __m256 vw = _mm256_loadu_ps(w + CT * (k + 1));
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(i0[k] + c), vw, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(i1[k] + c), vw, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(i2[k] + c), vw, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(i3[k] + c), vw, a3);
      }
      _mm256_storeu_ps(o0 + c, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a0)));
      _mm256_storeu_ps(o1 + c, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a1)));
      _mm256_storeu_ps(o2 + c, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a2)));
      _mm256_storeu_ps(o3 + c, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a3)));
      w += block;
    }
    if (c < channels) {
      const __m256i m = _mm256_loadu_si256((const __m256i *)&lane_mask[CT - (channels - c)]);
      __m256 a0 = _mm256_loadu_ps(w), a1 = a0, a2 = a0, a3 = a0;
      for (size_t k = 0; k < K; k++) {
        const __m256 vw = _mm256_loadu_ps(w + CT * (k + 1));
        a0 = _mm256_fmadd_ps(_mm256_maskload_ps(i0[k] + c, m), vw, a0);
        a1 = _mm256_fmadd_ps(_mm256_maskload_ps(i1[k] + c, m), vw, a1);
        a2 = _mm256_fmadd_ps(_mm256_maskload_ps(i2[k] + c, m), vw, a2);
        a3 = _mm256_fmadd_ps(_mm256_maskload_ps(i3[k] + c, m), vw, a3);
      }
      _mm256_maskstore_ps(o0 + c, m, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a0)));
      _mm256_maskstore_ps(o1 + c, m, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a1)));
      _mm256_maskstore_ps(o2 + c, m, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a2)));
      _mm256_maskstore_ps(o3 + c, m, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a3)));
    }
    input += 4 * input_step;
    output += 4 * output_stride;
  }
  for (; output_width != 0; output_width--) {
    const float *w = weights;
    float *o = output;
    size_t c = 0;
    for (; c + 2 * CT <= channels; c += 2 * CT) {
      __m256 a0 = _mm256_loadu_ps(w), a1 = _mm256_loadu_ps(w + block);
      for (size_t k = 0; k < K; k++) {
        const float *x = input[k] + c;
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(w + CT * (k + 1)), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + CT), _mm256_loadu_ps(w + block + CT * (k + 1)), a1);
      }
      _mm256_storeu_ps(o, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a0)));
      _mm256_storeu_ps(o + CT, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a1)));
      w += 2 * block;
      o += 2 * CT;
    }
    for (; c < channels; c += CT) {
      const size_t n = channels - c >= CT ? CT : channels - c;
      const __m256i m = _mm256_loadu_si256((const __m256i *)&lane_mask[CT - n]);
      __m256 a0 = _mm256_loadu_ps(w);
      for (size_t k = 0; k < K; k++)
        a0 = _mm256_fmadd_ps(_mm256_maskload_ps(input[k] + c, m), _mm256_loadu_ps(w + CT * (k + 1)), a0);
      _mm256_maskstore_ps(o, m, _mm256_min_ps(vmax, _mm256_max_ps(vmin, a0)));
      w += block;
      o += CT;
    }
    input += input_step;
    output += output_stride;
  }
}

void tr_dwconv_f32_9p8c__avx2(size_t channels, size_t output_width, size_t kernel_size, const float **input,
                                 size_t input_step, const float *weights, float *output, size_t output_stride,
                                 const tr_dwconv_f32_params *params) {
  assert(kernel_size == 9);
  (void)kernel_size;
  dwconv_f32_avx2(channels, output_width, 9, input, input_step, weights, output, output_stride, params);
}

void tr_dwconv_f32_25p8c__avx2(size_t channels, size_t output_width, size_t kernel_size, const float **input,
                                  size_t input_step, const float *weights, float *output, size_t output_stride,
                                  const tr_dwconv_f32_params *params) {
  assert(kernel_size == 25);
  (void)kernel_size;
  dwconv_f32_avx2(channels, output_width, 25, input, input_step, weights, output, output_stride, params);
}

void tr_dwconv_f32_kp8c__avx2(size_t channels, size_t output_width, size_t kernel_size, const float **input,
                                 size_t input_step, const float *weights, float *output, size_t output_stride,
                                 const tr_dwconv_f32_params *params) {
  dwconv_f32_avx2(channels, output_width, kernel_size, input, input_step, weights, output, output_stride,
                    params);
}
