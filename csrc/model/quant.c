#include "model/quant.h"

#include <math.h>

#include "runtime/node.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

tr_qmul tr_quantize_multiplier(double real_multiplier) {
  tr_qmul q = tr_quantize_multiplier_any_shift(real_multiplier);
  if (q.shift > 30) {
    q.shift = 30;
    q.multiplier = INT32_MAX;
  }
  return q;
}

tr_qmul tr_quantize_multiplier_any_shift(double real_multiplier) {
  tr_qmul q = {0, 0};
  if (tr_quantize_positive_multiplier(real_multiplier, &q)) return q;
  /* negative multipliers: frexp keeps the sign in the fraction, llround rounds it away */
  if (real_multiplier == 0.0 || !isfinite(real_multiplier)) return q;
  int shift;
  const double fraction = frexp(real_multiplier, &shift);
  int64_t fixed = (int64_t)llround(fraction * (double)(1ll << 31));
  if (fixed == (1ll << 31)) {
    fixed /= 2;
    ++shift;
  }
  if (shift < -31) {
    shift = 0;
    fixed = 0;
  }
  q.multiplier = (int32_t)fixed;
  q.shift = shift;
  return q;
}

tr_qmul tr_quantize_multiplier_smaller_than_one(double real_multiplier) {
  return tr_quantize_multiplier(real_multiplier);
}

tr_qmul tr_quantize_multiplier_greater_than_one(double real_multiplier) {
  return tr_quantize_multiplier(real_multiplier);
}

static int32_t quantize_in_range(float scale, int32_t zero_point, float value) {
  return zero_point + (int32_t)tr_round_f32(value / scale);
}

void tr_activation_range_quantized(int32_t activation, int32_t type, float scale, int32_t zero_point,
                                   int32_t *lo, int32_t *hi) {
  int32_t qmin, qmax;
  switch (type) {
    case TR_UINT8: qmin = 0; qmax = 255; break;
    case TR_INT8: qmin = -128; qmax = 127; break;
    case TR_INT16: qmin = -32768; qmax = 32767; break;
    default: qmin = INT32_MIN; qmax = INT32_MAX; break;
  }
  *lo = qmin;
  *hi = qmax;
  if (activation == TR_ACT_RELU) {
    int32_t z = quantize_in_range(scale, zero_point, 0.0f);
    *lo = z > qmin ? z : qmin;
  } else if (activation == TR_ACT_RELU6) {
    int32_t z = quantize_in_range(scale, zero_point, 0.0f);
    int32_t six = quantize_in_range(scale, zero_point, 6.0f);
    *lo = z > qmin ? z : qmin;
    *hi = six < qmax ? six : qmax;
  } else if (activation == TR_ACT_RELU_N1_TO_1) {
    int32_t m1 = quantize_in_range(scale, zero_point, -1.0f);
    int32_t p1 = quantize_in_range(scale, zero_point, 1.0f);
    *lo = m1 > qmin ? m1 : qmin;
    *hi = p1 < qmax ? p1 : qmax;
  }
}

void tr_channel_multipliers(float input_scale, const float *filter_scales, float filter_scale,
                            float output_scale, int32_t count, tr_qmul *out) {
  int32_t c = 0;
  if (!filter_scales) { /* one scale for every channel: one multiplier */
    const tr_qmul q = tr_quantize_multiplier_inline(tr_conv_real_multiplier(input_scale, filter_scale, output_scale));
    for (; c < count; c++) out[c] = q;
    return;
  }
#if defined(__SSE2__)
  /* Two channels a vector: the same double product and quotient (exact conversions, one
   * rounding each), then tr_quantize_positive_multiplier's arithmetic on the bits, for the
   * exponents that need neither its special cases nor the saturation: shift from -31 to 29,
   * which the carry into 2^31 can raise by one and no more. A pair with any other exponent
   * (or sign, zero, subnormal, non-finite) goes through the scalar function. */
  const __m128d in = _mm_set1_pd((double)input_scale), out_scale = _mm_set1_pd((double)output_scale);
  const __m128i fraction_bits = _mm_set1_epi64x((int64_t)((1ull << 52) - 1));
  const __m128i hidden = _mm_set1_epi64x((int64_t)(1ull << 52)), half = _mm_set1_epi64x(1ll << 21);
  const __m128i low_exponent = _mm_set1_epi32(1022 - 31 - 1), high_exponent = _mm_set1_epi32(1022 + 29 + 1);
  const __m128i carried = _mm_set1_epi32(INT32_MIN), bias = _mm_set1_epi64x(1022);
  for (; c + 2 <= count; c += 2) {
    const __m128d scales = _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(filter_scales + c))));
    const __m128i bits = _mm_castpd_si128(_mm_div_pd(_mm_mul_pd(in, scales), out_scale));
    /* the biased exponent with the sign bit above it, in the low half of each 64-bit lane */
    const __m128i biased = _mm_srli_epi64(bits, 52);
    const __m128i usual = _mm_and_si128(_mm_cmpgt_epi32(biased, low_exponent), _mm_cmpgt_epi32(high_exponent, biased));
    if ((_mm_movemask_ps(_mm_castsi128_ps(usual)) & 5) != 5) {
      out[c] = tr_quantize_multiplier_inline(tr_conv_real_multiplier(input_scale, filter_scales[c], output_scale));
      out[c + 1] =
          tr_quantize_multiplier_inline(tr_conv_real_multiplier(input_scale, filter_scales[c + 1], output_scale));
      continue;
    }
    __m128i fixed = _mm_srli_epi64(_mm_add_epi64(_mm_or_si128(_mm_and_si128(bits, fraction_bits), hidden), half), 22);
    __m128i shift = _mm_sub_epi64(biased, bias);
    /* a carry to 2^31 halves it and adds one to the shift (the low halves; the high are 0) */
    const __m128i carry = _mm_cmpeq_epi32(fixed, carried);
    fixed = _mm_sub_epi32(fixed, _mm_and_si128(carry, _mm_set1_epi32(1 << 30)));
    shift = _mm_sub_epi32(shift, carry);
    /* tr_qmul is {multiplier, shift}: the low and high halves of a 64-bit lane */
    const __m128i pairs = _mm_or_si128(_mm_and_si128(fixed, _mm_set1_epi64x(0xFFFFFFFFll)), _mm_slli_epi64(shift, 32));
    _mm_storeu_si128((__m128i *)(out + c), pairs);
  }
#endif
  for (; c < count; c++)
    out[c] = tr_quantize_multiplier_inline(tr_conv_real_multiplier(input_scale, filter_scales[c], output_scale));
}
