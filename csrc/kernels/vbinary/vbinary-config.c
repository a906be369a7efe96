/* Chooses the elementwise binary kernels once, in prepare: the best ISA level in force and
 * compiled in. */
#include "isa/cpu.h"
#include "kernels/vbinary/vbinary.h"

#if defined(TR_HAVE_NEON)
TR_VBINARY_DECL_ISA(neon)
#endif

#define CONFIG(isa) {&tr_vbinary_f32__##isa, &tr_vbinary_s8__##isa, &tr_vbinary_u8__##isa, #isa}

const tr_vbinary_config *tr_vbinary_config_get(void) {
  const tr_isa isa = tr_isa_level();
  (void)isa;
#if defined(TR_HAVE_AVX512)
  static const tr_vbinary_config avx512 = CONFIG(avx512);
  if (isa >= TR_ISA_AVX512 && isa < TR_ISA_NEON) return &avx512;
#endif
#if defined(TR_HAVE_AVX2)
  static const tr_vbinary_config avx2 = CONFIG(avx2);
  if (isa >= TR_ISA_AVX2 && isa < TR_ISA_NEON) return &avx2;
#endif
#if defined(TR_HAVE_NEON)
  static const tr_vbinary_config neon = CONFIG(neon);
  if (isa >= TR_ISA_NEON) return &neon;
#endif
  static const tr_vbinary_config scalar = CONFIG(scalar);
  return &scalar;
}
