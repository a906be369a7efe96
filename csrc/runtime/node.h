/* The contract between the executor and the ops.
 *
 * Python has already checked the model and propagated shapes when a node reaches C: every
 * tensor's type, dims and data pointer are final, and each op gets a short list of integer
 * (ip) and float (fp) parameters that its Python twin in tflite_rt/ops/ computed. An op's
 * prepare() runs once per allocate_tensors() and may allocate (packed weights, scratch,
 * multipliers); eval() runs on every invoke and must not allocate, log or block. */
#ifndef TFLITE_RT_NODE_H
#define TFLITE_RT_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "tflite_rt/tflite_rt.h"

#define TR_MAX_DIMS 8

/* Values equal TFLite's TensorType enum, so the model's codes pass through unchanged. */
typedef enum {
  TR_FLOAT32 = 0,
  TR_FLOAT16 = 1,
  TR_INT32 = 2,
  TR_UINT8 = 3,
  TR_INT64 = 4,
  TR_STRING = 5,
  TR_BOOL = 6,
  TR_INT16 = 7,
  TR_COMPLEX64 = 8,
  TR_INT8 = 9,
  TR_FLOAT64 = 10,
  TR_COMPLEX128 = 11,
  TR_UINT64 = 12,
  TR_RESOURCE = 13,
  TR_VARIANT = 14,
  TR_UINT32 = 15,
  TR_UINT16 = 16,
  TR_INT4 = 17,
} tr_type;

typedef struct tr_tensor {
  void *data;
  int64_t nbytes;
  int32_t type; /* tr_type */
  int32_t ndim;
  int32_t dims[TR_MAX_DIMS];
  /* Quantization. Per-tensor models use scale/zero_point; per-channel ones also carry the
   * arrays (nquant entries along quant_axis). scale == 0 means "not quantized". */
  float scale;
  int32_t zero_point;
  int32_t nquant;
  int32_t quant_axis;
  const float *scales;
  const int64_t *zero_points;
} tr_tensor;

struct tr_node;
struct tr_plan;

typedef struct tr_op {
  const char *name;
  tr_status (*prepare)(struct tr_node *node); /* may be NULL */
  tr_status (*eval)(struct tr_node *node);
  void (*release)(struct tr_node *node); /* frees node->state; may be NULL (then free()) */
} tr_op;

typedef struct tr_node {
  const tr_op *op;
  int32_t builtin_code;
  int32_t index; /* position in its subgraph, for messages */
  int32_t subgraph;
  int32_t ninputs, noutputs;
  tr_tensor **inputs; /* an absent optional input is NULL */
  tr_tensor **outputs;
  int32_t nip, nfp;
  int32_t *ip;
  float *fp;
  void *state; /* owned by the op, from prepare() */
  struct tr_plan *plan;
} tr_node;

/* Records an error for the current node and returns TR_ERROR, so kernels can write
 * `return tr_fail(node, "...", ...)`. */
tr_status tr_fail(tr_node *node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Memory for what prepare builds once and every invoke reads (packed weights, indirection
 * buffers): 64-byte aligned, owned by the plan and released with it (the op must not free it).
 * NULL when out of memory. */
void *tr_node_alloc_packed(tr_node *node, size_t bytes);

/* The nearest earlier node of the same subgraph that writes t (already prepared: nodes are
 * prepared in order), or NULL. Lets an op reuse what its producer's prepare worked out. */
const tr_node *tr_node_producer(const tr_node *node, const tr_tensor *t);
/* Runs one subgraph of the node's plan (for WHILE / IF / CALL_ONCE). */
tr_status tr_run_subgraph(tr_node *node, int32_t subgraph);
/* The tensors of a subgraph's signature, for control-flow ops to copy into and out of. */
int32_t tr_subgraph_num_inputs(tr_node *node, int32_t subgraph);
int32_t tr_subgraph_num_outputs(tr_node *node, int32_t subgraph);
tr_tensor *tr_subgraph_input(tr_node *node, int32_t subgraph, int32_t i);
tr_tensor *tr_subgraph_output(tr_node *node, int32_t subgraph, int32_t i);

/* Parallel loop over [0, n): fn(ctx, begin, end) on the plan's thread pool, in at most
 * num_threads contiguous chunks. Serial when the plan has one thread. */
typedef void (*tr_range_fn)(void *ctx, int64_t begin, int64_t end);
void tr_parallel_for(tr_node *node, int64_t n, tr_range_fn fn, void *ctx);
int32_t tr_num_threads(const tr_node *node);

/* Small helpers every op uses. */
static inline int64_t tr_num_elements(const tr_tensor *t) {
  int64_t n = 1;
  for (int32_t i = 0; i < t->ndim; i++) n *= t->dims[i];
  return n;
}

static inline int32_t tr_dim(const tr_tensor *t, int32_t i) {
  return i < 0 ? t->dims[t->ndim + i] : t->dims[i];
}

size_t tr_type_size(int32_t type);

/* Fused activations as the model encodes them (ActivationFunctionType). */
enum { TR_ACT_NONE = 0, TR_ACT_RELU = 1, TR_ACT_RELU_N1_TO_1 = 2, TR_ACT_RELU6 = 3, TR_ACT_TANH = 4,
       TR_ACT_SIGN_BIT = 5 };

/* The [lo, hi] clamp of a fused activation on float outputs (TANH is applied separately). */
static inline void tr_activation_range_f32(int32_t act, float *lo, float *hi) {
  *lo = -__builtin_inff();
  *hi = __builtin_inff();
  if (act == TR_ACT_RELU) *lo = 0.0f;
  else if (act == TR_ACT_RELU6) { *lo = 0.0f; *hi = 6.0f; }
  else if (act == TR_ACT_RELU_N1_TO_1) { *lo = -1.0f; *hi = 1.0f; }
}

static inline float tr_clamp_f32(float x, float lo, float hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

#endif
