/* Chooses the GEMM kernels once, in prepare: the best ISA level that is both in force
 * (tr_isa_level, which the cap lowers) and compiled in, ending at the portable kernels. */
#include "isa/cpu.h"
#include "kernels/gemm/gemm.h"

#if defined(TR_HAVE_NEON)
TR_GEMM_F32_DECL(6, 8, neon)
TR_GEMM_F32_DECL(1, 8, neon)
TR_GEMM_QS8_DECL(2, 8, 8, neon)
TR_GEMM_QS8_DECL(1, 8, 8, neon)
#endif
#if defined(TR_HAVE_NEONDOT)
TR_GEMM_QS8_DECL(4, 16, 4, neondot)
TR_GEMM_QS8_DECL(1, 16, 4, neondot)
#endif
#if defined(TR_HAVE_I8MM)
TR_GEMM_QS8_DECL(4, 16, 8, i8mm)
TR_GEMM_QS8_DECL(1, 16, 8, i8mm)
#endif

#define X86_AT_LEAST(isa, level) ((isa) >= (level) && (isa) < TR_ISA_NEON)

void tr_gemm_f32_config_get(tr_gemm_f32_config *c) {
  const tr_isa isa = tr_isa_level();
  (void)isa;
#if defined(TR_HAVE_AVX512)
  if (X86_AT_LEAST(isa, TR_ISA_AVX512)) {
    *c = (tr_gemm_f32_config){tr_gemm_f32_7x16__avx512, tr_gemm_f32_1x16__avx512, tr_igemm_f32_7x16__avx512,
                              7, 16, "avx512"};
    c->tall_gemm = tr_gemm_f32_8x16__avx512, c->tall_mr = 8;
    c->pack_rows = tr_gemm_pack_f32_rows16__avx512;
    return;
  }
#endif
#if defined(TR_HAVE_AVX2)
  if (X86_AT_LEAST(isa, TR_ISA_AVX2)) {
    *c = (tr_gemm_f32_config){tr_gemm_f32_6x16__avx2, tr_gemm_f32_1x16__avx2, tr_igemm_f32_6x16__avx2, 6, 16,
                              "avx2"};
    c->pack_rows = tr_gemm_pack_f32_rows16__avx2;
    return;
  }
#endif
#if defined(TR_HAVE_NEON)
  if (isa >= TR_ISA_NEON) {
    *c = (tr_gemm_f32_config){tr_gemm_f32_6x8__neon, tr_gemm_f32_1x8__neon, tr_igemm_f32_6x8__neon, 6, 8, "neon"};
    return;
  }
#endif
  *c = (tr_gemm_f32_config){tr_gemm_f32_4x8__scalar, tr_gemm_f32_1x8__scalar, tr_igemm_f32_4x8__scalar, 4, 8,
                            "scalar"};
}

void tr_gemm_qs8_config_get(tr_gemm_qs8_config *c) {
  const tr_isa isa = tr_isa_level();
  (void)isa;
#if defined(TR_HAVE_AVX512VNNI)
  if (X86_AT_LEAST(isa, TR_ISA_AVX512VNNI)) {
    *c = (tr_gemm_qs8_config){{tr_gemm_qs8_7x32c4__vnni, tr_gemm_qs8_dq_7x32c4__vnni},
                              {tr_gemm_qs8_1x32c4__vnni, tr_gemm_qs8_dq_1x32c4__vnni},
                              tr_igemm_qs8_7x32c4__vnni,
                              7, 32, 4, 128, "vnni",
                              {tr_gemm_qs8_7x16c4__vnni, tr_gemm_qs8_dq_7x16c4__vnni},
                              {tr_gemm_qs8_1x16c4__vnni, tr_gemm_qs8_dq_1x16c4__vnni},
                              tr_igemm_qs8_7x16c4__vnni, 7, 16};
    return;
  }
#endif
#if defined(TR_HAVE_AVX512)
  if (X86_AT_LEAST(isa, TR_ISA_AVX512)) {
    *c = (tr_gemm_qs8_config){{tr_gemm_qs8_4x16c8__avx512, tr_gemm_qs8_dq_4x16c8__avx512},
                              {tr_gemm_qs8_1x16c8__avx512, tr_gemm_qs8_dq_1x16c8__avx512},
                              tr_igemm_qs8_4x16c8__avx512,
                              4, 16, 8, 0, "avx512"};
    return;
  }
#endif
#if defined(TR_HAVE_AVX2)
  if (X86_AT_LEAST(isa, TR_ISA_AVX2)) {
    *c = (tr_gemm_qs8_config){{tr_gemm_qs8_3x8c8__avx2, tr_gemm_qs8_dq_3x8c8__avx2},
                              {tr_gemm_qs8_1x8c8__avx2, tr_gemm_qs8_dq_1x8c8__avx2},
                              tr_igemm_qs8_3x8c8__avx2,
                              3, 8, 8, 0, "avx2"};
    return;
  }
#endif
#if defined(TR_HAVE_I8MM)
  if (isa >= TR_ISA_I8MM) {
    *c = (tr_gemm_qs8_config){{tr_gemm_qs8_4x16c8__i8mm, tr_gemm_qs8_dq_4x16c8__i8mm},
                              {tr_gemm_qs8_1x16c8__i8mm, tr_gemm_qs8_dq_1x16c8__i8mm},
                              tr_igemm_qs8_4x16c8__i8mm,
                              4, 16, 8, 0, "i8mm"};
    return;
  }
#endif
#if defined(TR_HAVE_NEONDOT)
  if (isa >= TR_ISA_NEONDOT) {
    *c = (tr_gemm_qs8_config){{tr_gemm_qs8_4x16c4__neondot, tr_gemm_qs8_dq_4x16c4__neondot},
                              {tr_gemm_qs8_1x16c4__neondot, tr_gemm_qs8_dq_1x16c4__neondot},
                              tr_igemm_qs8_4x16c4__neondot,
                              4, 16, 4, 0, "neondot"};
    return;
  }
#endif
#if defined(TR_HAVE_NEON)
  if (isa >= TR_ISA_NEON) {
    *c = (tr_gemm_qs8_config){{tr_gemm_qs8_2x8c8__neon, tr_gemm_qs8_dq_2x8c8__neon},
                              {tr_gemm_qs8_1x8c8__neon, tr_gemm_qs8_dq_1x8c8__neon},
                              tr_igemm_qs8_2x8c8__neon,
                              2, 8, 8, 0, "neon"};
    return;
  }
#endif
  *c = (tr_gemm_qs8_config){{tr_gemm_qs8_4x8c1__scalar, tr_gemm_qs8_dq_4x8c1__scalar},
                            {tr_gemm_qs8_1x8c1__scalar, tr_gemm_qs8_dq_1x8c1__scalar},
                            tr_igemm_qs8_4x8c1__scalar,
                            4, 8, 1, 0, "scalar"};
}

static size_t padded(size_t n, int32_t nr) { return (n + (size_t)nr - 1) / (size_t)nr * (size_t)nr; }

void tr_gemm_f32_config_fit(tr_gemm_f32_config *c, size_t n, size_t k) {
  const size_t wide = padded(n, c->nr), narrow = c->narrow_gemm ? padded(n, c->narrow_nr) : wide + 1;
  if (narrow < wide || (narrow == wide && k < 32)) {
    c->gemm = c->narrow_gemm, c->gemm1 = c->narrow_gemm1, c->igemm = c->narrow_igemm;
    c->mr = c->narrow_mr, c->nr = c->narrow_nr;
    c->pack_rows = NULL, c->tall_gemm = NULL; /* both for the main tile's nr */
  }
  c->narrow_gemm = c->narrow_gemm1 = NULL, c->narrow_igemm = NULL;
}

void tr_gemm_f32_config_fit_rows(tr_gemm_f32_config *c, size_t m) {
  if (c->tall_gemm && padded(m, c->tall_mr) < padded(m, c->mr)) {
    c->gemm = c->tall_gemm, c->mr = c->tall_mr;
    c->igemm = NULL;
  }
  c->tall_gemm = NULL;
}

void tr_gemm_qs8_config_fit(tr_gemm_qs8_config *c, size_t n, size_t k) {
  (void)k;
  if (c->narrow_gemm[0] && padded(n, c->narrow_nr) < padded(n, c->nr)) {
    for (int i = 0; i < 2; i++) c->gemm[i] = c->narrow_gemm[i], c->gemm1[i] = c->narrow_gemm1[i];
    c->igemm = c->narrow_igemm;
    c->mr = c->narrow_mr, c->nr = c->narrow_nr;
  }
  c->narrow_gemm[0] = c->narrow_gemm[1] = c->narrow_gemm1[0] = c->narrow_gemm1[1] = NULL;
  c->narrow_igemm = NULL;
}
