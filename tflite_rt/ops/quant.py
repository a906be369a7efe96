"""Python side of the quant ops: QUANTIZE, DEQUANTIZE, FAKE_QUANT, DENSIFY (see _base.py).

The C kernels live in csrc/ops/quant/; each file documents its ip/fp layout at the top, and the
same layout is repeated next to the prepare function that fills it.
"""
import numpy as np

from ._base import F16, F32, I8, I16, I32, U8, TensorInfo, op

_INT_RANGE = {I8: (-128, 127), U8: (0, 255), I16: (-32768, 32767), I32: (-2 ** 31, 2 ** 31 - 1)}
_INT32_MAX = 2 ** 31 - 1

# QUANTIZE: which output types each input type may requantize to (TFLite's quantize.cc).
_REQUANT_OUTPUTS = {I8: (I8, U8), U8: (I8, U8), I16: (I8, I16, I32), I32: (I8, I16)}


def _channel_layout(node, t, shape, what):
    """(outer, channels, inner, scales, zero points) of a quantized tensor of this shape, viewed as
    [outer, channels, inner] around its quantized dimension (channels = 1 if per-tensor)."""
    scales = np.asarray(t.scales, dtype=np.float32)
    zero_points = np.asarray(t.zero_points, dtype=np.int64)
    size = int(np.prod(shape, dtype=np.int64))
    if size > _INT32_MAX:
        node.fail("%s has %d elements; at most %d are supported", what, size, _INT32_MAX)
    if len(scales) == 1:
        return 1, 1, size, scales, zero_points
    axis = int(t.quantized_dimension or 0)
    if not 0 <= axis < len(shape):
        node.fail("%s: quantized_dimension %d is out of range for rank %d", what, axis, len(shape))
    if shape[axis] != len(scales):
        node.fail("%s has %d per-channel scales but dimension %d has size %d", what, len(scales),
                  axis, shape[axis])
    if len(zero_points) != len(scales):
        node.fail("%s has %d scales but %d zero points", what, len(scales), len(zero_points))
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, len(scales), inner, scales, zero_points


def _check_zero_points(node, t, zero_points, what):
    lo, hi = _INT_RANGE[t.type]
    if zero_points.size and (zero_points.min() < lo or zero_points.max() > hi):
        node.fail("%s has a zero point outside the %s range", what, t.type_name)


@op("QUANTIZE")
def quantize(node):
    """float input (ip: [outer, channels, inner, qmin, qmax, zero_point[channels]],
                    fp: [scale[channels]])
    integer input (ip: [in_zero_point, out_zero_point, qmin, qmax], fp: [in_scale, out_scale])"""
    node.check_counts(1)
    x, y = node.inputs[0], node.outputs[0]
    node.check_type(x, (F32, I8, U8, I16, I32), "input")
    if x.type == F32:
        node.check_type(y, (I8, U8, I16), "output of a float quantization")
    else:
        node.check_type(y, _REQUANT_OUTPUTS[x.type], "output of a %s requantization" % x.type_name)
    if not y.quantized:
        node.fail("the output has no quantization parameters")
    scales = np.asarray(y.scales, dtype=np.float32)
    if not np.all(np.isfinite(scales)) or np.any(scales <= 0):
        node.fail("output scales must be positive and finite")
    node.set_output_shape(0, x.shape)
    qmin, qmax = _INT_RANGE[y.type]

    if x.type == F32:
        outer, channels, inner, scales, zps = _channel_layout(node, y, x.shape, "the output")
        _check_zero_points(node, y, zps, "the output")
        node.ip = [outer, channels, inner, qmin, qmax] + [int(z) for z in zps]
        node.fp = [float(s) for s in scales]
        return

    if not x.quantized:
        node.fail("requantizing needs a quantized input; the input has no quantization parameters")
    if len(x.scales) > 1 or len(y.scales) > 1:
        node.fail("requantization is per-tensor only; the %s is quantized per channel",
                  "input" if len(x.scales) > 1 else "output")
    if not np.isfinite(x.scale) or x.scale <= 0:
        node.fail("the input scale must be positive and finite")
    _check_zero_points(node, x, np.asarray(x.zero_points), "the input")
    _check_zero_points(node, y, np.asarray(y.zero_points), "the output")
    if x.type == I16 and y.type == I16 and (x.zero_point != 0 or y.zero_point != 0):
        node.fail("int16 to int16 requantization needs zero points of 0 (got %d and %d)",
                  x.zero_point, y.zero_point)
    node.ip = [x.zero_point, y.zero_point, qmin, qmax]
    node.fp = [x.scale, y.scale]


@op("DEQUANTIZE")
def dequantize(node):
    """ip: [outer, channels, inner, input is constant, zero_point[channels]]
    fp: [scale[channels]]   (float16 input: ip [1, 1, count, constant], fp [])"""
    node.check_counts(1)
    x, y = node.inputs[0], node.outputs[0]
    node.check_type(x, (I8, U8, I16, F16), "input")
    node.check_type(y, F32, "output")
    node.set_output_shape(0, x.shape)
    is_const = int(x.const is not None)
    if x.type == F16:
        size = int(np.prod(x.shape, dtype=np.int64))
        if size > _INT32_MAX:
            node.fail("the input has %d elements; at most %d are supported", size, _INT32_MAX)
        node.ip = [1, 1, size, is_const]
        node.fp = []
        return
    if not x.quantized:
        node.fail("the %s input has no quantization parameters", x.type_name)
    if x.type == I16:
        if len(x.scales) > 1:
            node.fail("per-channel dequantization supports int8 and uint8, not int16")
        if x.zero_point != 0:
            node.fail("an int16 input needs a zero point of 0, got %d", x.zero_point)
    scales = np.asarray(x.scales, dtype=np.float32)
    if not np.all(np.isfinite(scales)) or np.any(scales < 0):
        node.fail("input scales must be non-negative and finite")
    outer, channels, inner, scales, zps = _channel_layout(node, x, x.shape, "the input")
    _check_zero_points(node, x, zps, "the input")
    node.ip = [outer, channels, inner, is_const] + [int(z) for z in zps]
    node.fp = [float(s) for s in scales]


@op("FAKE_QUANT")
def fake_quant(node):
    """ip: [num_bits]   fp: [min, max]"""
    node.check_counts(1)
    x, y = node.inputs[0], node.outputs[0]
    node.check_type(x, F32, "input")
    node.check_type(y, F32, "output")
    if node.opt("narrow_range", False):
        node.fail("narrow_range FAKE_QUANT is not supported at run time (TFLite rejects it too)")
    lo = float(np.float32(node.opt("min", 0.0)))
    hi = float(np.float32(node.opt("max", 0.0)))
    num_bits = int(node.opt("num_bits", 0))
    if not 2 <= num_bits <= 16:
        node.fail("num_bits must be in 2..16, got %d", num_bits)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        node.fail("the range [%g, %g] must be finite with min < max", lo, hi)
    node.set_output_shape(0, x.shape)
    node.ip = [num_bits]
    node.fp = [lo, hi]


# -- DENSIFY ---------------------------------------------------------------------------------

_DENSE, _SPARSE_CSR = 0, 1


def _index_vector(node, level, union, what):
    values = getattr(union, "values", None) if union is not None else None
    if values is None:
        node.fail("sparsity level %d has no %s", level, what)
    return np.asarray(values, dtype=np.int64).reshape(-1)


def densify_values(node, shape, sparsity, values):
    """The dense array (flat, in row-major order) that TFLite's sparsity format describes.

    Mirrors TFLite's sparsity FormatConverter: the tensor is stored in `traversal_order` over its
    dimensions followed by block dimensions (block_map says which dimension each block splits);
    each level is DENSE (every index present) or SPARSE_CSR (array_segments[p]..[p + 1] index
    into array_indices for each position p of the level above). Stored values follow in that
    traversal order. Every index and segment is checked, so a bad table fails clearly instead of
    writing out of bounds."""
    rank = len(shape)
    def ints(values):
        return [] if values is None else [int(v) for v in values]

    order = ints(sparsity.traversal_order)
    block_map = ints(sparsity.block_map)
    levels = list(sparsity.dim_metadata or [])
    total = rank + len(block_map)
    if len(order) != total:
        node.fail("sparsity traversal_order has %d entries; rank %d with %d block dimensions "
                  "needs %d", len(order), rank, len(block_map), total)
    if len(levels) != total:
        node.fail("sparsity has %d dim_metadata entries, expected %d", len(levels), total)
    if (sorted(order[:rank]) != list(range(rank))
            or sorted(order[rank:]) != list(range(rank, total))):
        node.fail("sparsity traversal_order %s is not a permutation of the dimensions followed by "
                  "the block dimensions", order)
    if any(not 0 <= d < rank for d in block_map) or any(
            a >= b for a, b in zip(block_map, block_map[1:])):
        node.fail("sparsity block_map %s must be increasing dimensions below %d", block_map, rank)

    formats = [int(m.format or 0) for m in levels]
    dense_sizes = [int(m.dense_size or 0) for m in levels]
    for level, f in enumerate(formats):
        if f not in (_DENSE, _SPARSE_CSR):
            node.fail("sparsity level %d has unknown format %d", level, f)
    block_size = [dense_sizes[order[rank + j]] for j in range(len(block_map))]
    blocked = list(shape)
    for j, d in enumerate(block_map):
        if block_size[j] <= 0 or shape[d] % block_size[j]:
            node.fail("sparsity block size %d does not divide dimension %d of size %d",
                      block_size[j], d, shape[d])
        blocked[d] = shape[d] // block_size[j]
    extent = [blocked[order[i]] if i < rank else block_size[order[i] - rank] for i in range(total)]

    # Walk the levels breadth-first: positions at each level are numbered 0..count-1 in
    # traversal order, so it suffices to carry each position's coordinates.
    count = 1
    coords = []
    for level in range(total):
        size = extent[level]
        if formats[level] == _DENSE:
            if dense_sizes[level] != size:
                node.fail("sparsity level %d is dense with size %d, but that dimension has %d",
                          level, dense_sizes[level], size)
            if count * size > max(int(np.prod(shape, dtype=np.int64)), 1):
                node.fail("sparsity levels describe more elements than the tensor holds")
            coords = [np.repeat(c, size) for c in coords]
            coords.append(np.tile(np.arange(size, dtype=np.int64), count))
            count *= size
            continue
        segments = _index_vector(node, level, levels[level].array_segments, "array_segments")
        indices = _index_vector(node, level, levels[level].array_indices, "array_indices")
        if len(segments) != count + 1:
            node.fail("sparsity level %d has %d segment entries, expected %d", level,
                      len(segments), count + 1)
        lengths = np.diff(segments)
        if segments[0] != 0 or np.any(lengths < 0) or segments[-1] != len(indices):
            node.fail("sparsity level %d: array_segments must rise from 0 to the %d indices",
                      level, len(indices))
        if len(indices) and (indices.min() < 0 or indices.max() >= size):
            node.fail("sparsity level %d has an index outside [0, %d)", level, size)
        coords = [np.repeat(c, lengths) for c in coords]
        coords.append(indices)
        count = len(indices)

    values = np.asarray(values).reshape(-1)
    if len(values) != count:
        node.fail("the sparse tensor stores %d values, its sparsity metadata describes %d",
                  len(values), count)
    original = [None] * rank
    for level in range(rank):
        original[order[level]] = coords[level]
    for level in range(rank, total):
        j = order[level] - rank
        d = block_map[j]
        original[d] = original[d] * block_size[j] + coords[level]
    dense = np.zeros(int(np.prod(shape, dtype=np.int64)), dtype=values.dtype)
    if count:
        dense[np.ravel_multi_index(original, shape)] = values
    return dense


@op("DENSIFY")
def densify(node):
    """ip: []   fp: []   extra input 1: the dense value, decoded here once."""
    node.check_counts(1)
    x, y = node.inputs[0], node.outputs[0]
    node.check_type(x, (F32, F16, I8), "input")
    node.check_type(y, x.type, "output")
    if x.sparsity is None:
        node.fail("the input is not a sparse tensor (it has no sparsity parameters)")
    if x.const is None:
        node.fail("the sparse input must be a constant tensor")
    dense = densify_values(node, x.shape, x.sparsity, x.const).reshape(x.shape)
    node.set_output_shape(0, x.shape)
    node.extra_inputs = [_planner_constant(node, dense, x)]
    node.ip = []
    node.fp = []


def _planner_constant(node, value, like):
    """A constant tensor the planner keeps alive for the C kernel; it is not part of the model,
    so it has no subgraph and no index."""
    planner = node.planner
    info = TensorInfo(id=len(planner.tensors), index=-1, subgraph=-1, name=like.name + "/dense",
                      type=like.type, shape=tuple(value.shape), shape_signature=tuple(value.shape),
                      scales=None, zero_points=None, quantized_dimension=0,
                      constant=np.ascontiguousarray(value), is_variable=False, sparsity=None, buffer=0)
    planner.tensors.append(info)
    return info

