/* Chooses the depthwise kernels once, in prepare: the best ISA level in force and compiled in,
 * then the kernel specialised for the tap count (3x3, 5x5) or the generic one. */
#include "isa/cpu.h"
#include "kernels/dwconv/dwconv.h"

#if defined(TR_HAVE_NEON)
TR_DWCONV_F32_DECL(tr_dwconv_f32_9p8c__neon)
TR_DWCONV_F32_DECL(tr_dwconv_f32_25p8c__neon)
TR_DWCONV_F32_DECL(tr_dwconv_f32_kp8c__neon)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_9p16c__neon)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_25p16c__neon)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_kp16c__neon)
TR_DWCONV_QS8_DECL(tr_dwconv_qu8_kp16c__neon)
#endif

void tr_dwconv_config_get(int32_t kernel_size, tr_dwconv_config *c) {
  const tr_isa isa = tr_isa_level();
  (void)isa;
#if defined(TR_HAVE_AVX512VNNI) && defined(TR_HAVE_AVX512)
  if (isa >= TR_ISA_AVX512VNNI && isa < TR_ISA_NEON) {
    c->f32 = kernel_size == 9    ? tr_dwconv_f32_9p16c__avx512
             : kernel_size == 25 ? tr_dwconv_f32_25p16c__avx512
                                 : tr_dwconv_f32_kp16c__avx512;
    c->f32_ct = 16;
    c->qs8 = kernel_size == 9    ? tr_dwconv_qs8_9p32c__vnni
             : kernel_size == 25 ? tr_dwconv_qs8_25p32c__vnni
                                 : tr_dwconv_qs8_kp32c__vnni;
    c->qu8 = tr_dwconv_qu8_kp32c__vnni;
    c->q8_layout = (tr_dwconv_qs8_layout){32, 2, TR_DW_SLOTS_UNPACK16, 1};
    c->name = "vnni";
    return;
  }
#endif
#if defined(TR_HAVE_AVX512)
  if (isa >= TR_ISA_AVX512 && isa < TR_ISA_NEON) {
    c->f32 = kernel_size == 9    ? tr_dwconv_f32_9p16c__avx512
             : kernel_size == 25 ? tr_dwconv_f32_25p16c__avx512
                                 : tr_dwconv_f32_kp16c__avx512;
    c->f32_ct = 16;
    c->qs8 = kernel_size == 9    ? tr_dwconv_qs8_9p32c__avx512
             : kernel_size == 25 ? tr_dwconv_qs8_25p32c__avx512
                                 : tr_dwconv_qs8_kp32c__avx512;
    c->qu8 = tr_dwconv_qu8_kp32c__avx512;
    c->q8_layout = (tr_dwconv_qs8_layout){32, 2, TR_DW_SLOTS_UNPACK16, 1};
    c->name = "avx512";
    return;
  }
#endif
#if defined(TR_HAVE_AVX2)
  if (isa >= TR_ISA_AVX2 && isa < TR_ISA_NEON) {
    c->f32 = kernel_size == 9    ? tr_dwconv_f32_9p8c__avx2
             : kernel_size == 25 ? tr_dwconv_f32_25p8c__avx2
                                 : tr_dwconv_f32_kp8c__avx2;
    c->f32_ct = 8;
    c->qs8 = kernel_size == 9    ? tr_dwconv_qs8_9p16c__avx2
             : kernel_size == 25 ? tr_dwconv_qs8_25p16c__avx2
                                 : tr_dwconv_qs8_kp16c__avx2;
    c->qu8 = tr_dwconv_qu8_kp16c__avx2;
    c->q8_layout = (tr_dwconv_qs8_layout){16, 2, TR_DW_SLOTS_UNPACK16, 1};
    c->name = "avx2";
    return;
  }
#endif
#if defined(TR_HAVE_NEON)
  if (isa >= TR_ISA_NEON) {
    c->f32 = kernel_size == 9    ? tr_dwconv_f32_9p8c__neon
             : kernel_size == 25 ? tr_dwconv_f32_25p8c__neon
                                 : tr_dwconv_f32_kp8c__neon;
    c->f32_ct = 8;
    c->qs8 = kernel_size == 9    ? tr_dwconv_qs8_9p16c__neon
             : kernel_size == 25 ? tr_dwconv_qs8_25p16c__neon
                                 : tr_dwconv_qs8_kp16c__neon;
    c->qu8 = tr_dwconv_qu8_kp16c__neon;
    c->q8_layout = (tr_dwconv_qs8_layout){16, 1, TR_DW_SLOTS_LINEAR};
    c->name = "neon";
    return;
  }
#endif
  c->f32 = tr_dwconv_f32_kp4c__scalar;
  c->f32_ct = 4;
  c->qs8 = tr_dwconv_qs8_kp16c__scalar;
  c->qu8 = tr_dwconv_qu8_kp16c__scalar;
  c->q8_layout = (tr_dwconv_qs8_layout){16, 1, TR_DW_SLOTS_LINEAR};
  c->name = "scalar";
}
