/* Chooses the pooling kernels once, in prepare: the best ISA level in force and compiled in. */
#include "isa/cpu.h"
#include "kernels/pool/pool.h"

#if defined(TR_HAVE_NEON)
TR_POOL_F32_DECL(tr_pool_max_f32__neon)
TR_POOL_F32_DECL(tr_pool_avg_f32__neon)
TR_POOL_Q8_DECL(tr_pool_max_s8__neon)
TR_POOL_Q8_DECL(tr_pool_max_u8__neon)
TR_POOL_Q8_DECL(tr_pool_avg_s8__neon)
TR_POOL_Q8_DECL(tr_pool_avg_u8__neon)
#endif

void tr_pool_config_get(tr_pool_config *c) {
  const tr_isa isa = tr_isa_level();
  (void)isa;
#if defined(TR_HAVE_AVX512)
  if (isa >= TR_ISA_AVX512 && isa < TR_ISA_NEON) {
    *c = (tr_pool_config){tr_pool_max_f32__avx512, tr_pool_avg_f32__avx512, tr_pool_max_s8__avx512,
                          tr_pool_max_u8__avx512, tr_pool_avg_s8__avx512, tr_pool_avg_u8__avx512, "avx512"};
    return;
  }
#endif
#if defined(TR_HAVE_AVX2)
  if (isa >= TR_ISA_AVX2 && isa < TR_ISA_NEON) {
    *c = (tr_pool_config){tr_pool_max_f32__avx2, tr_pool_avg_f32__avx2, tr_pool_max_s8__avx2,
                          tr_pool_max_u8__avx2, tr_pool_avg_s8__avx2, tr_pool_avg_u8__avx2, "avx2"};
    return;
  }
#endif
#if defined(TR_HAVE_NEON)
  if (isa >= TR_ISA_NEON) {
    *c = (tr_pool_config){tr_pool_max_f32__neon, tr_pool_avg_f32__neon, tr_pool_max_s8__neon,
                          tr_pool_max_u8__neon, tr_pool_avg_s8__neon, tr_pool_avg_u8__neon, "neon"};
    return;
  }
#endif
  *c = (tr_pool_config){tr_pool_max_f32__scalar, tr_pool_avg_f32__scalar, tr_pool_max_s8__scalar,
                        tr_pool_max_u8__scalar, tr_pool_avg_s8__scalar, tr_pool_avg_u8__scalar, "scalar"};
}
