/* The weight packers (kernels/gemm/gemm-pack.c, kernels/dwconv/dwconv-pack.c) against plain
 * packers written here from the layouts in gemm.h and dwconv.h: random weights of odd sizes
 * (column counts that are not a multiple of the tile, k not a multiple of KR, several taps),
 * every source stride pattern the ops use, biases absent or near the accumulator bound. The
 * output buffers start filled with a pattern, so a byte the packer forgets to write differs too.
 *
 * Built and run by tests/test_kernels_pack.py. Usage: pack_harness [iterations] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_random.h"
#include "kernels/dwconv/dwconv.h"
#include "kernels/gemm/gemm.h"


static size_t up(size_t n, size_t m) { return (n + m - 1) / m * m; }

/* Where the weight of (column, tap, k) sits in the source, for the patterns the ops use. */
typedef struct {
  const char *name;
  size_t sn, st, sk, extent; /* extent: elements the source spans */
} source_layout;

static source_layout pick_layout(size_t n, size_t ks, size_t kc, int which) {
  source_layout l;
  switch (which) {
    case 0: /* an OHWI filter (convolutions) */
      l = (source_layout){"ohwi", ks * kc, kc, 1, n * ks * kc};
      break;
    case 1: /* a [K, N] matrix (batch matmul without adj_y): one tap */
      l = (source_layout){"kn", 1, 0, n, 0};
      l.extent = kc * n;
      break;
    case 2: /* rows of a wider matrix, taps apart by more than a row */
      l = (source_layout){"strided", ks * (kc + 3) + 5, kc + 3, 1, 0};
      l.extent = n * l.sn;
      break;
    default: /* k strided inside a column */
      l = (source_layout){"k-strided", ks * kc * 2 + 1, kc * 2, 2, 0};
      l.extent = n * l.sn;
      break;
  }
  return l;
}

static void ref_pack_f32(size_t n, size_t ks, size_t kc, size_t nr, const float *src, source_layout l,
                         const float *bias, float *out) {
  for (size_t n0 = 0; n0 < n; n0 += nr) {
    for (size_t j = 0; j < nr; j++) *out++ = (n0 + j < n && bias) ? bias[n0 + j] : 0.0f;
    for (size_t t = 0; t < ks; t++)
      for (size_t k = 0; k < kc; k++)
        for (size_t j = 0; j < nr; j++)
          *out++ = n0 + j < n ? src[(n0 + j) * l.sn + t * l.st + k * l.sk] : 0.0f;
  }
}

/* Also returns what tr_gemm_pack_qs8 must: whether |bias| + 255 sum |w| < 2^30 everywhere. */
static int ref_pack_qs8(size_t n, size_t ks, size_t kc, size_t nr, size_t kr, tr_gemm_qs8_requant rq,
                        const int8_t *src, source_layout l, const int32_t *bias, int32_t a_zero,
                        const tr_gemm_qmul *qmul, const double *scale, uint8_t *out) {
  const size_t kcp = up(kc, kr);
  int bounded = 1;
  for (size_t n0 = 0; n0 < n; n0 += nr) {
    for (size_t j = 0; j < nr; j++) {
      uint32_t v = 0;
      if (n0 + j < n) {
        uint32_t sum = 0;
        long long magnitude = 0;
        for (size_t t = 0; t < ks; t++)
          for (size_t k = 0; k < kc; k++) {
            const int w = src[(n0 + j) * l.sn + t * l.st + k * l.sk];
            sum += (uint32_t)w;
            magnitude += w < 0 ? -w : w;
          }
        const long long b = bias ? bias[n0 + j] : 0;
        v = (uint32_t)b - (uint32_t)a_zero * sum;
        if ((b < 0 ? -b : b) + 255 * magnitude >= (1ll << 30)) bounded = 0;
      }
      memcpy(out, &v, 4);
      out += 4;
    }
    for (size_t t = 0; t < ks; t++)
      for (size_t g = 0; g < kcp / kr; g++)
        for (size_t j = 0; j < nr; j++)
          for (size_t i = 0; i < kr; i++) {
            const size_t k = g * kr + i;
            *out++ = (uint8_t)((n0 + j < n && k < kc) ? src[(n0 + j) * l.sn + t * l.st + k * l.sk] : 0);
          }
    if (rq == TR_GEMM_REQUANT_DOUBLE) {
      for (size_t j = 0; j < nr; j++) {
        const double v = n0 + j < n ? scale[n0 + j] : 0.0;
        memcpy(out, &v, 8);
        out += 8;
      }
    } else {
      for (int field = 0; field < 4; field++)
        for (size_t j = 0; j < nr; j++) {
          const tr_gemm_qmul q = n0 + j < n ? qmul[n0 + j] : (tr_gemm_qmul){0, 0};
          const int32_t right = q.shift > 0 ? 0 : -q.shift;
          const int32_t v = field == 0 ? q.multiplier
                            : field == 1 ? (q.shift > 0 ? q.shift : 0)
                            : field == 2 ? right
                                         : (int32_t)((1ll << right) - 1);
          memcpy(out, &v, 4);
          out += 4;
        }
    }
  }
  return bounded;
}

static int failures = 0;

/* Built with gemm-pack-avx512.c (and the ISA detection): the int8 packing runs under a cap that
 * keeps the baseline transposes, then at the level detected. */
#if defined(TR_HAVE_AVX512)
#include "isa/cpu.h"
#define PACK_LEVELS 2
static void pack_level(int level) { tr_isa_set_cap(level ? (tr_isa)1000 : TR_ISA_AVX2); }
#else
#define PACK_LEVELS 1
static void pack_level(int level) { (void)level; }
#endif

static void compare(const char *what, const void *got, const void *want, size_t bytes, const char *detail) {
  if (memcmp(got, want, bytes) == 0) return;
  size_t i = 0;
  while (((const uint8_t *)got)[i] == ((const uint8_t *)want)[i]) i++;
  printf("FAIL %s (%s): first difference at byte %zu of %zu\n", what, detail, i, bytes);
  failures++;
}

static void gemm_case(void) {
  static const size_t nrs[] = {4, 8, 16, 32, 64}, krs[] = {1, 2, 4, 8};
  /* a third of the cases are the KR = 4 tiles of 16 and 32 columns, which have a packer of
   * their own where AVX-512 is in */
  const int c4 = rnd() % 3 == 0;
  const size_t nr = c4 ? (size_t)(16 << (rnd() % 2)) : nrs[rnd() % 5], kr = c4 ? 4 : krs[rnd() % 4];
  /* now and then a filter of over 1 MiB (int8 too), which the packers write with streaming
   * stores */
  const int large = rnd() % 40 == 0;
  const size_t n = (size_t)(large ? rnd_in(900, 1000) : rnd_in(1, 3 * (int32_t)nr + 5));
  const size_t kc = (size_t)(large ? rnd_in(1100, 1200) : rnd_in(1, 90));
  const int which = large ? 0 : rnd_in(0, 3);
  const size_t ks = which == 1 || large ? 1 : (size_t)rnd_in(1, 10);
  const source_layout l = pick_layout(n, ks, kc, which);
  char detail[160];
  snprintf(detail, sizeof(detail), "n=%zu ks=%zu kc=%zu nr=%zu kr=%zu %s", n, ks, kc, nr, kr, l.name);

  float *fsrc = (float *)malloc(l.extent * sizeof(float)), *fbias = (float *)malloc(n * sizeof(float));
  int8_t *qsrc = (int8_t *)malloc(l.extent);
  int32_t *qbias = (int32_t *)malloc(n * sizeof(int32_t));
  tr_gemm_qmul *qmul = (tr_gemm_qmul *)malloc(n * sizeof(tr_gemm_qmul));
  double *scale = (double *)malloc(n * sizeof(double));
  /* weights either anywhere in int8 or all at the extremes, so the bound goes both ways */
  const int extreme = rnd() % 4 == 0;
  for (size_t i = 0; i < l.extent; i++) {
    fsrc[i] = (float)rnd_in(-1000, 1000) / 64.0f;
    qsrc[i] = (int8_t)(extreme ? (rnd() % 2 ? 127 : -128) : rnd_in(-128, 127));
  }
  for (size_t i = 0; i < n; i++) {
    fbias[i] = (float)rnd_in(-1000, 1000) / 16.0f;
    /* now and then the extremes, whose magnitudes (2^31 for INT32_MIN) only 64 bits hold */
    const int32_t extreme_bias = rnd() % 2 ? INT32_MIN : INT32_MAX;
    qbias[i] = rnd() % 60 == 0 ? extreme_bias : rnd() % 3 == 0 ? rnd_in(-(1 << 30), 1 << 30) : rnd_in(-5000, 5000);
    qmul[i] = (tr_gemm_qmul){rnd_in(1 << 30, 0x7fffffff), rnd_in(-20, 6)};
    scale[i] = (double)rnd_in(1, 1 << 20) / (double)(1 << 26);
  }
  const int no_bias = rnd() % 5 == 0;
  const int32_t a_zero = rnd_in(-128, 255);

  const size_t fbytes = tr_gemm_packed_size_f32(n, ks, kc, nr);
  uint8_t *got = (uint8_t *)malloc(fbytes), *want = (uint8_t *)malloc(fbytes);
  memset(got, 0xA5, fbytes);
  memset(want, 0x5A, fbytes);
  tr_gemm_pack_f32(n, ks, kc, nr, fsrc, l.sn, l.st, l.sk, no_bias ? NULL : fbias, got);
  ref_pack_f32(n, ks, kc, nr, fsrc, l, no_bias ? NULL : fbias, (float *)want);
  compare("gemm f32", got, want, fbytes, detail);
  free(got);
  free(want);

  for (int r = 0; r < 2; r++) {
    const tr_gemm_qs8_requant rq = r ? TR_GEMM_REQUANT_DOUBLE : TR_GEMM_REQUANT_Q31;
    const size_t qbytes = tr_gemm_packed_size_qs8(n, ks, kc, nr, kr, rq);
    got = (uint8_t *)malloc(qbytes);
    want = (uint8_t *)malloc(qbytes);
    memset(want, 0x5A, qbytes);
    const int expect = ref_pack_qs8(n, ks, kc, nr, kr, rq, qsrc, l, no_bias ? NULL : qbias, a_zero, qmul, scale,
                                    want);
    /* with AVX-512 in the build: the baseline transposes (ISA capped) and the AVX-512 packer */
    for (int level = 0; level < PACK_LEVELS; level++) {
      pack_level(level);
      memset(got, 0xA5, qbytes);
      const int bounded = tr_gemm_pack_qs8(n, ks, kc, nr, kr, rq, qsrc, l.sn, l.st, l.sk,
                                           no_bias ? NULL : qbias, a_zero, qmul, scale, got);
      char where[200];
      snprintf(where, sizeof(where), "%s, %s", detail, tr_gemm_pack_transposes());
      compare(r ? "gemm qs8 (double)" : "gemm qs8 (q31)", got, want, qbytes, where);
      if ((bounded != 0) != expect) {
        printf("FAIL gemm qs8 bound (%s): packer says %d, expected %d\n", where, bounded, expect);
        failures++;
      }
    }
    free(got);
    free(want);
  }
  free(fsrc);
  free(fbias);
  free(qsrc);
  free(qbias);
  free(qmul);
  free(scale);
}

/* dwconv.h: taps column-major (k = kx * KH + ky), channels in slot order within a tile. */
static void ref_dw_f32(size_t channels, int32_t kh, int32_t kw, int32_t ct, const float *w, const float *bias,
                       float *out) {
  for (size_t c0 = 0; c0 < channels; c0 += (size_t)ct) {
    for (int32_t j = 0; j < ct; j++) *out++ = (c0 + (size_t)j < channels && bias) ? bias[c0 + (size_t)j] : 0.0f;
    for (int32_t k = 0; k < kh * kw; k++)
      for (int32_t j = 0; j < ct; j++) {
        const size_t c = c0 + (size_t)j;
        *out++ = c < channels ? w[((size_t)(k % kh) * (size_t)kw + (size_t)(k / kh)) * channels + c] : 0.0f;
      }
  }
}

static void ref_dw_qs8(size_t channels, int32_t kh, int32_t kw, const tr_dwconv_qs8_layout *layout, const void *w,
                       int is_unsigned, int32_t wzp, const int32_t *bias, int32_t in_zp, const tr_dwconv_qmul *qmul,
                       uint8_t *out) {
  const int32_t ct = layout->ct, group = layout->group, taps = kh * kw;
  const int32_t ptaps = (taps + group - 1) / group * group;
  for (size_t c0 = 0; c0 < channels; c0 += (size_t)ct) {
    for (int32_t j = 0; j < ct; j++) {
      const size_t c = c0 + (size_t)tr_dwconv_slot_channel(layout, j);
      int32_t v = 0;
      if (c < channels) {
        int32_t sum = 0;
        for (int32_t k = 0; k < taps; k++) {
          const size_t i = (size_t)k * channels + c; /* the sum does not depend on tap order */
          sum += is_unsigned ? ((const uint8_t *)w)[i] - wzp : ((const int8_t *)w)[i];
        }
        v = (int32_t)((uint32_t)(bias ? bias[c] : 0) - (uint32_t)in_zp * (uint32_t)sum);
      }
      memcpy(out, &v, 4);
      out += 4;
    }
    for (int32_t g = 0; g < ptaps; g += group)
      for (int32_t j = 0; j < ct; j++)
        for (int32_t t = 0; t < group; t++) {
          const int32_t k = g + t;
          const size_t c = c0 + (size_t)tr_dwconv_slot_channel(layout, j);
          int32_t v = 0;
          if (k < taps && c < channels) {
            const size_t i = ((size_t)(k % kh) * (size_t)kw + (size_t)(k / kh)) * channels + c;
            v = is_unsigned ? ((const uint8_t *)w)[i] - wzp : ((const int8_t *)w)[i];
          }
          if (group == 4) {
            *out++ = (uint8_t)(int8_t)v;
          } else {
            const int16_t h = (int16_t)v;
            memcpy(out, &h, 2);
            out += 2;
          }
        }
    int32_t q[6][64];
    for (int32_t j = 0; j < ct; j++) {
      const size_t c = c0 + (size_t)tr_dwconv_slot_channel(layout, j);
      const tr_dwconv_qmul m = c < channels ? qmul[c] : (tr_dwconv_qmul){0, 0};
      const int32_t right = m.shift > 0 ? 0 : -m.shift;
      q[0][j] = m.multiplier;
      q[1][j] = m.shift > 0 ? m.shift : 0;
      q[2][j] = right;
      q[3][j] = (int32_t)((1ll << right) - 1);
    }
    for (int32_t j = 0; j < ct; j++) {
      q[4][j] = q[0][j | 1];
      q[5][j] = q[3][j] >> 1;
    }
    for (int32_t f = 0; f < (layout->extended ? 6 : 4); f++) {
      memcpy(out, q[f], (size_t)ct * 4);
      out += (size_t)ct * 4;
    }
  }
}

static void dwconv_case(void) {
  static const tr_dwconv_qs8_layout layouts[] = {
      {8, 1, TR_DW_SLOTS_LINEAR, 0},     {16, 2, TR_DW_SLOTS_LINEAR, 0},  {16, 1, TR_DW_SLOTS_UNPACK16, 0},
      {32, 2, TR_DW_SLOTS_UNPACK16, 1},  {32, 4, TR_DW_SLOTS_UNPACK8X2, 0}, {64, 4, TR_DW_SLOTS_UNPACK8X2, 1},
      {16, 4, TR_DW_SLOTS_LINEAR, 1},    {64, 2, TR_DW_SLOTS_UNPACK16, 0},
  };
  const tr_dwconv_qs8_layout *layout = &layouts[rnd() % (sizeof(layouts) / sizeof(layouts[0]))];
  /* now and then more channels than the packer sums on its stack (4096) */
  const int wide = rnd() % 16 == 0;
  const size_t channels = (size_t)(wide ? rnd_in(4090, 4200) : rnd_in(1, 150));
  const int32_t kh = rnd_in(1, wide ? 3 : 6), kw = rnd_in(1, wide ? 3 : 6), ct = (int32_t)(4u << (rnd() % 4));
  const size_t count = (size_t)kh * (size_t)kw * channels;
  char detail[160];
  snprintf(detail, sizeof(detail), "C=%zu %dx%d ct=%d group=%d slots=%d ext=%d", channels, kh, kw, layout->ct,
           layout->group, (int)layout->slots, layout->extended);
  float *fw = (float *)malloc(count * sizeof(float)), *fb = (float *)malloc(channels * sizeof(float));
  uint8_t *qw = (uint8_t *)malloc(count);
  int32_t *qb = (int32_t *)malloc(channels * sizeof(int32_t));
  tr_dwconv_qmul *qm = (tr_dwconv_qmul *)malloc(channels * sizeof(tr_dwconv_qmul));
  for (size_t i = 0; i < count; i++) {
    fw[i] = (float)rnd_in(-1000, 1000) / 32.0f;
    qw[i] = (uint8_t)rnd();
  }
  for (size_t c = 0; c < channels; c++) {
    fb[c] = (float)rnd_in(-100, 100);
    qb[c] = rnd_in(-100000, 100000);
    qm[c] = (tr_dwconv_qmul){rnd_in(1 << 30, 0x7fffffff), rnd_in(-20, 6)};
  }
  const int no_bias = rnd() % 5 == 0;

  const size_t fbytes = tr_dwconv_packed_size_f32(channels, kh, kw, ct) * sizeof(float);
  uint8_t *got = (uint8_t *)malloc(fbytes), *want = (uint8_t *)malloc(fbytes);
  memset(got, 0xA5, fbytes);
  memset(want, 0x5A, fbytes);
  tr_dwconv_pack_f32(channels, kh, kw, ct, fw, no_bias ? NULL : fb, (float *)got);
  ref_dw_f32(channels, kh, kw, ct, fw, no_bias ? NULL : fb, (float *)want);
  compare("dwconv f32", got, want, fbytes, detail);
  free(got);
  free(want);

  for (int u = 0; u < 2; u++) {
    const int32_t wzp = u ? rnd_in(0, 255) : 0, in_zp = rnd_in(-128, 255);
    const size_t qbytes = tr_dwconv_packed_size_qs8(channels, kh, kw, layout);
    got = (uint8_t *)malloc(qbytes);
    want = (uint8_t *)malloc(qbytes);
    memset(got, 0xA5, qbytes);
    memset(want, 0x5A, qbytes);
    tr_dwconv_pack_qs8(channels, kh, kw, layout, qw, u, wzp, no_bias ? NULL : qb, in_zp, qm, got);
    ref_dw_qs8(channels, kh, kw, layout, qw, u, wzp, no_bias ? NULL : qb, in_zp, qm, want);
    compare(u ? "dwconv qu8" : "dwconv qs8", got, want, qbytes, detail);
    free(got);
    free(want);
  }
  free(fw);
  free(fb);
  free(qw);
  free(qb);
  free(qm);
}

int main(int argc, char **argv) {
  const int iterations = argc > 1 ? atoi(argv[1]) : 300;
  for (int i = 0; i < iterations && failures < 10; i++) {
    gemm_case();
    dwconv_case();
  }
  if (failures) {
    printf("%d FAILED\n", failures);
    return 1;
  }
  printf("ALL OK (%d cases, %s transposes)\n", iterations, tr_gemm_pack_transposes());
  return 0;
}
