/* Reduction micro-kernels (kernels/reduce) against plain loops: column sums and means equal a
 * sequential float loop bit for bit (the kernels keep its order), maxima and minima exactly,
 * row sums within (cols + 1) * 1.2e-7 of the sum of magnitudes, 8-bit sums and their requant
 * exactly (quant.h), softmax within 4e-6 relative (+ 1e-37 absolute) of a double exp, L2
 * normalisation within 1e-6. Rows 1..40 (sometimes up to 300), columns 1..200 around multiples
 * of 16, strides with padding; inputs include +-inf and NaN for max / min. */
#ifdef TR_TEST_REDUCE /* the family is in the tree (build.sh) */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "kernels/reduce/reduce.h"
#include "model/quant.h"

typedef struct {
  size_t rows, cols, stride;
} r_case;

static r_case draw(void) {
  r_case c;
  c.rows = h_rand() % 8 == 0 ? (size_t)h_int(41, 300) : (size_t)h_int(1, 40);
  c.cols = h_size(1, 200, 16);
  c.stride = c.cols + (h_rand() % 2 ? 0 : (size_t)h_int(1, 9));
  return c;
}

static const char *kind_names[TR_REDUCE_NUM_KINDS] = {"sum", "mean", "max", "min"};

static float special(int with_nan) {
  const float v[] = {INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 3e38f, -3e38f};
  return v[h_rand() % (with_nan ? 7 : 2)];
}

/* columns: y[j] over rows i; rows: y[i] over columns j */
static void case_f32(const char *name, int kind, int by_cols, tr_reduce_f32_fn fn) {
  const r_case c = draw();
  const size_t len = (c.rows - 1) * c.stride + c.cols, nout = by_cols ? c.cols : c.rows;
  const size_t n = by_cols ? c.rows : c.cols;
  float *x = h_alloc(len * 4), *y = h_alloc(nout * 4);
  for (size_t i = 0; i < len; i++) x[i] = h_float(-4.0f, 4.0f);
  if (kind >= TR_REDUCE_MAX && h_rand() % 4 == 0)
    for (int k = 0; k < 3; k++) x[h_rand() % len] = special(1);
  fn(c.rows, c.cols, c.stride, x, y);
  int ok = 1;
  char what[200] = "";
  for (size_t o = 0; o < nout && ok; o++) {
    float seq = kind == TR_REDUCE_MAX ? -FLT_MAX : kind == TR_REDUCE_MIN ? FLT_MAX : 0.0f;
    double mag = 0.0;
    for (size_t k = 0; k < n; k++) {
      const float v = by_cols ? x[k * c.stride + o] : x[o * c.stride + k];
      if (kind == TR_REDUCE_MAX) seq = v > seq ? v : seq;
      else if (kind == TR_REDUCE_MIN) seq = v < seq ? v : seq;
      else seq = seq + v;
      mag += fabs(v);
    }
    if (kind == TR_REDUCE_MEAN) {
      seq = seq / (float)n;
      mag /= (double)n;
    }
    /* exact: columns (same order) and max / min; rows: blocked sums */
    const double tol = by_cols || kind >= TR_REDUCE_MAX ? 0.0 : (double)(n + 1) * 1.2e-7 * mag;
    if (!(y[o] == seq || fabs((double)y[o] - seq) <= tol)) {
      ok = 0;
      snprintf(what, sizeof what, "%s %zux%zu stride %zu: out %zu got %.9g want %.9g", kind_names[kind], c.rows, c.cols,
               c.stride, o, y[o], seq);
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

static void case_q8(const char *name, int u8, int by_cols, tr_reduce_q8_fn fn) {
  const r_case c = draw();
  const size_t len = (c.rows - 1) * c.stride + c.cols, nout = by_cols ? c.cols : c.rows;
  const size_t n = by_cols ? c.rows : c.cols;
  uint8_t *x = h_alloc(len);
  int32_t *y = h_alloc(nout * 4);
  const int extreme = h_rand() % 4 == 0 ? h_int(0, 1) ? 0x80 : 0x7F : -1;
  for (size_t i = 0; i < len; i++) x[i] = extreme >= 0 ? (uint8_t)(u8 ? extreme ^ 0x80 : extreme) : (uint8_t)h_rand();
  fn(c.rows, c.cols, c.stride, x, y);
  int ok = 1;
  char what[200] = "";
  for (size_t o = 0; o < nout && ok; o++) {
    int32_t want = 0;
    for (size_t k = 0; k < n; k++) {
      const uint8_t b = by_cols ? x[k * c.stride + o] : x[o * c.stride + k];
      want += u8 ? (int32_t)b : (int32_t)(int8_t)b;
    }
    if (y[o] != want) {
      ok = 0;
      snprintf(what, sizeof what, "%zux%zu stride %zu: out %zu got %d want %d", c.rows, c.cols, c.stride, o, y[o], want);
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

static void case_requant(const char *name, int u8, tr_reduce_requant_fn fn) {
  const size_t n = h_size(1, 200, 16);
  int32_t *s = h_alloc(n * 4);
  uint8_t *y = h_alloc(n);
  tr_reduce_q8_params p;
  p.multiplier = h_int(1 << 30, INT32_MAX);
  p.shift = h_int(-31, 30);
  const int32_t range = p.shift > 0 ? 1 << (30 - p.shift) : 1 << 24;
  for (size_t i = 0; i < n; i++) s[i] = h_int(-range, range);
  p.bias = h_int(-range / 4, range / 4);
  p.zero_point = u8 ? h_int(0, 255) : h_int(-128, 127);
  p.min = u8 ? h_int(0, 20) : h_int(-128, -100);
  p.max = u8 ? h_int(230, 255) : h_int(100, 127);
  fn(n, s, y, &p);
  int ok = 1;
  char what[200] = "";
  for (size_t i = 0; i < n && ok; i++) {
    int32_t v = tr_multiply_by_quantized_multiplier((int32_t)((uint32_t)s[i] + (uint32_t)p.bias), p.multiplier, p.shift);
    v += p.zero_point;
    v = v < p.min ? p.min : (v > p.max ? p.max : v);
    const int32_t got = u8 ? (int32_t)y[i] : (int32_t)(int8_t)y[i];
    if (got != v) {
      ok = 0;
      snprintf(what, sizeof what, "n %zu shift %d: sum[%zu] = %d: got %d want %d", n, p.shift, i, s[i], got, v);
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

static void case_softmax(const char *name, tr_softmax_f32_fn fn) {
  const size_t rows = (size_t)h_int(1, 5), cols = h_size(1, 300, 16);
  float *x = h_alloc(rows * cols * 4), *y = h_alloc(rows * cols * 4);
  const float spread = h_rand() % 2 ? 10.0f : 120.0f, beta = h_rand() % 2 ? 1.0f : h_float(0.1f, 3.0f);
  for (size_t i = 0; i < rows * cols; i++) x[i] = h_float(-spread, spread);
  if (h_rand() % 4 == 0) x[h_rand() % (rows * cols)] = -INFINITY;
  fn(rows, cols, x, y, beta);
  int ok = 1;
  char what[200] = "";
  for (size_t r = 0; r < rows && ok; r++) {
    const float *xr = x + r * cols;
    float max = -FLT_MAX;
    for (size_t c = 0; c < cols; c++) max = xr[c] > max ? xr[c] : max;
    double sum = 0.0;
    for (size_t c = 0; c < cols; c++) sum += exp((double)((xr[c] - max) * beta));
    for (size_t c = 0; c < cols && ok; c++) {
      const double want = exp((double)((xr[c] - max) * beta)) / sum;
      const float got = y[r * cols + c];
      if (!(fabs(got - want) <= 4e-6 * want + 1e-37 || (isnan(got) && isnan(want)))) { /* a row of -inf: NaN */
        ok = 0;
        snprintf(what, sizeof what, "%zux%zu beta %g: [%zu][%zu] x %.9g got %.9g want %.9g", rows, cols, beta, r, c,
                 xr[c], got, want);
      }
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

static void case_l2norm(const char *name, tr_l2norm_f32_fn fn) {
  const size_t rows = (size_t)h_int(1, 5), cols = h_size(1, 300, 16);
  float *x = h_alloc(rows * cols * 4), *y = h_alloc(rows * cols * 4);
  for (size_t i = 0; i < rows * cols; i++) x[i] = h_rand() % 8 == 0 ? 0.0f : h_float(-3.0f, 3.0f);
  fn(rows, cols, x, y);
  int ok = 1;
  char what[200] = "";
  for (size_t r = 0; r < rows && ok; r++) {
    double sq = 0.0;
    for (size_t c = 0; c < cols; c++) sq += (double)x[r * cols + c] * x[r * cols + c];
    const double norm = sqrt(sq) < 1e-6 ? 1e-6 : sqrt(sq);
    for (size_t c = 0; c < cols && ok; c++) {
      const double want = x[r * cols + c] / norm;
      if (!(fabs(y[r * cols + c] - want) <= 1e-6 * (fabs(want) + 1e-3))) {
        ok = 0;
        snprintf(what, sizeof what, "%zux%zu: [%zu][%zu] got %.9g want %.9g", rows, cols, r, c, y[r * cols + c], want);
      }
    }
  }
  h_result(name, ok, what);
  h_free_all();
}

static char names[96][80];
static int nnames;
static const char *name_of(const char *isa, const char *what) {
  if (nnames == 96) return "reduce";
  snprintf(names[nnames], 80, "config %s: reduce %s", isa, what);
  return names[nnames++];
}

void test_reduce(void) {
  const int n = h_cases(40);
  tr_isa levels[16];
  const int nl = h_levels(levels, 16);
  for (int li = 0; li < nl; li++) {
    tr_isa_set_cap(levels[li]);
    tr_reduce_config c;
    tr_reduce_config_get(&c);
    char what[48];
    for (int k = 0; k < TR_REDUCE_NUM_KINDS; k++)
      for (int by_cols = 0; by_cols < 2; by_cols++) {
        tr_reduce_f32_fn fn = by_cols ? c.cols_f32[k] : c.rows_f32[k];
        snprintf(what, sizeof what, "%s_%s_f32", kind_names[k], by_cols ? "cols" : "rows");
        const char *name = name_of(c.name, what);
        h_begin(name);
        for (int i = 0; i < n; i++) case_f32(name, k, by_cols, fn);
      }
    const tr_reduce_q8_fn q8[4] = {c.sum_rows_s8, c.sum_cols_s8, c.sum_rows_u8, c.sum_cols_u8};
    for (int k = 0; k < 4; k++) {
      snprintf(what, sizeof what, "sum_%s_%s", k & 1 ? "cols" : "rows", k & 2 ? "u8" : "s8");
      const char *name = name_of(c.name, what);
      h_begin(name);
      for (int i = 0; i < n; i++) case_q8(name, k >> 1, k & 1, q8[k]);
    }
    for (int u8 = 0; u8 < 2; u8++) {
      const char *name = name_of(c.name, u8 ? "requant_u8" : "requant_s8");
      h_begin(name);
      for (int i = 0; i < n; i++) case_requant(name, u8, u8 ? c.requant_u8 : c.requant_s8);
    }
    const char *name = name_of(c.name, "softmax_f32");
    h_begin(name);
    for (int i = 0; i < n; i++) case_softmax(name, c.softmax_f32);
    name = name_of(c.name, "l2norm_f32");
    h_begin(name);
    for (int i = 0; i < n; i++) case_l2norm(name, c.l2norm_f32);
  }
  tr_isa_set_cap((tr_isa)1000);
}

#endif /* TR_TEST_REDUCE */
