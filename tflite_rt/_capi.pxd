# The C API of csrc/include/tflite_rt/tflite_rt.h.
from libc.stdint cimport int32_t, int64_t

cdef extern from "tflite_rt/tflite_rt.h" nogil:
    ctypedef enum tr_status:
        TR_OK
        TR_ERROR
    ctypedef struct tr_plan:
        pass
    tr_plan *tr_plan_create(int32_t num_tensors, int32_t num_subgraphs, int32_t num_threads)
    void tr_plan_destroy(tr_plan *plan)
    const char *tr_plan_error(const tr_plan *plan)
    tr_status tr_plan_set_tensor(tr_plan *plan, int32_t id, int32_t type, int32_t ndim,
                                 const int32_t *dims, void *data, int64_t nbytes, float scale,
                                 int32_t zero_point, int32_t nquant, int32_t quant_axis,
                                 const float *scales, const int64_t *zero_points)
    tr_status tr_plan_set_subgraph(tr_plan *plan, int32_t subgraph, int32_t num_nodes,
                                   int32_t num_inputs, const int32_t *inputs,
                                   int32_t num_outputs, const int32_t *outputs)
    tr_status tr_plan_add_node(tr_plan *plan, int32_t subgraph, int32_t builtin_code,
                               int32_t num_inputs, const int32_t *inputs, int32_t num_outputs,
                               const int32_t *outputs, int32_t nip, const int32_t *ip,
                               int32_t nfp, const float *fp)
    tr_status tr_plan_invoke(tr_plan *plan, int32_t subgraph)
    void tr_plan_set_profiling(tr_plan *plan, int32_t enabled)
    int64_t tr_plan_node_time_ns(const tr_plan *plan, int32_t subgraph, int32_t node)
    int64_t tr_plan_node_count(const tr_plan *plan, int32_t subgraph, int32_t node)
    int32_t tr_builtin_supported(int32_t builtin_code)
    const char *tr_builtin_kernel_name(int32_t builtin_code)


cdef extern from "isa/cpu.h" nogil:
    ctypedef enum tr_isa:
        TR_ISA_SCALAR
    ctypedef struct tr_cpu_features:
        int32_t avx2, fma, avx512f, avx512bw, avx512dq, avx512vl, avx512vnni, avxvnni
        int32_t neon, dotprod, i8mm
    const tr_cpu_features *tr_cpu_features_get()
    tr_isa tr_isa_detected()
    tr_isa tr_isa_level()
    void tr_isa_set_cap(tr_isa cap)
    const char *tr_isa_name(tr_isa isa)
    int32_t tr_isa_compiled(tr_isa *out, int32_t max)
