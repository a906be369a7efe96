/* The SIMD requantization helpers against quant.h, lane for lane, on random and edge values:
 * ties of the doubling high multiply and of the rounding shift, INT32_MIN/MAX, every shift.
 * (aarch64: requant-neon.h, baseline NEON, so this file can include it directly. The x86
 * helpers are covered through the kernels that use them.) */
#include <stdio.h>

#include "harness.h"
#include "model/quant.h"

#if defined(__aarch64__)
#include <math.h>

#include "kernels/requant/requant-neon.h"

static int32_t edge_value(void) {
  static const int32_t edges[] = {0, 1, -1, 2, -2, INT32_MAX, INT32_MIN, INT32_MIN + 1, INT32_MAX - 1,
                                  1 << 30, -(1 << 30), (1 << 30) + 1, -(1 << 30) - 1, 12345, -12345};
  return edges[h_rand() % (sizeof(edges) / sizeof(edges[0]))];
}

static int32_t rand_x(void) {
  switch (h_rand() % 4) {
    case 0: return edge_value();
    case 1: return h_int(-4096, 4096);
    case 2: return h_int(-(1 << 20), 1 << 20);
    default: return (int32_t)h_rand();
  }
}

static void q31_cases(void) {
  const char *name = "tr_requant_q31_neon";
  const int n = h_cases(20000);
  for (int i = 0; i < n; i++) {
    int32_t x[4], m[4], s[4], l[4], r[4], want[4], got[4];
    for (int j = 0; j < 4; j++) {
      const int kind = (int)(h_rand() % 4);
      m[j] = kind == 0 ? (int32_t)(1u << 30) : kind == 1 ? INT32_MAX : h_int(1 << 30, INT32_MAX);
      if (h_rand() % 16 == 0) m[j] = h_int(0, INT32_MAX);
      s[j] = h_rand() % 3 == 0 ? h_int(0, 8) : h_int(-31, 0);
      x[j] = rand_x();
      if (h_rand() % 4 == 0 && s[j] < 0) {
        /* x * m / 2^31 lands exactly on a half at the rounding shift: x = (2q + 1) 2^(-s-1) with
         * m = 2^30 (so the product is x / 2) */
        m[j] = 1 << 30;
        const int r0 = -s[j];
        const int64_t q = h_int(-1000, 1000);
        const int64_t v = (2 * q + 1) << r0; /* x/2 = (2q+1) 2^(r0-1) */
        if (v > INT32_MIN && v < INT32_MAX) x[j] = (int32_t)v;
      }
      l[j] = s[j] > 0 ? s[j] : 0;
      r[j] = s[j] > 0 ? 0 : -s[j];
      want[j] = tr_multiply_by_quantized_multiplier(x[j], m[j], s[j]);
    }
    vst1q_s32(got, tr_requant_q31_neon(vld1q_s32(x), vld1q_s32(m), vld1q_s32(l), vnegq_s32(vld1q_s32(r))));
    for (int j = 0; j < 4; j++) {
      char what[160];
      const int ok = got[j] == want[j];
      if (!ok) snprintf(what, sizeof what, "x %d m %d shift %d: got %d want %d", x[j], m[j], s[j], got[j], want[j]);
      h_result(name, ok, ok ? NULL : what);
    }
  }
}

static void double_cases(void) {
  const char *name = "tr_requant_double_neon";
  const int n = h_cases(5000);
  for (int i = 0; i < n; i++) {
    int32_t x[4], want[4], got[4];
    double sc[4];
    for (int j = 0; j < 4; j++) {
      x[j] = rand_x();
      sc[j] = h_rand() % 8 == 0 ? 0.5 : ldexp(h_float(0.5f, 1.0f), h_int(-20, 4));
      if (h_rand() % 8 == 0) x[j] = 2 * h_int(-1000, 1000) + 1; /* with 0.5: a tie */
      const double v = round((double)x[j] * sc[j]);
      want[j] = v >= 2147483647.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t)v;
    }
    vst1q_s32(got, tr_requant_double_neon(vld1q_s32(x), vld1q_f64(sc), vld1q_f64(sc + 2)));
    for (int j = 0; j < 4; j++) {
      char what[160];
      const int ok = got[j] == want[j];
      if (!ok) snprintf(what, sizeof what, "x %d scale %.17g: got %d want %d", x[j], sc[j], got[j], want[j]);
      h_result(name, ok, ok ? NULL : what);
    }
  }
}

void test_requant(void) {
  q31_cases();
  double_cases();
}
#else
void test_requant(void) {}
#endif
