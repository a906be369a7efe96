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
from .. import _schema
# The planner's tensors and nodes are compiled (see _node.pyx); ops import them from here.
# So are the shape and quantization helpers every prepare calls.
from ._node import (MAX_RANK, NUMPY_TYPES, TENSOR_TYPES, TYPE_NAMES, ModelError, Node,  # noqa: F401
                    TensorInfo, broadcast_shape, element_count, same_padding, scale_bounds)

_REGISTRY = {}

BUILTIN_CODES = _schema.ENUMS["BuiltinOperator"][1]
BUILTIN_NAMES = {code: name for name, code in BUILTIN_CODES.items()}

F32, F16, I32, I64, I8, U8, I16, BOOL, STRING = (TENSOR_TYPES[n] for n in (
    "FLOAT32", "FLOAT16", "INT32", "INT64", "INT8", "UINT8", "INT16", "BOOL", "STRING"))

ACTIVATIONS = _schema.ENUMS["ActivationFunctionType"][1]
PADDING = _schema.ENUMS["Padding"][1]


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
