/* IEEE half <-> single conversions by bit manipulation, independent of the CPU's F16C support.
 * Half to single is exact for every input (subnormals, infinities and NaN payloads included);
 * single to half rounds to nearest even, as TFLite's CAST does. */
#ifndef TFLITE_RT_MODEL_HALF_H
#define TFLITE_RT_MODEL_HALF_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float tr_f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h >> 15) << 31;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1fu) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    /* subnormal half: shift the leading one into the implicit position */
    exponent = 113u;
    while (!(mantissa & 0x400u)) {
      mantissa <<= 1;
      exponent--;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static inline void tr_f16_to_f32_array(const uint16_t *src, float *dst, int64_t count) {
  for (int64_t i = 0; i < count; i++) dst[i] = tr_f16_to_f32(src[i]);
}

/* Rounds to nearest even; overflow gives infinity and every NaN the quiet NaN 0x7e00 (with sign). */
static inline uint16_t tr_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return (uint16_t)(sign | (abs > 0x7f800000u ? 0x7e00 : 0x7c00));
  if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: infinity */
  if (abs < 0x38800000u) {
    /* subnormal half (or zero): round abs * 2^24 to an integer, ties to even */
    float a;
    memcpy(&a, &abs, 4);
    return (uint16_t)(sign | (uint16_t)nearbyintf(a * 16777216.0f));
  }
  const uint32_t mant = abs & 0x7fffff;
  uint32_t h = ((abs >> 23) - 112) << 10 | (mant >> 13);
  const uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

#endif
