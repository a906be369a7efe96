/* Weight packing for the GEMM micro-kernels: the layouts are described in gemm.h. Runs once per
 * prepare (or per invoke for weights that are not constant). Packing streams every weight from
 * the model to freshly mapped memory, so it runs at memory speed once the per-element work is
 * small: one read of each source row, sums included. */
#include <string.h>

#include "kernels/gemm/gemm.h"

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

size_t tr_gemm_packed_size_f32(size_t n, size_t ks, size_t kc, size_t nr) {
  return round_up(n, nr) * (1 + ks * kc) * sizeof(float);
}

void tr_gemm_pack_f32(size_t n, size_t ks, size_t kc, size_t nr, const float *src, size_t sn, size_t st,
                      size_t sk, const float *bias, void *packed) {
  float *out = (float *)packed;
  for (size_t n0 = 0; n0 < n; n0 += nr) {
    const size_t cols = n - n0 < nr ? n - n0 : nr;
    for (size_t j = 0; j < nr; j++) *out++ = (j < cols && bias) ? bias[n0 + j] : 0.0f;
    for (size_t t = 0; t < ks; t++)
      for (size_t k = 0; k < kc; k++) {
        const float *row = src + n0 * sn + t * st + k * sk;
        if (sn == 1) { /* columns contiguous (a [K, N] matrix): a row copy */
          memcpy(out, row, cols * sizeof(float));
        } else {
          for (size_t j = 0; j < cols; j++) out[j] = row[j * sn];
        }
        for (size_t j = cols; j < nr; j++) out[j] = 0.0f;
        out += nr;
      }
  }
}

static size_t qs8_tail_bytes(size_t nr, tr_gemm_qs8_requant rq) {
  return rq == TR_GEMM_REQUANT_DOUBLE ? nr * sizeof(double) : 4 * nr * sizeof(int32_t);
}

static size_t qs8_block_bytes(size_t ks, size_t kc, size_t nr, size_t kr, tr_gemm_qs8_requant rq) {
  return nr * sizeof(int32_t) + ks * round_up(kc, kr) * nr + qs8_tail_bytes(nr, rq);
}

size_t tr_gemm_packed_size_qs8(size_t n, size_t ks, size_t kc, size_t nr, size_t kr, tr_gemm_qs8_requant rq) {
  return (round_up(n, nr) / nr) * qs8_block_bytes(ks, kc, nr, kr, rq);
}

/* The sum (wrapping, like the accumulators it joins) and the sum of magnitudes of a weight row.
 * Fixed-count inner loops over 32-bit lanes let the compiler vectorise the contiguous case;
 * the lanes are folded every 2^16 values, far below where a magnitude lane could overflow. */
static void qs8_row_sums(const int8_t *row, size_t kc, size_t sk, uint32_t *sum, uint64_t *magnitude) {
  size_t k = 0;
  if (sk == 1)
    while (k + 16 <= kc) {
      int32_t s[16] = {0}, m[16] = {0};
      const size_t end = kc - k > 65536 ? k + 65536 : kc;
      for (; k + 16 <= end; k += 16)
        for (size_t i = 0; i < 16; i++) {
          const int32_t v = row[k + i];
          s[i] += v;
          m[i] += v < 0 ? -v : v;
        }
      for (size_t i = 0; i < 16; i++) *sum += (uint32_t)s[i], *magnitude += (uint64_t)m[i];
    }
  for (; k < kc; k++) {
    const int32_t v = row[k * sk];
    *sum += (uint32_t)v;
    *magnitude += (uint64_t)(v < 0 ? -v : v);
  }
}

/* kr weights of one column from k0 on, zero past kc: whole groups are plain copies when the
 * column is contiguous along k. */
static inline void qs8_copy_group(int8_t *w, const int8_t *col, size_t k0, size_t kc, size_t kr, size_t sk) {
  if (sk == 1 && k0 + kr <= kc) {
    if (kr == 8) memcpy(w, col + k0, 8);
    else if (kr == 4) memcpy(w, col + k0, 4);
    else memcpy(w, col + k0, kr);
    return;
  }
  for (size_t i = 0; i < kr; i++) w[i] = k0 + i < kc ? col[(k0 + i) * sk] : 0;
}

int tr_gemm_pack_qs8(size_t n, size_t ks, size_t kc, size_t nr, size_t kr, tr_gemm_qs8_requant rq,
                     const int8_t *src, size_t sn, size_t st, size_t sk, const int32_t *bias, int32_t a_zero,
                     const tr_gemm_qmul *qmul, const double *scale, void *packed) {
  const size_t kcp = round_up(kc, kr);
  uint8_t *out = (uint8_t *)packed;
  int bounded = 1;
  for (size_t n0 = 0; n0 < n; n0 += nr) {
    const size_t cols = n - n0 < nr ? n - n0 : nr;
    int8_t *w = (int8_t *)(out + nr * sizeof(int32_t));
    /* column by column, so each source row is read once, in order (its sums while it is in
     * L1); the block being written stays in cache */
    const size_t group_stride = nr * kr, tap_stride = kcp / kr * group_stride;
    if (cols < nr) memset(w, 0, ks * tap_stride);
    for (size_t j = 0; j < cols; j++) {
      uint32_t sum = 0;
      uint64_t magnitude = 0;
      for (size_t t = 0; t < ks; t++) {
        const int8_t *row = src + (n0 + j) * sn + t * st;
        qs8_row_sums(row, kc, sk, &sum, &magnitude);
        int8_t *dst = w + t * tap_stride + j * kr;
        size_t k0 = 0;
        if (sk == 1) { /* whole groups of the usual sizes: fixed-size copies, no tests */
          const size_t whole = kc / kr * kr;
          if (kr == 4)
            for (; k0 < whole; k0 += 4, dst += group_stride) memcpy(dst, row + k0, 4);
          else if (kr == 8)
            for (; k0 < whole; k0 += 8, dst += group_stride) memcpy(dst, row + k0, 8);
        }
        for (; k0 < kcp; k0 += kr, dst += group_stride) qs8_copy_group(dst, row, k0, kc, kr, sk);
      }
      /* the bias slot holds bias - a_zero * sum (wrapping 32-bit arithmetic, like the
       * accumulators it joins) */
      const int32_t bv = bias ? bias[n0 + j] : 0;
      const uint32_t folded = (uint32_t)bv - (uint32_t)a_zero * sum;
      memcpy(out + j * sizeof(int32_t), &folded, sizeof(folded));
      if ((uint64_t)(bv < 0 ? -(int64_t)bv : bv) + 255u * magnitude >= (1ull << 30)) bounded = 0;
    }
    for (size_t j = cols; j < nr; j++) memset(out + j * sizeof(int32_t), 0, sizeof(int32_t));
    uint8_t *tail = (uint8_t *)(w + ks * kcp * nr);
    if (rq == TR_GEMM_REQUANT_DOUBLE) {
      for (size_t j = 0; j < nr; j++) {
        const double v = n0 + j < n ? scale[n0 + j] : 0.0;
        memcpy(tail + j * sizeof(double), &v, sizeof(double));
      }
    } else {
      int32_t *mult = (int32_t *)tail, *left = mult + nr, *right = left + nr, *mask = right + nr;
      for (size_t j = 0; j < nr; j++) {
        const tr_gemm_qmul q = n0 + j < n ? qmul[n0 + j] : (tr_gemm_qmul){0, 0};
        mult[j] = q.multiplier;
        left[j] = q.shift > 0 ? q.shift : 0;
        right[j] = q.shift > 0 ? 0 : -q.shift;
        mask[j] = (int32_t)((1ll << right[j]) - 1);
      }
    }
    out += qs8_block_bytes(ks, kc, nr, kr, rq);
  }
  return bounded;
}
