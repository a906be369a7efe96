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
