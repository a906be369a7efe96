#include "isa/cpu.h"

#include <pthread.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define TR_X86 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#define TR_ARM64 1
#endif

static tr_cpu_features features;
static tr_isa detected = TR_ISA_SCALAR;
static volatile tr_isa cap = (tr_isa)1000;
static pthread_once_t once = PTHREAD_ONCE_INIT;

#ifdef TR_X86
static uint64_t xgetbv0(void) {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}
#endif

static void detect(void) {
#ifdef TR_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return;
  int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1;
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  int ymm_ok = (xcr0 & 0x6) == 0x6;            /* SSE and AVX state saved by the OS */
  int zmm_ok = ymm_ok && (xcr0 & 0xE0) == 0xE0; /* opmask and ZMM state */
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
  features.fma = fma && ymm_ok;
  features.avx2 = ((b >> 5) & 1) && ymm_ok;
  features.avx512f = ((b >> 16) & 1) && zmm_ok;
  features.avx512dq = ((b >> 17) & 1) && zmm_ok;
  features.avx512bw = ((b >> 30) & 1) && zmm_ok;
  features.avx512vl = ((b >> 31) & 1) && zmm_ok;
  features.avx512vnni = ((c >> 11) & 1) && zmm_ok;
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) features.avxvnni = ((a >> 4) & 1) && ymm_ok;
  if (features.avx2 && features.fma) detected = TR_ISA_AVX2;
  if (detected == TR_ISA_AVX2 && features.avx512f && features.avx512bw && features.avx512dq &&
      features.avx512vl)
    detected = TR_ISA_AVX512;
  if (detected == TR_ISA_AVX512 && features.avx512vnni) detected = TR_ISA_AVX512VNNI;
#elif defined(TR_ARM64)
  unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  features.neon = 1; /* baseline on aarch64 */
  features.dotprod = (hw >> 20) & 1; /* HWCAP_ASIMDDP */
  features.i8mm = (hw2 >> 13) & 1;   /* HWCAP2_I8MM */
  detected = TR_ISA_NEON;
  if (features.dotprod) detected = TR_ISA_NEONDOT;
  if (features.dotprod && features.i8mm) detected = TR_ISA_I8MM;
#endif
}

const tr_cpu_features *tr_cpu_features_get(void) {
  pthread_once(&once, detect);
  return &features;
}

tr_isa tr_isa_detected(void) {
  pthread_once(&once, detect);
  return detected;
}

tr_isa tr_isa_level(void) {
  tr_isa d = tr_isa_detected();
  return cap < d ? cap : d;
}

void tr_isa_set_cap(tr_isa level) { cap = level; }

const char *tr_isa_name(tr_isa isa) {
  switch (isa) {
    case TR_ISA_SCALAR: return "scalar";
    case TR_ISA_AVX2: return "avx2";
    case TR_ISA_AVX512: return "avx512";
    case TR_ISA_AVX512VNNI: return "vnni";
    case TR_ISA_NEON: return "neon";
    case TR_ISA_NEONDOT: return "neondot";
    case TR_ISA_I8MM: return "i8mm";
  }
  return "unknown";
}

int32_t tr_isa_compiled(tr_isa *out, int32_t max) {
  int32_t n = 0;
#define ADD(level) \
  if (n < max) out[n++] = level;
#ifdef TR_HAVE_AVX512VNNI
  ADD(TR_ISA_AVX512VNNI)
#endif
#ifdef TR_HAVE_AVX512
  ADD(TR_ISA_AVX512)
#endif
#ifdef TR_HAVE_AVX2
  ADD(TR_ISA_AVX2)
#endif
#ifdef TR_HAVE_I8MM
  ADD(TR_ISA_I8MM)
#endif
#ifdef TR_HAVE_NEONDOT
  ADD(TR_ISA_NEONDOT)
#endif
#ifdef TR_HAVE_NEON
  ADD(TR_ISA_NEON)
#endif
  ADD(TR_ISA_SCALAR)
#undef ADD
  return n;
}
