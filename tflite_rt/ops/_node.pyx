# cython: boundscheck=False, wraparound=False
"""The planner's tensors and nodes, and its loops over every one of them, compiled.

Every op's prepare reads tensors and calls the node's checks many times (some 70 calls per
op), and the planner makes a TensorInfo per tensor and a Node per operator at every
allocate_tensors(): as extension types they are made and checked for less than the same
Python classes cost. The checks the compiled op families (nn, elementwise, reduce) call most
are cpdef, so those call them without a Python call; the other ops are Python (ops/*.py)."""
cimport cython
cimport numpy as cnp
from libc.stdint cimport int64_t

from tflite_rt._loadspecs cimport (EMPTY_VECTOR, INTEGER_HEAD, REAL_HEAD, TensorSpec, VectorHead,
                                   vector_head)

import math

import numpy as np

from .. import _schema

cnp.import_array()

TENSOR_TYPES = _schema.ENUMS["TensorType"][1]
TYPE_NAMES = {code: name for name, code in TENSOR_TYPES.items()}
MAX_RANK = 8  # TR_MAX_DIMS in csrc/runtime/node.h

# TensorType code -> numpy dtype (None: the runtime cannot hold values of that type)
NUMPY_TYPES = {
    TENSOR_TYPES["FLOAT32"]: np.dtype(np.float32),
    TENSOR_TYPES["FLOAT16"]: np.dtype(np.float16),
    TENSOR_TYPES["FLOAT64"]: np.dtype(np.float64),
    TENSOR_TYPES["INT8"]: np.dtype(np.int8),
    TENSOR_TYPES["UINT8"]: np.dtype(np.uint8),
    TENSOR_TYPES["INT16"]: np.dtype(np.int16),
    TENSOR_TYPES["UINT16"]: np.dtype(np.uint16),
    TENSOR_TYPES["INT32"]: np.dtype(np.int32),
    TENSOR_TYPES["UINT32"]: np.dtype(np.uint32),
    TENSOR_TYPES["INT64"]: np.dtype(np.int64),
    TENSOR_TYPES["UINT64"]: np.dtype(np.uint64),
    TENSOR_TYPES["BOOL"]: np.dtype(np.bool_),
    TENSOR_TYPES["COMPLEX64"]: np.dtype(np.complex64),
    TENSOR_TYPES["COMPLEX128"]: np.dtype(np.complex128),
    TENSOR_TYPES["STRING"]: np.dtype(np.object_),
    TENSOR_TYPES["RESOURCE"]: np.dtype(np.int32),
    TENSOR_TYPES["VARIANT"]: np.dtype(np.int32),
}

cdef object _STRING = TENSOR_TYPES["STRING"]
cdef dict _ITEMSIZE = {code: dtype.itemsize for code, dtype in NUMPY_TYPES.items()}
# bytes per element as set_output_shape bounds it: at least 1 (strings count 1 per element)
cdef dict _ITEMSIZE_AT_LEAST_1 = {code: max(dtype.itemsize, 1) for code, dtype in NUMPY_TYPES.items()}


class ModelError(ValueError):
    """The model is invalid or uses something this runtime does not support."""


def element_count(shape):
    """The number of elements of a shape, in Python ints (a numpy reduction costs more)."""
    return int(math.prod(shape))


# A TensorInfo refers to nothing that could refer back to it (arrays, tuples, names), so the
# cyclic collector need not track the hundreds a model has.
@cython.no_gc
cdef class TensorInfo:   # its fields: _node.pxd
    """A tensor as the planner sees it: its final shape, type, quantization and constant value.

    `quantized`, `scale` and `zero_point` are read many times per op and worked out once here:
    a tensor's quantization does not change after it is made."""

    def __init__(self, id=None, index=None, subgraph=None, name=None, type=None, shape=None,
                 shape_signature=None, scales=None, zero_points=None, quantized_dimension=None,
                 constant=None, is_variable=None, sparsity=None, buffer=None, folded=None):
        self.id = id
        self.index = index
        self.subgraph = subgraph
        self.name = name
        self.type = type
        self.shape = shape
        self.shape_signature = shape_signature
        self.scales = scales
        self.zero_points = zero_points
        self.quantized_dimension = quantized_dimension
        self.constant = constant
        self.is_variable = is_variable
        self.sparsity = sparsity
        self.buffer = buffer
        self.folded = folded
        _set_quantization(self, scales, zero_points)

    @property
    def const(self):
        """The constant's value (numpy array of the tensor's shape), or None."""
        return self.constant

    @const.setter
    def const(self, value):
        self.constant = value

    @property
    def dtype(self):
        return NUMPY_TYPES.get(self.type)

    @property
    def type_name(self):
        return TYPE_NAMES.get(self.type, str(self.type))

    @property
    def rank(self):
        return len(self.shape)

    @property
    def size(self):
        return element_count(self.shape)

    def __repr__(self):
        return "tensor %d %r (%s%s)" % (self.index, self.name, self.type_name, list(self.shape))


cdef int _set_quantization(TensorInfo info, scales, zero_points) except -1:
    """`quantized`, `scale` and `zero_point` from the first scale and zero point; the vectors the
    loader makes are read in C, where indexing an array would cost more than the rest of a
    TensorInfo."""
    cdef double real
    cdef int64_t integer
    cdef VectorHead head = vector_head(scales, &real, &integer)
    if head == REAL_HEAD:
        info.quantized, info.scale = True, real
    elif head != EMPTY_VECTOR and scales is not None and len(scales):
        info.quantized, info.scale = True, float(scales[0])
    else:
        info.quantized, info.scale = False, 0.0
    head = vector_head(zero_points, &real, &integer)
    if head == INTEGER_HEAD:
        info.zero_point = integer
    elif head != EMPTY_VECTOR and zero_points is not None and len(zero_points):
        info.zero_point = int(zero_points[0])
    else:
        info.zero_point = 0
    return 0


def tensor_infos(first_id, subgraph, list specs, list consts):
    """TensorInfos of a subgraph's tensor specs (model.TensorSpec), ids from first_id on, with
    their constants' values (None where there is none)."""
    cdef Py_ssize_t i, n = len(specs)
    cdef list out = [None] * n
    cdef TensorSpec spec
    cdef TensorInfo info
    if len(consts) != n:
        raise ValueError("%d constants for %d tensors" % (len(consts), n))
    for i in range(n):
        spec = <TensorSpec?>specs[i]
        info = TensorInfo.__new__(TensorInfo)
        info.id, info.index, info.subgraph = first_id + i, spec.index, subgraph
        info.name, info.type, info.shape = spec.name, spec.type, spec.shape
        info.shape_signature = spec.shape_signature or spec.shape
        info.scales, info.zero_points = spec.scales, spec.zero_points
        info.quantized_dimension, info.constant = spec.quantized_dimension, consts[i]
        info.is_variable, info.sparsity, info.buffer = spec.is_variable, spec.sparsity, spec.buffer
        info.folded = None
        _set_quantization(info, spec.scales, spec.zero_points)
        out[i] = info
    return out


def tensor_nbytes(tensors):
    """Bytes of each tensor's data, in order: elements times item size; for a string tensor its
    encoded bytes when it is a constant, else 0."""
    cdef TensorInfo t
    cdef Py_ssize_t i, n = len(tensors)
    cdef list out = [0] * n
    for i in range(n):
        t = <TensorInfo?>tensors[i]
        if t.type == _STRING:
            out[i] = len(t.constant) if t.constant is not None else 0
        else:
            count = 1
            for d in t.shape:
                count *= d
            out[i] = int(count) * _ITEMSIZE[t.type]
    return out


def lifetimes(nodes, tensors_of_sg, inputs, outputs):
    """{tensor id: (first step, last step)} of the arena tensors of a planned subgraph: its
    nodes in order, its TensorInfos by local index, the local indices of its inputs and outputs.

    Inputs and outputs live from before the first step (-1) to after the last (len(nodes))."""
    cdef TensorInfo t
    cdef Node node
    cdef Py_ssize_t step, num_nodes = len(nodes)
    cdef dict life = {}
    for ends in (inputs, outputs):
        for i in ends:
            t = <TensorInfo?>tensors_of_sg[i]
            if t.constant is None and not t.is_variable and t.subgraph >= 0:
                life[t.id] = (-1, num_nodes)
    # steps only grow, so a tensor's span starts where it is first met and ends where it is
    # last met
    for step in range(num_nodes):
        node = <Node?>nodes[step]
        for group in (node.inputs, node.outputs, node.intermediates):
            for member in group:
                if member is None:
                    continue
                t = <TensorInfo?>member
                if t.constant is not None or t.is_variable or t.subgraph < 0:
                    continue
                span = life.get(t.id)
                if span is None:
                    life[t.id] = (step, step)
                elif (<tuple>span)[1] < step:
                    life[t.id] = ((<tuple>span)[0], step)
    return life


def packed_filter_last_uses(subgraphs, packing_ops):
    """{tensor id: (subgraph index, node position, TensorInfo)} of the constant filters (input 1)
    of packing_ops that nothing else reads, at the last node that packs each; subgraphs are
    (index, nodes) pairs in the order their nodes are prepared."""
    cdef Node node
    cdef TensorInfo t
    cdef Py_ssize_t position, i
    cdef dict last_use = {}
    cdef set other_uses = set()
    for sg_index, nodes in subgraphs:
        for position in range(len(nodes)):
            node = <Node?>nodes[position]
            packs = node.name in packing_ops
            inputs = node.inputs
            for i in range(len(inputs)):
                member = inputs[i]
                if member is None:
                    continue
                t = <TensorInfo?>member
                if t.constant is None:
                    continue
                if packs and i == 1:
                    last_use[t.id] = (sg_index, position, t)
                else:
                    other_uses.add(t.id)
    for tid in other_uses:
        last_use.pop(tid, None)
    return last_use


cdef extern from "Python.h":
    void PyObject_GC_UnTrack(void *op)


def settle(nodes):
    """Ends planning for these nodes: each lets go of the planner, so that a dropped
    interpreter, and the model under it, is freed at once rather than by the cyclic collector.

    Nothing a planned node holds (options tables, lists of TensorInfos, ints and floats) can
    then refer back to it, so the node and its lists leave the collector's care: its passes
    would otherwise walk them all, at every load and for as long as the interpreter lives."""
    cdef Node node
    for member in nodes:
        node = <Node?>member
        node.planner = None
        for values in (node.inputs, node.outputs, node.ip, node.fp):
            if type(values) is list:
                PyObject_GC_UnTrack(<void *>values)
        PyObject_GC_UnTrack(<void *>node)


cdef object _NO_TYPE = object()
cdef long long _MAX_BYTES = 1 << 40   # the largest output set_output_shape lets through


cdef tuple _int_tuple(shape):
    """shape as a tuple of Python ints: itself when it already is one (the common case)."""
    if type(shape) is tuple:
        for d in <tuple>shape:
            if type(d) is not int:
                break
        else:
            return <tuple>shape
    return tuple([int(d) for d in shape])


cdef class Node:   # its fields: _node.pxd
    """One operator during planning."""

    def __init__(self, name, code, index, subgraph, inputs, outputs, options, planner,
                 intermediates=()):
        self.name = name
        self.code = code
        self.index = index
        self.subgraph = subgraph
        self.inputs = inputs            # list of TensorInfo, None for an absent optional input
        self.outputs = outputs          # list of TensorInfo
        self.intermediates = tuple(intermediates)
        self.options = options          # the decoded *Options table, or None
        self.planner = planner
        self.ip = []
        self.fp = []
        self.kernel = None              # set by prepare when it picks a kernel variant to report
        self.extra_inputs = ()          # tensors the planner adds for the kernel (e.g. variables)

    @staticmethod
    def of_operator(spec, tensors, subgraph, planner):
        """The node of an operator spec (model.OperatorSpec) of a subgraph whose TensorInfos,
        by local index, are `tensors` (index -1: an absent optional input)."""
        cdef Node node = Node.__new__(Node)
        cdef Py_ssize_t i, n
        indices = spec.inputs
        n = len(indices)
        inputs = [None] * n
        for i in range(n):
            index = indices[i]
            if index >= 0:
                inputs[i] = tensors[index]
        node.name = spec.op_name
        node.code = spec.code
        node.index = spec.index
        node.subgraph = subgraph
        node.inputs = inputs
        node.outputs = [tensors[index] for index in spec.outputs]
        node.intermediates = tuple([tensors[index] for index in spec.intermediates]) if spec.intermediates else ()
        node.options = spec.options
        node.planner = planner
        node.ip = []
        node.fp = []
        node.kernel = None
        node.extra_inputs = ()
        return node

    # -- reporting -------------------------------------------------------------------------
    def fail(self, msg, *args):
        raise ModelError("%s (subgraph %d, node %d): %s" % (
            self.name, self.subgraph, self.index, msg % args if args else msg))

    # -- options ---------------------------------------------------------------------------
    cpdef opt(self, name, default=None):
        value = getattr(self.options, name, None)   # options None has no such attribute either
        return default if value is None else value

    cpdef activation(self):
        act = int(self.opt("fused_activation_function", 0))
        if act not in (0, 1, 2, 3, 4, 5):
            self.fail("unknown fused activation %d", act)
        return act

    # -- inputs ----------------------------------------------------------------------------
    cpdef check_counts(self, min_inputs, max_inputs=None, outputs=1):
        max_inputs = min_inputs if max_inputs is None else max_inputs
        if not min_inputs <= len(self.inputs) <= max_inputs:
            want = str(min_inputs) if min_inputs == max_inputs else "%d to %d" % (min_inputs, max_inputs)
            self.fail("takes %s inputs, the model gives %d", want, len(self.inputs))
        allowed_outputs = (outputs,) if type(outputs) is int else tuple(outputs)
        if len(self.outputs) not in allowed_outputs:
            self.fail("has %d outputs, expected %s", len(self.outputs),
                      " or ".join([str(n) for n in allowed_outputs]))
        if None in self.inputs[:min_inputs]:
            self.fail("input %d is required but absent", self.inputs.index(None))

    cpdef input(self, i):
        if i >= len(self.inputs) or self.inputs[i] is None:
            self.fail("input %d is required but absent", i)
        return self.inputs[i]

    cpdef optional_input(self, i):
        return self.inputs[i] if i < len(self.inputs) else None

    def const(self, i):
        """The value of input i if it is a constant (numpy array with the tensor's shape)."""
        t = self.optional_input(i)
        return None if t is None else t.const

    def value(self, i):
        """Input i's value if known at plan time: a constant, or a small integer tensor the
        planner computed from constants and shapes (see _folding.py). Use it for shape
        inference only: at run time the tensor's memory holds the value, not before."""
        t = self.optional_input(i)
        if t is None:
            return None
        return t.const if t.const is not None else t.folded

    def need_const(self, i, what):
        value = self.const(i)
        if value is None:
            self.fail("%s (input %d) must be a constant tensor; data-dependent shapes are not supported",
                      what, i)
        return value

    cpdef check_type(self, t, allowed, what=None):
        if t.type == allowed:
            return
        allowed = (allowed,) if isinstance(allowed, int) else tuple(allowed)
        if t.type not in allowed:
            self.fail("%s has type %s; supported: %s", what or repr(t), t.type_name,
                      ", ".join([TYPE_NAMES.get(a, str(a)) for a in allowed]))

    def check_same_type(self, *tensors):
        first = _NO_TYPE
        for t in tensors:
            if t is None:
                continue
            if first is _NO_TYPE:
                first = t.type
            elif t.type != first:
                self.fail("operand types differ: %s", ", ".join(t.type_name for t in tensors if t is not None))

    cpdef check_rank(self, t, lo, hi=None, what=None):
        hi = lo if hi is None else hi
        if not lo <= t.rank <= hi:
            self.fail("%s must have rank %s, has %d", what or repr(t),
                      lo if lo == hi else "%d..%d" % (lo, hi), t.rank)

    cpdef axis(self, axis, rank, what="axis"):
        axis = int(axis)
        if not -rank <= axis < max(rank, 1):
            self.fail("%s %d is out of range for rank %d", what, axis, rank)
        return axis + rank if axis < 0 else axis

    # -- outputs ---------------------------------------------------------------------------
    cpdef set_output_shape(self, i, shape):
        cdef tuple dims = _int_tuple(shape)
        if len(dims) > MAX_RANK:
            self.fail("output %d would have rank %d; at most %d is supported", i, len(dims), MAX_RANK)
        # the element count, in the same pass as the checks; past _MAX_BYTES it only needs to
        # stay past it, so it saturates there rather than grow
        cdef long long count = 1, d
        for value in dims:
            if not 0 <= value < 1 << 31:
                self.fail("output %d would have dimension %d (must be in [0, 2**31))", i, value)
            d = value
            count = _MAX_BYTES + 1 if d and count > _MAX_BYTES // d else count * d
        out = self.outputs[i]
        itemsize = _ITEMSIZE_AT_LEAST_1.get(out.type)
        if itemsize is None:   # no numpy type: fails here as it always has
            itemsize = max(NUMPY_TYPES.get(out.type).itemsize, 1)
        if count * <long long>itemsize > _MAX_BYTES:
            self.fail("output %d of shape %s is too large", i, list(dims))
        out.shape = dims

    def plan_subgraph(self, index, input_shapes):
        """Plans subgraph `index` for these input shapes; returns its output TensorInfos."""
        return self.planner.plan_subgraph_for(self, index, input_shapes)


# -- helpers every prepare calls ------------------------------------------------------------
# (compiled beside the types they read: as Python functions their calls cost more than their work)

_PADDING = _schema.ENUMS["Padding"][1]
cdef object _SAME = _PADDING["SAME"]
cdef object _VALID = _PADDING["VALID"]


cpdef tuple broadcast_shape(node, a, b):
    """NumPy broadcasting of two shapes, failing through the node."""
    if type(a) is tuple and a == b:
        return a
    cdef Py_ssize_t rank = max(len(a), len(b)), i
    a = (1,) * (rank - len(a)) + tuple(a)
    b = (1,) * (rank - len(b)) + tuple(b)
    cdef list out = [None] * rank
    for i in range(rank):
        x, y = (<tuple>a)[i], (<tuple>b)[i]
        if x != y and x != 1 and y != 1:
            node.fail("shapes %s and %s cannot be broadcast", list(a), list(b))
        out[i] = y if x == 1 else x
    return tuple(out)


cpdef tuple same_padding(node, in_size, filter_size, stride, dilation, padding):
    """(output size, padding before) of one spatial dimension, as TFLite computes them."""
    if stride <= 0 or dilation <= 0:
        node.fail("stride and dilation must be positive (got %d, %d)", stride, dilation)
    effective = (filter_size - 1) * dilation + 1
    if in_size + stride + effective >= 1 << 31:  # keeps every index the kernel computes in int32
        node.fail("filter extent %d with stride %d is too large", effective, stride)
    if padding == _SAME:
        out = (in_size + stride - 1) // stride
        total = max((out - 1) * stride + effective - in_size, 0)
        return out, total // 2
    if padding == _VALID:
        out = (in_size - effective + stride) // stride
        return max(out, 0), 0
    node.fail("unknown padding %d", padding)


cpdef tuple scale_bounds(node, TensorInfo t):
    """(least, greatest) of a quantized tensor's scales, as numpy's reductions give them (so
    NaN when any scale is NaN): in C for the loader's float32 vectors, through numpy else."""
    cdef const float *scales
    cdef Py_ssize_t i
    cdef float least, greatest
    values = t.scales
    if len(values) == 1:
        return t.scale, t.scale
    if not _is_vector(values, cnp.NPY_FLOAT32):
        return np.minimum.reduce(values), np.maximum.reduce(values)
    scales = <const float *>cnp.PyArray_DATA(<cnp.ndarray>values)
    least = greatest = scales[0]
    for i in range(cnp.PyArray_DIMS(<cnp.ndarray>values)[0]):
        if scales[i] != scales[i]:   # NaN: it is both bounds, as numpy's reductions make it
            return <double>scales[i], <double>scales[i]
        least = min(least, scales[i])
        greatest = max(greatest, scales[i])
    return <double>least, <double>greatest


cpdef bint any_nonzero(values) except -1:
    """Whether any of a vector's values is not 0: in C for the loader's int64 vectors."""
    cdef const int64_t *v
    cdef Py_ssize_t i
    if not _is_vector(values, cnp.NPY_INT64):
        return bool(np.count_nonzero(values))
    v = <const int64_t *>cnp.PyArray_DATA(<cnp.ndarray>values)
    for i in range(cnp.PyArray_DIMS(<cnp.ndarray>values)[0]):
        if v[i]:
            return True
    return False


cdef inline bint _is_vector(values, int type_num):
    """Whether values is a contiguous 1-D numpy array of this type, in native byte order."""
    return (cnp.PyArray_Check(values) and cnp.PyArray_NDIM(<cnp.ndarray>values) == 1
            and cnp.PyArray_TYPE(<cnp.ndarray>values) == type_num
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>values)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>values))
