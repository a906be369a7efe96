/* Elementwise binary micro-kernels: y[i] = a[i] op b[i] over n contiguous elements, and the
 * forms with one operand a single value (suffix c: a[i] op b[0]; rc: b[0] op a[i]).
 *
 * float32: ADD, SUB, MUL, then the fused activation clamp (NaN passes through, as in the
 * portable kernels).
 * 8-bit (s8: int8, u8: uint8), bit-exact with TFLite's reference kernels:
 *   ADD / SUB: each input x becomes s(x) = MBQM_smaller_than_one((x + offset) << left_shift,
 *     multiplier, shift); the output is MBQM(s(a) +- s(b), out_multiplier, out_shift) + zero
 *     point, clamped. The c forms take the constant operand's s() precomputed (`scaled_b`).
 *   MUL: MBQM((a + a_offset) * (b + b_offset), out_multiplier, out_shift) + zero point,
 *     clamped; the c form takes (b + b_offset) precomputed (`scaled_b`).
 * MBQM is quant.h's tr_multiply_by_quantized_multiplier (shift > 0: left).
 *
 * The rows forms broadcast a row: y[r n + i] = a[r n + i] op b[i] for r < rows (rsub_rows:
 * b[i] - a[r n + i]), so that a short row repeated over a tensor costs one call. */
#ifndef TFLITE_RT_KERNELS_VBINARY_H
#define TFLITE_RT_KERNELS_VBINARY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  float min, max;
} tr_vbinary_f32_params;

typedef struct {
  int32_t a_offset, b_offset, left_shift;
  int32_t a_multiplier, a_shift; /* shift <= 0 */
  int32_t b_multiplier, b_shift;
  int32_t out_multiplier, out_shift;
  int32_t out_zero_point, out_min, out_max;
  int32_t scaled_b; /* the c forms' constant operand, rescaled (ADD/SUB) or offset (MUL) */
} tr_vbinary_q8_params;

typedef void (*tr_vbinary_f32_fn)(size_t n, const float *a, const float *b, float *y,
                                  const tr_vbinary_f32_params *params);
/* int8 or uint8 a, b, y; the c forms ignore b */
typedef void (*tr_vbinary_q8_fn)(size_t n, const void *a, const void *b, void *y,
                                 const tr_vbinary_q8_params *params);

typedef void (*tr_vbinary_f32_rows_fn)(size_t rows, size_t n, const float *a, const float *b, float *y,
                                       const tr_vbinary_f32_params *params);
typedef void (*tr_vbinary_q8_rows_fn)(size_t rows, size_t n, const void *a, const void *b, void *y,
                                      const tr_vbinary_q8_params *params);

typedef struct {
  tr_vbinary_f32_fn add, addc, sub, subc, rsubc, mul, mulc;
  tr_vbinary_f32_rows_fn add_rows, sub_rows, rsub_rows, mul_rows;
} tr_vbinary_f32_ops;

typedef struct {
  tr_vbinary_q8_fn add, addc, sub, rsubc, mul, mulc; /* subc: addc with scaled_b negated */
  tr_vbinary_q8_rows_fn add_rows, sub_rows, rsub_rows, mul_rows;
} tr_vbinary_q8_ops;

typedef struct {
  const tr_vbinary_f32_ops *f32;
  const tr_vbinary_q8_ops *s8, *u8;
  const char *name;
} tr_vbinary_config;

#define TR_VBINARY_DECL_ISA(isa)                                                               \
  extern const tr_vbinary_f32_ops tr_vbinary_f32__##isa;                                       \
  extern const tr_vbinary_q8_ops tr_vbinary_s8__##isa, tr_vbinary_u8__##isa;

TR_VBINARY_DECL_ISA(scalar)
TR_VBINARY_DECL_ISA(avx2)
TR_VBINARY_DECL_ISA(avx512)

/* The kernels for the ISA level in force (vbinary-config.c); a static table. */
const tr_vbinary_config *tr_vbinary_config_get(void);

/* s() of one 8-bit value, as the c forms want it (portable; vbinary-scalar.c). */
int32_t tr_vbinary_q8_scale_input(int32_t x, int32_t offset, int32_t left_shift, int32_t multiplier,
                                  int32_t shift);

#endif
