/* Depthwise convolution micro-kernels (NHWC, one input channel per output channel).
 *
 * A call computes `output_width` output pixels of one row for all `channels`. Pixel i reads its
 * K = kernel_size taps through `input[i * input_step + k]`, pointers to the first channel of an
 * input pixel, or to a zero row where the tap falls into the padding (an indirection buffer:
 * the kernel never tests bounds). Taps are ordered column-major (k = kx * KH + ky), so that with
 * input_step = stride_w * KH the pixels of a row share the pointers of their common columns.
 * Output pixel i starts at output + i * output_stride.
 *
 * Weights are packed once (tr_dwconv_pack_*), in blocks of `ct` channels (the kernel's channel
 * tile; the last block is padded with zeros):
 *   float32: bias[ct], then w[k][ct] for each tap.
 *   8-bit:   bias[ct] (int32, with the input zero point folded in), then the taps in groups of
 *            `group` (1: int16 w[k][ct]; 2: int16 (w[k], w[k+1]) pairs; 4: int8 quads), then
 *            the requantization of each channel: multiplier[ct], left_shift[ct],
 *            right_shift[ct], rounding_mask[ct] (int32), and with `extended` also
 *            multiplier_odd[ct] (slot j: the multiplier of slot j | 1, where vpmuldq wants the
 *            odd lanes' multipliers) and rounding_half[ct] (rounding_mask >> 1).
 * Within a block, 8-bit kernels hold channels in the order their unpacking instructions leave
 * them in (tr_dwconv_qs8_layout.slot_channel); the packer writes everything in that order.
 *
 * The zero row of an 8-bit kernel holds the input zero point, so padding adds nothing; float
 * kernels read zeros. The activation clamp is fused. */
#ifndef TFLITE_RT_KERNELS_DWCONV_H
#define TFLITE_RT_KERNELS_DWCONV_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  float min, max;
} tr_dwconv_f32_params;

typedef struct {
  int32_t output_zero_point;
  int32_t output_min, output_max; /* the fused activation, in output units */
  int32_t no_left_shifts;         /* set if no channel's multiplier shifts left (0 is always safe) */
} tr_dwconv_qs8_params;

typedef void (*tr_dwconv_f32_fn)(size_t channels, size_t output_width, size_t kernel_size,
                                 const float **input, size_t input_step, const float *weights,
                                 float *output, size_t output_stride, const tr_dwconv_f32_params *params);

/* `input` points to int8 (qs8) or uint8 (qu8) rows, `output` likewise. */
typedef void (*tr_dwconv_qs8_fn)(size_t channels, size_t output_width, size_t kernel_size,
                                 const void **input, size_t input_step, const void *weights,
                                 void *output, size_t output_stride, const tr_dwconv_qs8_params *params);

/* How an 8-bit kernel wants its weights packed. */
typedef enum {
  TR_DW_SLOTS_LINEAR = 0, /* slot j holds channel j */
  TR_DW_SLOTS_UNPACK16,   /* unpacklo/hi_epi16 of int16 vectors: two accumulators, 4-channel runs */
  TR_DW_SLOTS_UNPACK8X2,  /* unpacklo/hi_epi8 then _epi16 of byte vectors: four accumulators */
} tr_dw_slots;

typedef struct {
  int32_t ct;    /* channel tile */
  int32_t group; /* taps per multiply (1, 2 or 4) */
  tr_dw_slots slots;
  int32_t extended; /* the requantization carries multiplier_odd and rounding_half too */
} tr_dwconv_qs8_layout;

/* --- packing (dwconv-pack.c) --- */

/* `weights` is the filter [KH][KW][channels]; bias may be NULL. Returns floats written. */
size_t tr_dwconv_packed_size_f32(size_t channels, int32_t kh, int32_t kw, int32_t ct);
void tr_dwconv_pack_f32(size_t channels, int32_t kh, int32_t kw, int32_t ct, const float *weights,
                        const float *bias, float *packed);

/* Per-channel requantization as the packer wants it. */
typedef struct {
  int32_t multiplier, shift; /* tr_qmul: shift > 0 is a left shift */
} tr_dwconv_qmul;

size_t tr_dwconv_packed_size_qs8(size_t channels, int32_t kh, int32_t kw, const tr_dwconv_qs8_layout *layout);
/* 8-bit weights: int8 (weights_unsigned == 0) or uint8 minus weight_zero_point. */
void tr_dwconv_pack_qs8(size_t channels, int32_t kh, int32_t kw, const tr_dwconv_qs8_layout *layout,
                        const void *weights, int weights_unsigned, int32_t weight_zero_point,
                        const int32_t *bias, int32_t input_zero_point, const tr_dwconv_qmul *qmul,
                        void *packed);
/* The channel of slot j (0 <= j < ct) of a block. */
int32_t tr_dwconv_slot_channel(const tr_dwconv_qs8_layout *layout, int32_t j);

/* --- kernels (name: taps p, channel tile c) --- */

#define TR_DWCONV_F32_DECL(name)                                                                 \
  void name(size_t channels, size_t output_width, size_t kernel_size, const float **input,      \
            size_t input_step, const float *weights, float *output, size_t output_stride,       \
            const tr_dwconv_f32_params *params);
#define TR_DWCONV_QS8_DECL(name)                                                                 \
  void name(size_t channels, size_t output_width, size_t kernel_size, const void **input,       \
            size_t input_step, const void *weights, void *output, size_t output_stride,         \
            const tr_dwconv_qs8_params *params);

TR_DWCONV_F32_DECL(tr_dwconv_f32_kp4c__scalar)
TR_DWCONV_F32_DECL(tr_dwconv_f32_9p8c__avx2)
TR_DWCONV_F32_DECL(tr_dwconv_f32_25p8c__avx2)
TR_DWCONV_F32_DECL(tr_dwconv_f32_kp8c__avx2)
TR_DWCONV_F32_DECL(tr_dwconv_f32_9p16c__avx512)
TR_DWCONV_F32_DECL(tr_dwconv_f32_25p16c__avx512)
TR_DWCONV_F32_DECL(tr_dwconv_f32_kp16c__avx512)

/* qs8: int8 in/out; qu8: uint8 in/out. Scalar: linear slots, group 1, ct 16. */
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_kp16c__scalar)
TR_DWCONV_QS8_DECL(tr_dwconv_qu8_kp16c__scalar)
/* AVX2: unpack16 slots, group 2, ct 16, extended. */
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_9p16c__avx2)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_25p16c__avx2)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_kp16c__avx2)
TR_DWCONV_QS8_DECL(tr_dwconv_qu8_kp16c__avx2)
/* AVX-512 BW: unpack16 slots, group 2, ct 32, extended. */
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_9p32c__avx512)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_25p32c__avx512)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_kp32c__avx512)
TR_DWCONV_QS8_DECL(tr_dwconv_qu8_kp32c__avx512)
/* AVX-512 VNNI: as AVX-512 (same layout), vpdpwssd multiplying and adding the pairs. */
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_9p32c__vnni)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_25p32c__vnni)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_kp32c__vnni)
TR_DWCONV_QS8_DECL(tr_dwconv_qu8_kp32c__vnni)

/* --- choice (dwconv-config.c) --- */

typedef struct {
  tr_dwconv_f32_fn f32;
  int32_t f32_ct;
  tr_dwconv_qs8_fn qs8; /* int8 */
  tr_dwconv_qs8_fn qu8; /* uint8 */
  tr_dwconv_qs8_layout q8_layout;
  const char *name;
} tr_dwconv_config;

/* The best kernels for this tap count at the ISA level in force. */
void tr_dwconv_config_get(int32_t kernel_size, tr_dwconv_config *config);

#endif
