/* The multiplier quantization read from a double's bits (model/quant.h) against the frexp and
 * llround computation it replaced, kept here as the reference: every exponent, each with the
 * significands that sit on or next to a rounding boundary and many random ones, plus zero,
 * negative, subnormal and non-finite inputs through the public functions.
 * Prints "ALL OK" when every result is identical. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/quant.h"

static tr_qmul ref_any_shift(double m) {
  tr_qmul q = {0, 0};
  if (m == 0.0 || !isfinite(m)) return q;
  int shift;
  const double fraction = frexp(m, &shift);
  int64_t fixed = (int64_t)llround(fraction * (double)(1ll << 31));
  if (fixed == (1ll << 31)) fixed /= 2, ++shift;
  if (shift < -31) shift = 0, fixed = 0;
  q.multiplier = (int32_t)fixed;
  q.shift = shift;
  return q;
}

static tr_qmul ref_saturated(double m) {
  tr_qmul q = ref_any_shift(m);
  if (q.shift > 30) q.shift = 30, q.multiplier = INT32_MAX;
  return q;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static long checked, failed;

static void check(uint64_t bits) {
  double m;
  memcpy(&m, &bits, sizeof m);
  const tr_qmul want_any = ref_any_shift(m), want = ref_saturated(m);
  const tr_qmul got_any = tr_quantize_multiplier_any_shift(m), got = tr_quantize_multiplier(m);
  const tr_qmul got_inline = tr_quantize_multiplier_inline(m);
  tr_qmul direct = {12345, 678};
  const int positive = m > 0.0 && isfinite(m);
  const int took = tr_quantize_positive_multiplier(m, &direct);
  checked++;
  if (memcmp(&want_any, &got_any, sizeof want_any) || memcmp(&want, &got, sizeof want) ||
      memcmp(&want, &got_inline, sizeof want) || took != positive ||
      (positive && memcmp(&want_any, &direct, sizeof want_any))) {
    if (failed++ < 20)
      printf("FAIL %a (0x%016llx): want %d,%d / %d,%d got %d,%d / %d,%d inline %d,%d direct(%d) %d,%d\n", m,
             (unsigned long long)bits, want_any.multiplier, want_any.shift, want.multiplier, want.shift,
             got_any.multiplier, got_any.shift, got.multiplier, got.shift, got_inline.multiplier, got_inline.shift,
             took, direct.multiplier, direct.shift);
  }
}

/* A float for a scale: mostly the usual magnitudes, now and then any bit pattern (zero,
 * subnormal, huge, negative, non-finite). */
static float random_scale(void) {
  const uint64_t r = next_random();
  uint32_t bits;
  if (r % 8 == 0) bits = (uint32_t)(r >> 32);
  else bits = (uint32_t)((100 + (r >> 8) % 54) << 23 | ((r >> 16) & ((1u << 23) - 1))); /* 2^-27 .. 2^26 */
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* tr_channel_multipliers against the function it batches, channel by channel: every count
 * from 0 to 9 (the vector pairs and the tail), per-channel scales and one for all. */
static void check_channels(void) {
  float scales[9];
  tr_qmul got[9], want;
  for (int round = 0; round < 20000; round++) {
    float in = random_scale(), out = random_scale(), shared = random_scale();
    for (int32_t c = 0; c < 9; c++) scales[c] = random_scale();
    if (round < 2 * 90) {
      /* (1 + 2^-16)(1 - 2^-16) = 1 - 2^-32 rounds up to 2^31 (a carry into the shift), at
       * every shift from -45 to 44, so at both ends of the vector range and past them */
      in = ldexpf(1.0f + 0x1p-16f, round % 90 - 45), out = round < 90 ? 1.0f : 0x1p-1f;
      for (int32_t c = 0; c < 9; c++) scales[c] = c % 2 ? 1.0f - 0x1p-16f : ldexpf(1.0f - 0x1p-16f, -(int)c / 2);
    }
    for (int32_t count = 0; count <= 9; count++)
      for (int per_channel = 0; per_channel < 2; per_channel++) {
        memset(got, 0x5A, sizeof got);
        tr_channel_multipliers(in, per_channel ? scales : NULL, shared, out, count, got);
        for (int32_t c = 0; c < 9; c++) {
          checked++;
          if (c < count) want = tr_quantize_multiplier_inline(tr_conv_real_multiplier(in, per_channel ? scales[c] : shared, out));
          else memset(&want, 0x5A, sizeof want); /* nothing past count is written */
          if (memcmp(&want, &got[c], sizeof want) && failed++ < 20)
            printf("FAIL channels %a * %a / %a (count %d, channel %d): want %d,%d got %d,%d\n", (double)in,
                   (double)(per_channel ? scales[c] : shared), (double)out, count, c, want.multiplier, want.shift,
                   got[c].multiplier, got[c].shift);
        }
      }
  }
}

int main(int argc, char **argv) {
  const long random_per_exponent = argc > 1 ? atol(argv[1]) : 2000;
  const uint64_t low22 = (1ull << 22) - 1, mantissa = (1ull << 52) - 1;
  /* significands on and around the rounding point (bit 21 of the 52 stored bits), at the ends
   * of the range and where rounding carries into 2^31 */
  const uint64_t edges[] = {0, 1, (1ull << 21) - 1, 1ull << 21, (1ull << 21) + 1, low22, low22 + 1,
                            mantissa, mantissa - 1, mantissa & ~low22, (mantissa & ~low22) | (1ull << 21),
                            ((mantissa & ~low22) | (1ull << 21)) - 1, 1ull << 51, (1ull << 51) | (1ull << 21)};
  for (uint64_t sign = 0; sign < 2; sign++)
    for (uint64_t exponent = 0; exponent < 2048; exponent++) {
      const uint64_t top = sign << 63 | exponent << 52;
      for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) check(top | edges[i]);
      for (long r = 0; r < random_per_exponent; r++) {
        const uint64_t v = next_random() & mantissa;
        check(top | v);
        /* the same high bits with the low 22 on each side of one half */
        check(top | (v & ~low22) | (1ull << 21));
        check(top | ((v & ~low22) | (1ull << 21)) - 1);
      }
    }
  check_channels();
  printf("%ld values, %ld failed\n", checked, failed);
  if (failed) return 1;
  printf("ALL OK\n");
  return 0;
}
