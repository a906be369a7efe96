/* tflite_rt's C core, as the Python layer sees it.
 *
 * A plan is everything allocate_tensors() decided: a tensor table whose shapes and data
 * pointers are final, and per subgraph a list of prepared nodes. tr_plan_invoke() walks the
 * nodes of one subgraph; it never allocates and never calls back into Python, so callers run
 * it without the GIL. A plan is not safe to invoke from two threads at once: callers serialise. */
#ifndef TFLITE_RT_H
#define TFLITE_RT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TR_OK = 0, TR_ERROR = 1 } tr_status;

typedef struct tr_plan tr_plan;

tr_plan *tr_plan_create(int32_t num_tensors, int32_t num_subgraphs, int32_t num_threads);
void tr_plan_destroy(tr_plan *plan);

/* The message of the last failure (empty when there was none). */
const char *tr_plan_error(const tr_plan *plan);

/* Describes tensor `id`. `data` stays owned by the caller and must outlive the plan. */
tr_status tr_plan_set_tensor(tr_plan *plan, int32_t id, int32_t type, int32_t ndim,
                             const int32_t *dims, void *data, int64_t nbytes, float scale,
                             int32_t zero_point, int32_t nquant, int32_t quant_axis,
                             const float *scales, const int64_t *zero_points);

/* Declares a subgraph's inputs and outputs and reserves room for its nodes. */
tr_status tr_plan_set_subgraph(tr_plan *plan, int32_t subgraph, int32_t num_nodes,
                               int32_t num_inputs, const int32_t *inputs, int32_t num_outputs,
                               const int32_t *outputs);

/* Appends a node to a subgraph and runs its op's prepare(). Input ids of -1 are absent
 * optional inputs. The parameter arrays are copied. */
tr_status tr_plan_add_node(tr_plan *plan, int32_t subgraph, int32_t builtin_code,
                           int32_t num_inputs, const int32_t *inputs, int32_t num_outputs,
                           const int32_t *outputs, int32_t nip, const int32_t *ip, int32_t nfp,
                           const float *fp);

tr_status tr_plan_invoke(tr_plan *plan, int32_t subgraph);

/* Per-node timing, measured inside the executor when enabled. */
void tr_plan_set_profiling(tr_plan *plan, int32_t enabled);
int64_t tr_plan_node_time_ns(const tr_plan *plan, int32_t subgraph, int32_t node);
int64_t tr_plan_node_count(const tr_plan *plan, int32_t subgraph, int32_t node);

/* Whether this build has a kernel for a builtin operator code. */
int32_t tr_builtin_supported(int32_t builtin_code);
const char *tr_builtin_kernel_name(int32_t builtin_code);

#ifdef __cplusplus
}
#endif
#endif
