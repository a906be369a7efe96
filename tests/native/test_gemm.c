/* GEMM / IGEMM micro-kernels (kernels/gemm) against a plain reference: float32 and int8 (both
 * requantizations, optional row bias).
 *
 * A case: mr 1..MR rows, nc columns around multiples of NR (1..4 NR + tails), K 1..300 with
 * strided A rows; for IGEMM 1..9 taps, some on the zero row, and an a_offset. The reference is
 * computed from the unpacked operands; 8-bit results must be identical, float ones within
 * (K + 2) * 1.2e-7 * sum |terms|. */
#ifdef TR_TEST_GEMM /* the family is in the tree (build.sh) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "kernels/gemm/gemm.h"
#include "model/quant.h"

typedef enum { G_F32, G_IF32, G_QS8, G_QS8_DQ, G_IQS8 } g_kind;

typedef struct {
  const char *name;
  tr_isa level;
  g_kind kind;
  size_t mr, nr, kr;
  int32_t a_xor;
  void (*fn)(void); /* one of the tr_*gemm_*_fn types, by kind */
} g_kernel;

#define FN(f) ((void (*)(void))(f))

/* The aarch64 kernels by name (also reached through the config once it lists them). */
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

#define F32_ENTRIES(MR, NR, ISA, LEVEL)                                                         \
  {"tr_gemm_f32_" #MR "x" #NR "__" #ISA, LEVEL, G_F32, MR, NR, 1, 0, FN(tr_gemm_f32_##MR##x##NR##__##ISA)}, \
  {"tr_igemm_f32_" #MR "x" #NR "__" #ISA, LEVEL, G_IF32, MR, NR, 1, 0, FN(tr_igemm_f32_##MR##x##NR##__##ISA)},
#define QS8_ENTRIES(MR, NR, KR, ISA, LEVEL)                                                                  \
  {"tr_gemm_qs8_" #MR "x" #NR "c" #KR "__" #ISA, LEVEL, G_QS8, MR, NR, KR, 0,                                \
   FN(tr_gemm_qs8_##MR##x##NR##c##KR##__##ISA)},                                                             \
  {"tr_gemm_qs8_dq_" #MR "x" #NR "c" #KR "__" #ISA, LEVEL, G_QS8_DQ, MR, NR, KR, 0,                          \
   FN(tr_gemm_qs8_dq_##MR##x##NR##c##KR##__##ISA)},                                                          \
  {"tr_igemm_qs8_" #MR "x" #NR "c" #KR "__" #ISA, LEVEL, G_IQS8, MR, NR, KR, 0,                              \
   FN(tr_igemm_qs8_##MR##x##NR##c##KR##__##ISA)},

static const g_kernel named[] = {
#if defined(TR_HAVE_NEON)
    F32_ENTRIES(6, 8, neon, TR_ISA_NEON)
    F32_ENTRIES(1, 8, neon, TR_ISA_NEON)
    QS8_ENTRIES(2, 8, 8, neon, TR_ISA_NEON)
    QS8_ENTRIES(1, 8, 8, neon, TR_ISA_NEON)
#endif
#if defined(TR_HAVE_NEONDOT)
    QS8_ENTRIES(4, 16, 4, neondot, TR_ISA_NEONDOT)
    QS8_ENTRIES(1, 16, 4, neondot, TR_ISA_NEONDOT)
#endif
#if defined(TR_HAVE_I8MM)
    QS8_ENTRIES(4, 16, 8, i8mm, TR_ISA_I8MM)
    QS8_ENTRIES(1, 16, 8, i8mm, TR_ISA_I8MM)
#endif
    {NULL, TR_ISA_SCALAR, G_F32, 0, 0, 0, 0, NULL}};
static const size_t nnamed = sizeof(named) / sizeof(named[0]) - 1;

/* --- one case --- */

typedef struct {
  size_t mr, nc, kc, ks, a_stride, c_stride, a_offset;
  int indirect;
} g_case;

static void draw_case(g_case *cs, const g_kernel *kr) {
  cs->indirect = kr->kind == G_IF32 || kr->kind == G_IQS8;
  cs->mr = (size_t)h_int(1, (int32_t)kr->mr);
  if (h_rand() % 2) cs->mr = kr->mr;
  cs->nc = h_size(1, 4 * kr->nr + 7, kr->nr);
  cs->ks = cs->indirect ? (size_t)h_int(1, 9) : 1;
  const size_t kmax = cs->indirect ? 300 / cs->ks : 300;
  cs->kc = h_size(1, kmax, kr->kr > 1 ? kr->kr : 4);
  cs->a_stride = cs->kc + (h_rand() % 2 ? 0 : (size_t)h_int(1, 5));
  cs->c_stride = cs->nc + (h_rand() % 2 ? 0 : (size_t)h_int(1, 3));
  cs->a_offset = cs->indirect ? (size_t)h_int(0, 3) * 64 : 0;
}

/* A (direct) or the indirection buffer; `rows[t][r]` is the row tap t of row r reads. */
typedef struct {
  const void *a;
  const void **ind;
  const void *zero;
  const void *rows[9][8];
} g_input;

static void make_input(const g_case *cs, const g_kernel *kr, size_t esize, int32_t zp, g_input *in) {
  const size_t MR = kr->mr;
  memset(in, 0, sizeof *in);
  if (!cs->indirect) {
    char *a = h_alloc(((cs->mr - 1) * cs->a_stride + cs->kc) * esize);
    for (size_t i = 0; i < ((cs->mr - 1) * cs->a_stride + cs->kc) * esize; i++) a[i] = (char)h_rand();
    if (esize == 4)
      for (size_t i = 0; i < (cs->mr - 1) * cs->a_stride + cs->kc; i++) ((float *)a)[i] = h_float(-1.0f, 1.0f);
    in->a = a;
    for (size_t r = 0; r < cs->mr; r++) in->rows[0][r] = a + r * cs->a_stride * esize;
    return;
  }
  char *zero = h_alloc(cs->kc * esize);
  if (esize == 4) memset(zero, 0, cs->kc * 4);
  else memset(zero, (int8_t)zp, cs->kc);
  in->zero = zero;
  in->ind = h_alloc(cs->ks * MR * sizeof(void *));
  for (size_t t = 0; t < cs->ks; t++)
    for (size_t r = 0; r < MR; r++) {
      if (r >= cs->mr) { /* the caller repeats the last row's pointer */
        in->ind[t * MR + r] = in->ind[t * MR + cs->mr - 1];
        continue;
      }
      if (h_rand() % 6 == 0) {
        in->ind[t * MR + r] = zero;
        in->rows[t][r] = zero;
        continue;
      }
      char *row = h_alloc(cs->kc * esize);
      for (size_t i = 0; i < cs->kc * esize; i++) row[i] = (char)h_rand();
      if (esize == 4)
        for (size_t i = 0; i < cs->kc; i++) ((float *)row)[i] = h_float(-1.0f, 1.0f);
      in->rows[t][r] = row;
      in->ind[t * MR + r] = row - cs->a_offset;
    }
}

static int gap_untouched(const void *c, const g_case *cs, size_t esize) {
  const uint8_t *b = (const uint8_t *)c;
  for (size_t r = 0; r + 1 < cs->mr; r++)
    for (size_t i = (r * cs->c_stride + cs->nc) * esize; i < (r + 1) * cs->c_stride * esize; i++)
      if (b[i] != 0xA5) return 0;
  return 1;
}

static void case_f32(const g_kernel *kr) {
  g_case cs;
  draw_case(&cs, kr);
  const size_t K = cs.ks * cs.kc, N = cs.nc;
  float *w = h_alloc(N * K * sizeof(float)), *bias = h_alloc(N * sizeof(float));
  for (size_t i = 0; i < N * K; i++) w[i] = h_float(-1.0f, 1.0f);
  for (size_t i = 0; i < N; i++) bias[i] = h_float(-1.0f, 1.0f);
  void *packed = h_alloc(tr_gemm_packed_size_f32(N, cs.ks, cs.kc, kr->nr));
  tr_gemm_pack_f32(N, cs.ks, cs.kc, kr->nr, w, K, cs.kc, 1, bias, packed);
  g_input in;
  make_input(&cs, kr, 4, 0, &in);
  tr_gemm_f32_params params = {-INFINITY, INFINITY};
  if (h_rand() % 2) params = (tr_gemm_f32_params){h_float(-3.0f, 0.0f), h_float(0.0f, 3.0f)};
  float *c = h_alloc(((cs.mr - 1) * cs.c_stride + N) * sizeof(float));
  if (kr->kind == G_F32)
    ((tr_gemm_f32_fn)kr->fn)(cs.mr, N, cs.kc, (const float *)in.a, cs.a_stride, (const float *)packed, c,
                             cs.c_stride, &params);
  else
    ((tr_igemm_f32_fn)kr->fn)(cs.mr, N, cs.kc, cs.ks, (const float **)in.ind, (const float *)packed, c,
                              cs.c_stride, cs.a_offset, (const float *)in.zero, &params);
  int ok = 1;
  char what[240] = "";
  for (size_t r = 0; r < cs.mr && ok; r++)
    for (size_t n = 0; n < N && ok; n++) {
      double acc = bias[n], mag = fabs(bias[n]);
      for (size_t t = 0; t < cs.ks; t++)
        for (size_t k = 0; k < cs.kc; k++) {
          const double v = (double)((const float *)in.rows[t][r])[k] * w[n * K + t * cs.kc + k];
          acc += v;
          mag += fabs(v);
        }
      float want = (float)acc;
      want = want < params.min ? params.min : (want > params.max ? params.max : want);
      const float got = c[r * cs.c_stride + n];
      if (!(fabs((double)got - want) <= (double)(K + 2) * 1.2e-7 * mag + 1e-30)) {
        ok = 0;
        snprintf(what, sizeof what, "mr %zu nc %zu kc %zu ks %zu: c[%zu][%zu] got %.9g want %.9g", cs.mr, N, cs.kc,
                 cs.ks, r, n, got, want);
      }
    }
  if (ok && !gap_untouched(c, &cs, 4)) {
    ok = 0;
    snprintf(what, sizeof what, "mr %zu nc %zu kc %zu: wrote between rows", cs.mr, N, cs.kc);
  }
  h_result(kr->name, ok, what);
  h_free_all();
}

static int32_t requant_double_ref(int32_t acc, double scale) {
  const double v = round((double)acc * scale);
  return v >= 2147483647.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t)v;
}

static void case_qs8(const g_kernel *kr) {
  g_case cs;
  draw_case(&cs, kr);
  const tr_gemm_qs8_requant rq = kr->kind == G_QS8_DQ ? TR_GEMM_REQUANT_DOUBLE : TR_GEMM_REQUANT_Q31;
  const size_t K = cs.ks * cs.kc, N = cs.nc;
  const int32_t zp = h_int(-128, 127), ozp = h_int(-128, 127);
  int8_t *w = h_alloc(N * K);
  for (size_t i = 0; i < N * K; i++) w[i] = (int8_t)h_rand();
  int32_t *bias = h_alloc(N * sizeof(int32_t));
  tr_gemm_qmul *qm = h_alloc(N * sizeof(tr_gemm_qmul));
  double *scale = h_alloc(N * sizeof(double));
  for (size_t n = 0; n < N; n++) {
    bias[n] = h_int(-100000, 100000);
    const double real = ldexp(h_float(0.5f, 1.0f), h_int(-26, h_rand() % 8 == 0 ? 3 : -8));
    const tr_qmul m = tr_quantize_multiplier(real);
    qm[n] = (tr_gemm_qmul){m.multiplier, m.shift};
    scale[n] = h_rand() % 8 == 0 ? 0.5 : real;
  }
  int32_t *row_bias = NULL;
  if (!cs.indirect && h_rand() % 2) {
    row_bias = h_alloc(cs.mr * sizeof(int32_t));
    for (size_t r = 0; r < cs.mr; r++) row_bias[r] = h_int(-100000, 100000);
  }
  int32_t lo = -128, hi = 127;
  if (h_rand() % 2) {
    lo = h_int(-128, ozp);
    hi = h_int(ozp, 127);
  }
  const tr_gemm_qs8_params params = {ozp, lo, hi, row_bias};
  void *packed = h_alloc(tr_gemm_packed_size_qs8(N, cs.ks, cs.kc, kr->nr, kr->kr, rq));
  tr_gemm_pack_qs8(N, cs.ks, cs.kc, kr->nr, kr->kr, rq, w, K, cs.kc, 1, bias, zp + kr->a_xor, qm, scale, packed);
  g_input in;
  make_input(&cs, kr, 1, zp, &in);
  int8_t *c = h_alloc((cs.mr - 1) * cs.c_stride + N);
  if (kr->kind == G_IQS8)
    ((tr_igemm_qs8_fn)kr->fn)(cs.mr, N, cs.kc, cs.ks, (const int8_t **)in.ind, packed, c, cs.c_stride, cs.a_offset,
                              (const int8_t *)in.zero, &params);
  else
    ((tr_gemm_qs8_fn)kr->fn)(cs.mr, N, cs.kc, (const int8_t *)in.a, cs.a_stride, packed, c, cs.c_stride, &params);
  int ok = 1;
  char what[240] = "";
  for (size_t r = 0; r < cs.mr && ok; r++)
    for (size_t n = 0; n < N && ok; n++) {
      uint32_t acc = (uint32_t)bias[n] + (row_bias ? (uint32_t)row_bias[r] : 0u);
      for (size_t t = 0; t < cs.ks; t++)
        for (size_t k = 0; k < cs.kc; k++)
          acc += (uint32_t)(((int32_t)((const int8_t *)in.rows[t][r])[k] - zp) * (int32_t)w[n * K + t * cs.kc + k]);
      const int32_t v = rq == TR_GEMM_REQUANT_DOUBLE
                            ? requant_double_ref((int32_t)acc, scale[n])
                            : tr_multiply_by_quantized_multiplier((int32_t)acc, qm[n].multiplier, qm[n].shift);
      const int32_t want = tr_clamp_i32(v + ozp, lo, hi), got = c[r * cs.c_stride + n];
      if (got != want) {
        ok = 0;
        snprintf(what, sizeof what, "mr %zu nc %zu kc %zu ks %zu zp %d%s: c[%zu][%zu] got %d want %d (acc %d)",
                 cs.mr, N, cs.kc, cs.ks, zp, row_bias ? " row_bias" : "", r, n, got, want, (int32_t)acc);
      }
    }
  if (ok && !gap_untouched(c, &cs, 1)) {
    ok = 0;
    snprintf(what, sizeof what, "mr %zu nc %zu kc %zu: wrote between rows", cs.mr, N, cs.kc);
  }
  h_result(kr->name, ok, what);
  h_free_all();
}

/* --- which kernels --- */

static void run_kernel(const g_kernel *kr, int n) {
  h_begin(kr->name);
  for (int i = 0; i < n; i++) {
    if (kr->kind == G_F32 || kr->kind == G_IF32) case_f32(kr);
    else case_qs8(kr);
  }
}

#define MAX_SEEN 256
static void (*seen[MAX_SEEN])(void);
static int nseen;
static int first_time(void (*fn)(void)) {
  for (int i = 0; i < nseen; i++)
    if (seen[i] == fn) return 0;
  if (nseen < MAX_SEEN) seen[nseen++] = fn;
  return 1;
}

static char names[128][112];
static int nnames;

static void run_config(const char *cfg_name, const char *what, tr_isa level, g_kind kind, size_t mr, size_t nr,
                       size_t kr, int32_t a_xor, void (*fn)(void), int n) {
  if (!fn || nnames == 128 || !first_time(fn)) return;
  snprintf(names[nnames], 112, "config %s: %s %zux%zuc%zu", cfg_name, what, mr, nr, kr);
  const g_kernel k = {names[nnames++], level, kind, mr, nr, kr, a_xor, fn};
  run_kernel(&k, n);
}

void test_gemm(void) {
  const int n = h_cases(50);
  tr_isa levels[16];
  const int nl = h_levels(levels, 16);
  for (int li = 0; li < nl; li++) {
    tr_isa_set_cap(levels[li]);
    tr_gemm_f32_config f;
    tr_gemm_qs8_config q;
    memset(&f, 0, sizeof f);
    memset(&q, 0, sizeof q);
    tr_gemm_f32_config_get(&f);
    tr_gemm_qs8_config_get(&q);
    const tr_isa L = levels[li];
    run_config(f.name, "gemm f32", L, G_F32, (size_t)f.mr, (size_t)f.nr, 1, 0, FN(f.gemm), n);
    run_config(f.name, "gemm1 f32", L, G_F32, 1, (size_t)f.nr, 1, 0, FN(f.gemm1), n);
    run_config(f.name, "igemm f32", L, G_IF32, (size_t)f.mr, (size_t)f.nr, 1, 0, FN(f.igemm), n);
    run_config(f.name, "tall gemm f32", L, G_F32, (size_t)f.tall_mr, (size_t)f.nr, 1, 0, FN(f.tall_gemm), n);
    const size_t mr = (size_t)q.mr, nr = (size_t)q.nr, kr = (size_t)q.kr;
    run_config(q.name, "gemm qs8", L, G_QS8, mr, nr, kr, q.a_xor, FN(q.gemm[0]), n);
    run_config(q.name, "gemm qs8 dq", L, G_QS8_DQ, mr, nr, kr, q.a_xor, FN(q.gemm[1]), n);
    run_config(q.name, "gemm1 qs8", L, G_QS8, 1, nr, kr, q.a_xor, FN(q.gemm1[0]), n);
    run_config(q.name, "gemm1 qs8 dq", L, G_QS8_DQ, 1, nr, kr, q.a_xor, FN(q.gemm1[1]), n);
    run_config(q.name, "igemm qs8", L, G_IQS8, mr, nr, kr, q.a_xor, FN(q.igemm), n);
  }
  tr_isa_set_cap((tr_isa)1000);
  for (size_t i = 0; i < nnamed; i++)
    if (h_level_ok(named[i].level) && first_time(named[i].fn)) run_kernel(&named[i], n);
}

#endif /* TR_TEST_GEMM */
