"""Python side of the elementwise ops (see _base.py for the contract).

Arithmetic and comparisons with NumPy broadcasting, logical ops, unary math, activations, CAST,
SELECT and ADD_N. The C kernels live in csrc/ops/elementwise/; the ip/fp layout of each op is
written next to its prepare function here and at the top of its C file. Quantization
multipliers are derived in C from the tensors' scales, in float arithmetic exactly as TFLite
does, so Python only checks that the quantization is there and per-tensor.

Compiled, as nn.pyx is: models with swish or hard-swish activations have one or two of these
ops per convolution, and typed access to the node and its tensors halves their prepare. It
reads as the Python it is; the helpers are cdef functions and take typed nodes and tensors, and
the common checks (counts, types) are made inline, handing over to the node's own check, and so
its message, only when they fail.
"""
from ._base import BOOL, F16, F32, I8, I16, I32, I64, U8, TENSOR_TYPES, TYPE_NAMES, op

from ._node cimport Node, TensorInfo, broadcast_shape

F64 = TENSOR_TYPES["FLOAT64"]
U16 = TENSOR_TYPES["UINT16"]
U32 = TENSOR_TYPES["UINT32"]

QUANT8 = (I8, U8)


cdef _operands(Node node, Py_ssize_t count):
    """node.inputs, which node.check_counts(count) has passed: `count` inputs, all present,
    and one output."""
    cdef Py_ssize_t i
    inputs = node.inputs
    if len(inputs) != count or len(node.outputs) != 1:
        node.check_counts(count)
    for i in range(count):
        if inputs[i] is None:
            node.check_counts(count)
    return inputs


cdef _per_tensor(Node node, TensorInfo t, what, bint symmetric=False):
    """t must carry one positive scale (and zero point 0 when symmetric)."""
    if not t.quantized or len(t.scales) != 1:
        node.fail("%s must be quantized per tensor (one scale and zero point)", what)
    if not t.scale > 0:
        node.fail("%s has scale %g; it must be positive", what, t.scale)
    if symmetric and t.zero_point != 0:
        node.fail("%s must have zero point 0 (int16 is symmetric), has %d", what, t.zero_point)


cdef _check_output_type(Node node, want):
    cdef TensorInfo out = node.outputs[0]
    if out.type != want:
        node.fail("output has type %s; this op produces %s", out.type_name, TYPE_NAMES.get(want, want))


# -- binary arithmetic ---------------------------------------------------------------------------

_BINARY_TYPES = {
    "ADD": (F32, I32, I64, I8, U8, I16),
    "SUB": (F32, I32, I64, I8, U8, I16),
    "MUL": (F32, I32, I64, I8, U8, I16),
    "DIV": (F32, I32, I8, U8, I16),
    "POW": (F32, I32),
    "MAXIMUM": (F32, I8, U8, I16, I32, I64),
    "MINIMUM": (F32, I8, U8, I16, I32, I64),
    "SQUARED_DIFFERENCE": (F32, I32, I8),
    "FLOOR_DIV": (F32, I8, I16, I32),
    "FLOOR_MOD": (F32, I8, I16, I32, I64),
}
# Ops whose int8 / uint8 / int16 form rescales (needs quantization); int16 only when quantized
# for ADD and MUL, which also have a plain int16 form.
_RESCALING = {"ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE"}


cdef _binary_common(Node node):
    cdef TensorInfo a, b
    inputs = _operands(node, 2)
    a, b = inputs[0], inputs[1]
    types = _BINARY_TYPES[node.name]
    if a.type not in types:
        node.check_type(a, types, "input 0")
    if a.type != b.type:
        node.check_same_type(a, b)
    _check_output_type(node, a.type)
    node.set_output_shape(0, broadcast_shape(node, a.shape, b.shape))
    return a, b, node.outputs[0]


cdef int _sigmoid_operand(Node node, TensorInfo a, TensorInfo b) except -1:
    """For 8-bit MUL: 1 when input 1 is LOGISTIC(input 0), 2 when input 0 is LOGISTIC(input 1),
    else 0. x * sigmoid(x) (swish) is then a function of x alone: one table lookup per element."""
    if a.type not in QUANT8 or a.shape != b.shape:
        return 0
    planner = node.planner
    subgraphs = getattr(planner, "subgraphs", None)
    if not subgraphs or not 0 <= node.subgraph < len(subgraphs):
        return 0
    # the LOGISTIC nodes planned so far in this subgraph, by output (see note_logistic)
    sigmoid_inputs = subgraphs[node.subgraph].sigmoid_inputs
    if sigmoid_inputs.get(b.id) is a:
        return 1
    if sigmoid_inputs.get(a.id) is b:
        return 2
    return 0


def note_logistic(sigmoid_inputs, Node node not None):
    """Records a planned LOGISTIC node, {output id: input}, for _sigmoid_operand."""
    cdef TensorInfo x, y
    if len(node.outputs) != 1 or not node.inputs:
        return
    x, y = node.inputs[0], node.outputs[0]
    if x is None or x.constant is not None or y.constant is not None:
        return
    sigmoid_inputs.setdefault(y.id, x)


@op("ADD", "SUB", "MUL", "DIV", "POW", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "FLOOR_DIV",
    "FLOOR_MOD")
def prepare_binary(Node node not None):
    """ip: ADD / SUB [activation, pot_scale_int16]; MUL [activation, sigmoid_operand];
    DIV [activation]; others []."""
    cdef TensorInfo a, b, out
    a, b, out = _binary_common(node)
    name = node.name
    if name in _RESCALING and a.type in (I8, U8, I16):
        plain16 = a.type == I16 and name in ("ADD", "MUL") and not out.quantized
        if not plain16:
            symmetric = a.type == I16 and name != "DIV"
            _per_tensor(node, a, "input 0", symmetric)
            _per_tensor(node, b, "input 1", symmetric)
            _per_tensor(node, out, "output", symmetric)
    if name in ("ADD", "SUB"):
        node.ip = [node.activation(), 1 if node.opt("pot_scale_int16", True) else 0]
    elif name == "MUL":
        node.ip = [node.activation(), _sigmoid_operand(node, a, b)]
    elif name == "DIV":
        node.ip = [node.activation()]
    else:
        node.ip = []


# -- comparisons and logical ops -------------------------------------------------------------------

_COMPARE_TYPES = (F32, I16, I32, I64, U8, I8)


@op("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL")
def prepare_compare(Node node not None):
    """ip: []. int8 / uint8 (and quantized int16) operands are rescaled in C."""
    cdef TensorInfo a, b
    inputs = _operands(node, 2)
    a, b = inputs[0], inputs[1]
    allowed = _COMPARE_TYPES + ((BOOL,) if node.name in ("EQUAL", "NOT_EQUAL") else ())
    if a.type not in allowed:
        node.check_type(a, allowed, "input 0")
    if a.type != b.type:
        node.check_same_type(a, b)
    if a.type in QUANT8 or (a.type == I16 and a.quantized):
        _per_tensor(node, a, "input 0")
        _per_tensor(node, b, "input 1")
    _check_output_type(node, BOOL)
    node.set_output_shape(0, broadcast_shape(node, a.shape, b.shape))


@op("LOGICAL_AND", "LOGICAL_OR")
def prepare_logical(Node node not None):
    """ip: []"""
    cdef TensorInfo a, b
    inputs = _operands(node, 2)
    a, b = inputs[0], inputs[1]
    if a.type != BOOL:
        node.check_type(a, BOOL, "input 0")
    if b.type != BOOL:
        node.check_type(b, BOOL, "input 1")
    _check_output_type(node, BOOL)
    node.set_output_shape(0, broadcast_shape(node, a.shape, b.shape))


# -- unary math and activations -------------------------------------------------------------------

# op -> (types, quantized types needing per-tensor quantization)
_UNARY = {
    "ABS": ((F32, I8, I16, I32), (I8,)),
    "NEG": ((F32, I8, I16, I32, I64), ()),
    "SIN": ((F32,), ()),
    "COS": ((F32,), ()),
    "EXP": ((F32, I8), (I8,)),
    "LOG": ((F32, I8), (I8,)),
    "SQRT": ((F32, I8), (I8,)),
    "RSQRT": ((F32, I8), (I8,)),
    "SQUARE": ((F32,), ()),
    "FLOOR": ((F32,), ()),
    "CEIL": ((F32,), ()),
    "ROUND": ((F32,), ()),
    "SIGN": ((F32, F64, I32), ()),
    "LOGICAL_NOT": ((BOOL,), ()),
    "RELU": ((F32, I8, U8, I16), (I8, U8, I16)),
    "RELU6": ((F32, I8, U8, I16), (I8, U8, I16)),
    "RELU_N1_TO_1": ((F32, I8, U8), (I8, U8)),
    "RELU_0_TO_1": ((F32, I8, U8), (I8, U8)),
    "LOGISTIC": ((F32, I8, U8), (I8, U8)),
    "TANH": ((F32, I8, U8), (I8, U8)),
    "ELU": ((F32, I8), (I8,)),
    "HARD_SWISH": ((F32, I8, U8), (I8, U8)),
    "LEAKY_RELU": ((F32, I8, U8, I16), (I8, U8, I16)),
    "GELU": ((F32, I8, U8), (I8, U8)),
}


@op(*_UNARY)
def prepare_unary(Node node not None):
    """ip: GELU [approximate]; others []. fp: LEAKY_RELU [alpha]; others []."""
    cdef TensorInfo x, out
    x = _operands(node, 1)[0]
    out = node.outputs[0]
    types, quantized = _UNARY[node.name]
    if x.type not in types:
        node.check_type(x, types, "input")
    _check_output_type(node, x.type)
    if x.type in quantized:
        symmetric = x.type == I16
        _per_tensor(node, x, "input", symmetric)
        _per_tensor(node, out, "output", symmetric)
    if node.name == "LOGISTIC" and x.type in QUANT8:
        if abs(out.scale - 1.0 / 256) > 0:
            node.fail("quantized LOGISTIC needs output scale 1/256, has %g", out.scale)
    node.set_output_shape(0, x.shape)
    if node.name == "GELU":
        node.ip = [1 if node.opt("approximate", False) else 0]
    elif node.name == "LEAKY_RELU":
        node.fp = [float(node.opt("alpha", 0.0))]


@op("PRELU")
def prepare_prelu(Node node not None):
    """ip: []. alpha broadcasts against the input; the output has the input's shape."""
    cdef TensorInfo x, alpha
    inputs = _operands(node, 2)
    x, alpha = inputs[0], inputs[1]
    node.check_type(x, (F32, I8, U8), "input")
    node.check_same_type(x, alpha)
    _check_output_type(node, x.type)
    if x.type in QUANT8:
        _per_tensor(node, x, "input")
        _per_tensor(node, alpha, "alpha")
        _per_tensor(node, node.outputs[0], "output")
    shape = broadcast_shape(node, x.shape, alpha.shape)
    if tuple(shape) != tuple(x.shape):
        node.fail("alpha of shape %s would change the input shape %s", list(alpha.shape), list(x.shape))
    node.set_output_shape(0, shape)


# -- CAST, ZEROS_LIKE, SELECT, ADD_N ----------------------------------------------------------------

_CAST_TYPES = (F32, F16, F64, I8, U8, I16, U16, I32, U32, I64, BOOL)


@op("CAST")
def prepare_cast(Node node not None):
    """ip: []"""
    cdef TensorInfo x, out
    x, out = _operands(node, 1)[0], node.outputs[0]
    node.check_type(x, _CAST_TYPES, "input")
    node.check_type(out, _CAST_TYPES, "output")
    node.set_output_shape(0, x.shape)


@op("ZEROS_LIKE")
def prepare_zeros_like(Node node not None):
    """ip: []"""
    cdef TensorInfo x = _operands(node, 1)[0]
    node.check_type(x, (F32, I32, I64), "input")
    _check_output_type(node, x.type)
    node.set_output_shape(0, x.shape)


@op("SELECT", "SELECT_V2")
def prepare_select(Node node not None):
    """ip: SELECT [row_select]; SELECT_V2 []."""
    cdef TensorInfo cond, x, y, out
    inputs = _operands(node, 3)
    cond, x, y = inputs[0], inputs[1], inputs[2]
    out = node.outputs[0]
    node.check_type(cond, BOOL, "condition")
    node.check_type(x, (F32, I8, U8, I16, I32, I64, BOOL), "input 1")
    node.check_same_type(x, y)
    _check_output_type(node, x.type)
    if x.type in QUANT8 and x.quantized and y.quantized and out.quantized:
        if (x.scale, x.zero_point) != (y.scale, y.zero_point) or \
                (x.scale, x.zero_point) != (out.scale, out.zero_point):
            node.fail("quantized inputs and output must share one scale and zero point")
    if node.name == "SELECT_V2":
        shape = broadcast_shape(node, broadcast_shape(node, cond.shape, x.shape), y.shape)
        node.set_output_shape(0, shape)
        return
    row_select = 0
    if tuple(x.shape) != tuple(y.shape):
        node.fail("SELECT needs inputs of one shape, got %s and %s", list(x.shape), list(y.shape))
    same = tuple(cond.shape) == tuple(x.shape)
    scalar_like = cond.size == 1 and x.size == 1 and len(cond.shape) <= len(x.shape)
    if not same and not scalar_like and len(cond.shape) != 0:
        if len(cond.shape) == 1 and len(x.shape) >= 1 and cond.shape[0] == x.shape[0]:
            row_select = 1 if len(x.shape) > 1 else 0
        else:
            node.fail("condition of shape %s does not fit inputs of shape %s", list(cond.shape),
                      list(x.shape))
    node.set_output_shape(0, x.shape)
    node.ip = [row_select]


@op("ADD_N")
def prepare_add_n(Node node not None):
    """ip: []. Every input has the output's shape."""
    if len(node.inputs) < 1:
        node.fail("needs at least one input")
    node.check_counts(len(node.inputs))
    cdef TensorInfo first = node.input(0), t
    node.check_type(first, (F32, I32, I64), "input 0")
    for i, t in enumerate(node.inputs):
        node.check_same_type(first, t)
        if tuple(t.shape) != tuple(first.shape):
            node.fail("input %d has shape %s, input 0 has %s", i, list(t.shape), list(first.shape))
    _check_output_type(node, first.type)
    node.set_output_shape(0, first.shape)
