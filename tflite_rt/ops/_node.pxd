# The fields of the planner's compiled types, for compiled ops to read directly.
cdef class TensorInfo:
    cdef public object id, index, subgraph, name, type, shape, shape_signature, scales
    cdef public object zero_points, quantized_dimension, is_variable, sparsity, buffer
    cdef public object folded, quantized, scale, zero_point
    # `const` (a property): the word is Cython's own, so neither attribute nor argument
    cdef object constant


cdef class Node:
    cdef public object name, code, index, subgraph, inputs, outputs, intermediates, options
    cdef public object planner, ip, fp, kernel, extra_inputs
    # the checks compiled ops call most, callable from them without a Python call
    cpdef opt(self, name, default=*)
    cpdef activation(self)
    cpdef check_counts(self, min_inputs, max_inputs=*, outputs=*)
    cpdef input(self, i)
    cpdef optional_input(self, i)
    cpdef check_type(self, t, allowed, what=*)
    cpdef check_rank(self, t, lo, hi=*, what=*)
    cpdef axis(self, axis, rank, what=*)
    cpdef set_output_shape(self, i, shape)


cpdef tuple broadcast_shape(node, a, b)
cpdef tuple same_padding(node, in_size, filter_size, stride, dilation, padding)
cpdef tuple scale_bounds(node, TensorInfo t)
cpdef bint any_nonzero(values) except -1
