/* Depthwise micro-kernels (kernels/dwconv) against a plain reference: float32, int8, uint8.
 *
 * A case: channels 1..67 (sometimes up to 200), 1..5 output pixels, K taps (9, 25 or any
 * 1..30 for the generic kernels) with a random input step, some taps on the zero row, random
 * per-channel requantization (left and right shifts), zero points and clamps. */
#ifdef TR_TEST_DWCONV /* the family is in the tree (build.sh) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "kernels/dwconv/dwconv.h"
#include "model/quant.h"

typedef struct {
  const char *name;
  tr_isa level;
  size_t taps; /* 0: any */
  tr_dwconv_f32_fn f32;
  int32_t f32_ct;
  tr_dwconv_qs8_fn q8;
  int is_unsigned;
  tr_dwconv_qs8_layout layout;
} dw_kernel;

/* The aarch64 kernels by name (also reached through the config once it lists them). */
#if defined(TR_HAVE_NEON)
TR_DWCONV_F32_DECL(tr_dwconv_f32_9p8c__neon)
TR_DWCONV_F32_DECL(tr_dwconv_f32_25p8c__neon)
TR_DWCONV_F32_DECL(tr_dwconv_f32_kp8c__neon)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_9p16c__neon)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_25p16c__neon)
TR_DWCONV_QS8_DECL(tr_dwconv_qs8_kp16c__neon)
TR_DWCONV_QS8_DECL(tr_dwconv_qu8_kp16c__neon)
#define NEON_Q8 ((tr_dwconv_qs8_layout){16, 1, TR_DW_SLOTS_LINEAR})
static const dw_kernel named[] = {
    {"tr_dwconv_f32_9p8c__neon", TR_ISA_NEON, 9, tr_dwconv_f32_9p8c__neon, 8, NULL, 0, {0}},
    {"tr_dwconv_f32_25p8c__neon", TR_ISA_NEON, 25, tr_dwconv_f32_25p8c__neon, 8, NULL, 0, {0}},
    {"tr_dwconv_f32_kp8c__neon", TR_ISA_NEON, 0, tr_dwconv_f32_kp8c__neon, 8, NULL, 0, {0}},
    {"tr_dwconv_qs8_9p16c__neon", TR_ISA_NEON, 9, NULL, 0, tr_dwconv_qs8_9p16c__neon, 0, NEON_Q8},
    {"tr_dwconv_qs8_25p16c__neon", TR_ISA_NEON, 25, NULL, 0, tr_dwconv_qs8_25p16c__neon, 0, NEON_Q8},
    {"tr_dwconv_qs8_kp16c__neon", TR_ISA_NEON, 0, NULL, 0, tr_dwconv_qs8_kp16c__neon, 0, NEON_Q8},
    {"tr_dwconv_qu8_kp16c__neon", TR_ISA_NEON, 0, NULL, 0, tr_dwconv_qu8_kp16c__neon, 1, NEON_Q8},
};
#else
static const dw_kernel named[1];
#endif
static const size_t nnamed = sizeof(named) / sizeof(named[0]);

/* --- one case --- */

typedef struct {
  size_t C, OW, K, KH, KW, step, npix, ostride;
  int32_t *zero_tap; /* npix flags: pointer i is the zero row */
} dw_case;

static void draw_case(dw_case *cs, size_t taps) {
  cs->C = h_rand() % 8 == 0 ? (size_t)h_int(68, 200) : h_size(1, 67, 16);
  cs->OW = (size_t)h_int(1, 5);
  if (taps == 9) cs->KH = cs->KW = 3;
  else if (taps == 25) cs->KH = cs->KW = 5;
  else {
    cs->KH = (size_t)h_int(1, 5);
    cs->KW = (size_t)h_int(1, 6);
  }
  cs->K = cs->KH * cs->KW;
  cs->step = (size_t)h_int(1, (int32_t)cs->K);
  cs->npix = (cs->OW - 1) * cs->step + cs->K;
  cs->ostride = cs->C + (size_t)h_int(0, 3);
}

static float ref_clamp(double v, float lo, float hi) {
  float f = (float)v;
  return f < lo ? lo : (f > hi ? hi : f);
}

static void case_f32(const dw_kernel *kr, size_t taps) {
  dw_case cs;
  draw_case(&cs, taps);
  const size_t C = cs.C, K = cs.K;
  float *filter = h_alloc(K * C * sizeof(float)), *bias = h_alloc(C * sizeof(float));
  for (size_t i = 0; i < K * C; i++) filter[i] = h_float(-1.0f, 1.0f);
  for (size_t i = 0; i < C; i++) bias[i] = h_float(-1.0f, 1.0f);
  const float *zero = h_alloc(C * sizeof(float));
  memset((void *)zero, 0, C * sizeof(float));
  const float **ptrs = h_alloc(cs.npix * sizeof(float *));
  for (size_t i = 0; i < cs.npix; i++) {
    if (h_rand() % 8 == 0) {
      ptrs[i] = zero;
    } else {
      float *row = h_alloc(C * sizeof(float));
      for (size_t c = 0; c < C; c++) row[c] = h_float(-2.0f, 2.0f);
      ptrs[i] = row;
    }
  }
  tr_dwconv_f32_params params = {-INFINITY, INFINITY};
  if (h_rand() % 2) params = (tr_dwconv_f32_params){h_float(-2.0f, 0.0f), h_float(0.0f, 2.0f)};
  float *packed = h_alloc(tr_dwconv_packed_size_f32(C, (int32_t)cs.KH, (int32_t)cs.KW, kr->f32_ct) * sizeof(float));
  tr_dwconv_pack_f32(C, (int32_t)cs.KH, (int32_t)cs.KW, kr->f32_ct, filter, bias, packed);
  const size_t out_len = (cs.OW - 1) * cs.ostride + C;
  float *out = h_alloc(out_len * sizeof(float));
  kr->f32(C, cs.OW, K, ptrs, cs.step, packed, out, cs.ostride, &params);

  int ok = 1;
  char what[200] = "";
  for (size_t p = 0; p < cs.OW && ok; p++) {
    const float **in = ptrs + p * cs.step;
    for (size_t c = 0; c < C && ok; c++) {
      double acc = bias[c], mag = fabs(bias[c]);
      for (size_t k = 0; k < K; k++) {
        const size_t ky = k % cs.KH, kx = k / cs.KH;
        const double t = (double)in[k][c] * filter[(ky * cs.KW + kx) * C + c];
        acc += t;
        mag += fabs(t);
      }
      const float want = ref_clamp(acc, params.min, params.max), got = out[p * cs.ostride + c];
      const double tol = (double)(K + 2) * 1.2e-7 * mag + 1e-30;
      if (!(fabs((double)got - want) <= tol)) {
        ok = 0;
        snprintf(what, sizeof what, "C %zu OW %zu K %zu (%zux%zu) step %zu: pixel %zu ch %zu got %.9g want %.9g",
                 C, cs.OW, K, cs.KH, cs.KW, cs.step, p, c, got, want);
      }
    }
    /* the gap between rows is untouched */
    if (p + 1 < cs.OW)
      for (size_t c = C; c < cs.ostride && ok; c++) {
        uint32_t bits;
        memcpy(&bits, &out[p * cs.ostride + c], 4);
        if (bits != 0xA5A5A5A5u) {
          ok = 0;
          snprintf(what, sizeof what, "C %zu: wrote past the channels of pixel %zu", C, p);
        }
      }
  }
  h_result(kr->name, ok, what);
  h_free_all();
}

static void case_q8(const dw_kernel *kr, size_t taps) {
  dw_case cs;
  draw_case(&cs, taps);
  const size_t C = cs.C, K = cs.K;
  const int u = kr->is_unsigned;
  const int32_t in_zp = u ? h_int(0, 255) : h_int(-128, 127);
  const int32_t w_zp = u ? h_int(0, 255) : 0;
  const int32_t out_zp = u ? h_int(0, 255) : h_int(-128, 127);
  uint8_t *filter = h_alloc(K * C);
  for (size_t i = 0; i < K * C; i++) filter[i] = (uint8_t)h_rand();
  int32_t *bias = h_alloc(C * sizeof(int32_t));
  tr_dwconv_qmul *qm = h_alloc(C * sizeof(tr_dwconv_qmul));
  for (size_t c = 0; c < C; c++) {
    bias[c] = h_int(-50000, 50000);
    /* mostly < 1 (right shifts), sometimes > 1 (left shifts); accumulators reach ~2^21 */
    const double real = ldexp(h_float(0.5f, 1.0f), h_int(-24, h_rand() % 8 == 0 ? 3 : -8));
    const tr_qmul m = tr_quantize_multiplier(real);
    qm[c] = (tr_dwconv_qmul){m.multiplier, m.shift};
  }
  uint8_t *zero = h_alloc(C);
  memset(zero, (uint8_t)in_zp, C);
  const void **ptrs = h_alloc(cs.npix * sizeof(void *));
  for (size_t i = 0; i < cs.npix; i++) {
    if (h_rand() % 8 == 0) {
      ptrs[i] = zero;
    } else {
      uint8_t *row = h_alloc(C);
      for (size_t c = 0; c < C; c++) row[c] = (uint8_t)h_rand();
      ptrs[i] = row;
    }
  }
  int32_t lo = u ? 0 : -128, hi = u ? 255 : 127;
  if (h_rand() % 2) {
    lo = h_int(lo, out_zp);
    hi = h_int(out_zp, hi);
  }
  const tr_dwconv_qs8_params params = {out_zp, lo, hi};
  void *packed = h_alloc(tr_dwconv_packed_size_qs8(C, (int32_t)cs.KH, (int32_t)cs.KW, &kr->layout));
  tr_dwconv_pack_qs8(C, (int32_t)cs.KH, (int32_t)cs.KW, &kr->layout, filter, u, w_zp, bias, in_zp, qm, packed);
  const size_t out_len = (cs.OW - 1) * cs.ostride + C;
  uint8_t *out = h_alloc(out_len);
  kr->q8(C, cs.OW, K, ptrs, cs.step, packed, out, cs.ostride, &params);

  int ok = 1;
  char what[240] = "";
  for (size_t p = 0; p < cs.OW && ok; p++) {
    const void **in = ptrs + p * cs.step;
    for (size_t c = 0; c < C && ok; c++) {
      int32_t acc = bias[c];
      for (size_t k = 0; k < K; k++) {
        const size_t ky = k % cs.KH, kx = k / cs.KH;
        const uint8_t xb = ((const uint8_t *)in[k])[c], wb = filter[(ky * cs.KW + kx) * C + c];
        const int32_t x = u ? (int32_t)xb : (int32_t)(int8_t)xb;
        const int32_t w = u ? (int32_t)wb - w_zp : (int32_t)(int8_t)wb;
        acc += (x - in_zp) * w;
      }
      const int32_t want =
          tr_clamp_i32(tr_multiply_by_quantized_multiplier(acc, qm[c].multiplier, qm[c].shift) + out_zp, lo, hi);
      const uint8_t gb = out[p * cs.ostride + c];
      const int32_t got = u ? (int32_t)gb : (int32_t)(int8_t)gb;
      if (got != want) {
        ok = 0;
        snprintf(what, sizeof what,
                 "C %zu OW %zu K %zu (%zux%zu) step %zu: pixel %zu ch %zu got %d want %d (acc %d mult %d shift %d)",
                 C, cs.OW, K, cs.KH, cs.KW, cs.step, p, c, got, want, acc, qm[c].multiplier, qm[c].shift);
      }
    }
    if (p + 1 < cs.OW)
      for (size_t c = C; c < cs.ostride && ok; c++)
        if (out[p * cs.ostride + c] != 0xA5) {
          ok = 0;
          snprintf(what, sizeof what, "C %zu: wrote past the channels of pixel %zu", C, p);
        }
  }
  h_result(kr->name, ok, what);
  h_free_all();
}

/* --- which kernels --- */

static void run_kernel(const dw_kernel *kr, int n) {
  h_begin(kr->name);
  for (int i = 0; i < n; i++) {
    /* generic kernels: the 3x3 and 5x5 shapes too, and any other */
    const size_t taps = kr->taps ? kr->taps : (i % 4 == 0 ? 9 : i % 4 == 1 ? 25 : 0);
    if (kr->f32) case_f32(kr, taps);
    else case_q8(kr, taps);
  }
}

#define MAX_SEEN 256
static const void *seen[MAX_SEEN];
static int nseen;
static int first_time(const void *fn) {
  for (int i = 0; i < nseen; i++)
    if (seen[i] == fn) return 0;
  if (nseen < MAX_SEEN) seen[nseen++] = fn;
  return 1;
}

static char names[96][112];
static int nnames;

/* Runs a config's kernel under a descriptive name (each function once). */
static void run_config(const char *what, const char *cfg_name, tr_isa level, size_t taps, tr_dwconv_f32_fn f32,
                       int32_t ct, tr_dwconv_qs8_fn q8, int u, tr_dwconv_qs8_layout layout, int n) {
  if (nnames == 96 || !first_time(f32 ? (const void *)f32 : (const void *)q8)) return;
  if (taps) snprintf(names[nnames], 112, "config %s: dwconv %s %zu taps", cfg_name, what, taps);
  else snprintf(names[nnames], 112, "config %s: dwconv %s any taps", cfg_name, what);
  const dw_kernel k = {names[nnames++], level, taps, f32, ct, q8, u, layout};
  run_kernel(&k, n);
}

void test_dwconv(void) {
  const int n = h_cases(60);
  tr_isa levels[16];
  const int nl = h_levels(levels, 16);
  for (int li = 0; li < nl; li++) {
    tr_isa_set_cap(levels[li]);
    tr_dwconv_config any, c9, c25;
    memset(&any, 0, sizeof any);
    memset(&c9, 0, sizeof c9);
    memset(&c25, 0, sizeof c25);
    tr_dwconv_config_get(7, &any);
    tr_dwconv_config_get(9, &c9);
    tr_dwconv_config_get(25, &c25);
    /* the generic kernels first (random tap counts), then what is specialised for 3x3 and 5x5 */
    run_config("f32", any.name, levels[li], 0, any.f32, any.f32_ct, NULL, 0, any.q8_layout, n);
    run_config("qs8", any.name, levels[li], 0, NULL, 0, any.qs8, 0, any.q8_layout, n);
    run_config("qu8", any.name, levels[li], 0, NULL, 0, any.qu8, 1, any.q8_layout, n);
    run_config("f32", c9.name, levels[li], 9, c9.f32, c9.f32_ct, NULL, 0, c9.q8_layout, n);
    run_config("qs8", c9.name, levels[li], 9, NULL, 0, c9.qs8, 0, c9.q8_layout, n);
    run_config("qu8", c9.name, levels[li], 9, NULL, 0, c9.qu8, 1, c9.q8_layout, n);
    run_config("f32", c25.name, levels[li], 25, c25.f32, c25.f32_ct, NULL, 0, c25.q8_layout, n);
    run_config("qs8", c25.name, levels[li], 25, NULL, 0, c25.qs8, 0, c25.q8_layout, n);
    run_config("qu8", c25.name, levels[li], 25, NULL, 0, c25.qu8, 1, c25.q8_layout, n);
  }
  tr_isa_set_cap((tr_isa)1000);
  for (size_t i = 0; i < nnamed; i++)
    if (named[i].name && h_level_ok(named[i].level) &&
        first_time(named[i].f32 ? (const void *)named[i].f32 : (const void *)named[i].q8))
      run_kernel(&named[i], n);
}

#endif /* TR_TEST_DWCONV */
