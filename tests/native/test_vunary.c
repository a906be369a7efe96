/* Elementwise unary micro-kernels (kernels/vunary) against the portable ones: clamp, hardswish,
 * gelu, gelu_tanh and lut8 exactly (signed zeros alike, NaN as NaN), sigmoid and tanh within 4 ulp (+ 2e-38
 * absolute: the SIMD sigmoid stops at exp(-87) where libm goes subnormal). Lengths 1..300
 * around multiples of 16 and 64; inputs include 0, -0, +-inf, NaN and the sigmoid's
 * thresholds. */
#ifdef TR_TEST_VUNARY /* the family is in the tree (build.sh) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "kernels/vunary/vunary.h"

#if defined(TR_HAVE_NEON)
TR_VUNARY_DECL_ISA(neon)
#endif

enum { CLAMP, SIGMOID, TANH, HARDSWISH, GELU, GELU_TANH, NF32 };
static const char *f32_names[NF32] = {"clamp", "sigmoid", "tanh", "hardswish", "gelu", "gelu_tanh"};
static const tr_vunary_f32_fn oracle[NF32] = {tr_vclamp_f32__scalar, tr_vsigmoid_f32__scalar, tr_vtanh_f32__scalar,
                                              tr_vhardswish_f32__scalar, tr_vgelu_f32__scalar,
                                              tr_vgelu_tanh_f32__scalar};

static float input_value(void) {
  static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -9.0f, 16.619047164916992188f,
                                  -3.0f, 3.0f, 1e-20f, -1e-20f, 100.0f, -100.0f, -87.5f, 0.75f, -0.75f,
                                  -13.2f, -14.85f, -15.0f, -11.0f, -11.5f, 1e-40f, -1e-40f, 3e38f, -3e38f};
  if (h_rand() % 16 == 0) return special[h_rand() % (sizeof(special) / sizeof(special[0]))];
  return h_rand() % 2 ? h_float(-6.0f, 6.0f) : h_float(-25.0f, 25.0f);
}

static void case_f32(const char *name, int op, tr_vunary_f32_fn fn) {
  const size_t n = h_size(1, 300, 16);
  float *x = h_alloc(n * 4), *y = h_alloc(n * 4), *want = h_alloc(n * 4);
  for (size_t i = 0; i < n; i++) x[i] = input_value();
  tr_vunary_f32_params p = {0.0f, 6.0f};
  if (h_rand() % 2) p = (tr_vunary_f32_params){h_float(-3.0f, 0.0f), h_float(0.0f, 3.0f)};
  oracle[op](n, x, want, &p);
  fn(n, x, y, &p);
  int ok = 1;
  char what[200] = "";
  for (size_t i = 0; i < n && ok; i++) {
    const float g = y[i], w = want[i];
    const double tol = op == SIGMOID || op == TANH ? 4.0 * 0x1p-23 * fabs((double)w) + 2e-38 : 0.0;
    if (!(g == w || (isnan(g) && isnan(w)) || fabs((double)g - w) <= tol)) {
      ok = 0;
      snprintf(what, sizeof what, "%s n %zu: x[%zu] = %.9g: got %.9g want %.9g", f32_names[op], n, i, x[i], g, w);
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

static void case_lut(const char *name, tr_vlut8_fn fn) {
  const size_t n = h_size(1, 300, 64);
  uint8_t *x = h_alloc(n), *y = h_alloc(n), *table = h_alloc(256);
  for (size_t i = 0; i < n; i++) x[i] = (uint8_t)h_rand();
  for (size_t i = 0; i < 256; i++) table[i] = (uint8_t)h_rand();
  fn(n, x, y, table);
  int ok = 1;
  char what[160] = "";
  for (size_t i = 0; i < n && ok; i++)
    if (y[i] != table[x[i]]) {
      ok = 0;
      snprintf(what, sizeof what, "n %zu: x[%zu] = %u: got %u want %u", n, i, x[i], y[i], table[x[i]]);
    }
  h_result(name, ok, what);
  h_free_all();
}

#define MAX_SEEN 64
static void (*seen[MAX_SEEN])(void);
static int nseen;
static int first_time(void (*fn)(void)) {
  for (int i = 0; i < nseen; i++)
    if (seen[i] == fn) return 0;
  if (nseen < MAX_SEEN) seen[nseen++] = fn;
  return 1;
}

static char names[64][96];
static int nnames;

static const char *name_of(int config, const char *isa, const char *what) {
  if (nnames == 64) return "vunary";
  if (config) snprintf(names[nnames], 96, "config %s: vunary %s", isa, what);
  else snprintf(names[nnames], 96, "tr_v%s%s__%s", what, strcmp(what, "lut8") ? "_f32" : "", isa);
  return names[nnames++];
}

static void run_all(int config, const char *isa, const tr_vunary_f32_fn *f, tr_vlut8_fn lut, int n) {
  for (int op = 0; op < NF32; op++) {
    if (!f[op] || !first_time((void (*)(void))f[op])) continue;
    const char *name = name_of(config, isa, f32_names[op]);
    h_begin(name);
    for (int i = 0; i < n; i++) case_f32(name, op, f[op]);
  }
  if (lut && first_time((void (*)(void))lut)) {
    const char *name = name_of(config, isa, "lut8");
    h_begin(name);
    for (int i = 0; i < n; i++) case_lut(name, lut);
  }
}

void test_vunary(void) {
  const int n = h_cases(40);
  tr_isa levels[16];
  const int nl = h_levels(levels, 16);
  for (int li = 0; li < nl; li++) {
    tr_isa_set_cap(levels[li]);
    const tr_vunary_config *c = tr_vunary_config_get();
    const tr_vunary_f32_fn f[NF32] = {c->clamp, c->sigmoid, c->tanh, c->hardswish, c->gelu, c->gelu_tanh};
    run_all(1, c->name, f, c->lut8, n);
  }
  tr_isa_set_cap((tr_isa)1000);
#if defined(TR_HAVE_NEON)
  const tr_vunary_f32_fn f[NF32] = {tr_vclamp_f32__neon, tr_vsigmoid_f32__neon, tr_vtanh_f32__neon,
                                    tr_vhardswish_f32__neon, tr_vgelu_f32__neon, tr_vgelu_tanh_f32__neon};
  run_all(0, "neon", f, tr_vlut8__neon, n);
#endif
}

#endif /* TR_TEST_VUNARY */
