/* Portable elementwise binary kernels: the oracle of the SIMD ones and the fallback
 * (see vbinary.h). */
#include "kernels/vbinary/vbinary.h"
#include "model/quant.h"

/* NaN passes through: comparisons with NaN are false */
static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

#define F32_OP(NAME, EXPR)                                                                      \
  static void NAME(size_t n, const float *a, const float *b, float *y, const tr_vbinary_f32_params *p) { \
    const float lo = p->min, hi = p->max;                                                       \
    for (size_t i = 0; i < n; i++) y[i] = clampf(EXPR, lo, hi);                                 \
  }

F32_OP(add_f32, a[i] + b[i])
F32_OP(addc_f32, a[i] + b[0])
F32_OP(sub_f32, a[i] - b[i])
F32_OP(subc_f32, a[i] - b[0])
F32_OP(rsubc_f32, b[0] - a[i])
F32_OP(mul_f32, a[i] * b[i])
F32_OP(mulc_f32, a[i] * b[0])

#define F32_ROWS(NAME, EXPR)                                                                    \
  static void NAME(size_t rows, size_t n, const float *a, const float *b, float *y,            \
                   const tr_vbinary_f32_params *p) {                                           \
    const float lo = p->min, hi = p->max;                                                       \
    for (size_t r = 0; r < rows; r++, a += n, y += n)                                           \
      for (size_t i = 0; i < n; i++) y[i] = clampf(EXPR, lo, hi);                               \
  }

F32_ROWS(add_rows_f32, a[i] + b[i])
F32_ROWS(sub_rows_f32, a[i] - b[i])
F32_ROWS(rsub_rows_f32, b[i] - a[i])
F32_ROWS(mul_rows_f32, a[i] * b[i])

const tr_vbinary_f32_ops tr_vbinary_f32__scalar = {add_f32, addc_f32, sub_f32, subc_f32, rsubc_f32, mul_f32, mulc_f32,
                                                   add_rows_f32, sub_rows_f32, rsub_rows_f32, mul_rows_f32};

int32_t tr_vbinary_q8_scale_input(int32_t x, int32_t offset, int32_t left_shift, int32_t multiplier, int32_t shift) {
  return tr_multiply_by_quantized_multiplier_smaller_than_one((int32_t)((uint32_t)(x + offset) << left_shift),
                                                              multiplier, shift);
}

static inline int32_t q8_out(int32_t raw, const tr_vbinary_q8_params *p) {
  return tr_clamp_i32(tr_multiply_by_quantized_multiplier(raw, p->out_multiplier, p->out_shift) + p->out_zero_point,
                      p->out_min, p->out_max);
}

#define SA(x) tr_vbinary_q8_scale_input(x, p->a_offset, p->left_shift, p->a_multiplier, p->a_shift)
#define SB(x) tr_vbinary_q8_scale_input(x, p->b_offset, p->left_shift, p->b_multiplier, p->b_shift)

#define Q8_OP(NAME, T, EXPR)                                                                     \
  static void NAME(size_t n, const void *a_, const void *b_, void *y_, const tr_vbinary_q8_params *p) { \
    const T *a = (const T *)a_, *b = (const T *)b_;                                              \
    T *y = (T *)y_;                                                                              \
    (void)b;                                                                                     \
    for (size_t i = 0; i < n; i++) y[i] = (T)q8_out(EXPR, p);                                    \
  }

#define Q8_ROWS(NAME, T, EXPR)                                                                   \
  static void NAME(size_t rows, size_t n, const void *a_, const void *b_, void *y_,              \
                   const tr_vbinary_q8_params *p) {                                              \
    const T *a = (const T *)a_, *b = (const T *)b_;                                              \
    T *y = (T *)y_;                                                                              \
    for (size_t r = 0; r < rows; r++, a += n, y += n)                                            \
      for (size_t i = 0; i < n; i++) y[i] = (T)q8_out(EXPR, p);                                  \
  }

#define Q8_OPS(SUFFIX, T)                                                                        \
  Q8_OP(add_##SUFFIX, T, SA(a[i]) + SB(b[i]))                                                    \
  Q8_OP(addc_##SUFFIX, T, SA(a[i]) + p->scaled_b)                                                \
  Q8_OP(sub_##SUFFIX, T, SA(a[i]) - SB(b[i]))                                                    \
  Q8_OP(rsubc_##SUFFIX, T, p->scaled_b - SA(a[i]))                                               \
  Q8_OP(mul_##SUFFIX, T, (a[i] + p->a_offset) * (b[i] + p->b_offset))                            \
  Q8_OP(mulc_##SUFFIX, T, (a[i] + p->a_offset) * p->scaled_b)                                    \
  Q8_ROWS(add_rows_##SUFFIX, T, SA(a[i]) + SB(b[i]))                                             \
  Q8_ROWS(sub_rows_##SUFFIX, T, SA(a[i]) - SB(b[i]))                                             \
  Q8_ROWS(rsub_rows_##SUFFIX, T, SB(b[i]) - SA(a[i]))                                            \
  Q8_ROWS(mul_rows_##SUFFIX, T, (a[i] + p->a_offset) * (b[i] + p->b_offset))                     \
  const tr_vbinary_q8_ops tr_vbinary_##SUFFIX##__scalar = {                                      \
      add_##SUFFIX, addc_##SUFFIX, sub_##SUFFIX, rsubc_##SUFFIX, mul_##SUFFIX, mulc_##SUFFIX,   \
      add_rows_##SUFFIX, sub_rows_##SUFFIX, rsub_rows_##SUFFIX, mul_rows_##SUFFIX};

Q8_OPS(s8, int8_t)
Q8_OPS(u8, uint8_t)
