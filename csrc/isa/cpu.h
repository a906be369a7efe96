/* CPU features, detected once, and the instruction-set level kernels are chosen by.
 *
 * Levels are ordered within an architecture: a kernel table picks the best level that is both
 * compiled in and at most tr_isa_level(). The level can be capped (TFLITE_RT_ISA, or
 * tflite_rt.set_isa()) so that every path can be tested on one machine. */
#ifndef TFLITE_RT_ISA_CPU_H
#define TFLITE_RT_ISA_CPU_H

#include <stdint.h>

typedef enum {
  TR_ISA_SCALAR = 0,
  /* x86-64 */
  TR_ISA_AVX2 = 10,       /* AVX2 + FMA */
  TR_ISA_AVX512 = 20,     /* AVX-512 F, BW, DQ, VL */
  TR_ISA_AVX512VNNI = 30, /* AVX-512 + VNNI */
  /* aarch64 */
  TR_ISA_NEON = 110,
  TR_ISA_NEONDOT = 120,   /* + sdot/udot */
  TR_ISA_I8MM = 130,      /* + smmla */
} tr_isa;

typedef struct {
  int32_t avx2, fma, avx512f, avx512bw, avx512dq, avx512vl, avx512vnni, avxvnni;
  int32_t neon, dotprod, i8mm;
} tr_cpu_features;

const tr_cpu_features *tr_cpu_features_get(void);
/* The best level this CPU supports (ignoring any cap). */
tr_isa tr_isa_detected(void);
/* The level in force: detected, lowered by the cap. */
tr_isa tr_isa_level(void);
/* Caps the level (TR_ISA_SCALAR forces portable kernels); a cap above detected has no effect.
 * Takes effect for plans prepared afterwards. */
void tr_isa_set_cap(tr_isa cap);
const char *tr_isa_name(tr_isa isa);
/* The levels whose kernels this build contains, best first, ending with TR_ISA_SCALAR. */
int32_t tr_isa_compiled(tr_isa *out, int32_t max);

#endif
