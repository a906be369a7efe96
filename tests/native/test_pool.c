/* Pooling micro-kernels (kernels/pool) against pool.h's definition: max exactly (a NaN input is
 * skipped, as TFLite's std::max does), 8-bit averages bit-exact (round half away from zero),
 * float averages within (taps + 1) * 1.2e-7 relative. Windows 1..5 x 1..5 (sometimes up to
 * 16 x 16, and empty ones for averages), channels 1..67 (sometimes more) as a sub-range of wider
 * pixels, rows padded. */
#ifdef TR_TEST_POOL /* the family is in the tree (build.sh) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "kernels/pool/pool.h"

#if defined(TR_HAVE_NEON)
TR_POOL_F32_DECL(tr_pool_max_f32__neon)
TR_POOL_F32_DECL(tr_pool_avg_f32__neon)
TR_POOL_Q8_DECL(tr_pool_max_s8__neon)
TR_POOL_Q8_DECL(tr_pool_max_u8__neon)
TR_POOL_Q8_DECL(tr_pool_avg_s8__neon)
TR_POOL_Q8_DECL(tr_pool_avg_u8__neon)
#endif

enum { MAX_F32, AVG_F32, MAX_S8, MAX_U8, AVG_S8, AVG_U8, NKINDS };
static const char *kind_names[NKINDS] = {"max_f32", "avg_f32", "max_s8", "max_u8", "avg_s8", "avg_u8"};

typedef struct {
  size_t rows, cols, channels, pixel_stride, row_stride;
  int32_t count;
} p_case;

static void draw(p_case *cs, int is_max) {
  const size_t lim = h_rand() % 8 == 0 ? 16 : 5;
  cs->rows = (size_t)h_int(1, (int32_t)lim);
  cs->cols = (size_t)h_int(1, (int32_t)lim);
  if (!is_max && h_rand() % 16 == 0) cs->rows = 0; /* an empty window */
  cs->channels = h_rand() % 8 == 0 ? (size_t)h_int(68, 200) : h_size(1, 67, 16);
  cs->pixel_stride = cs->channels + (h_rand() % 2 ? 0 : (size_t)h_int(1, 9));
  cs->row_stride = (cs->cols ? cs->cols : 1) * cs->pixel_stride + (size_t)h_int(0, 7);
  cs->count = (int32_t)(cs->rows * cs->cols);
}

static size_t span(const p_case *cs) {
  if (!cs->rows || !cs->cols) return cs->channels;
  return (cs->rows - 1) * cs->row_stride + (cs->cols - 1) * cs->pixel_stride + cs->channels;
}

static void case_f32(const char *name, int kind, void (*fn)(void)) {
  p_case cs;
  draw(&cs, kind == MAX_F32);
  const size_t len = span(&cs);
  float *in = h_alloc(len * 4), *out = h_alloc(cs.channels * 4);
  for (size_t i = 0; i < len; i++) in[i] = h_float(-4.0f, 4.0f);
  if (kind == MAX_F32 && h_rand() % 4 == 0) in[h_rand() % len] = NAN;
  tr_pool_f32_params p = {-INFINITY, INFINITY};
  if (h_rand() % 2) p = (tr_pool_f32_params){h_float(-3.0f, 0.0f), h_float(0.0f, 3.0f)};
  ((tr_pool_f32_fn)fn)(cs.rows, cs.cols, in, cs.row_stride, cs.pixel_stride, cs.channels, out, cs.count, &p);
  int ok = 1;
  char what[200] = "";
  for (size_t c = 0; c < cs.channels && ok; c++) {
    double s = 0.0, mag = 0.0;
    float m = -INFINITY;
    for (size_t y = 0; y < cs.rows; y++)
      for (size_t x = 0; x < cs.cols; x++) {
        const float v = in[y * cs.row_stride + x * cs.pixel_stride + c];
        m = v > m ? v : m;
        s += v;
        mag += fabs(v);
      }
    float want = kind == MAX_F32 ? m : cs.count ? (float)(s / cs.count) : 0.0f;
    want = want < p.min ? p.min : (want > p.max ? p.max : want);
    const double tol = kind == MAX_F32 ? 0.0 : (double)(cs.count + 1) * 1.2e-7 * (cs.count ? mag / cs.count : 0.0);
    if (!(out[c] == want || fabs((double)out[c] - want) <= tol)) {
      ok = 0;
      snprintf(what, sizeof what, "%zux%zu window, %zu channels: ch %zu got %.9g want %.9g", cs.rows, cs.cols,
               cs.channels, c, out[c], want);
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

static void case_q8(const char *name, int kind, void (*fn)(void)) {
  const int u = kind == MAX_U8 || kind == AVG_U8, is_max = kind == MAX_S8 || kind == MAX_U8;
  p_case cs;
  draw(&cs, is_max);
  const size_t len = span(&cs);
  uint8_t *in = h_alloc(len), *out = h_alloc(cs.channels);
  for (size_t i = 0; i < len; i++) in[i] = (uint8_t)h_rand();
  const int32_t qmin = u ? 0 : -128, qmax = u ? 255 : 127;
  tr_pool_q8_params p = {qmin, qmax};
  if (h_rand() % 2) {
    p.min = h_int(qmin, qmin + 100);
    p.max = h_int(p.min, qmax);
  }
  ((tr_pool_q8_fn)fn)(cs.rows, cs.cols, in, cs.row_stride, cs.pixel_stride, cs.channels, out, cs.count, &p);
  int ok = 1;
  char what[200] = "";
  for (size_t c = 0; c < cs.channels && ok; c++) {
    int32_t s = 0, m = INT32_MIN;
    for (size_t y = 0; y < cs.rows; y++)
      for (size_t x = 0; x < cs.cols; x++) {
        const uint8_t b = in[y * cs.row_stride + x * cs.pixel_stride + c];
        const int32_t v = u ? (int32_t)b : (int32_t)(int8_t)b;
        m = v > m ? v : m;
        s += v;
      }
    const int32_t n = cs.count;
    int32_t want = is_max ? m : !n ? 0 : s > 0 ? (s + n / 2) / n : (s - n / 2) / n;
    want = want < p.min ? p.min : (want > p.max ? p.max : want);
    const int32_t got = u ? (int32_t)out[c] : (int32_t)(int8_t)out[c];
    if (got != want) {
      ok = 0;
      snprintf(what, sizeof what, "%zux%zu window, %zu channels: ch %zu got %d want %d", cs.rows, cs.cols,
               cs.channels, c, got, want);
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

/* --- which kernels --- */

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

static void run(int config, const char *isa, int kind, void (*fn)(void), int n) {
  if (!fn || nnames == 64 || !first_time(fn)) return;
  if (config) snprintf(names[nnames], 96, "config %s: pool %s", isa, kind_names[kind]);
  else snprintf(names[nnames], 96, "tr_pool_%s__%s", kind_names[kind], isa);
  const char *name = names[nnames++];
  h_begin(name);
  for (int i = 0; i < n; i++) {
    if (kind == MAX_F32 || kind == AVG_F32) case_f32(name, kind, fn);
    else case_q8(name, kind, fn);
  }
}

#define FN(f) ((void (*)(void))(f))

void test_pool(void) {
  const int n = h_cases(50);
  tr_isa levels[16];
  const int nl = h_levels(levels, 16);
  for (int li = 0; li < nl; li++) {
    tr_isa_set_cap(levels[li]);
    tr_pool_config c;
    memset(&c, 0, sizeof c);
    tr_pool_config_get(&c);
    void (*fns[NKINDS])(void) = {FN(c.max_f32), FN(c.avg_f32), FN(c.max_s8), FN(c.max_u8), FN(c.avg_s8), FN(c.avg_u8)};
    for (int k = 0; k < NKINDS; k++) run(1, c.name, k, fns[k], n);
  }
  tr_isa_set_cap((tr_isa)1000);
#if defined(TR_HAVE_NEON)
  void (*neon[NKINDS])(void) = {FN(tr_pool_max_f32__neon), FN(tr_pool_avg_f32__neon), FN(tr_pool_max_s8__neon),
                                FN(tr_pool_max_u8__neon),  FN(tr_pool_avg_s8__neon), FN(tr_pool_avg_u8__neon)};
  for (int k = 0; k < NKINDS; k++) run(0, "neon", k, neon[k], n);
#endif
}

#endif /* TR_TEST_POOL */
