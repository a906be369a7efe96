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
import numpy as np

from .. import _schema
# The planner's tensors and nodes are compiled (see _node.pyx); ops import them from here.
from ._node import (MAX_RANK, NUMPY_TYPES, TENSOR_TYPES, TYPE_NAMES, ModelError, Node,  # noqa: F401
                    TensorInfo, element_count)

_REGISTRY = {}

BUILTIN_CODES = _schema.ENUMS["BuiltinOperator"][1]
BUILTIN_NAMES = {code: name for name, code in BUILTIN_CODES.items()}

F32, F16, I32, I64, I8, U8, I16, BOOL, STRING = (TENSOR_TYPES[n] for n in (
    "FLOAT32", "FLOAT16", "INT32", "INT64", "INT8", "UINT8", "INT16", "BOOL", "STRING"))

_BYTE_TYPES = (I8, U8)

ACTIVATIONS = _schema.ENUMS["ActivationFunctionType"][1]
PADDING = _schema.ENUMS["Padding"][1]
_SAME, _VALID = PADDING["SAME"], PADDING["VALID"]


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
