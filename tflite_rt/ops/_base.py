"""The Python half of every op: checks, shape inference and kernel parameters.

Each op registers a function `prepare(node)` under its builtin name. It runs once per
`allocate_tensors()`, before anything reaches C. It must

* check the node (input/output counts, dtypes, ranks, option values) and raise through
  `node.fail(...)` for anything wrong, so a bad model is a clear `ValueError`, never a crash;
* set every output's shape with `node.set_output_shape(i, shape)`;
* put what the C kernel needs into `node.ip` (ints) and `node.fp` (floats). The order is the
  op's own contract with its C file, documented at the top of that file.

The C kernel then trusts these: Python is the only gatekeeper between a model and C memory.
"""
import math

import numpy as np

from .. import _schema

_REGISTRY = {}

BUILTIN_CODES = _schema.ENUMS["BuiltinOperator"][1]
BUILTIN_NAMES = {code: name for name, code in BUILTIN_CODES.items()}
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

# bytes per element as set_output_shape bounds it: at least 1 (strings count 1 per element)
_ITEMSIZE_AT_LEAST_1 = {code: max(dtype.itemsize, 1) for code, dtype in NUMPY_TYPES.items()}

F32, F16, I32, I64, I8, U8, I16, BOOL, STRING = (TENSOR_TYPES[n] for n in (
    "FLOAT32", "FLOAT16", "INT32", "INT64", "INT8", "UINT8", "INT16", "BOOL", "STRING"))

_BYTE_TYPES = (I8, U8)

ACTIVATIONS = _schema.ENUMS["ActivationFunctionType"][1]
PADDING = _schema.ENUMS["Padding"][1]
_SAME, _VALID = PADDING["SAME"], PADDING["VALID"]


def element_count(shape):
    """The number of elements of a shape, in Python ints (a numpy reduction costs more)."""
    return int(math.prod(shape))


def scale_bounds(node, t):
    """(least, greatest) of a quantized tensor's scales, as numpy's reductions give them (so
    NaN when any scale is NaN). Those of per-channel quantizations are worked out for the whole
    model at once, the first time one is asked for: a handful of numpy calls instead of a few
    per op."""
    if len(t.scales) == 1:
        return t.scale, t.scale
    planner = node.planner
    table = getattr(planner, "scale_bounds", None)
    if table is None and planner is not None and hasattr(planner, "tensors"):
        table = planner.scale_bounds = _per_channel_scale_bounds(planner.tensors)
    bounds = table.get(t.id) if table else None
    if bounds is None:
        bounds = (np.minimum.reduce(t.scales), np.maximum.reduce(t.scales))
    return bounds


def _per_channel_scale_bounds(tensors):
    """{tensor id: (least, greatest scale)} of the 8-bit tensors with more than one scale: the
    filters whose checks ask for them (int32 biases, whose scales follow from the filters',
    are left to scale_bounds' own reductions)."""
    many = [t for t in tensors if t.type in _BYTE_TYPES and t.quantized and len(t.scales) > 1]
    if not many:
        return {}
    starts = np.cumsum([0] + [len(t.scales) for t in many[:-1]])
    values = np.concatenate([t.scales for t in many])
    lows = np.minimum.reduceat(values, starts).tolist()
    highs = np.maximum.reduceat(values, starts).tolist()
    return {t.id: bounds for t, bounds in zip(many, zip(lows, highs))}


class ModelError(ValueError):
    """The model is invalid or uses something this runtime does not support."""


def op(*names):
    """Registers `prepare` for one or more builtin op names."""
    def register(prepare):
        for name in names:
            if name not in BUILTIN_CODES:
                raise KeyError("unknown builtin op %r" % name)
            _REGISTRY[name] = prepare
        return prepare
    return register


def registered(name):
    return _REGISTRY.get(name)


def registered_names():
    return sorted(_REGISTRY)


class TensorInfo:
    """A tensor as the planner sees it: its final shape, type, quantization and constant value.

    `quantized`, `scale` and `zero_point` are read many times per op and worked out once here:
    a tensor's quantization does not change after it is made."""

    __slots__ = ("id", "index", "subgraph", "name", "type", "shape", "shape_signature",
                 "scales", "zero_points", "quantized_dimension", "const", "is_variable",
                 "sparsity", "buffer", "folded", "quantized", "scale", "zero_point")

    def __init__(self, id=None, index=None, subgraph=None, name=None, type=None, shape=None,
                 shape_signature=None, scales=None, zero_points=None, quantized_dimension=None,
                 const=None, is_variable=None, sparsity=None, buffer=None, folded=None):
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
        self.const = const
        self.is_variable = is_variable
        self.sparsity = sparsity
        self.buffer = buffer
        self.folded = folded
        if scales is not None and len(scales):
            self.quantized = True
            self.scale = float(scales[0])
        else:
            self.quantized = False
            self.scale = 0.0
        self.zero_point = int(zero_points[0]) if zero_points is not None and len(zero_points) else 0

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


_NO_TYPE = object()


class Node:
    """One operator during planning."""

    __slots__ = ("name", "code", "index", "subgraph", "inputs", "outputs", "intermediates",
                 "options", "planner", "ip", "fp", "kernel", "extra_inputs")

    def __init__(self, name, code, index, subgraph, inputs, outputs, options, planner,
                 intermediates=()):
        self.name = name
        self.code = code
        self.index = index
        self.subgraph = subgraph
        self.inputs = inputs            # list of TensorInfo, None for an absent optional input
        self.outputs = outputs          # list of TensorInfo
        self.intermediates = list(intermediates)
        self.options = options          # the decoded *Options table, or None
        self.planner = planner
        self.ip = []
        self.fp = []
        self.kernel = None              # set by prepare when it picks a kernel variant to report
        self.extra_inputs = []          # tensors the planner adds for the kernel (e.g. variables)

    # -- reporting -------------------------------------------------------------------------
    def fail(self, msg, *args):
        raise ModelError("%s (subgraph %d, node %d): %s" % (
            self.name, self.subgraph, self.index, msg % args if args else msg))

    # -- options ---------------------------------------------------------------------------
    def opt(self, name, default=None):
        value = getattr(self.options, name, None)   # options None has no such attribute either
        return default if value is None else value

    def activation(self):
        act = int(self.opt("fused_activation_function", 0))
        if act not in (0, 1, 2, 3, 4, 5):
            self.fail("unknown fused activation %d", act)
        return act

    # -- inputs ----------------------------------------------------------------------------
    def check_counts(self, min_inputs, max_inputs=None, outputs=1):
        max_inputs = min_inputs if max_inputs is None else max_inputs
        if not min_inputs <= len(self.inputs) <= max_inputs:
            want = str(min_inputs) if min_inputs == max_inputs else "%d to %d" % (min_inputs, max_inputs)
            self.fail("takes %s inputs, the model gives %d", want, len(self.inputs))
        allowed_outputs = (outputs,) if type(outputs) is int else tuple(outputs)
        if len(self.outputs) not in allowed_outputs:
            self.fail("has %d outputs, expected %s", len(self.outputs),
                      " or ".join(str(n) for n in allowed_outputs))
        if None in self.inputs[:min_inputs]:
            self.fail("input %d is required but absent", self.inputs.index(None))

    def input(self, i):
        if i >= len(self.inputs) or self.inputs[i] is None:
            self.fail("input %d is required but absent", i)
        return self.inputs[i]

    def optional_input(self, i):
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

    def check_type(self, t, allowed, what=None):
        if t.type == allowed:
            return
        allowed = (allowed,) if isinstance(allowed, int) else tuple(allowed)
        if t.type not in allowed:
            self.fail("%s has type %s; supported: %s", what or repr(t), t.type_name,
                      ", ".join(TYPE_NAMES.get(a, str(a)) for a in allowed))

    def check_same_type(self, *tensors):
        first = _NO_TYPE
        for t in tensors:
            if t is None:
                continue
            if first is _NO_TYPE:
                first = t.type
            elif t.type != first:
                self.fail("operand types differ: %s", ", ".join(t.type_name for t in tensors if t is not None))

    def check_rank(self, t, lo, hi=None, what=None):
        hi = lo if hi is None else hi
        if not lo <= t.rank <= hi:
            self.fail("%s must have rank %s, has %d", what or repr(t),
                      lo if lo == hi else "%d..%d" % (lo, hi), t.rank)

    def axis(self, axis, rank, what="axis"):
        axis = int(axis)
        if not -rank <= axis < max(rank, 1):
            self.fail("%s %d is out of range for rank %d", what, axis, rank)
        return axis + rank if axis < 0 else axis

    # -- outputs ---------------------------------------------------------------------------
    def set_output_shape(self, i, shape):
        shape = tuple(map(int, shape))
        if len(shape) > MAX_RANK:
            self.fail("output %d would have rank %d; at most %d is supported", i, len(shape), MAX_RANK)
        count = 1   # math.prod(shape), in the same pass as the checks
        for d in shape:
            if not 0 <= d < 1 << 31:
                self.fail("output %d would have dimension %d (must be in [0, 2**31))", i, d)
            count *= d
        out = self.outputs[i]
        itemsize = _ITEMSIZE_AT_LEAST_1.get(out.type)
        if itemsize is None:   # no numpy type: fails here as it always has
            itemsize = max(NUMPY_TYPES.get(out.type).itemsize, 1)
        if count * itemsize > 2 ** 40:
            self.fail("output %d of shape %s is too large", i, list(shape))
        out.shape = shape

    def plan_subgraph(self, index, input_shapes):
        """Plans subgraph `index` for these input shapes; returns its output TensorInfos."""
        return self.planner.plan_subgraph_for(self, index, input_shapes)


def broadcast_shape(node, a, b):
    """NumPy broadcasting of two shapes, failing through the node."""
    if a == b and type(a) is tuple:
        return a
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + tuple(a)
    b = (1,) * (rank - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            node.fail("shapes %s and %s cannot be broadcast", list(a), list(b))
        out.append(y if x == 1 else x)
    return tuple(out)


def same_padding(node, in_size, filter_size, stride, dilation, padding):
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
