"""Python side of the nn ops: convolutions, fully connected, batch matmul, pooling.

Each prepare checks the node, sets the output shape and fills node.ip / node.fp with the
layout documented at the top of the matching csrc/ops/nn/*.c file.

Compiled, as the other ops are not: most models are mostly convolutions, and typed access to
the node and its tensors makes their prepare about 1.6 times cheaper. It reads as the Python
it is; the helpers are cdef functions and take typed nodes and tensors."""
import math

import numpy as np

from ._base import F32, I8, I16, I32, I64, PADDING, U8, op

from ._node cimport Node, TensorInfo, any_nonzero, same_padding, scale_bounds

# Kernel variants (NN_* in csrc/ops/nn/nn_common.h).
K_F32, K_I8, K_U8, K_I16, K_HYBRID = 0, 1, 2, 3, 4
_ACT_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


cdef _clamp_activation(Node node):
    """Fused activations that a kernel applies as a clamp (TANH / SIGN_BIT are not)."""
    act = node.activation()
    if act not in (0, 1, 2, 3):
        node.fail("fused activation %s is not supported by this op", _ACT_NAMES[act])
    return act


cdef _check_quantized(Node node, TensorInfo t, what):
    if not t.quantized:
        node.fail("%s must be quantized (it has no scale)", what)
    # minimum and maximum propagate NaN, so the two bounds see every non-finite value
    least, greatest = (t.scale, t.scale) if len(t.scales) == 1 else scale_bounds(node, t)
    if not (least > 0 and math.isfinite(greatest)):
        node.fail("%s has a non-positive or non-finite scale", what)


cdef _check_filter_scales(Node node, TensorInfo w, channels, axis, what="filter"):
    """A quantized filter: one scale, or one per output channel along `axis`."""
    _check_quantized(node, w, what)
    n = len(w.scales)
    if n != 1:
        if n != channels:
            node.fail("%s has %d scales for %d output channels", what, n, channels)
        if (w.quantized_dimension or 0) != axis:
            node.fail("%s is quantized along dimension %d, expected %d", what, w.quantized_dimension or 0, axis)
    return n


cdef bint _per_channel_differs(Node node, TensorInfo w) except -1:
    if not w.quantized:
        return False
    if len(w.scales) == 1:
        return False
    least, greatest = scale_bounds(node, w)
    return bool(least != greatest)


cdef bint _nonzero_zero_point(TensorInfo t) except -1:
    """Whether any of t's zero points is not 0 (absent zero points count as not 0)."""
    zps = t.zero_points
    return zps is None or any_nonzero(zps)


cdef _kind(Node node, TensorInfo x, TensorInfo w, TensorInfo bias, TensorInfo out, channels, axis,
           bint allow_hybrid=True):
    """The kernel variant for (input, filter, bias, output) types, checked as TFLite does."""
    if x.type == F32 and w.type == F32:
        node.check_type(out, F32, "output")
        if bias is not None:
            node.check_type(bias, F32, "bias")
        return K_F32
    if x.type == F32 and w.type == I8 and allow_hybrid:
        node.check_type(out, F32, "output")
        if bias is not None:
            node.check_type(bias, F32, "bias")
        _check_filter_scales(node, w, channels, axis)
        return K_HYBRID
    if x.type in (I8, U8, I16):
        _check_quantized(node, x, "input")
        _check_quantized(node, out, "output")
        if len(x.scales) != 1 or len(out.scales) != 1:
            node.fail("input and output must be quantized per tensor")
    if x.type == I8 and w.type == I8:
        node.check_type(out, I8, "output")
        if bias is not None:
            node.check_type(bias, I32, "bias")
        _check_filter_scales(node, w, channels, axis)
        if len(w.scales) > 1 and _nonzero_zero_point(w):
            node.fail("per-channel filter zero points must be 0")
        return K_I8
    if x.type == U8 and w.type == U8:
        node.check_type(out, U8, "output")
        if bias is not None:
            node.check_type(bias, I32, "bias")
        if _check_filter_scales(node, w, channels, axis) != 1:
            node.fail("uint8 filters must be quantized per tensor")
        return K_U8
    if x.type == I16 and w.type == I8:
        node.check_type(out, I16, "output")
        if bias is not None:
            node.check_type(bias, (I64, I32), "bias")
        _check_filter_scales(node, w, channels, axis)
        if x.zero_point != 0 or out.zero_point != 0:
            node.fail("int16 input and output must have zero point 0")
        if _nonzero_zero_point(w):
            node.fail("int8 filter zero points must be 0 with int16 activations")
        if np.max(x.scale * np.asarray(w.scales, np.float64)) / out.scale >= 2 ** 15:  # the 64-bit rescale's shift
            node.fail("input scale x filter scale / output scale must be below 2**15 with int16 activations")
        return K_I16
    node.fail("unsupported combination: input %s, filter %s", x.type_name, w.type_name)


cdef _bias32(Node node, kind, TensorInfo bias):
    """Whether an int16x8 op accumulates and requantizes in 32 bits: an int32 bias, or no
    bias with quantized_bias_type INT32 (TFLite's default for int16 activations is int64)."""
    if kind != K_I16:
        return 0
    if bias is not None:
        return int(bias.type == I32)
    return int(int(node.opt("quantized_bias_type", 0)) == I32)


cdef _check_bias(Node node, TensorInfo bias, channels):
    if bias is not None and bias.size != channels:
        node.fail("bias has %d elements, expected %d", bias.size, channels)


cdef _padding(Node node):
    padding = int(node.opt("padding", 0))
    if padding not in PADDING.values():
        node.fail("unknown padding %d", padding)
    return padding


cdef list _strides(Node node, names):
    """Options (strides or dilations) that default to 1 and must be positive."""
    values = []
    for name in names:
        v = int(node.opt(name, 1))
        if v <= 0:
            node.fail("%s must be positive, got %d", name, v)
        values.append(v)
    return values


cdef tuple _conv_operands(Node node):
    """(input, filter, output, bias or None) of a node check_counts(2, 3) has seen, the input
    and filter of rank 4."""
    inputs = node.inputs
    x, w = inputs[0], inputs[1]
    if len(x.shape) != 4:
        node.check_rank(x, 4, 4, "input")
    if len(w.shape) != 4:
        node.check_rank(w, 4, 4, "filter")
    return x, w, node.outputs[0], inputs[2] if len(inputs) > 2 else None


cdef tuple _conv_window(Node node, h, w, kh, kw):
    """(activation, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, out_h,
    out_w) of a 2-D convolution over an h x w input with a kh x kw filter."""
    act = _clamp_activation(node)
    sh, sw = _strides(node, ("stride_h", "stride_w"))
    dh, dw = _strides(node, ("dilation_h_factor", "dilation_w_factor"))
    padding = _padding(node)
    oh, pt = same_padding(node, h, kh, sh, dh, padding)
    ow, pl = same_padding(node, w, kw, sw, dw, padding)
    return act, sh, sw, dh, dw, pt, pl, oh, ow


# ip: [kind, activation, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
#      filter_is_const, hybrid_per_channel, int16x8_in_32_bits, bias_is_const]   (csrc/ops/nn/conv.c)
@op("CONV_2D")
def conv_2d(Node node):
    cdef TensorInfo x, w, out, bias
    node.check_counts(2, 3)
    x, w, out, bias = _conv_operands(node)
    batch, h, wd, ic = x.shape
    oc, kh, kw, fic = w.shape
    if kh <= 0 or kw <= 0:   # the GEMM path has no taps to read (a fuzzed filter overran it)
        node.fail("filter has an empty window %dx%d", kh, kw)
    if fic <= 0 or ic <= 0 or ic % fic != 0:
        node.fail("input has %d channels, not a multiple of the filter's %d", ic, fic)
    groups = ic // fic
    if oc % groups != 0:
        node.fail("%d output channels do not split into %d groups", oc, groups)
    _check_bias(node, bias, oc)
    kind = _kind(node, x, w, bias, out, oc, 0)
    act, sh, sw, dh, dw, pt, pl, oh, ow = _conv_window(node, h, wd, kh, kw)
    node.set_output_shape(0, (batch, oh, ow, oc))
    node.ip = [kind, act, sh, sw, dh, dw, pt, pl, int(w.const is not None), int(_per_channel_differs(node, w)),
               _bias32(node, kind, bias), int(bias is None or bias.const is not None)]


# ip: [kind, activation, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
#      depth_multiplier, filter_and_bias_const]   (csrc/ops/nn/depthwise_conv.c)
@op("DEPTHWISE_CONV_2D")
def depthwise_conv_2d(Node node):
    cdef TensorInfo x, w, out, bias
    node.check_counts(2, 3)
    x, w, out, bias = _conv_operands(node)
    batch, h, wd, ic = x.shape
    one, kh, kw, oc = w.shape
    if one != 1:
        node.fail("filter must have shape [1, h, w, channels], has %s", list(w.shape))
    if ic <= 0 or oc % ic != 0:
        node.fail("filter has %d channels, not a multiple of the input's %d", oc, ic)
    dm = oc // ic
    _check_bias(node, bias, oc)
    kind = _kind(node, x, w, bias, out, oc, 3)
    if kind == K_I16 and bias is not None and bias.type != I64:
        node.fail("int16 depthwise convolution needs an int64 bias")
    act, sh, sw, dh, dw, pt, pl, oh, ow = _conv_window(node, h, wd, kh, kw)
    node.set_output_shape(0, (batch, oh, ow, oc))
    consts = int(w.const is not None and (bias is None or bias.const is not None))
    node.ip = [kind, act, sh, sw, dh, dw, pt, pl, dm, consts]


# ip: [kind, activation, filter_is_const, asymmetric_quantize_inputs, bias_is_const]
#     (csrc/ops/nn/fully_connected.c)
@op("FULLY_CONNECTED")
def fully_connected(Node node):
    cdef TensorInfo x, w, out, bias
    node.check_counts(2, 3, (1,))
    x, w, out = node.input(0), node.input(1), node.outputs[0]
    bias = node.optional_input(2)
    node.check_rank(w, 2, 2, "weights")
    if x.rank < 1:
        node.fail("input must have rank >= 1")
    if int(node.opt("weights_format", 0)) != 0:
        node.fail("only the DEFAULT weights format is supported")
    n, k = w.shape
    _check_bias(node, bias, n)
    kind = _kind(node, x, w, bias, out, n, 0)
    act = _clamp_activation(node)
    keep = bool(node.opt("keep_num_dims", False))
    if k == 0:
        batch = int(np.prod(x.shape[:-1], dtype=np.int64))
    else:
        if x.size % k != 0:
            node.fail("input of %d elements does not divide into rows of %d", x.size, k)
        batch = x.size // k
    if keep:
        if x.shape[-1] != k:
            node.fail("keep_num_dims needs the input's last dimension (%d) to equal %d", x.shape[-1], k)
        node.set_output_shape(0, tuple(x.shape[:-1]) + (n,))
    else:
        node.set_output_shape(0, (batch, n))
    node.ip = [kind, act, int(w.const is not None), int(bool(node.opt("asymmetric_quantize_inputs", False))),
               int(bias is None or bias.const is not None)]


# ip: [kind, activation, stride_h, stride_w, filter_h, filter_w, pad_top, pad_left]
#     (csrc/ops/nn/pool.c)
@op("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D")
def pool_2d(Node node):
    node.check_counts(1)
    x, out = node.input(0), node.outputs[0]
    node.check_rank(x, 4, 4, "input")
    allowed = (F32,) if node.name == "L2_POOL_2D" else (F32, I8, U8, I16)
    node.check_type(x, allowed, "input")
    node.check_type(out, x.type, "output")
    if x.type != F32:
        _check_quantized(node, x, "input")
        _check_quantized(node, out, "output")
    kind = {F32: K_F32, I8: K_I8, U8: K_U8, I16: K_I16}[x.type]
    act = _clamp_activation(node)
    sh, sw = _strides(node, ("stride_h", "stride_w"))
    fh, fw = int(node.opt("filter_height", 0)), int(node.opt("filter_width", 0))
    if fh <= 0 or fw <= 0:
        node.fail("filter size must be positive, got %dx%d", fh, fw)
    padding = _padding(node)
    batch, h, w, c = x.shape
    oh, pt = same_padding(node, h, fh, sh, 1, padding)
    ow, pl = same_padding(node, w, fw, sw, 1, padding)
    node.set_output_shape(0, (batch, oh, ow, c))
    node.ip = [kind, act, sh, sw, fh, fw, pt, pl]


# ip: [kind, adj_x, adj_y, M, K, N, out_batch[3], lhs_batch_stride[3], rhs_batch_stride[3],
#      rhs_is_const]   (csrc/ops/nn/batch_matmul.c)
@op("BATCH_MATMUL")
def batch_matmul(Node node):
    node.check_counts(2)
    lhs, rhs, out = node.input(0), node.input(1), node.outputs[0]
    node.check_rank(lhs, 2, 5, "lhs")
    node.check_rank(rhs, 2, 5, "rhs")
    types = (lhs.type, rhs.type)
    if types == (F32, F32):
        kind = K_F32
    elif types == (I8, I8):
        kind = K_I8
    elif types in ((I16, I16), (I16, I8)):
        kind = K_I16
    else:
        node.fail("unsupported input types %s and %s", lhs.type_name, rhs.type_name)
    node.check_type(out, lhs.type, "output")
    if kind != K_F32:
        for t, what in ((lhs, "lhs"), (rhs, "rhs"), (out, "output")):
            _check_quantized(node, t, what)
            if len(t.scales) != 1:
                node.fail("%s must be quantized per tensor", what)
        if kind == K_I16 and (lhs.zero_point or rhs.zero_point or out.zero_point):
            node.fail("int16 batch matmul needs zero points of 0")
    adj_x, adj_y = bool(node.opt("adj_x", False)), bool(node.opt("adj_y", False))
    m, k = (lhs.shape[-1], lhs.shape[-2]) if adj_x else (lhs.shape[-2], lhs.shape[-1])
    k2, n = (rhs.shape[-1], rhs.shape[-2]) if adj_y else (rhs.shape[-2], rhs.shape[-1])
    if k != k2:
        node.fail("contraction sizes differ: lhs %d, rhs %d", k, k2)
    lb, rb = (1,) * 3 + tuple(lhs.shape[:-2]), (1,) * 3 + tuple(rhs.shape[:-2])
    lb, rb = lb[-3:], rb[-3:]
    ob = []
    for x, y in zip(lb, rb):
        if x != y and x != 1 and y != 1:
            node.fail("batch dims %s and %s cannot be broadcast", list(lhs.shape[:-2]), list(rhs.shape[:-2]))
        ob.append(y if x == 1 else x)
    out_rank = max(lhs.rank, rhs.rank)
    node.set_output_shape(0, tuple(ob[3 - (out_rank - 2):]) + (m, n))

    def strides(b, size):
        st, acc = [0, 0, 0], size
        for i in (2, 1, 0):
            st[i] = acc if b[i] != 1 else 0
            acc *= b[i]
        return st
    node.ip = ([kind, int(adj_x), int(adj_y), m, k, n] + ob + strides(lb, m * k) + strides(rb, k * n)
               + [int(rhs.const is not None)])


# ip: [kind, activation, stride_h, stride_w, pad_top, pad_left, weights_are_const,
#      int16x8_in_32_bits, bias_is_const]   (csrc/ops/nn/transpose_conv.c)
@op("TRANSPOSE_CONV")
def transpose_conv(Node node):
    node.check_counts(3, 4)
    w, x, out = node.input(1), node.input(2), node.outputs[0]
    bias = node.optional_input(3)
    shape = node.need_const(0, "output_shape")
    node.check_type(node.input(0), I32, "output_shape")
    node.check_rank(x, 4, 4, "input")
    node.check_rank(w, 4, 4, "weights")
    shape = [int(v) for v in np.asarray(shape).reshape(-1).tolist()]
    if len(shape) != 4:
        node.fail("output_shape must have 4 elements, has %d", len(shape))
    oc, kh, kw, ic = w.shape
    if ic != x.shape[3]:
        node.fail("weights take %d input channels, the input has %d", ic, x.shape[3])
    if shape[0] != x.shape[0] or shape[3] != oc:
        node.fail("output_shape %s does not match batch %d and %d output channels", shape, x.shape[0], oc)
    if any(d < 0 for d in shape):
        node.fail("output_shape %s has a negative dimension", shape)
    _check_bias(node, bias, oc)
    kind = _kind(node, x, w, bias, out, oc, 0, allow_hybrid=False)
    act = _clamp_activation(node)
    sh, sw = _strides(node, ("stride_h", "stride_w"))
    for name, v in (("stride_h", sh), ("stride_w", sw)):
        if v > 32767:   # as TFLite, which keeps strides in int16
            node.fail("%s must be at most 32767, got %d", name, v)
    padding = _padding(node)
    _oh, pt = same_padding(node, shape[1], kh, sh, 1, padding)
    _ow, pl = same_padding(node, shape[2], kw, sw, 1, padding)
    node.set_output_shape(0, shape)
    node.ip = [kind, act, sh, sw, pt, pl, int(w.const is not None), _bias32(node, kind, bias),
               int(bias is None or bias.const is not None)]


# ip: [activation, stride_d, stride_h, stride_w, dilation_d, dilation_h, dilation_w,
#      pad_front, pad_top, pad_left]   (csrc/ops/nn/conv3d.c)
@op("CONV_3D")
def conv_3d(Node node):
    node.check_counts(2, 3)
    x, w, out = node.input(0), node.input(1), node.outputs[0]
    bias = node.optional_input(2)
    for t, what in ((x, "input"), (w, "filter"), (out, "output")):
        node.check_type(t, F32, what)
    if bias is not None:
        node.check_type(bias, F32, "bias")
    node.check_rank(x, 5, 5, "input")
    node.check_rank(w, 5, 5, "filter")
    batch, d, h, wd, ic = x.shape
    kd, kh, kw, fic, oc = w.shape
    if fic != ic:
        node.fail("filter takes %d input channels, the input has %d", fic, ic)
    _check_bias(node, bias, oc)
    act = _clamp_activation(node)
    sd, sh, sw = _strides(node, ("stride_d", "stride_h", "stride_w"))
    dd, dh, dw = _strides(node, ("dilation_d_factor", "dilation_h_factor", "dilation_w_factor"))
    padding = _padding(node)
    od, pd = same_padding(node, d, kd, sd, dd, padding)
    oh, ph = same_padding(node, h, kh, sh, dh, padding)
    ow, pw = same_padding(node, wd, kw, sw, dw, padding)
    node.set_output_shape(0, (batch, od, oh, ow, oc))
    node.ip = [act, sd, sh, sw, dd, dh, dw, pd, ph, pw]
