/* Shared machinery of the elementwise family: NumPy broadcasting over up to TR_MAX_DIMS
 * dimensions for ops with up to three inputs, and the generic node state that unary and
 * binary ops keep.
 *
 * A broadcast is planned once, in prepare: dimensions of size 1 in the output are dropped,
 * and neighbouring dimensions are merged while every input walks them the same way (all
 * contiguous, or all repeated). What is left is an outer odometer over "runs" and one inner
 * run in which each input advances by 1 or by 0 elements. Equal shapes collapse to a single
 * run with steps (1, 1) and a scalar operand to a run with step 0, so both fast paths come
 * from the same code, and a row function only ever sees contiguous or repeated operands. */
#ifndef TFLITE_RT_ELEMENTWISE_BROADCAST_H
#define TFLITE_RT_ELEMENTWISE_BROADCAST_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/node.h"

#define TR_BC_MAX_IN 3

typedef struct {
  int32_t nin;
  int32_t ndim;                                /* outer dimensions, outermost first */
  int64_t dims[TR_MAX_DIMS];
  int64_t strides[TR_BC_MAX_IN][TR_MAX_DIMS];  /* in elements; 0 where the input repeats */
  int64_t inner;                               /* length of the innermost run */
  int64_t inner_step[TR_BC_MAX_IN];            /* 1 or 0 */
  int64_t runs;                                /* number of inner runs */
} tr_bcast;

/* out[0..n) = f(in[k][i * step[k]]) for each input k. */
typedef void (*tr_row_fn)(void *out, const void *const *in, const int64_t *step, int64_t n,
                          const void *params);

void tr_bcast_init(tr_bcast *bc, const tr_tensor *out, const tr_tensor *const *ins, int nin);
void tr_bcast_eval(tr_node *node, const tr_bcast *bc, void *out, size_t out_size,
                   const void *const *ins, const size_t *in_sizes, tr_row_fn fn, const void *params);

/* Everything the quantized and float kernels of this family need, computed once in prepare. */
typedef struct {
  float flo, fhi;       /* float activation clamp */
  int64_t ilo, ihi;     /* integer / quantized activation clamp */
  int32_t in1_offset, in2_offset, out_offset;
  int32_t in1_mul, in1_shift, in2_mul, in2_shift;
  int32_t out_mul, out_shift, left_shift;
  int32_t mul2, shift2; /* a second output multiplier (PRELU, LEAKY_RELU) */
  float fparam;         /* a float parameter (LEAKY_RELU alpha, int8 SQRT scales) */
  float fparam2;
  const int32_t *t1, *t2; /* per-byte tables of 8-bit inputs' rescaled values, or NULL */
  const void *kernels;    /* a table of micro-kernels (csrc/kernels/v*) chosen in prepare, or NULL */
} tr_qparams;

typedef void (*tr_unary_fn)(void *out, const void *in, int64_t n, const void *state);

typedef struct {
  tr_bcast bc;
  tr_row_fn row;        /* binary / ternary ops */
  tr_unary_fn unary;    /* unary ops */
  size_t in_size[TR_BC_MAX_IN], out_size;
  tr_qparams q;
  uint8_t lut[256];     /* 8-bit lookup table, indexed by the input's raw byte */
  void (*lut8)(size_t n, const uint8_t *x, uint8_t *y, const uint8_t *table); /* its SIMD lookup */
  int32_t tab[2][256];  /* what q.t1 / q.t2 point to */
  int32_t unary_input;  /* which input the unary ops read (a binary op may reduce to one) */
} tr_elem_state;

/* prepare helpers: allocate node->state and plan the broadcast of inputs [0, nin). */
tr_status tr_elem_setup_nary(tr_node *node, int nin, tr_row_fn row, const tr_qparams *q);
tr_status tr_elem_setup_unary(tr_node *node, tr_unary_fn fn, const tr_qparams *q);
/* eval helpers for states made by the setup functions above. */
tr_status tr_elem_eval_nary(tr_node *node);
tr_status tr_elem_eval_unary(tr_node *node);
/* tr_parallel_for for elementwise work, in batches claimed dynamically (broadcast.c). */
void tr_elem_parallel_for(tr_node *node, int64_t n, tr_range_fn fn, void *ctx);
/* Unary op through the state's 8-bit table. */
void tr_elem_lut8(void *out, const void *in, int64_t n, const void *state);

/* TFLite's (CalculateActivationRange) clamp for integer outputs of non-quantized ops. */
void tr_elem_int_activation(int32_t act, int32_t type, int64_t *lo, int64_t *hi);


/* Defines a binary row function `name` computing O[i] = EXPR from `a`, `b` (of type TA) and the
 * tr_qparams `p`, for contiguous or repeated operands. */
#define TR_BINARY_ROW(name, TA, TO, EXPR)                                                     \
  static void name(void *out_, const void *const *in_, const int64_t *st, int64_t n,         \
                   const void *p_) {                                                          \
    const TA *A = (const TA *)in_[0], *B = (const TA *)in_[1];                                \
    TO *restrict O = (TO *)out_;                                                              \
    /* a local copy: 8-bit stores may alias the parameters and would force reloads */          \
    const tr_qparams pc = *(const tr_qparams *)p_;                                            \
    const tr_qparams *p = &pc;                                                                \
    (void)p;                                                                                  \
    if (st[0] == 1 && st[1] == 1) {                                                           \
      for (int64_t i = 0; i < n; i++) {                                                       \
        const TA a = A[i], b = B[i];                                                          \
        O[i] = (EXPR);                                                                        \
      }                                                                                       \
    } else if (st[1] == 0) {                                                                  \
      const TA b = B[0];                                                                      \
      for (int64_t i = 0; i < n; i++) {                                                       \
        const TA a = A[i * st[0]];                                                            \
        O[i] = (EXPR);                                                                        \
      }                                                                                       \
    } else {                                                                                  \
      const TA a = A[0];                                                                      \
      for (int64_t i = 0; i < n; i++) {                                                       \
        const TA b = B[i];                                                                    \
        O[i] = (EXPR);                                                                        \
      }                                                                                       \
    }                                                                                         \
  }

/* Defines a unary function `name` computing O[i] = EXPR from `x` (of type TI) and the
 * tr_qparams `p`. */
#define TR_UNARY_FN(name, TI, TO, EXPR)                                                       \
  static void name(void *out_, const void *in_, int64_t n, const void *s_) {                  \
    const TI *X = (const TI *)in_;                                                            \
    TO *restrict O = (TO *)out_;                                                              \
    const tr_qparams pc = ((const tr_elem_state *)s_)->q;                                     \
    const tr_qparams *p = &pc;                                                                \
    (void)p;                                                                                  \
    for (int64_t i = 0; i < n; i++) {                                                         \
      const TI x = X[i];                                                                      \
      O[i] = (EXPR);                                                                          \
    }                                                                                         \
  }

static inline int64_t tr_elem_clamp64(int64_t x, int64_t lo, int64_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

#endif
