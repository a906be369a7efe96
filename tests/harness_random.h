/* The xorshift generator the C test harnesses draw their random cases from: fixed seed, so a
 * failure repeats. */
#ifndef TFLITE_RT_TESTS_HARNESS_RANDOM_H
#define TFLITE_RT_TESTS_HARNESS_RANDOM_H

#include <stdint.h>

static uint64_t rng_state = 88172645463325252ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)rng_state;
}

static int32_t rnd_in(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1)); }

#endif
