/* Helpers shared by the nn kernels: per-channel requantization parameters and the input
 * quantization of hybrid (float activation, int8 weight) kernels. */
#ifndef TFLITE_RT_OPS_NN_COMMON_H
#define TFLITE_RT_OPS_NN_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/quant.h"
#include "runtime/node.h"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

/* Fully unrolls a short fixed-count loop so its accumulators stay in registers (and the
 * compiler's basic-block vectorizer can pack them); a no-op for other compilers. */
#define NN_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define NN_UNROLL(n) NN_PRAGMA(unroll n)
#elif defined(__GNUC__)
#define NN_UNROLL(n) NN_PRAGMA(GCC unroll n)
#else
#define NN_UNROLL(n)
#endif

/* Kernel variants chosen by the Python prepare (ip[0] of conv-like ops). */
enum { NN_F32 = 0, NN_I8 = 1, NN_U8 = 2, NN_I16 = 3, NN_HYBRID = 4 };

static inline float nn_channel_scale(const tr_tensor *t, int32_t c) {
  return (t->nquant > 1 && t->scales) ? t->scales[c] : t->scale;
}

static inline int32_t nn_channel_zero_point(const tr_tensor *t, int32_t c) {
  return (t->nquant > 1 && t->zero_points) ? (int32_t)t->zero_points[c] : t->zero_point;
}

/* One multiplier/shift per output channel, from the double product TFLite uses. */
static inline void nn_channel_multipliers(const tr_tensor *input, const tr_tensor *filter,
                                          const tr_tensor *output, int32_t channels, tr_qmul *out) {
  tr_channel_multipliers(input->scale, (filter->nquant > 1 && filter->scales) ? filter->scales : NULL, filter->scale,
                         output->scale, channels, out);
}

static inline void nn_minmax_f32(const float *x, int64_t n, float *lo, float *hi) {
  float mn = x[0], mx = x[0];
  for (int64_t i = 1; i < n; i++) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  *lo = mn;
  *hi = mx;
}

/* Symmetric int8 quantization of a float vector to [-127, 127] (SymmetricQuantizeFloats). */
static inline void nn_quantize_symmetric(const float *x, int64_t n, int8_t *q, float *scale) {
  if (n <= 0) {
    *scale = 1.0f;
    return;
  }
  float mn, mx;
  nn_minmax_f32(x, n, &mn, &mx);
  const float range = fabsf(mn) > fabsf(mx) ? fabsf(mn) : fabsf(mx);
  if (range == 0.0f) {
    memset(q, 0, (size_t)n);
    *scale = 1.0f;
    return;
  }
  *scale = range / 127.0f;
  const float inv = 127.0f / range;
  for (int64_t i = 0; i < n; i++) {
    int32_t v = (int32_t)tr_round_f32(x[i] * inv);
    q[i] = (int8_t)(v > 127 ? 127 : (v < -127 ? -127 : v));
  }
}

/* Asymmetric int8 quantization with a nudged zero point (AsymmetricQuantizeFloats); the
 * zero point plays the role of the input offset. */
static inline void nn_quantize_asymmetric(const float *x, int64_t n, int8_t *q, float *scale,
                                          int32_t *zero_point) {
  *scale = 1.0f;
  *zero_point = 0;
  if (n <= 0) return;
  float mn, mx;
  nn_minmax_f32(x, n, &mn, &mx);
  const double rmin = (double)(mn < 0.0f ? mn : 0.0f);
  const double rmax = (double)(mx > 0.0f ? mx : 0.0f);
  if (rmin == rmax) {
    memset(q, 0, (size_t)n);
    return;
  }
  const double qmin = -128.0, qmax = 127.0;
  const double s = (rmax - rmin) / (qmax - qmin);
  const double zp_from_min = qmin - rmin / s;
  const double zp_from_max = qmax - rmax / s;
  const double err_min = fabs(qmin) + fabs(rmin / s);
  const double err_max = fabs(qmax) + fabs(rmax / s);
  const double zp = err_min < err_max ? zp_from_min : zp_from_max;
  int32_t nudged;
  if (zp <= qmin) nudged = -128;
  else if (zp >= qmax) nudged = 127;
  else nudged = (int32_t)round(zp);
  *scale = (float)s;
  *zero_point = nudged;
  const float inv = (float)(1.0 / (double)*scale);
  for (int64_t i = 0; i < n; i++) {
    int32_t v = (int32_t)tr_round_f32((float)nudged + x[i] * inv);
    q[i] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
  }
}

static inline size_t nn_round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

/* Maps the pages of a large constant filter before it is packed. Read from a model file mapped
 * a moment ago, they are in the page cache but not yet in the page table: the packer would take
 * a page fault every few pages (and its prefetches of pages not mapped yet are dropped). One
 * MADV_POPULATE_READ (Linux 5.14) maps them all at once; elsewhere, or on error, nothing
 * changes. Pages around the filter in the same mapping may be mapped too, which is harmless. */
#define NN_PREFAULT_BYTES ((size_t)256 << 10)
static inline void nn_prefault(const void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_POPULATE_READ)
  if (bytes < NN_PREFAULT_BYTES) return;
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return;
  const uintptr_t start = (uintptr_t)p / (uintptr_t)page * (uintptr_t)page;
  (void)madvise((void *)start, (uintptr_t)p + bytes - start, MADV_POPULATE_READ);
#else
  (void)p, (void)bytes;
#endif
}

/* Tiling of a GEMM's (M x N) output for the micro-kernels of gemm.h: tiles of mr rows by
 * nc columns, nc a multiple of nr. nc grows while the tile's packed weights (col_bytes per
 * output column) stay within a budget that stays in L2 across the row tiles, and shrinks
 * until there are at least two tiles per thread (so threads share the work evenly). */
static inline void nn_gemm_tiles(int64_t M, int64_t N, int32_t mr, int32_t nr, size_t col_bytes, int32_t threads,
                                 int64_t *nc, int64_t *mtiles, int64_t *ntiles) {
  const size_t budget = 192 * 1024;
  const int64_t blocks = (N + nr - 1) / nr;
  *mtiles = (M + mr - 1) / mr;
  if (blocks <= 0 || *mtiles <= 0) {
    *nc = nr;
    *ntiles = 0;
    return;
  }
  int64_t per = (int64_t)(budget / (col_bytes * (size_t)nr + 1));
  if (per < 1) per = 1;
  if (per > blocks) per = blocks;
  while (per > 1 && *mtiles * ((blocks + per - 1) / per) < 2 * (int64_t)threads) per = (per + 1) / 2;
  *nc = per * nr;
  *ntiles = (blocks + per - 1) / per;
}

/* tr_parallel_for over GEMM tiles, claimed dynamically: each thread takes small batches of
 * consecutive tiles from a shared counter until none are left, so a worker that starts late
 * finds less to do instead of holding up the op with a fixed half. Which thread computes a
 * tile never changes its result. An op whose `macs` would take under ~10 us on one core (at
 * the micro-kernels' rates: int8 ~200 MAC/ns, float ~50) runs on the calling thread: handing
 * it to a worker costs about as much. */
typedef struct {
  tr_range_fn fn;
  void *ctx;
  int64_t n, batch, next;
} nn_tile_job;

static void nn_tile_claim(void *vjob, int64_t begin, int64_t end) {
  nn_tile_job *job = (nn_tile_job *)vjob;
  (void)begin, (void)end;
  for (;;) {
    const int64_t t = __atomic_fetch_add(&job->next, job->batch, __ATOMIC_RELAXED);
    if (t >= job->n) return;
    job->fn(job->ctx, t, t + job->batch < job->n ? t + job->batch : job->n);
  }
}

/* fn over [0, n) on the pool, in about `per_thread` batches per thread claimed as above. */
static inline void nn_parallel_claim(tr_node *node, int64_t n, tr_range_fn fn, void *ctx, int64_t per_thread) {
  const int32_t threads = tr_num_threads(node);
  if (n <= 0) return;
  if (threads <= 1 || n == 1) {
    fn(ctx, 0, n);
    return;
  }
  int64_t batch = n / ((int64_t)threads * per_thread);
  nn_tile_job job = {fn, ctx, n, batch < 1 ? 1 : batch, 0};
  tr_parallel_for(node, threads, nn_tile_claim, &job);
}

static inline void nn_parallel_tiles(tr_node *node, int64_t n, tr_range_fn fn, void *ctx, double macs,
                                     int int8) {
  if (macs / (int8 ? 200.0 : 50.0) < 10000.0) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  nn_parallel_claim(node, n, fn, ctx, 16);
}

#endif
