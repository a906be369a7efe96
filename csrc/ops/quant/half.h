/* IEEE half -> single conversion by bit manipulation: exact for every input (subnormals, infinities
 * and NaN payloads included) and independent of the CPU's F16C support or rounding mode. */
#ifndef TFLITE_RT_OPS_QUANT_HALF_H
#define TFLITE_RT_OPS_QUANT_HALF_H

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

#endif
