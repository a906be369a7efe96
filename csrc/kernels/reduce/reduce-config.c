/* Chooses the reduction kernels once, in prepare: the best ISA level in force and compiled in. */
#include "isa/cpu.h"
#include "kernels/reduce/reduce.h"

#define CONFIG(isa)                                                                                    \
  (tr_reduce_config) {                                                                                 \
    {tr_reduce_sum_cols_f32__##isa, tr_reduce_mean_cols_f32__##isa, tr_reduce_max_cols_f32__##isa,     \
     tr_reduce_min_cols_f32__##isa},                                                                   \
        {tr_reduce_sum_rows_f32__##isa, tr_reduce_mean_rows_f32__##isa, tr_reduce_max_rows_f32__##isa, \
         tr_reduce_min_rows_f32__##isa},                                                               \
        tr_reduce_sum_cols_s8__##isa, tr_reduce_sum_cols_u8__##isa, tr_reduce_sum_rows_s8__##isa,      \
        tr_reduce_sum_rows_u8__##isa, tr_reduce_requant_s8__##isa, tr_reduce_requant_u8__##isa,        \
        tr_softmax_f32__##isa, tr_l2norm_f32__##isa, #isa                                              \
  }

void tr_reduce_config_get(tr_reduce_config *c) {
  const tr_isa isa = tr_isa_level();
  (void)isa;
#if defined(TR_HAVE_AVX512)
  if (isa >= TR_ISA_AVX512 && isa < TR_ISA_NEON) {
    *c = CONFIG(avx512);
    return;
  }
#endif
#if defined(TR_HAVE_AVX2)
  if (isa >= TR_ISA_AVX2 && isa < TR_ISA_NEON) {
    *c = CONFIG(avx2);
    return;
  }
#endif
  *c = CONFIG(scalar);
}
