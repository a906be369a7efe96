/* The native kernel harness: every micro-kernel against a plain reference on random shapes.
 *
 * Each family's test (test_<family>.c) draws random cases (odd channel counts, reduction
 * lengths, row and column tails, strides), computes the expected output in plain C from the
 * unpacked operands (quant.h's rounding for 8-bit: bit-exact; double for float, with a
 * tolerance that grows with the reduction length), packs the weights for each kernel's layout
 * with the family's packer, and runs:
 *   - the kernels the family's config picks at every ISA level compiled in and supported here
 *     (the cap walks down to scalar), so what dispatch chooses is what is tested;
 *   - the kernels listed by name (the aarch64 ones, which may not be wired into a config yet).
 * Operands sit right before an inaccessible page, so a read or write past their end faults,
 * and the bytes between output rows are checked to be untouched. */
#ifndef TFLITE_RT_TESTS_NATIVE_HARNESS_H
#define TFLITE_RT_TESTS_NATIVE_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "isa/cpu.h"

/* --- random numbers (deterministic from the seed) --- */
uint64_t h_rand(void);
int32_t h_int(int32_t lo, int32_t hi); /* uniform in [lo, hi] */
float h_float(float lo, float hi);
/* A size that favours the edges: small values, multiples of `tile` and one either side. */
size_t h_size(size_t lo, size_t hi, size_t tile);

/* --- memory: `bytes` ending right before a PROT_NONE page; freed by h_free_all() --- */
void *h_alloc(size_t bytes);
void h_free_all(void);

/* --- results --- */
typedef struct {
  const char *name; /* kernel */
  long passed, failed;
} h_counter;

/* Names the kernel under test (reported if it crashes). */
void h_begin(const char *name);
/* Records one case of kernel `name`; prints the first few failures with `what`. */
void h_result(const char *name, int ok, const char *what);
/* How many random cases per kernel (scaled by --cases / TR_NATIVE_CASES). */
int h_cases(int base);
/* Whether the kernels of `level` may run on this CPU. */
int h_level_ok(tr_isa level);

/* The levels to walk: compiled in and supported here, best first, ending with scalar. */
int h_levels(tr_isa *out, int max);

/* --- families --- */
void test_requant(void);
#ifdef TR_TEST_DWCONV
void test_dwconv(void);
#endif
#ifdef TR_TEST_GEMM
void test_gemm(void);
#endif
#ifdef TR_TEST_VBINARY
void test_vbinary(void);
#endif
#ifdef TR_TEST_POOL
void test_pool(void);
#endif
#ifdef TR_TEST_VUNARY
void test_vunary(void);
#endif
#ifdef TR_TEST_REDUCE
void test_reduce(void);
#endif

#endif
