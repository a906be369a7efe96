/* Every GEMM micro-kernel against its portable twin (same MR x NR cKR, same packed weights),
 * on random shapes: rows 1..MR, columns and k with tails, several taps with padding pointers,
 * a moved input (a_offset), row biases, left and right requantization shifts, both requant
 * rules. int8 must agree bit for bit, float within a tolerance that grows with k.
 *
 * Built and run by tests/test_kernels_gemm.py (with the TR_HAVE_* macros of the ISA objects
 * it links); a kernel whose ISA the CPU lacks is skipped. Usage: gemm_harness [iterations] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_random.h"
#include "kernels/gemm/gemm.h"

static float rnd_f(void) { return (float)rnd_in(-100000, 100000) / 50000.0f; }

static int supported(const char *isa) {
  if (!strcmp(isa, "scalar")) return 1;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (!strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!strcmp(isa, "avx512"))
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  if (!strcmp(isa, "vnni")) return supported("avx512") && __builtin_cpu_supports("avx512vnni");
#endif
  return 0;
}

typedef struct {
  const char *name, *isa;
  int mr, nr;
  tr_gemm_f32_fn gemm, gemm_ref;
  tr_igemm_f32_fn igemm, igemm_ref;
} f32_case;

typedef struct {
  const char *name, *isa;
  int mr, nr, kr, a_xor;
  tr_gemm_qs8_fn gemm, gemm_ref, dq, dq_ref;
  tr_igemm_qs8_fn igemm, igemm_ref;
} qs8_case;

#define F32(MR, NR, ISA)                                                                                 \
  {#MR "x" #NR "__" #ISA, #ISA, MR, NR, tr_gemm_f32_##MR##x##NR##__##ISA, tr_gemm_f32_##MR##x##NR##__scalar, \
   tr_igemm_f32_##MR##x##NR##__##ISA, tr_igemm_f32_##MR##x##NR##__scalar}
#define QS8(MR, NR, KR, XOR, ISA)                                                                        \
  {#MR "x" #NR "c" #KR "__" #ISA, #ISA, MR, NR, KR, XOR,                                                   \
   tr_gemm_qs8_##MR##x##NR##c##KR##__##ISA, tr_gemm_qs8_##MR##x##NR##c##KR##__scalar,                      \
   tr_gemm_qs8_dq_##MR##x##NR##c##KR##__##ISA, tr_gemm_qs8_dq_##MR##x##NR##c##KR##__scalar,                \
   tr_igemm_qs8_##MR##x##NR##c##KR##__##ISA, tr_igemm_qs8_##MR##x##NR##c##KR##__scalar}

static const f32_case f32_cases[] = {
#if defined(TR_HAVE_AVX2)
    F32(6, 16, avx2), F32(1, 16, avx2),
#endif
#if defined(TR_HAVE_AVX512)
    F32(7, 16, avx512), F32(8, 16, avx512), F32(1, 16, avx512),
#endif
    F32(4, 8, scalar),
};

static const qs8_case qs8_cases[] = {
#if defined(TR_HAVE_AVX2)
    QS8(3, 8, 8, 0, avx2), QS8(1, 8, 8, 0, avx2),
#endif
#if defined(TR_HAVE_AVX512)
    QS8(4, 16, 8, 0, avx512), QS8(1, 16, 8, 0, avx512),
#endif
#if defined(TR_HAVE_AVX512VNNI)
    QS8(7, 32, 4, 128, vnni), QS8(1, 32, 4, 128, vnni),
    QS8(7, 16, 4, 128, vnni), QS8(1, 16, 4, 128, vnni),
#endif
    QS8(4, 8, 1, 0, scalar),
};

/* A: `rows` rows of ks * kc values (stride `stride`), each row exactly as long as it must be
 * (separate allocations), so a kernel reading past the end of a row trips the sanitizers. */
#define MAXR 8
#define MAXT 4

static int check_f32(const f32_case *k, int iters) {
  for (int it = 0; it < iters; it++) {
    const size_t mr = (size_t)rnd_in(1, k->mr), nc = (size_t)rnd_in(1, 3 * k->nr + 1);
    const size_t kc = (size_t)rnd_in(1, 70), ks = (size_t)rnd_in(1, MAXT);
    const size_t n = nc;
    float *src = malloc(n * ks * kc * sizeof(float)), *bias = malloc(n * sizeof(float));
    for (size_t i = 0; i < n * ks * kc; i++) src[i] = rnd_f();
    for (size_t i = 0; i < n; i++) bias[i] = rnd_f();
    void *w = malloc(tr_gemm_packed_size_f32(n, ks, kc, (size_t)k->nr));
    tr_gemm_pack_f32(n, ks, kc, (size_t)k->nr, src, ks * kc, kc, 1, bias, w);
    float *rows[MAXR * MAXT];
    const float *ind[MAXR * MAXT];
    float *zero = calloc(kc, sizeof(float));
    const size_t shift = 64; /* the indirection points 64 floats before the data */
    for (size_t i = 0; i < (size_t)k->mr * ks; i++) {
      rows[i] = malloc(kc * sizeof(float));
      for (size_t j = 0; j < kc; j++) rows[i][j] = rnd_f();
      ind[i] = rnd() % 5 == 0 ? zero : rows[i] - shift;
    }
    /* gemm: contiguous rows of ks * kc */
    const size_t K = ks * kc;
    float *a = malloc(mr * K * sizeof(float));
    for (size_t i = 0; i < mr * K; i++) a[i] = rnd_f();
    const float lo = rnd() % 2 ? -1.0f : -INFINITY, hi = rnd() % 2 ? 1.5f : INFINITY;
    const tr_gemm_f32_params p = {lo, hi};
    float *c1 = malloc(mr * nc * sizeof(float)), *c2 = malloc(mr * nc * sizeof(float));
    void *wg = malloc(tr_gemm_packed_size_f32(n, 1, K, (size_t)k->nr));
    tr_gemm_pack_f32(n, 1, K, (size_t)k->nr, src, K, 0, 1, bias, wg);
    for (int pass = 0; pass < 2; pass++) {
      memset(c1, 0, mr * nc * sizeof(float));
      memset(c2, 0, mr * nc * sizeof(float));
      if (pass == 0) {
        k->gemm(mr, nc, K, a, K, wg, c1, nc, &p);
        k->gemm_ref(mr, nc, K, a, K, wg, c2, nc, &p);
      } else {
        k->igemm(mr, nc, kc, ks, ind, w, c1, nc, shift * sizeof(float), zero, &p);
        k->igemm_ref(mr, nc, kc, ks, ind, w, c2, nc, shift * sizeof(float), zero, &p);
      }
      for (size_t i = 0; i < mr * nc; i++) {
        const float tol = 1e-5f * (float)(K + 1) * (1.0f + fabsf(c2[i]));
        if (!(fabsf(c1[i] - c2[i]) <= tol)) {
          printf("FAIL f32 %s %s mr=%zu nc=%zu kc=%zu ks=%zu at %zu: %g vs %g\n", k->name, pass ? "igemm" : "gemm",
                 mr, nc, kc, ks, i, c1[i], c2[i]);
          return 1;
        }
      }
    }
    for (size_t i = 0; i < (size_t)k->mr * ks; i++) free(rows[i]);
    free(src), free(bias), free(w), free(wg), free(zero), free(a), free(c1), free(c2);
  }
  printf("ok f32 %s\n", k->name);
  return 0;
}

static int check_qs8(const qs8_case *k, int iters) {
  for (int it = 0; it < iters; it++) {
    const size_t mr = (size_t)rnd_in(1, k->mr), nc = (size_t)rnd_in(1, 3 * k->nr + 1);
    /* long rows now and then: the kernels that copy rows of A take them too (or fall back) */
    const size_t kc = (size_t)(rnd() % 4 == 0 ? rnd_in(64, 600) : rnd_in(1, 70)), ks = (size_t)rnd_in(1, MAXT);
    const size_t n = nc, K = ks * kc;
    const int32_t zp = rnd_in(-128, 127);
    int8_t *src = malloc(n * K);
    int32_t *bias = malloc(n * sizeof(int32_t));
    tr_gemm_qmul *q = malloc(n * sizeof(tr_gemm_qmul));
    double *scale = malloc(n * sizeof(double));
    for (size_t i = 0; i < n * K; i++) src[i] = (int8_t)rnd_in(-127, 127);
    for (size_t i = 0; i < n; i++) {
      bias[i] = rnd_in(-30000, 30000);
      /* multipliers of exactly 2^30 and 0 have their own rounding cases (h < 0 from x < -1,
       * or never); shifts out to 31 (tr_quantize_multiplier goes no further) */
      const uint32_t kind = rnd() % 16;
      q[i].multiplier = kind == 0 ? 1 << 30 : kind == 1 ? 0 : rnd_in(1 << 30, 0x7FFFFFFF);
      q[i].shift = rnd() % 4 == 0 ? rnd_in(0, 3) : rnd() % 8 == 0 ? rnd_in(-31, -15) : rnd_in(-14, -1);
      scale[i] = ldexp((double)rnd_in(1, 1 << 20), -rnd_in(14, 28));
    }
    int8_t *rows[MAXR * MAXT];
    const int8_t *ind[MAXR * MAXT];
    int8_t *zero = malloc(kc);
    memset(zero, zp, kc);
    const size_t shift = 100;
    for (size_t i = 0; i < (size_t)k->mr * ks; i++) {
      rows[i] = malloc(kc);
      for (size_t j = 0; j < kc; j++) rows[i][j] = (int8_t)rnd_in(-128, 127);
      ind[i] = rnd() % 5 == 0 ? zero : rows[i] - shift;
    }
    int8_t *a = malloc(mr * K);
    for (size_t i = 0; i < mr * K; i++) a[i] = (int8_t)rnd_in(-128, 127);
    int32_t row_bias[MAXR];
    for (int r = 0; r < MAXR; r++) row_bias[r] = rnd_in(-100000, 100000);
    /* every accumulator here is far inside [-2^30, 2^30): both requantization forms apply */
    tr_gemm_qs8_params p = {rnd_in(-20, 20), rnd_in(-128, -60), rnd_in(60, 127), rnd() % 2 ? row_bias : NULL,
                            (int32_t)(rnd() % 2)};
    int8_t *c1 = malloc(mr * nc), *c2 = malloc(mr * nc);
    void *wi = malloc(tr_gemm_packed_size_qs8(n, ks, kc, (size_t)k->nr, (size_t)k->kr, TR_GEMM_REQUANT_Q31));
    tr_gemm_pack_qs8(n, ks, kc, (size_t)k->nr, (size_t)k->kr, TR_GEMM_REQUANT_Q31, src, K, kc, 1, bias,
                     zp + k->a_xor, q, NULL, wi);
    for (int pass = 0; pass < 3; pass++) {
      const tr_gemm_qs8_requant rq = pass == 1 ? TR_GEMM_REQUANT_DOUBLE : TR_GEMM_REQUANT_Q31;
      void *w = malloc(tr_gemm_packed_size_qs8(n, 1, K, (size_t)k->nr, (size_t)k->kr, rq));
      tr_gemm_pack_qs8(n, 1, K, (size_t)k->nr, (size_t)k->kr, rq, src, K, 0, 1, bias, zp + k->a_xor, q, scale, w);
      memset(c1, 0x55, mr * nc);
      memset(c2, 0x55, mr * nc);
      if (pass == 0) {
        k->gemm(mr, nc, K, a, K, w, c1, nc, &p);
        k->gemm_ref(mr, nc, K, a, K, w, c2, nc, &p);
      } else if (pass == 1) {
        k->dq(mr, nc, K, a, K, w, c1, nc, &p);
        k->dq_ref(mr, nc, K, a, K, w, c2, nc, &p);
      } else {
        k->igemm(mr, nc, kc, ks, ind, wi, c1, nc, shift, zero, &p);
        k->igemm_ref(mr, nc, kc, ks, ind, wi, c2, nc, shift, zero, &p);
      }
      free(w);
      if (memcmp(c1, c2, mr * nc)) {
        for (size_t i = 0; i < mr * nc; i++)
          if (c1[i] != c2[i]) {
            printf("FAIL qs8 %s %s mr=%zu nc=%zu kc=%zu ks=%zu at %zu: %d vs %d\n", k->name,
                   pass == 0 ? "gemm" : pass == 1 ? "gemm_dq" : "igemm", mr, nc, kc, ks, i, c1[i], c2[i]);
            break;
          }
        return 1;
      }
    }
    for (size_t i = 0; i < (size_t)k->mr * ks; i++) free(rows[i]);
    free(src), free(bias), free(q), free(scale), free(zero), free(a), free(c1), free(c2), free(wi);
  }
  printf("ok qs8 %s\n", k->name);
  return 0;
}

int main(int argc, char **argv) {
  const int iters = argc > 1 ? atoi(argv[1]) : 300;
  int fails = 0;
  for (size_t i = 0; i < sizeof(f32_cases) / sizeof(f32_cases[0]); i++) {
    if (!supported(f32_cases[i].isa)) {
      printf("skip %s\n", f32_cases[i].name);
      continue;
    }
    fails += check_f32(&f32_cases[i], iters);
  }
  for (size_t i = 0; i < sizeof(qs8_cases) / sizeof(qs8_cases[0]); i++) {
    if (!supported(qs8_cases[i].isa)) {
      printf("skip %s\n", qs8_cases[i].name);
      continue;
    }
    fails += check_qs8(&qs8_cases[i], iters);
  }
  printf(fails ? "FAILED\n" : "ALL OK\n");
  return fails != 0;
}
