"""Plan-time values of small integer tensors that feed shapes.

Converted models often compute a shape at run time (SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE)
so that the batch size can change. Once input shapes are fixed, those values are fixed too: the
planner evaluates such chains here, in numpy, so that ops like RESHAPE see a known shape. The C
kernels still compute the same values at run time; only shape inference uses these."""
import numpy as np

from .ops._base import I32, I64

MAX_ELEMENTS = 64
_INT_TYPES = (I32, I64)


def _strided_slice_1d(node, x, begin, end, strides):
    if x.ndim != 1 or begin.size != 1:
        return None
    b, e, s = int(begin[0]), int(end[0]), int(strides[0])
    if s == 0:
        return None
    n = x.shape[0]
    if node.opt("begin_mask", 0) & 1:
        b = 0 if s > 0 else n - 1
    if node.opt("end_mask", 0) & 1:
        e = n if s > 0 else -n - 1
    if node.opt("shrink_axis_mask", 0) & 1:
        b = b + n if b < 0 else b
        return x[b] if 0 <= b < n else None
    if node.opt("ellipsis_mask", 0) or node.opt("new_axis_mask", 0):
        return None
    return x[slice(b, e, s)]


def _binary(fn):
    def fold(node, a, b):
        return fn(a, b)
    return fold


_FOLDERS = {
    "PACK": lambda node, *xs: np.stack(xs, axis=int(node.opt("axis", 0))),
    "CONCATENATION": lambda node, *xs: np.concatenate(xs, axis=int(node.opt("axis", 0))),
    "STRIDED_SLICE": _strided_slice_1d,
    "GATHER": lambda node, x, i: np.take(x, i, axis=int(node.opt("axis", 0))),
    "CAST": lambda node, x: x,
    "ADD": _binary(np.add),
    "SUB": _binary(np.subtract),
    "MUL": _binary(np.multiply),
    "FLOOR_DIV": lambda node, a, b: np.floor_divide(a, b) if np.all(b != 0) else None,
    "MAXIMUM": _binary(np.maximum),
    "MINIMUM": _binary(np.minimum),
    "REDUCE_PROD": lambda node, x, axes: np.prod(x, axis=tuple(int(a) for a in np.atleast_1d(axes)),
                                                 keepdims=bool(node.opt("keep_dims", False))),
    "RESHAPE": lambda node, x, *_: x,
    "SQUEEZE": lambda node, x: x,
    "EXPAND_DIMS": lambda node, x, *_: x,
}


def fold(node):
    """Sets `.folded` on the node's output when it is a small integer computed from known values."""
    if len(node.outputs) != 1:
        return
    out = node.outputs[0]
    if out.type not in _INT_TYPES or out.size > MAX_ELEMENTS:
        return
    if node.name == "SHAPE":
        value = np.asarray(node.inputs[0].shape)
    elif node.name == "RANK":
        value = np.asarray(node.inputs[0].rank)
    else:
        folder = _FOLDERS.get(node.name)
        if folder is None:
            return
        values = [None if t is None else (t.const if t.const is not None else t.folded)
                  for t in node.inputs]
        if any(v is None for v in values) or any(v.size > MAX_ELEMENTS for v in values):
            return
        try:
            with np.errstate(all="ignore"):
                value = folder(node, *[np.asarray(v) for v in values])
        except (ValueError, IndexError, TypeError):
            return
        if value is None:
            return
    value = np.asarray(value).astype(out.dtype)
    if value.shape == tuple(out.shape):
        out.folded = value
