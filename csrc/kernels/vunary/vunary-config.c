/* Chooses the elementwise unary kernels once, in prepare: the best ISA level in force and
 * compiled in. */
#include "isa/cpu.h"
#include "kernels/vunary/vunary.h"

#if defined(TR_HAVE_NEON)
TR_VUNARY_DECL_ISA(neon)
#endif

#define CONFIG(isa)                                                                                  \
  {tr_vclamp_f32__##isa, tr_vsigmoid_f32__##isa, tr_vtanh_f32__##isa, tr_vhardswish_f32__##isa,      \
   tr_vgelu_f32__##isa, tr_vgelu_tanh_f32__##isa, tr_vlut8__##isa, #isa}

const tr_vunary_config *tr_vunary_config_get(void) {
  const tr_isa isa = tr_isa_level();
  (void)isa;
#if defined(TR_HAVE_AVX512)
  static const tr_vunary_config avx512 = CONFIG(avx512);
  static const tr_vunary_config avx512vbmi = {tr_vclamp_f32__avx512, tr_vsigmoid_f32__avx512, tr_vtanh_f32__avx512,
                                              tr_vhardswish_f32__avx512, tr_vgelu_f32__avx512,
                                              tr_vgelu_tanh_f32__avx512, tr_vlut8__avx512vbmi, "avx512vbmi"};
  /* VBMI is not an ISA level of its own: AVX-512 CPUs that have it get the byte permutes */
  if (isa >= TR_ISA_AVX512 && isa < TR_ISA_NEON) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi") ? &avx512vbmi : &avx512;
  }
#endif
#if defined(TR_HAVE_AVX2)
  static const tr_vunary_config avx2 = CONFIG(avx2);
  if (isa >= TR_ISA_AVX2 && isa < TR_ISA_NEON) return &avx2;
#endif
#if defined(TR_HAVE_NEON)
  static const tr_vunary_config neon = CONFIG(neon);
  if (isa >= TR_ISA_NEON) return &neon;
#endif
  static const tr_vunary_config scalar = CONFIG(scalar);
  return &scalar;
}
