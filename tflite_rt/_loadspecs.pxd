# The spec of a tensor and a reader of numpy vectors, for the planner's compiled loops to use
# directly.
from libc.stdint cimport int64_t


cdef class TensorSpec:
    cdef public object index, name, type, shape, shape_signature, buffer, data, scales, zero_points
    cdef public object quantized_dimension, is_variable, sparsity, has_rank


cdef enum VectorHead:
    NOT_A_VECTOR = 0   # not a 1-D numpy vector of a type below, in native byte order
    EMPTY_VECTOR = 1
    REAL_HEAD = 2      # float32 or float64: its first element in *real
    INTEGER_HEAD = 3   # int32 or int64: its first element in *integer

cdef VectorHead vector_head(object values, double *real, int64_t *integer) noexcept
