"""Python side of the reduce ops (see _base.py for the contract).

Reductions, arg-min/max, softmax and normalisations, cumulative sum, top-k and resizing. The
ip/fp layout of each op is documented next to its prepare function and at the top of its C file
in csrc/ops/reduce/.

Compiled, as nn.pyx is: image models average their last feature map and every
squeeze-and-excite block (MEAN), classifiers end in SOFTMAX, and typed access to the node and
its tensors halves their prepare. It reads as the Python it is; the helpers take typed nodes and
tensors.
"""
import numpy as np

from ._base import BOOL, F32, I8, I16, I32, I64, U8, element_count, op

from ._node cimport Node, TensorInfo

QUANT8 = (I8, U8)

# -- MEAN, SUM, REDUCE_* --------------------------------------------------------------------

_REDUCE_KIND = {"SUM": 0, "REDUCE_PROD": 1, "REDUCE_MAX": 2, "REDUCE_MIN": 3, "REDUCE_ANY": 4,
                "REDUCE_ALL": 5, "MEAN": 6}
_REDUCE_TYPES = {
    "MEAN": (F32, I32, I64, I8, U8, I16),
    "SUM": (F32, I32, I64, I8, U8, I16),
    "REDUCE_PROD": (F32, I32, I64, I8, I16),
    "REDUCE_MAX": (F32, I32, I64, I8, U8, I16),
    "REDUCE_MIN": (F32, I32, I64, I8, U8, I16),
    "REDUCE_ANY": (BOOL,),
    "REDUCE_ALL": (BOOL,),
}
MODE_PLAIN, MODE_QUANT = 0, 1


cpdef list const_axes(Node node, index, rank, what="axis"):
    """The normalised, de-duplicated axes of constant input `index`, in the given order."""
    cdef TensorInfo t = node.input(index)
    if t.type not in (I32, I64):
        node.check_type(t, (I32, I64), what)
    if element_count(t.shape) == 0:
        return []  # an empty list has no buffer, so it never looks constant
    value = t.constant
    if value is None:
        node.need_const(index, what)
    # a constant's value is an array of the tensor's shape, most often a short vector
    if type(value) is np.ndarray and value.ndim == 1:
        values = value.tolist()
    else:
        values = np.asarray(value).reshape(-1).tolist()
    axes = []
    for a in values:
        a = node.axis(a, rank, what)
        if a not in axes:
            axes.append(a)
    return axes


cpdef tuple reduce_groups(shape, axes):
    """The input shape with size-1 dims dropped and runs of kept / reduced dims merged."""
    cdef list sizes = [], flags = []
    cdef Py_ssize_t d
    for d, size in enumerate(shape):
        if size == 1:
            continue
        flag = 1 if d in axes else 0
        if flags and flags[-1] == flag:
            sizes[-1] *= size
        else:
            sizes.append(size)
            flags.append(flag)
    return sizes, flags


@op("MEAN", "SUM", "REDUCE_PROD", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_ANY", "REDUCE_ALL")
def prepare_reduce(Node node not None):
    """ip: [kind, mode, ngroups, sizes..., reduced flags...] (csrc/ops/reduce/reduce.c)."""
    cdef TensorInfo x, out, axis
    cdef Py_ssize_t d
    node.check_counts(2)
    inputs = node.inputs
    x, axis, out = inputs[0], inputs[1], node.outputs[0]
    types = _REDUCE_TYPES[node.name]
    if x.type not in types:
        node.check_type(x, types, "input")
    if out.type != x.type:
        node.check_type(out, x.type, "output")
    if axis.type != I32:
        node.check_type(axis, I32, "axis")
    rank = len(x.shape)
    axes = const_axes(node, 1, rank) if rank else []
    keep = bool(node.opt("keep_dims", False))
    if keep:
        shape = [1 if d in axes else s for d, s in enumerate(x.shape)]
    else:
        shape = [s for d, s in enumerate(x.shape) if d not in axes]
    node.set_output_shape(0, shape)

    mode = MODE_PLAIN
    quantized = x.type in (I8, U8, I16)
    if quantized and node.name in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN") or (
            node.name == "REDUCE_PROD" and x.type in (I8, I16) and x.quantized):
        if not (x.quantized and out.quantized) and node.name in ("MEAN", "SUM"):
            node.fail("quantized %s needs input and output quantization", x.type_name)
        if x.type == I16 and (x.zero_point != 0 or out.zero_point != 0):
            node.fail("int16 input and output must have zero point 0")
        same = x.scale == out.scale and x.zero_point == out.zero_point
        if node.name in ("MEAN", "SUM"):
            mode = MODE_QUANT
        elif node.name == "REDUCE_PROD":
            if x.scale <= 0 or not out.quantized or out.scale <= 0:
                node.fail("quantized REDUCE_PROD needs positive input and output scales")
            mode = MODE_QUANT
        elif not same:
            node.fail("%s of %s needs the same scale and zero point on input and output",
                      node.name, x.type_name)
    if mode == MODE_QUANT and x.scale <= 0 or mode == MODE_QUANT and out.scale <= 0:
        node.fail("quantization scales must be positive")
    size = element_count(x.shape)
    if size >= 2 ** 31:
        node.fail("input of %d elements is too large", size)
    sizes, flags = reduce_groups(x.shape, axes)
    node.ip = [_REDUCE_KIND[node.name], mode, len(sizes)] + sizes + flags


# -- ARG_MAX / ARG_MIN ----------------------------------------------------------------------

def outer_inner(shape, axis):
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, int(shape[axis]), inner


@op("ARG_MAX", "ARG_MIN")
def prepare_arg_min_max(node):
    """ip: [outer, axis_size, inner, is_min] (csrc/ops/reduce/arg_min_max.c)."""
    node.check_counts(2)
    x, out = node.input(0), node.outputs[0]
    node.check_type(x, (F32, I32, I64, I8, U8, I16, BOOL), "input")
    node.check_type(out, (I32, I64), "output")
    want = node.opt("output_type", None)
    if want is not None and int(want) in (I32, I64) and int(want) != out.type:
        node.fail("output_type option says %s but the output tensor is %s",
                  "INT64" if int(want) == I64 else "INT32", out.type_name)
    if x.rank < 1:
        node.fail("input must have rank >= 1")
    axes = const_axes(node, 1, x.rank)
    if node.input(1).size != 1:  # (an empty axis has no buffer, so no constant value)
        node.fail("axis must hold exactly one value, has %d", node.input(1).size)
    axis = axes[0]
    node.set_output_shape(0, x.shape[:axis] + x.shape[axis + 1:])
    node.ip = list(outer_inner(x.shape, axis)) + [int(node.name == "ARG_MIN")]


# -- SOFTMAX / LOG_SOFTMAX ------------------------------------------------------------------

def rows(shape):
    depth = int(shape[-1])
    return element_count(shape[:-1]), depth


# input type -> output types
_SOFTMAX_OUTPUT_TYPES = {F32: (F32,), I8: (I8, I16), U8: (U8, I16), I16: (I16,)}


@op("SOFTMAX")
def prepare_softmax(Node node not None):
    """ip: [outer, depth]  fp: [beta] (csrc/ops/reduce/softmax.c)."""
    cdef TensorInfo x, out
    node.check_counts(1)
    x, out = node.inputs[0], node.outputs[0]
    if x.type not in _SOFTMAX_OUTPUT_TYPES:
        node.check_type(x, tuple(_SOFTMAX_OUTPUT_TYPES), "input")
    allowed = _SOFTMAX_OUTPUT_TYPES[x.type]
    if out.type not in allowed:
        node.check_type(out, allowed, "output")
    if len(x.shape) < 1:
        node.fail("input must have rank >= 1")
    if x.type != F32:
        if not x.quantized or x.scale <= 0:
            node.fail("quantized SOFTMAX needs a positive input scale")
        if out.type == I8 and out.zero_point != -128 or out.type == I8 and abs(out.scale - 1 / 256) > 1e-3 / 256:
            node.fail("int8 SOFTMAX output must have scale 1/256 and zero point -128")
        if x.type == I16:
            if x.zero_point != 0 or out.zero_point != 0:
                node.fail("int16 SOFTMAX needs zero points 0")
            if abs(out.scale - 1 / 32768) > 1e-3 / 32768:
                node.fail("int16 SOFTMAX output must have scale 1/32768")
            if len(x.shape) > 4:
                node.fail("int16 SOFTMAX supports rank 1 to 4, got %d", len(x.shape))
    beta = float(node.opt("beta", 1.0))
    if x.type != F32 and x.type != I16 and not beta * x.scale * 2 ** 26 >= 1:  # as TFLite's shift >= 0
        node.fail("beta * input scale must be at least 2**-26, got %g", beta * x.scale)
    node.set_output_shape(0, x.shape)
    node.ip = list(rows(x.shape))
    node.fp = [beta]


@op("LOG_SOFTMAX")
def prepare_log_softmax(node):
    """ip: [outer, depth]  fp: [1.0] (csrc/ops/reduce/softmax.c)."""
    node.check_counts(1)
    x, out = node.input(0), node.outputs[0]
    node.check_type(x, (F32, I8, U8), "input")
    node.check_type(out, x.type, "output")
    if x.rank < 1:
        node.fail("input must have rank >= 1")
    if x.type != F32:
        if not x.quantized or not x.scale * 2 ** 26 >= 1:  # as TFLite: the scaling's shift >= 0
            node.fail("quantized LOG_SOFTMAX needs an input scale of at least 2**-26")
        zp = 127 if x.type == I8 else 255
        if out.scale != np.float32(16 / 256) or out.zero_point != zp:
            node.fail("output must have scale 16/256 and zero point %d", zp)
    node.set_output_shape(0, x.shape)
    node.ip = list(rows(x.shape))
    node.fp = [1.0]


# -- L2_NORMALIZATION / LOCAL_RESPONSE_NORMALIZATION ------------------------------------------

@op("L2_NORMALIZATION")
def prepare_l2_normalization(node):
    """ip: [outer, depth] (csrc/ops/reduce/normalize.c)."""
    node.check_counts(1)
    x, out = node.input(0), node.outputs[0]
    node.check_type(x, (F32, U8, I8), "input")
    node.check_type(out, x.type, "output")
    if not 1 <= x.rank <= 4:
        node.fail("input must have rank 1 to 4, has %d", x.rank)
    if node.activation() != 0:
        node.fail("fused activations are not supported")
    if x.type in QUANT8:
        if not x.quantized:
            node.fail("quantized input needs quantization parameters")
        zp = 128 if x.type == U8 else 0
        if out.scale != np.float32(1 / 128) or out.zero_point != zp:
            node.fail("output must have scale 1/128 and zero point %d", zp)
    node.set_output_shape(0, x.shape)
    node.ip = list(rows(x.shape))


@op("LOCAL_RESPONSE_NORMALIZATION")
def prepare_lrn(node):
    """ip: [outer, depth, radius]  fp: [bias, alpha, beta] (csrc/ops/reduce/normalize.c)."""
    node.check_counts(1)
    x, out = node.input(0), node.outputs[0]
    node.check_type(x, F32, "input")
    node.check_type(out, F32, "output")
    node.check_rank(x, 4, what="input")
    radius = int(node.opt("radius", 0))
    if radius < 0:
        node.fail("radius must be >= 0, got %d", radius)
    node.set_output_shape(0, x.shape)
    node.ip = list(rows(x.shape)) + [radius]
    node.fp = [float(node.opt("bias", 0.0)), float(node.opt("alpha", 0.0)), float(node.opt("beta", 0.0))]


# -- CUMSUM -----------------------------------------------------------------------------------

@op("CUMSUM")
def prepare_cumsum(node):
    """ip: [outer, axis_size, inner, exclusive, reverse] (csrc/ops/reduce/cumsum.c)."""
    node.check_counts(2)
    x, out = node.input(0), node.outputs[0]
    node.check_type(x, (F32, I32, I64), "input")
    node.check_type(out, x.type, "output")
    node.check_type(node.input(1), I32, "axis")
    if x.rank < 1:
        node.fail("input must have rank >= 1")
    value = node.need_const(1, "axis")
    if value.size != 1:
        node.fail("axis must be a scalar")
    axis = node.axis(int(value.reshape(-1)[0]), x.rank)
    node.set_output_shape(0, x.shape)
    node.ip = list(outer_inner(x.shape, axis)) + [int(bool(node.opt("exclusive", False))),
                                                  int(bool(node.opt("reverse", False)))]


# -- TOPK_V2 ----------------------------------------------------------------------------------

@op("TOPK_V2")
def prepare_topk(node):
    """ip: [rows, depth, k] (csrc/ops/reduce/topk.c)."""
    node.check_counts(2, outputs=2)
    x = node.input(0)
    values, indices = node.outputs
    node.check_type(x, (F32, I32, I64, I8, U8, I16), "input")
    node.check_type(values, x.type, "values output")
    node.check_type(indices, (I32, I64), "indices output")
    node.check_type(node.input(1), (I32, I16), "k")
    if x.rank < 1:
        node.fail("input must have rank >= 1")
    k = node.need_const(1, "k")
    if k.size != 1:
        node.fail("k must be a scalar")
    k = int(k.reshape(-1)[0])
    if not 0 <= k <= x.shape[-1]:
        node.fail("k = %d is out of range for a last dimension of %d", k, x.shape[-1])
    shape = x.shape[:-1] + (k,)
    node.set_output_shape(0, shape)
    node.set_output_shape(1, shape)
    node.ip = list(rows(x.shape)) + [k]


# -- RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR ----------------------------------------------

@op("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR")
def prepare_resize(node):
    """ip: [batches, in_h, in_w, depth, out_h, out_w, align_corners, half_pixel_centers]
    (csrc/ops/reduce/resize.c)."""
    node.check_counts(2)
    x, out = node.input(0), node.outputs[0]
    types = (F32, U8, I8, I16) + ((I32, I64) if node.name == "RESIZE_NEAREST_NEIGHBOR" else ())
    node.check_type(x, types, "input")
    node.check_type(out, x.type, "output")
    node.check_rank(x, 4, what="input")
    node.check_type(node.input(1), I32, "size")
    size = node.need_const(1, "size").reshape(-1)
    if size.size != 2:
        node.fail("size must hold 2 values, has %d", size.size)
    oh, ow = int(size[0]), int(size[1])
    if oh <= 0 or ow <= 0:
        node.fail("output size must be positive, got %dx%d", oh, ow)
    align = bool(node.opt("align_corners", False))
    half = bool(node.opt("half_pixel_centers", False))
    if node.name == "RESIZE_BILINEAR" and align and half:
        node.fail("half_pixel_centers and align_corners cannot both be set")
    b, ih, iw, d = x.shape
    if (ih == 0 or iw == 0) and b * d > 0:
        node.fail("cannot resize an empty image")
    node.set_output_shape(0, (b, oh, ow, d))
    node.ip = [b, ih, iw, d, oh, ow, int(align), int(half)]
