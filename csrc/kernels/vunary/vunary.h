/* Elementwise unary micro-kernels over n contiguous elements.
 *
 * float32:
 *   clamp     y = min(max(x, min), max): RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1 (a NaN gives
 *             `min`, as fmaxf(min, NaN) does in the portable kernels)
 *   sigmoid   LOGISTIC as TFLite's reference shapes it: 1 above 16.619047, exp(x) below -9,
 *             1 / (1 + exp(-x)) between
 *   tanh      TANH
 *   hardswish x * min(max(x + 3, 0), 6) / 6, exactly as the portable kernel rounds it
 *   gelu      GELU, x * erfc(-x / sqrt2) / 2, and gelu_tanh, its tanh form: the same polynomial
 *             and rational approximations in every ISA (vunary-gelu.h), equal bit for bit
 * The SIMD sigmoid and tanh evaluate exp / expm1 with a range reduction by ln 2 and a degree-6
 * polynomial: within 2-3 ulp of the libm results the portable kernels use.
 * 8-bit:
 *   lut8      y = table[x] for bytes (int8 / uint8 activations: every byte a table entry) */
#ifndef TFLITE_RT_KERNELS_VUNARY_H
#define TFLITE_RT_KERNELS_VUNARY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  float min, max;
} tr_vunary_f32_params;

typedef void (*tr_vunary_f32_fn)(size_t n, const float *x, float *y, const tr_vunary_f32_params *params);
typedef void (*tr_vlut8_fn)(size_t n, const uint8_t *x, uint8_t *y, const uint8_t *table);

typedef struct {
  tr_vunary_f32_fn clamp, sigmoid, tanh, hardswish, gelu, gelu_tanh;
  tr_vlut8_fn lut8;
  const char *name;
} tr_vunary_config;

#define TR_VUNARY_DECL_ISA(isa)                                                                    \
  void tr_vclamp_f32__##isa(size_t n, const float *x, float *y, const tr_vunary_f32_params *params); \
  void tr_vsigmoid_f32__##isa(size_t n, const float *x, float *y, const tr_vunary_f32_params *params); \
  void tr_vtanh_f32__##isa(size_t n, const float *x, float *y, const tr_vunary_f32_params *params);  \
  void tr_vhardswish_f32__##isa(size_t n, const float *x, float *y, const tr_vunary_f32_params *params); \
  void tr_vgelu_f32__##isa(size_t n, const float *x, float *y, const tr_vunary_f32_params *params);  \
  void tr_vgelu_tanh_f32__##isa(size_t n, const float *x, float *y, const tr_vunary_f32_params *params); \
  void tr_vlut8__##isa(size_t n, const uint8_t *x, uint8_t *y, const uint8_t *table);

TR_VUNARY_DECL_ISA(scalar)
TR_VUNARY_DECL_ISA(avx2)
TR_VUNARY_DECL_ISA(avx512)
void tr_vlut8__avx512vbmi(size_t n, const uint8_t *x, uint8_t *y, const uint8_t *table);

/* The kernels for the ISA level in force (vunary-config.c); a static table. */
const tr_vunary_config *tr_vunary_config_get(void);

#endif
