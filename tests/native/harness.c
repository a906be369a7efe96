/* The native kernel harness: main, random numbers, guarded memory, result counting.
 * usage: harness [--seed N] [--cases X] [--only FAMILY]   (X scales the case counts; default 1) */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static double case_scale = 1.0;

uint64_t h_rand(void) { /* splitmix64 */
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int32_t h_int(int32_t lo, int32_t hi) {
  return (int32_t)((int64_t)lo + (int64_t)(h_rand() % (uint64_t)((int64_t)hi - lo + 1)));
}

float h_float(float lo, float hi) { return lo + (hi - lo) * (float)((h_rand() >> 40) * (1.0 / 16777216.0)); }

size_t h_size(size_t lo, size_t hi, size_t tile) {
  size_t v;
  switch (h_rand() % 4) {
    case 0: v = lo + h_rand() % (hi - lo + 1); break;
    case 1: v = lo + h_rand() % (hi - lo < 8 ? hi - lo + 1 : 8); break;
    default: { /* a multiple of the tile, or one either side */
      const size_t m = tile * (1 + h_rand() % 4);
      v = m + (size_t)(h_rand() % 3) - 1;
    }
  }
  return v < lo ? lo : (v > hi ? hi : v);
}

/* --- guarded memory --- */
typedef struct {
  void *base;
  size_t len;
} mapping;
static mapping maps[4096];
static int nmaps;

void *h_alloc(size_t bytes) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  const size_t body = (bytes + page - 1) / page * page;
  char *base = mmap(NULL, body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED || nmaps == (int)(sizeof(maps) / sizeof(maps[0]))) {
    fprintf(stderr, "harness: out of memory\n");
    exit(2);
  }
  mprotect(base + body, page, PROT_NONE);
  maps[nmaps++] = (mapping){base, body + page};
  char *p = base + body - bytes;
  memset(p, 0xA5, bytes);
  return p;
}

void h_free_all(void) {
  for (int i = 0; i < nmaps; i++) munmap(maps[i].base, maps[i].len);
  nmaps = 0;
}

/* --- crashes: name the kernel (a fault past a guarded buffer lands here) --- */
static const char *current = "harness";

void h_begin(const char *name) { current = name; }

static void on_fault(int sig) {
  char msg[256];
  const int n = snprintf(msg, sizeof msg, "CRASH: signal %d in %s\n", sig, current);
  fflush(stdout);
  if (n > 0) (void)!write(2, msg, (size_t)n);
  _exit(3);
}

/* --- results --- */
static h_counter counters[512];
static int ncounters;
static long total_passed, total_failed;

void h_result(const char *name, int ok, const char *what) {
  h_counter *c = NULL;
  for (int i = 0; i < ncounters; i++)
    if (strcmp(counters[i].name, name) == 0) c = &counters[i];
  if (!c && ncounters < (int)(sizeof(counters) / sizeof(counters[0]))) {
    c = &counters[ncounters++];
    c->name = name;
  }
  if (ok) {
    total_passed++;
    if (c) c->passed++;
  } else {
    total_failed++;
    if (c && c->failed++ < 3) printf("FAIL %s: %s\n", name, what ? what : "");
  }
}

int h_cases(int base) {
  const int n = (int)(base * case_scale);
  return n < 1 ? 1 : n;
}

int h_level_ok(tr_isa level) {
  const tr_isa detected = tr_isa_detected();
  if (level == TR_ISA_SCALAR) return 1;
  /* levels of the other architecture never run */
  if ((level < TR_ISA_NEON) != (detected < TR_ISA_NEON)) return 0;
  return level <= detected;
}

int h_levels(tr_isa *out, int max) {
  tr_isa all[16];
  const int n = tr_isa_compiled(all, 16);
  int k = 0;
  for (int i = 0; i < n && k < max; i++)
    if (h_level_ok(all[i])) out[k++] = all[i];
  return k;
}

int main(int argc, char **argv) {
  const char *only = NULL;
  const char *env = getenv("TR_NATIVE_CASES");
  if (env) case_scale = atof(env);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc) state = strtoull(argv[++i], NULL, 0);
    else if (!strcmp(argv[i], "--cases") && i + 1 < argc) case_scale = atof(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--seed N] [--cases X] [--only FAMILY]\n", argv[0]);
      return 2;
    }
  }
  signal(SIGSEGV, on_fault);
  signal(SIGBUS, on_fault);
  signal(SIGILL, on_fault);
  signal(SIGFPE, on_fault);
  setvbuf(stdout, NULL, _IOLBF, 0);
  const tr_cpu_features *f = tr_cpu_features_get();
  printf("cpu: detected %s (neon %d, dotprod %d, i8mm %d; avx2 %d, avx512f %d, vnni %d)\n",
         tr_isa_name(tr_isa_detected()), f->neon, f->dotprod, f->i8mm, f->avx2, f->avx512f, f->avx512vnni);
  tr_isa levels[16];
  const int nl = h_levels(levels, 16);
  printf("levels tested:");
  for (int i = 0; i < nl; i++) printf(" %s", tr_isa_name(levels[i]));
  printf("\n");

#define RUN(fam, fn) \
  if (!only || !strcmp(only, fam)) fn();
  RUN("requant", test_requant)
#ifdef TR_TEST_DWCONV
  RUN("dwconv", test_dwconv)
#endif
#ifdef TR_TEST_GEMM
  RUN("gemm", test_gemm)
#endif
#ifdef TR_TEST_VBINARY
  RUN("vbinary", test_vbinary)
#endif
#ifdef TR_TEST_POOL
  RUN("pool", test_pool)
#endif
#ifdef TR_TEST_VUNARY
  RUN("vunary", test_vunary)
#endif
#ifdef TR_TEST_REDUCE
  RUN("reduce", test_reduce)
#endif
#undef RUN

  for (int i = 0; i < ncounters; i++)
    printf("%-4s %-40s %6ld cases\n", counters[i].failed ? "FAIL" : "ok", counters[i].name,
           counters[i].passed + counters[i].failed);
  printf("%ld passed, %ld failed\n", total_passed, total_failed);
  return total_failed ? 1 : 0;
}
