"""Python side of the reduce ops (see _base.py for the contract).

Reductions, arg-min/max, softmax and normalisations, cumulative sum, top-k and resizing. The
ip/fp layout of each op is documented next to its prepare function and at the top of its C file
in csrc/ops/reduce/.
"""
import numpy as np

from ._base import BOOL, F32, I8, I16, I32, I64, U8, TENSOR_TYPES, op

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
MODE_PLAIN, MODE_QUANT, MODE_COPY = 0, 1, 2


def const_axes(node, index, rank, what="axis"):
    """The normalised, de-duplicated axes of constant input `index`, in the given order."""
    t = node.input(index)
    node.check_type(t, (I32, I64), what)
    value = node.need_const(index, what)
    axes = []
    for a in np.asarray(value).reshape(-1):
        a = node.axis(int(a), rank, what)
        if a not in axes:
            axes.append(a)
    return axes


def reduce_groups(shape, axes):
    """The input shape with size-1 dims dropped and runs of kept / reduced dims merged."""
    sizes, flags = [], []
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
def prepare_reduce(node):
    """ip: [kind, mode, ngroups, sizes..., reduced flags...] (csrc/ops/reduce/reduce.c)."""
    node.check_counts(2)
    x, out = node.input(0), node.outputs[0]
    node.check_type(x, _REDUCE_TYPES[node.name], "input")
    node.check_type(out, x.type, "output")
    node.check_type(node.input(1), I32, "axis")
    rank = x.rank
    raw_axes = node.need_const(1, "axis").reshape(-1)
    axes = const_axes(node, 1, rank) if rank else []
    if rank == 0:
        axes = []
    keep = bool(node.opt("keep_dims", False))
    if keep:
        shape = tuple(1 if d in axes else s for d, s in enumerate(x.shape))
    else:
        shape = tuple(s for d, s in enumerate(x.shape) if d not in axes)
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
        if node.name == "MEAN" or (node.name == "SUM" and x.type in QUANT8):
            mode = MODE_QUANT
        elif node.name == "REDUCE_PROD":
            if x.scale <= 0 or not out.quantized or out.scale <= 0:
                node.fail("quantized REDUCE_PROD needs positive input and output scales")
            mode = MODE_QUANT
        elif not same:
            node.fail("%s of %s needs the same scale and zero point on input and output",
                      node.name, x.type_name)
    if len(raw_axes) == 0 and (node.name == "MEAN" or mode == MODE_QUANT and node.name == "SUM"):
        mode = MODE_COPY
    if mode == MODE_QUANT and x.scale <= 0 or mode == MODE_QUANT and out.scale <= 0:
        node.fail("quantization scales must be positive")
    if x.size >= 2 ** 31:
        node.fail("input of %d elements is too large", x.size)
    sizes, flags = reduce_groups(x.shape, axes)
    node.ip = [_REDUCE_KIND[node.name], mode, len(sizes)] + sizes + flags
