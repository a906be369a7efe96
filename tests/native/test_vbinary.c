/* Elementwise binary micro-kernels (kernels/vbinary) against vbinary.h's formulas: float32
 * exactly (one rounding per element; signed zeros alike, NaN passes the clamp), int8 / uint8
 * bit-exact. Lengths 1..300 around multiples of 16; quantization parameters as TFLite derives
 * them for ADD / SUB (left shift 20, input multipliers < 1) and MUL, and random ones. */
#ifdef TR_TEST_VBINARY /* the family is in the tree (build.sh) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "kernels/vbinary/vbinary.h"
#include "model/quant.h"

#if defined(TR_HAVE_NEON)
TR_VBINARY_DECL_ISA(neon)
#endif

enum { ADD, ADDC, SUB, SUBC, RSUBC, MUL, MULC, NOPS };
static const char *op_names[NOPS] = {"add", "addc", "sub", "subc", "rsubc", "mul", "mulc"};

static float f32_ref(int op, float a, float b) {
  switch (op) {
    case ADD: case ADDC: return a + b;
    case SUB: case SUBC: return a - b;
    case RSUBC: return b - a;
    default: return a * b;
  }
}

static float special(void) {
  static const float v[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e30f, -1e-30f};
  return v[h_rand() % 7];
}

static void case_f32(const char *name, int op, tr_vbinary_f32_fn fn) {
  const size_t n = h_size(1, 300, 16);
  const int bconst = op == ADDC || op == SUBC || op == RSUBC || op == MULC;
  float *a = h_alloc(n * 4), *b = h_alloc((bconst ? 1 : n) * 4), *y = h_alloc(n * 4);
  for (size_t i = 0; i < n; i++) a[i] = h_rand() % 32 ? h_float(-4.0f, 4.0f) : special();
  for (size_t i = 0; i < (bconst ? 1 : n); i++) b[i] = h_rand() % 32 ? h_float(-4.0f, 4.0f) : special();
  tr_vbinary_f32_params p = {-INFINITY, INFINITY};
  if (h_rand() % 2) p = (tr_vbinary_f32_params){h_float(-3.0f, 0.0f), h_float(0.0f, 3.0f)};
  fn(n, a, b, y, &p);
  int ok = 1;
  char what[200] = "";
  for (size_t i = 0; i < n && ok; i++) {
    float want = f32_ref(op, a[i], bconst ? b[0] : b[i]);
    want = want < p.min ? p.min : (want > p.max ? p.max : want);
    const float got = y[i];
    if (!(got == want || (isnan(got) && isnan(want)))) {
      ok = 0;
      snprintf(what, sizeof what, "%s n %zu: y[%zu] got %.9g want %.9g", op_names[op], n, i, got, want);
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

static int32_t scale_in(int32_t x, int32_t offset, int32_t left, int32_t m, int32_t s) {
  return tr_multiply_by_quantized_multiplier_smaller_than_one((int32_t)((uint32_t)(x + offset) << left), m, s);
}

static void case_q8(const char *name, int op, int u, tr_vbinary_q8_fn fn) {
  const size_t n = h_size(1, 300, 16);
  const int bconst = op == ADDC || op == SUBC || op == RSUBC || op == MULC;
  uint8_t *a = h_alloc(n), *b = h_alloc(n), *y = h_alloc(n);
  for (size_t i = 0; i < n; i++) {
    a[i] = (uint8_t)h_rand();
    b[i] = (uint8_t)h_rand();
  }
  const int32_t qmin = u ? 0 : -128, qmax = u ? 255 : 127;
  const int32_t za = h_int(qmin, qmax), zb = h_int(qmin, qmax), zo = h_int(qmin, qmax);
  const double sa = ldexp(h_float(0.5f, 1.0f), h_int(-10, -2)), sb = ldexp(h_float(0.5f, 1.0f), h_int(-10, -2));
  const double so = ldexp(h_float(0.5f, 1.0f), h_int(-10, -1));
  tr_vbinary_q8_params p;
  memset(&p, 0, sizeof p);
  p.a_offset = -za;
  p.b_offset = -zb;
  p.out_zero_point = zo;
  p.out_min = qmin;
  p.out_max = qmax;
  if (h_rand() % 2) {
    p.out_min = h_int(qmin, zo);
    p.out_max = h_int(zo, qmax);
  }
  tr_qmul m;
  if (op == MUL || op == MULC) {
    m = tr_quantize_multiplier(sa * sb / so);
    p.out_multiplier = m.multiplier;
    p.out_shift = m.shift;
  } else {
    p.left_shift = h_rand() % 4 ? 20 : h_int(0, 22);
    const double twice = 2.0 * (sa > sb ? sa : sb);
    m = tr_quantize_multiplier_smaller_than_one(sa / twice);
    p.a_multiplier = m.multiplier;
    p.a_shift = m.shift;
    m = tr_quantize_multiplier_smaller_than_one(sb / twice);
    p.b_multiplier = m.multiplier;
    p.b_shift = m.shift;
    m = tr_quantize_multiplier(twice / (ldexp(1.0, p.left_shift) * so));
    p.out_multiplier = m.multiplier;
    p.out_shift = m.shift;
  }
  const int32_t b0 = u ? (int32_t)b[0] : (int32_t)(int8_t)b[0];
  if (op == MULC) p.scaled_b = b0 + p.b_offset;
  else if (bconst) {
    p.scaled_b = scale_in(b0, p.b_offset, p.left_shift, p.b_multiplier, p.b_shift);
    if (op == SUBC) p.scaled_b = -p.scaled_b; /* subc is addc with scaled_b negated */
  }
  fn(n, a, b, y, &p);
  int ok = 1;
  char what[200] = "";
  for (size_t i = 0; i < n && ok; i++) {
    const int32_t x = u ? (int32_t)a[i] : (int32_t)(int8_t)a[i];
    const int32_t z = u ? (int32_t)b[i] : (int32_t)(int8_t)b[i];
    int32_t raw;
    const int32_t s_a = scale_in(x, p.a_offset, p.left_shift, p.a_multiplier, p.a_shift);
    const int32_t s_b = bconst ? p.scaled_b : scale_in(z, p.b_offset, p.left_shift, p.b_multiplier, p.b_shift);
    switch (op) {
      case ADD: case ADDC: case SUBC: raw = s_a + s_b; break;
      case SUB: raw = s_a - s_b; break;
      case RSUBC: raw = s_b - s_a; break;
      case MUL: raw = (x + p.a_offset) * (z + p.b_offset); break;
      default: raw = (x + p.a_offset) * p.scaled_b;
    }
    const int32_t want = tr_clamp_i32(
        tr_multiply_by_quantized_multiplier(raw, p.out_multiplier, p.out_shift) + p.out_zero_point, p.out_min, p.out_max);
    const int32_t got = u ? (int32_t)y[i] : (int32_t)(int8_t)y[i];
    if (got != want) {
      ok = 0;
      snprintf(what, sizeof what, "%s n %zu: y[%zu] got %d want %d (a %d b %d)", op_names[op], n, i, got, want, x, z);
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

/* --- which kernels --- */

#define MAX_SEEN 64
static const void *seen[MAX_SEEN];
static int nseen;
static int first_time(const void *table) {
  for (int i = 0; i < nseen; i++)
    if (seen[i] == table) return 0;
  if (nseen < MAX_SEEN) seen[nseen++] = table;
  return 1;
}

static char names[256][96];
static int nnames;

static const char *name_of(int config, const char *isa, const char *type, int op) {
  if (nnames == 256) return "vbinary";
  if (config) snprintf(names[nnames], 96, "config %s: vbinary %s %s", isa, type, op_names[op]);
  else snprintf(names[nnames], 96, "tr_vbinary_%s__%s.%s", type, isa, op_names[op]);
  return names[nnames++];
}

static void run_tables(int config, const char *isa, const tr_vbinary_f32_ops *f, const tr_vbinary_q8_ops *s8,
                       const tr_vbinary_q8_ops *u8, int n) {
  if (f && first_time(f)) {
    const tr_vbinary_f32_fn fns[NOPS] = {f->add, f->addc, f->sub, f->subc, f->rsubc, f->mul, f->mulc};
    for (int op = 0; op < NOPS; op++) {
      const char *name = name_of(config, isa, "f32", op);
      h_begin(name);
      for (int i = 0; i < n; i++) case_f32(name, op, fns[op]);
    }
  }
  const tr_vbinary_q8_ops *q[2] = {s8, u8};
  for (int u = 0; u < 2; u++) {
    if (!q[u] || !first_time(q[u])) continue;
    /* subc is addc with scaled_b negated */
    const tr_vbinary_q8_fn fns[NOPS] = {q[u]->add, q[u]->addc, q[u]->sub, q[u]->addc, q[u]->rsubc, q[u]->mul, q[u]->mulc};
    for (int op = 0; op < NOPS; op++) {
      const char *name = name_of(config, isa, u ? "u8" : "s8", op);
      h_begin(name);
      for (int i = 0; i < n; i++) case_q8(name, op, u, fns[op]);
    }
  }
}

void test_vbinary(void) {
  const int n = h_cases(40);
  tr_isa levels[16];
  const int nl = h_levels(levels, 16);
  for (int li = 0; li < nl; li++) {
    tr_isa_set_cap(levels[li]);
    const tr_vbinary_config *c = tr_vbinary_config_get();
    run_tables(1, c->name, c->f32, c->s8, c->u8, n);
  }
  tr_isa_set_cap((tr_isa)1000);
#if defined(TR_HAVE_NEON)
  run_tables(0, "neon", &tr_vbinary_f32__neon, &tr_vbinary_s8__neon, &tr_vbinary_u8__neon, n);
#endif
}

#endif /* TR_TEST_VBINARY */
