"""Python side of the movement ops (see _base.py for the contract).

These ops move elements without looking at their values, so one C kernel per op serves every
fixed-size dtype; most of them reduce to strided views of their input (csrc/ops/movement/view.c),
which is why the shape logic here also produces offsets and strides.
"""
import math

import numpy as np

from ._base import (BOOL, F16, F32, I8, I16, I32, I64, NUMPY_TYPES, STRING, TENSOR_TYPES, U8, broadcast_shape,
                    op)

INDEX_TYPES = (I32, I64)
INT32_MAX = 2 ** 31 - 1
NON_DATA_TYPES = {STRING, TENSOR_TYPES["RESOURCE"], TENSOR_TYPES["VARIANT"]}


# -- helpers -------------------------------------------------------------------------------------

def itemsize(node, t, what="input"):
    """Element size of a tensor the kernels can move (any fixed-size type)."""
    dt = NUMPY_TYPES.get(t.type)
    if t.type in NON_DATA_TYPES or dt is None or dt.itemsize not in (1, 2, 4, 8):
        node.fail("%s has type %s, which this op cannot move", what, t.type_name)
    return dt.itemsize


def check_output_type(node, i, t):
    out = node.outputs[i]
    if out.type != t.type:
        node.fail("output %d has type %s but the op produces %s", i, out.type_name, t.type_name)


def check_same_quantization(node, a, b):
    if a.quantized or b.quantized:
        if (not np.array_equal(np.asarray(a.scales if a.quantized else [0.0], np.float32),
                               np.asarray(b.scales if b.quantized else [0.0], np.float32))
                or a.zero_point != b.zero_point):
            node.fail("%r and %r must have the same quantization", a, b)


def row_strides(shape):
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * int(shape[d + 1])
    return strides


def elements(shape):
    return math.prod(int(d) for d in shape)  # exact: an int64 product could wrap


def const_ints(node, i, what, allowed=INDEX_TYPES):
    """The values of a small integer input known at plan time (a constant, or folded from shapes:
    either way the tensor holds the same values at run time)."""
    t = node.input(i)
    node.check_type(t, allowed, what)
    value = node.value(i)
    if value is None:
        node.need_const(i, what)
    return [int(v) for v in np.asarray(value).reshape(-1).tolist()]


def const_scalar_int(node, i, what):
    values = const_ints(node, i, what)
    if len(values) != 1:
        node.fail("%s must hold one value, has %d", what, len(values))
    return values[0]


def check_fits(node, shape, what="tensor"):
    if elements(shape) > INT32_MAX:
        node.fail("%s of shape %s has too many elements", what, list(shape))


def view(node, dims, strides, offset=0):
    """The ip words of one strided view, simplified: unit dims dropped, contiguous dims merged."""
    dims, strides = [int(d) for d in dims], [int(s) for s in strides]
    if any(d == 0 for d in dims):
        return [1, 0, 0, 0]
    pairs = [(d, s) for d, s in zip(dims, strides) if d != 1]
    merged = []
    for d, s in pairs:
        if merged and merged[-1][1] == s * d:
            merged[-1] = (merged[-1][0] * d, s)
        else:
            merged.append((d, s))
    if not merged:
        merged = [(1, 1)]
    reach = abs(offset) + sum(abs(s) * (d - 1) for d, s in merged)
    if reach > INT32_MAX or elements([d for d, _ in merged]) > INT32_MAX:
        node.fail("tensor is too large for this op")
    return [len(merged), int(offset)] + [d for d, _ in merged] + [s for _, s in merged]


def set_views(node, data_input, views):
    """ip for csrc/ops/movement/view.c: [data input, element size, views...] (one per output)."""
    es = itemsize(node, node.input(data_input))
    node.ip = [data_input, es]
    for v in views:
        node.ip += v


def scalar_value_words(node, value, dtype):
    """An element value as two little-endian int32 words (what the pad kernels read)."""
    raw = np.zeros(8, np.uint8)
    b = np.asarray(value).astype(dtype).reshape(-1)[:1].astype(np.dtype(dtype).newbyteorder("<")).tobytes()
    raw[:len(b)] = np.frombuffer(b, np.uint8)
    words = raw.view("<i4")
    return [int(words[0]), int(words[1])]


def quantized_zero(t):
    return t.zero_point if t.quantized and t.type in (I8, U8, I16) else 0


# -- pure reshapes ---------------------------------------------------------------------------------

def _copy_prepare(node, out_shape):
    src = node.input(0)
    check_output_type(node, 0, src)
    if src.type != STRING:
        itemsize(node, src)
        if elements(out_shape) != src.size:
            node.fail("cannot reshape %s (%d elements) to %s (%d elements)", list(src.shape), src.size,
                      list(out_shape), elements(out_shape))
    node.set_output_shape(0, out_shape)
    node.ip = []  # csrc/ops/movement/shape.c: no parameters


def _resolve_new_shape(node, new_shape, size):
    new_shape = [int(d) for d in new_shape]
    if new_shape.count(-1) > 1:
        node.fail("new shape %s has more than one -1", new_shape)
    if any(d < -1 for d in new_shape):
        node.fail("new shape %s has a negative dimension", new_shape)
    if -1 in new_shape:
        known = elements([d for d in new_shape if d != -1])
        if known == 0 or size % known:
            node.fail("cannot infer the -1 of new shape %s for %d elements", new_shape, size)
        new_shape[new_shape.index(-1)] = size // known
    return new_shape


@op("RESHAPE")
def prepare_reshape(node):
    node.check_counts(1, 2)
    src = node.input(0)
    shape_t = node.optional_input(1)
    new_shape = None
    if shape_t is not None and shape_t.rank == 1 and shape_t.type in INDEX_TYPES:
        value = node.value(1)
        if value is not None:
            new_shape = [int(v) for v in np.asarray(value).reshape(-1).tolist()]
    if new_shape is None:
        param = node.opt("new_shape")
        if param is not None and (shape_t is None or len(param) > 0):
            new_shape = [int(v) for v in param]
            if new_shape == [0]:  # old converters wrote [0] for a scalar
                new_shape = []
    if new_shape is None:
        # A computed shape: usable only if the model states a static output shape that fits.
        out = node.outputs[0]
        sig = out.shape_signature if out.shape_signature is not None else out.shape
        if out.shape is not None and -1 not in list(sig) and elements(out.shape) == src.size:
            new_shape = list(out.shape)
        else:
            node.fail("the new shape (input 1) is computed at run time; only constant shapes are supported")
    if src.type == STRING:
        _copy_prepare(node, new_shape)
        return
    _copy_prepare(node, _resolve_new_shape(node, new_shape, src.size))


@op("SQUEEZE")
def prepare_squeeze(node):
    node.check_counts(1)
    src = node.input(0)
    dims = list(node.opt("squeeze_dims", []) or [])
    if not dims:
        keep = [d for d in src.shape if d != 1]
    else:
        axes = {node.axis(a, src.rank, "squeeze dim") for a in dims}
        for a in axes:
            if src.shape[a] != 1:
                node.fail("cannot squeeze dim %d of size %d", a, src.shape[a])
        keep = [d for i, d in enumerate(src.shape) if i not in axes]
    _copy_prepare(node, keep)


@op("EXPAND_DIMS")
def prepare_expand_dims(node):
    node.check_counts(2)
    src = node.input(0)
    axis = const_scalar_int(node, 1, "axis")
    if not -src.rank - 1 <= axis <= src.rank:
        node.fail("axis %d is out of range for rank %d", axis, src.rank)
    if axis < 0:
        axis += src.rank + 1
    shape = list(src.shape)
    shape.insert(axis, 1)
    _copy_prepare(node, shape)


# -- shapes and scalars ----------------------------------------------------------------------------

@op("SHAPE")
def prepare_shape(node):
    node.check_counts(1)
    out_type = int(node.opt("out_type", I32))
    out = node.outputs[0]
    if out.type not in INDEX_TYPES:
        node.fail("output type must be INT32 or INT64, is %s", out.type_name)
    if out_type not in (0, out.type) and out_type in INDEX_TYPES:
        node.fail("out_type option disagrees with the output type %s", out.type_name)
    node.set_output_shape(0, (node.input(0).rank,))
    node.ip = [int(out.type == I64)]  # ip: [output is int64]


@op("RANK")
def prepare_rank(node):
    node.check_counts(1)
    node.check_type(node.outputs[0], I32, "output")
    node.set_output_shape(0, ())
    node.ip = []


@op("FILL")
def prepare_fill(node):
    node.check_counts(2)
    dims = const_ints(node, 0, "dims")
    if node.input(0).rank != 1:
        node.fail("dims must be a 1-D tensor")
    value = node.input(1)
    if value.size != 1:
        node.fail("value must be a scalar, has shape %s", list(value.shape))
    es = itemsize(node, value, "value")
    check_output_type(node, 0, value)
    if any(d < 0 for d in dims):
        node.fail("dims %s has a negative dimension", dims)
    node.set_output_shape(0, dims)
    node.ip = [es]  # ip: [element size]


@op("RANGE")
def prepare_range(node):
    node.check_counts(3)
    ts = [node.input(i) for i in range(3)]
    node.check_same_type(*ts)
    node.check_type(ts[0], (I32, I64, F32), "start")
    check_output_type(node, 0, ts[0])
    vals = []
    for i, name in enumerate(("start", "limit", "delta")):
        v = node.value(i)
        if v is None:
            node.fail("%s (input %d) must be constant: the output size depends on it", name, i)
        if np.asarray(v).size != 1:
            node.fail("%s must be a scalar", name)
        vals.append(np.asarray(v).reshape(-1)[0])
    start, limit, delta = vals
    if delta == 0:
        node.fail("delta must not be zero")
    if (start > limit and delta > 0) or (start < limit and delta < 0):
        node.fail("delta %s moves start %s away from limit %s", delta, start, limit)
    if ts[0].type == F32:
        with np.errstate(over="ignore", invalid="ignore"):
            span = np.abs((np.float32(limit) - np.float32(start)) / np.float32(delta))
        if not np.isfinite(span):
            node.fail("the range from %s to %s by %s has no finite length", start, limit, delta)
        size = int(np.ceil(span))
    else:
        size = (abs(int(limit) - int(start)) + abs(int(delta)) - 1) // abs(int(delta))
    check_fits(node, (size,))
    node.set_output_shape(0, (size,))
    node.ip = [ts[0].type]  # ip: [type]


# -- views -----------------------------------------------------------------------------------------

@op("TRANSPOSE")
def prepare_transpose(node):
    node.check_counts(2)
    src = node.input(0)
    check_output_type(node, 0, src)
    perm = const_ints(node, 1, "perm")
    if len(perm) != src.rank:
        node.fail("perm %s has %d entries for rank %d", perm, len(perm), src.rank)
    perm = [p + src.rank if p < 0 else p for p in perm]
    if sorted(perm) != list(range(src.rank)):
        node.fail("perm %s is not a permutation of 0..%d", perm, src.rank - 1)
    strides = row_strides(src.shape)
    shape = [src.shape[p] for p in perm]
    node.set_output_shape(0, shape)
    set_views(node, 0, [view(node, shape, [strides[p] for p in perm])])


@op("SLICE")
def prepare_slice(node):
    node.check_counts(3)
    src = node.input(0)
    check_output_type(node, 0, src)
    begin = const_ints(node, 1, "begin")
    size = const_ints(node, 2, "size")
    if len(begin) != src.rank or len(size) != src.rank:
        node.fail("begin and size must have %d entries", src.rank)
    shape = []
    for d, (b, s) in enumerate(zip(begin, size)):
        dim = src.shape[d]
        if s == -1:
            s = dim - b
        if b < 0 or s < 0 or b + s > dim:
            node.fail("slice [%d, %d + %d) is out of range of dim %d (size %d)", b, b, s, d, dim)
        shape.append(s)
    strides = row_strides(src.shape)
    node.set_output_shape(0, shape)
    set_views(node, 0, [view(node, shape, strides, sum(b * s for b, s in zip(begin, strides)))])


def _clamp(v, lo, hi):
    return hi if v > hi else (lo if v < lo else v)


def strided_slice_plan(node, in_shape, begin, end, strides, begin_mask, end_mask, ellipsis_mask,
                       new_axis_mask, shrink_mask, offset):
    """TFLite's strided slice indexing: per effective dim (start, stride, size, input dim or None for
    a new axis, kept in the output)."""
    n = len(begin)
    rank = len(in_shape)
    if any(m < 0 or m >> n for m in (begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_mask)) \
            or bin(ellipsis_mask).count("1") > 1:
        node.fail("masks must only have bits for the %d given dims, and one ellipsis at most", n)
    num_add = sum(1 for i in range(n) if not ellipsis_mask >> i & 1 and new_axis_mask >> i & 1)
    eff = rank + num_add
    # Where the ellipsis expands to several dims, and which effective dims are new axes.
    eff_ellipsis, eff_new = 0, 0
    ellipsis_start, expanded = eff, 0
    i = 0
    while i < eff:
        if ellipsis_mask >> i & 1:
            ellipsis_start = i
            stop = max(i + 1, min(i + 1 + num_add + rank - n, eff))
            expanded = stop - ellipsis_start - 1
            while i < stop:
                eff_ellipsis |= 1 << i
                i += 1
            continue
        if new_axis_mask >> (i - expanded) & 1:
            eff_new |= 1 << i
        i += 1
    plan = []
    added_axes = 0
    for i in range(eff):
        if eff_ellipsis >> i & 1:
            if i - added_axes >= rank:
                node.fail("the ellipsis covers more dims than the input has")
            dim = in_shape[i - added_axes]
            plan.append((0, 1, dim, i - added_axes, True))
            continue
        if eff_new >> i & 1:
            plan.append((0, 1, 1, None, True))
            added_axes += 1
            continue
        dim_index = i - added_axes
        if dim_index >= rank:
            node.fail("begin/end/strides index more dims than the input has")
        dim = in_shape[dim_index]
        if i >= n + expanded:
            plan.append((0, 1, dim, dim_index, True))
            continue
        k = i - (expanded if i > ellipsis_start else 0)
        if k >= n:
            node.fail("begin/end/strides index more dims than they have")
        b, e, s = begin[k], end[k], strides[k]
        if s == 0:
            node.fail("stride must not be zero")
        shrink = bool(shrink_mask >> k & 1)
        if dim == 0:
            start, stop = 0, 0
        else:
            start = b + dim if b < 0 else b
            start = _clamp(start, 0, dim) if s > 0 else _clamp(start, -1, dim - 1)
            if begin_mask >> k & 1:
                start = 0 if s > 0 else dim - 1
            if shrink:
                stop = start + 1
            else:
                stop = e + start if offset else e
                stop = stop + dim if stop < 0 else stop
                stop = _clamp(stop, 0, dim) if s > 0 else _clamp(stop, -1, dim - 1)
                if end_mask >> k & 1:
                    stop = dim if s > 0 else -1
        if shrink:
            raw = start if begin_mask >> k & 1 else (b + dim if b < 0 else b)
            if not 0 <= raw < dim:
                node.fail("shrink index %d is out of range for dim %d of size %d", b, dim_index, dim)
            size = 1
        else:
            size = max(int(np.ceil((stop - start) / np.float32(s))), 0)
        plan.append((start, s, size, dim_index, not shrink))
    if eff - added_axes != rank:
        node.fail("strided slice does not cover the input's rank %d", rank)
    return plan


@op("STRIDED_SLICE")
def prepare_strided_slice(node):
    node.check_counts(4)
    src = node.input(0)
    check_output_type(node, 0, src)
    begin = const_ints(node, 1, "begin", (I32,))
    end = const_ints(node, 2, "end", (I32,))
    strides = const_ints(node, 3, "strides", (I32,))
    if not len(begin) == len(end) == len(strides):
        node.fail("begin, end and strides must have the same length")
    if len(begin) > 31:
        node.fail("too many slice dims")
    plan = strided_slice_plan(
        node, list(src.shape), begin, end, strides, int(node.opt("begin_mask", 0)),
        int(node.opt("end_mask", 0)), int(node.opt("ellipsis_mask", 0)), int(node.opt("new_axis_mask", 0)),
        int(node.opt("shrink_axis_mask", 0)), bool(node.opt("offset", False)))
    in_strides = row_strides(src.shape)
    offset, dims, vstrides, out_shape = 0, [], [], []
    for start, step, size, dim_index, kept in plan:
        if kept:
            out_shape.append(size)
        if dim_index is None:
            continue
        if size:
            offset += start * in_strides[dim_index]
        dims.append(size)
        vstrides.append(step * in_strides[dim_index])
    node.set_output_shape(0, out_shape)
    set_views(node, 0, [view(node, dims, vstrides, offset if elements(dims) else 0)])


@op("REVERSE_V2")
def prepare_reverse_v2(node):
    node.check_counts(2)
    src = node.input(0)
    node.check_rank(src, 1, 8)
    check_output_type(node, 0, src)
    axes = {node.axis(a, src.rank) for a in const_ints(node, 1, "axis")}
    strides = row_strides(src.shape)
    offset, vstrides = 0, list(strides)
    for a in axes:
        if src.shape[a] > 0:
            offset += (src.shape[a] - 1) * strides[a]
        vstrides[a] = -strides[a]
    node.set_output_shape(0, src.shape)
    set_views(node, 0, [view(node, src.shape, vstrides, offset)])


@op("TILE")
def prepare_tile(node):
    node.check_counts(2)
    src = node.input(0)
    check_output_type(node, 0, src)
    multiples = const_ints(node, 1, "multiples")
    if len(multiples) != src.rank:
        node.fail("multiples has %d entries for rank %d", len(multiples), src.rank)
    if any(m < 0 for m in multiples):
        node.fail("multiples %s has a negative entry", multiples)
    strides = row_strides(src.shape)
    shape = [d * m for d, m in zip(src.shape, multiples)]
    check_fits(node, shape, "output")
    dims, vstrides = [], []
    for d, m, s in zip(src.shape, multiples, strides):
        dims += [m, d]
        vstrides += [0, s]
    node.set_output_shape(0, shape)
    set_views(node, 0, [view(node, dims, vstrides)])


@op("BROADCAST_TO")
def prepare_broadcast_to(node):
    node.check_counts(2)
    src = node.input(0)
    check_output_type(node, 0, src)
    shape = const_ints(node, 1, "shape")
    if len(shape) < src.rank:
        node.fail("target shape %s has lower rank than the input %s", shape, list(src.shape))
    if any(d < 0 for d in shape):
        node.fail("target shape %s has a negative dimension", shape)
    out = broadcast_shape(node, src.shape, shape)
    if list(out) != shape:
        node.fail("input %s cannot be broadcast to %s", list(src.shape), shape)
    pad = len(shape) - src.rank
    in_shape = [1] * pad + list(src.shape)
    strides = row_strides(in_shape)
    vstrides = [0 if d == 1 else s for d, s in zip(in_shape, strides)]
    check_fits(node, shape, "output")
    node.set_output_shape(0, shape)
    set_views(node, 0, [view(node, shape, vstrides)])


def _space_depth(node, to_space):
    node.check_counts(1)
    src = node.input(0)
    check_output_type(node, 0, src)
    node.check_rank(src, 4)
    b = int(node.opt("block_size", 0))
    if b < 1:
        node.fail("block_size must be positive, is %d", b)
    n, h, w, c = src.shape
    if to_space:
        if c % (b * b):
            node.fail("depth %d is not a multiple of block_size^2 = %d", c, b * b)
        cc = c // (b * b)
        out = (n, h * b, w * b, cc)
        # input as [n, h, w, bh, bw, cc] read in order [n, h, bh, w, bw, cc]
        s = row_strides((n, h, w, b, b, cc))
        dims, vstrides = (n, h, b, w, b, cc), (s[0], s[1], s[3], s[2], s[4], s[5])
    else:
        if h % b or w % b:
            node.fail("height %d and width %d must be multiples of block_size %d", h, w, b)
        out = (n, h // b, w // b, c * b * b)
        # input as [n, oh, bh, ow, bw, c] read in order [n, oh, ow, bh, bw, c]
        s = row_strides((n, h // b, b, w // b, b, c))
        dims, vstrides = (n, h // b, w // b, b, b, c), (s[0], s[1], s[3], s[2], s[4], s[5])
    node.set_output_shape(0, out)
    set_views(node, 0, [view(node, dims, vstrides)])


@op("DEPTH_TO_SPACE")
def prepare_depth_to_space(node):
    _space_depth(node, True)


@op("SPACE_TO_DEPTH")
def prepare_space_to_depth(node):
    _space_depth(node, False)


def _split_views(node, data_input, axis, sizes):
    src = node.input(data_input)
    if len(node.outputs) != len(sizes):
        node.fail("has %d outputs for %d splits", len(node.outputs), len(sizes))
    strides = row_strides(src.shape)
    views, begin = [], 0
    for i, size in enumerate(sizes):
        shape = list(src.shape)
        shape[axis] = size
        check_output_type(node, i, src)
        node.set_output_shape(i, shape)
        views.append(view(node, shape, strides, begin * strides[axis]))
        begin += size
    set_views(node, data_input, views)


@op("SPLIT")
def prepare_split(node):
    if len(node.inputs) != 2:
        node.fail("takes 2 inputs, the model gives %d", len(node.inputs))
    src = node.input(1)
    axis = node.axis(const_scalar_int(node, 0, "axis"), src.rank)
    num = int(node.opt("num_splits", 0)) or len(node.outputs)
    if num != len(node.outputs) or num < 1:
        node.fail("num_splits %d does not match the %d outputs", num, len(node.outputs))
    if src.shape[axis] % num:
        node.fail("dim %d of size %d does not split into %d equal parts", axis, src.shape[axis], num)
    _split_views(node, 1, axis, [src.shape[axis] // num] * num)


@op("SPLIT_V")
def prepare_split_v(node):
    if len(node.inputs) != 3:
        node.fail("takes 3 inputs, the model gives %d", len(node.inputs))
    src = node.input(0)
    sizes = const_ints(node, 1, "size_splits")
    axis = node.axis(const_scalar_int(node, 2, "axis"), src.rank)
    num = int(node.opt("num_splits", 0)) or len(node.outputs)
    if num != len(sizes) or num != len(node.outputs):
        node.fail("num_splits %d, %d size_splits and %d outputs disagree", num, len(sizes), len(node.outputs))
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        node.fail("size_splits %s may hold one -1 and no other negative value", sizes)
    dim = src.shape[axis]
    if -1 in sizes:
        rest = dim - sum(s for s in sizes if s != -1)
        if rest < 0:
            node.fail("size_splits %s exceed dim %d of size %d", sizes, axis, dim)
        sizes[sizes.index(-1)] = rest
    if sum(sizes) != dim:
        node.fail("size_splits %s do not add up to dim %d of size %d", sizes, axis, dim)
    _split_views(node, 0, axis, sizes)


@op("UNPACK")
def prepare_unpack(node):
    if len(node.inputs) != 1:
        node.fail("takes 1 input, the model gives %d", len(node.inputs))
    src = node.input(0)
    if src.rank < 1:
        node.fail("input must have rank >= 1")
    axis = node.axis(node.opt("axis", 0), src.rank)
    num = int(node.opt("num", 0)) or src.shape[axis]
    if num != src.shape[axis] or num != len(node.outputs):
        node.fail("num %d, dim %d of size %d and %d outputs disagree", num, axis, src.shape[axis],
                  len(node.outputs))
    strides = row_strides(src.shape)
    shape = list(src.shape[:axis]) + list(src.shape[axis + 1:])
    views = []
    for i in range(num):
        check_output_type(node, i, src)
        node.set_output_shape(i, shape)
        views.append(view(node, shape, strides[:axis] + strides[axis + 1:], i * strides[axis]))
    set_views(node, 0, views)


# -- concatenation -----------------------------------------------------------------------------

def _concat_params(node, outer, chunks, act):
    """ip/fp for csrc/ops/movement/concat.c."""
    out = node.outputs[0]
    inputs = node.inputs
    t0 = inputs[0]
    es = itemsize(node, t0)
    requant = 0
    if node.name == "CONCATENATION" and t0.type in (U8, I8) and out.quantized:
        requant = t0.type
        for t in inputs:
            if not t.quantized:
                node.fail("%r is not quantized but the output is", t)
    in_zp = [t.zero_point if requant else 0 for t in inputs]
    node.ip = [es, outer, act, requant, len(inputs)] + list(chunks) + in_zp + [
        out.zero_point if requant else 0]
    node.fp = [out.scale] + [t.scale for t in inputs] if requant else []


@op("CONCATENATION")
def prepare_concatenation(node):
    if len(node.inputs) < 1 or len(node.outputs) != 1:
        node.fail("needs at least one input and exactly one output")
    inputs = [node.input(i) for i in range(len(node.inputs))]
    t0 = inputs[0]
    node.check_same_type(*inputs)
    check_output_type(node, 0, t0)
    itemsize(node, t0)
    if t0.rank < 1:
        node.fail("inputs must have rank >= 1")
    axis = node.axis(node.opt("axis", 0), t0.rank)
    act = node.activation()
    if act not in (0, 1, 2, 3):
        node.fail("fused activation %d is not supported", act)
    if act and t0.type != F32:
        node.fail("a fused activation is only supported for FLOAT32")
    out = node.outputs[0]
    # int8 inputs quantized differently from the output are rescaled like uint8 ones (TFLite's
    # int8 kernel refuses them; the converter avoids them, hand-made models need not).
    for t in inputs + [out]:
        if t.quantized and len(t.scales) > 1:
            node.fail("%r is quantized per channel; concatenation takes per-tensor quantization", t)
    if t0.type == I16:
        for t in inputs + [out]:
            if t.zero_point != 0:
                node.fail("INT16 tensors must have zero point 0 (%r)", t)
    total = 0
    for t in inputs:
        if t.rank != t0.rank or any(a != b for d, (a, b) in enumerate(zip(t.shape, t0.shape)) if d != axis):
            node.fail("input shapes %s and %s do not match outside axis %d", list(t.shape), list(t0.shape), axis)
        total += t.shape[axis]
    shape = list(t0.shape)
    shape[axis] = total
    check_fits(node, shape, "output")
    node.set_output_shape(0, shape)
    outer = elements(shape[:axis])
    inner = elements(shape[axis + 1:])
    _concat_params(node, outer, [t.shape[axis] * inner for t in inputs], act)


@op("PACK")
def prepare_pack(node):
    if len(node.inputs) < 1 or len(node.outputs) != 1:
        node.fail("needs at least one input and exactly one output")
    inputs = [node.input(i) for i in range(len(node.inputs))]
    count = int(node.opt("values_count", 0)) or len(inputs)
    if count != len(inputs):
        node.fail("values_count %d does not match the %d inputs", count, len(inputs))
    t0 = inputs[0]
    node.check_same_type(*inputs)
    check_output_type(node, 0, t0)
    itemsize(node, t0)
    axis = int(node.opt("axis", 0))
    if not -t0.rank - 1 <= axis <= t0.rank:
        node.fail("axis %d is out of range for rank %d", axis, t0.rank + 1)
    if axis < 0:
        axis += t0.rank + 1
    for t in inputs:
        if tuple(t.shape) != tuple(t0.shape):
            node.fail("input shapes %s and %s differ", list(t.shape), list(t0.shape))
        check_same_quantization(node, t, node.outputs[0])
    shape = list(t0.shape)
    shape.insert(axis, count)
    check_fits(node, shape, "output")
    node.set_output_shape(0, shape)
    _concat_params(node, elements(t0.shape[:axis]), [elements(t0.shape[axis:])] * count, 0)


# -- padding ---------------------------------------------------------------------------------------

def _paddings(node, i, rank):
    t = node.input(i)
    values = const_ints(node, i, "paddings")
    if t.rank != 2 or t.shape[0] != rank or t.shape[1] != 2:
        node.fail("paddings must have shape [%d, 2], has %s", rank, list(t.shape))
    pads = [(values[2 * d], values[2 * d + 1]) for d in range(rank)]
    if any(a < 0 or b < 0 for a, b in pads):
        node.fail("paddings %s must not be negative", pads)
    return pads


def _pad_params(node, pads, mode, value_input, value_words):
    src = node.input(0)
    check_output_type(node, 0, src)
    es = itemsize(node, src)
    shape = [d + a + b for d, (a, b) in zip(src.shape, pads)]
    check_fits(node, shape, "output")
    node.set_output_shape(0, shape)
    node.ip = [es, src.rank, mode, value_input] + value_words + list(src.shape) + [a for a, _ in pads]


@op("PAD")
def prepare_pad(node):
    node.check_counts(2)
    src = node.input(0)
    pads = _paddings(node, 1, src.rank)
    zero = scalar_value_words(node, quantized_zero(node.outputs[0]), src.dtype)
    _pad_params(node, pads, 0, -1, zero)


@op("PADV2")
def prepare_padv2(node):
    node.check_counts(2, 3)
    src = node.input(0)
    pads = _paddings(node, 1, src.rank)
    value = node.optional_input(2)
    out = node.outputs[0]
    if value is None:
        _pad_params(node, pads, 0, -1, scalar_value_words(node, quantized_zero(out), src.dtype))
        return
    if value.type != src.type:
        node.fail("constant_values has type %s, the input %s", value.type_name, src.type_name)
    if value.size != 1:
        node.fail("constant_values must hold one value, has shape %s", list(value.shape))
    if src.type in (I8, U8, I16) and out.quantized:
        check_same_quantization(node, value, out)
    _pad_params(node, pads, 0, 2, [0, 0])


@op("MIRROR_PAD")
def prepare_mirror_pad(node):
    node.check_counts(2)
    src = node.input(0)
    pads = _paddings(node, 1, src.rank)
    mode = int(node.opt("mode", 0))
    if mode not in (0, 1):
        node.fail("unknown mirror pad mode %d", mode)
    limit = mode  # REFLECT (0) may reach in - 1 elements, SYMMETRIC (1) all of them
    for d, (a, b) in enumerate(pads):
        if max(a, b) > src.shape[d] - 1 + limit:
            node.fail("padding %s of dim %d (size %d) is too large for %s mode", (a, b), d, src.shape[d],
                      "REFLECT" if mode == 0 else "SYMMETRIC")
    _pad_params(node, pads, 1 + mode, -1, [0, 0])


def _block_params(node, block_input, pads_input, what):
    src = node.input(0)
    check_output_type(node, 0, src)
    es = itemsize(node, src)
    block = const_ints(node, block_input, "block_shape")
    m = len(block)
    if node.input(block_input).rank != 1:
        node.fail("block_shape must be 1-D")
    if src.rank < m + 1:
        node.fail("input of rank %d has too few dims for %d block dims", src.rank, m)
    if any(b < 1 for b in block):
        node.fail("block_shape %s must be positive", block)
    t = node.input(pads_input)
    values = const_ints(node, pads_input, what)
    if t.rank != 2 or t.shape[0] != m or t.shape[1] != 2:
        node.fail("%s must have shape [%d, 2], has %s", what, m, list(t.shape))
    pairs = [(values[2 * k], values[2 * k + 1]) for k in range(m)]
    if any(a < 0 or b < 0 for a, b in pairs):
        node.fail("%s %s must not be negative", what, pairs)
    return src, es, block, pairs, elements(src.shape[1 + m:])


@op("SPACE_TO_BATCH_ND")
def prepare_space_to_batch_nd(node):
    node.check_counts(3)
    src, es, block, pads, inner = _block_params(node, 1, 2, "paddings")
    m = len(block)
    spatial = []
    for k in range(m):
        padded = src.shape[1 + k] + pads[k][0] + pads[k][1]
        if padded % block[k]:
            node.fail("padded dim %d (%d) is not a multiple of block %d", 1 + k, padded, block[k])
        spatial.append(padded // block[k])
    shape = [src.shape[0] * elements(block)] + spatial + list(src.shape[1 + m:])
    check_fits(node, shape, "output")
    node.set_output_shape(0, shape)
    value = scalar_value_words(node, quantized_zero(node.outputs[0]), src.dtype)
    # ip: [element size, m, B, inner, in_spatial[m], block[m], pad_before[m], value words]
    node.ip = [es, m, src.shape[0], inner] + list(src.shape[1:1 + m]) + block + [a for a, _ in pads] + value


@op("BATCH_TO_SPACE_ND")
def prepare_batch_to_space_nd(node):
    node.check_counts(3)
    src, es, block, crops, inner = _block_params(node, 1, 2, "crops")
    m = len(block)
    nblk = elements(block)
    if src.shape[0] % nblk:
        node.fail("batch %d is not a multiple of the block size product %d", src.shape[0], nblk)
    spatial = []
    for k in range(m):
        size = src.shape[1 + k] * block[k] - crops[k][0] - crops[k][1]
        if size < 0:
            node.fail("crops %s exceed dim %d", crops[k], 1 + k)
        spatial.append(size)
    shape = [src.shape[0] // nblk] + spatial + list(src.shape[1 + m:])
    node.set_output_shape(0, shape)
    # ip: [element size, m, B (output batch), inner, in_spatial[m], block[m], crop_before[m]]
    node.ip = [es, m, shape[0], inner] + list(src.shape[1:1 + m]) + block + [a for a, _ in crops]


# -- index-driven ops ------------------------------------------------------------------------------

def _check_const_indices(node, i, limits):
    """Bounds-checks constant indices at prepare time (C checks them again on every invoke)."""
    value = node.value(i)
    if value is None:
        return
    value = np.asarray(value)
    if isinstance(limits, int):
        bad = (value < 0) | (value >= limits)
    else:
        flat = value.reshape(-1, len(limits))
        bad = (flat < 0) | (flat >= np.asarray(limits))
    if bad.any():
        node.fail("constant indices hold values out of range %s", limits)


@op("GATHER")
def prepare_gather(node):
    node.check_counts(2)
    params, indices = node.input(0), node.input(1)
    check_output_type(node, 0, params)
    es = itemsize(node, params)
    node.check_type(indices, (I16, I32, I64), "indices")
    if params.rank < 1:
        node.fail("params must have rank >= 1")
    axis = node.axis(node.opt("axis", 0), params.rank)
    batch_dims = int(node.opt("batch_dims", 0))
    if batch_dims < 0:
        batch_dims += indices.rank
    if not 0 <= batch_dims <= min(axis, indices.rank):
        node.fail("batch_dims %d must be in [0, min(axis %d, indices rank %d)]", batch_dims, axis,
                  indices.rank)
    if tuple(params.shape[:batch_dims]) != tuple(indices.shape[:batch_dims]):
        node.fail("params %s and indices %s differ in their %d batch dims", list(params.shape),
                  list(indices.shape), batch_dims)
    shape = list(params.shape[:axis]) + list(indices.shape[batch_dims:]) + list(params.shape[axis + 1:])
    check_fits(node, shape, "output")
    _check_const_indices(node, 1, params.shape[axis])
    node.set_output_shape(0, shape)
    # ip: [element size, index type, batch, outer, axis_size, inner, coords]
    node.ip = [es, indices.type, elements(params.shape[:batch_dims]), elements(params.shape[batch_dims:axis]),
               params.shape[axis], elements(params.shape[axis + 1:]), elements(indices.shape[batch_dims:])]


@op("GATHER_ND")
def prepare_gather_nd(node):
    node.check_counts(2)
    params, indices = node.input(0), node.input(1)
    check_output_type(node, 0, params)
    es = itemsize(node, params)
    node.check_type(indices, (I16, I32, I64), "indices")
    if indices.rank < 1:
        node.fail("indices must have rank >= 1")
    k = indices.shape[-1]
    if k > params.rank:
        node.fail("index depth %d exceeds the params rank %d", k, params.rank)
    shape = list(indices.shape[:-1]) + list(params.shape[k:])
    check_fits(node, shape, "output")
    if k:
        _check_const_indices(node, 1, list(params.shape[:k]))
    node.set_output_shape(0, shape)
    strides = row_strides(params.shape)[:k]
    # ip: [element size, index type, k, tuples, slice, params_dims[k], strides[k]]
    node.ip = [es, indices.type, k, elements(indices.shape[:-1]), elements(params.shape[k:])] + \
        list(params.shape[:k]) + strides


@op("SCATTER_ND")
def prepare_scatter_nd(node):
    node.check_counts(3)
    indices, updates = node.input(0), node.input(1)
    node.check_type(indices, (I32, I64), "indices")
    node.check_type(updates, (F32, I32, I64, I16, I8, U8, BOOL), "updates")
    check_output_type(node, 0, updates)
    shape = const_ints(node, 2, "shape")
    if node.input(2).rank != 1:
        node.fail("shape must be 1-D")
    if any(d < 0 for d in shape):
        node.fail("shape %s has a negative dimension", shape)
    if indices.rank < 1:
        node.fail("indices must have rank >= 1")
    k = indices.shape[-1]
    if k > len(shape):
        node.fail("index depth %d exceeds the output rank %d", k, len(shape))
    want = list(indices.shape[:-1]) + shape[k:]
    if list(updates.shape) != want:
        node.fail("updates have shape %s, expected %s", list(updates.shape), want)
    if k:
        _check_const_indices(node, 0, shape[:k])
    check_fits(node, shape, "output")
    node.set_output_shape(0, shape)
    # ip: [type, k, tuples, slice, out_dims[k], strides[k]]
    node.ip = [updates.type, k, elements(indices.shape[:-1]), elements(shape[k:])] + shape[:k] + \
        row_strides(shape)[:k]


@op("EMBEDDING_LOOKUP")
def prepare_embedding_lookup(node):
    node.check_counts(2)
    ids, table = node.input(0), node.input(1)
    node.check_type(ids, I32, "ids")
    node.check_rank(ids, 1, what="ids")
    if table.rank < 1:
        node.fail("the table must have rank >= 1")
    out = node.outputs[0]
    es = itemsize(node, table)
    kind = 0
    if out.type == F32 and table.type in (I8, U8):
        kind = 1  # TFLite reads a uint8 table as int8 too (no zero point), so both are kind 1
        if len(table.scales if table.scales is not None else []) > 1:
            node.fail("per-channel quantized tables are not supported")
    else:
        check_output_type(node, 0, table)
    _check_const_indices(node, 0, table.shape[0])
    shape = [ids.shape[0]] + list(table.shape[1:])
    check_fits(node, shape, "output")
    node.set_output_shape(0, shape)
    # ip: [element size, rows, row elements, kind]  fp: [scale]
    node.ip = [es, table.shape[0], elements(table.shape[1:]), kind]
    node.fp = [table.scale] if kind else []


@op("ONE_HOT")
def prepare_one_hot(node):
    node.check_counts(4)
    indices = node.input(0)
    node.check_type(indices, INDEX_TYPES, "indices")
    depth = const_scalar_int(node, 1, "depth")
    if depth < 0:
        node.fail("depth must not be negative, is %d", depth)
    on, off = node.input(2), node.input(3)
    node.check_same_type(on, off)
    node.check_type(on, (F32, I32, I64, I8, U8, I16, BOOL, F16), "on_value")
    if on.size != 1 or off.size != 1:
        node.fail("on_value and off_value must be scalars")
    check_output_type(node, 0, on)
    es = itemsize(node, on)
    axis = int(node.opt("axis", -1))
    if not -1 <= axis <= indices.rank:
        node.fail("axis %d is out of range for output rank %d", axis, indices.rank + 1)
    if axis == -1:
        axis = indices.rank
    shape = list(indices.shape)
    shape.insert(axis, depth)
    check_fits(node, shape, "output")
    node.set_output_shape(0, shape)
    # ip: [element size, index type, outer, depth, inner]
    node.ip = [es, indices.type, elements(indices.shape[:axis]), depth, elements(indices.shape[axis:])]

