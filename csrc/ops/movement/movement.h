/* Shared pieces of the data-movement ops: they move elements of 1, 2, 4 or 8 bytes without
 * looking at their values, so each kernel is written once per element size, not per dtype. */
#ifndef TFLITE_RT_OPS_MOVEMENT_H
#define TFLITE_RT_OPS_MOVEMENT_H

#include <stdint.h>
#include <string.h>

#include "runtime/node.h"

/* TILE views an output of rank r as 2r dims, so views may have twice TR_MAX_DIMS dims. */
#define TR_MOVE_MAX_VIEW_DIMS (2 * TR_MAX_DIMS)

/* Below this many bytes an op is not worth splitting over threads. */
#define TR_MOVE_PARALLEL_BYTES (1 << 16)

/* Copies n elements of es bytes read every `stride` elements of src into contiguous dst. */
static inline void tr_move_gather_run(char *dst, const char *src, int64_t n, int64_t stride, size_t es) {
  if (stride == 1) {
    memcpy(dst, src, (size_t)n * es);
    return;
  }
  switch (es) {
    case 1: {
      const uint8_t *s = (const uint8_t *)src;
      uint8_t *d = (uint8_t *)dst;
      for (int64_t i = 0; i < n; i++) d[i] = s[i * stride];
      break;
    }
    case 2: {
      const uint16_t *s = (const uint16_t *)src;
      uint16_t *d = (uint16_t *)dst;
      for (int64_t i = 0; i < n; i++) d[i] = s[i * stride];
      break;
    }
    case 4: {
      const uint32_t *s = (const uint32_t *)src;
      uint32_t *d = (uint32_t *)dst;
      for (int64_t i = 0; i < n; i++) d[i] = s[i * stride];
      break;
    }
    default: {
      const uint64_t *s = (const uint64_t *)src;
      uint64_t *d = (uint64_t *)dst;
      for (int64_t i = 0; i < n; i++) d[i] = s[i * stride];
      break;
    }
  }
}

/* Writes n copies of the es-byte element `value` to dst. */
static inline void tr_move_fill(char *dst, const void *value, int64_t n, size_t es) {
  switch (es) {
    case 1: memset(dst, *(const uint8_t *)value, (size_t)n); break;
    case 2: {
      uint16_t v;
      memcpy(&v, value, 2);
      for (int64_t i = 0; i < n; i++) memcpy(dst + i * 2, &v, 2);
      break;
    }
    case 4: {
      uint32_t v;
      memcpy(&v, value, 4);
      for (int64_t i = 0; i < n; i++) memcpy(dst + i * 4, &v, 4);
      break;
    }
    default: {
      uint64_t v;
      memcpy(&v, value, 8);
      for (int64_t i = 0; i < n; i++) memcpy(dst + i * 8, &v, 8);
      break;
    }
  }
}

/* Reads an integer index of type int16/int32/int64 (TR_* code) at position i. */
static inline int64_t tr_move_index(const void *data, int32_t type, int64_t i) {
  if (type == TR_INT64) return ((const int64_t *)data)[i];
  if (type == TR_INT16) return ((const int16_t *)data)[i];
  return ((const int32_t *)data)[i];
}

/* A scalar pad/fill value given by Python as two int32 words (low word first). */
static inline void tr_move_value_from_ip(const int32_t *ip, void *value8) {
  uint64_t v = (uint64_t)(uint32_t)ip[0] | ((uint64_t)(uint32_t)ip[1] << 32);
  memcpy(value8, &v, 8); /* little-endian: the first es bytes are the element */
}

#endif
