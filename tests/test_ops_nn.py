"""Differential tests of the nn ops (conv, depthwise, transpose conv, fully connected, batch
matmul, pooling, conv3d) against the reference runtime (LSTM: test_ops_lstm.py).

Integer kernels are compared bit-exactly with TFLite's reference kernels (resolver="ref");
float ones with the default resolver within a small tolerance."""
import numpy as np
import pytest

from tflite_rt.builder import ModelBuilder
from tflite_rt.interpreter import Interpreter

from harness import assert_matches_reference, run

RNG = np.random.default_rng(1234)

# (activation dtype, weight dtype, bias dtype)
QTYPES = {
    "i8": (np.int8, np.int8, np.int32),
    "u8": (np.uint8, np.uint8, np.int32),
    "i16": (np.int16, np.int8, np.int64),
    "i16b32": (np.int16, np.int8, np.int32),  # int16x8 with a legacy int32 bias
}


def act_q(dtype):
    """Per-tensor (scale, zero point) for an activation of this dtype."""
    if dtype == np.int16:
        return 0.002, 0
    if dtype == np.uint8:
        return 0.05, 128
    return 0.05, 3


def out_q(dtype, scale=0.1):
    if dtype == np.int16:
        return scale / 50, 0
    if dtype == np.uint8:
        return scale, 120
    return scale, -5


def weights(m, shape, kind, wdtype=None, channels=1, axis=0, name="w"):
    """A constant filter: float, or quantized (per channel when channels > 1)."""
    if kind == "f32":
        return m.constant(name, RNG.standard_normal(shape).astype(np.float32)), None
    if wdtype == np.uint8:
        q = RNG.integers(0, 256, shape).astype(np.uint8)
        return m.constant(name, q, quantization=(0.01, 130)), np.array([0.01], np.float32)
    scales = RNG.uniform(0.005, 0.02, channels).astype(np.float32)
    q = RNG.integers(-127, 128, shape).astype(np.int8)
    quant = {"scale": scales, "zero_point": np.zeros(channels, np.int64), "quantized_dimension": axis}
    return m.constant(name, q, quantization=quant), scales


def bias_const(m, n, kind, in_scale=None, w_scales=None, bdtype=None, zero=False):
    if kind in ("f32", "hybrid"):
        return m.constant("b", RNG.standard_normal(n).astype(np.float32) * (0 if zero else 1))
    scales = (np.float32(in_scale) * np.broadcast_to(w_scales, (n,))).astype(np.float32)
    hi = 3000 if bdtype == np.int32 else 300000
    return m.constant("b", RNG.integers(-hi, hi, n).astype(bdtype) * (0 if zero else 1), dtype=bdtype,
                      quantization={"scale": scales, "zero_point": np.zeros(n, np.int64)})


def bias_type_option(kind):
    # TFLite reads an int16x8 op's bias as int64 unless the option says int32
    return {"quantized_bias_type": "INT32"} if kind == "i16b32" else {}


def io_tensors(m, kind, in_shape, out_scale=0.1):
    """(input, output) tensors of a conv-like op of this kind."""
    if kind in ("f32", "hybrid"):
        return m.input("x", in_shape), m.tensor("y", [1], np.float32), None
    adt = QTYPES[kind][0]
    x = m.input("x", in_shape, adt, quantization=act_q(adt))
    y = m.tensor("y", [1], adt, quantization=out_q(adt, out_scale))
    return x, y, act_q(adt)[0]


def resolver_for(kind):
    return "default" if kind == "f32" else "ref"


def check(model, kind, **kw):
    if kind == "hybrid":
        kw.setdefault("atol", 1e-4)
        kw.setdefault("rtol", 1e-4)
    assert_matches_reference(model, resolver=resolver_for(kind), **kw)


def check_without_bias(build, kind, **case):
    """TFLite's conv kernels insist on a bias; ours takes its absence to mean zeros."""
    global RNG
    RNG = np.random.default_rng(7)
    ours_model = build(kind, bias=False, **case)
    RNG = np.random.default_rng(7)
    ref_model = build(kind, bias="zero", **case)
    from tflite_rt import interpreter as ours
    from harness import run_reference
    expected = run_reference(ref_model, resolver=resolver_for(kind))
    got, _ = run(ours, ours_model)
    np.testing.assert_allclose(got[0].astype(np.float64), expected[0].astype(np.float64), rtol=1e-5, atol=1e-5)


# --- CONV_2D ------------------------------------------------------------------------------

def conv_model(kind, batch=2, hw=(9, 11), ic=5, oc=7, k=(3, 3), stride=(1, 1), dil=(1, 1),
               padding="SAME", act="NONE", bias=True, groups=1, per_channel=True):
    m = ModelBuilder()
    x, y, in_scale = io_tensors(m, kind, [batch, hw[0], hw[1], ic])
    wdt = QTYPES[kind][1] if kind in QTYPES else np.int8
    channels = oc if per_channel and wdt != np.uint8 else 1
    w, ws = weights(m, (oc, k[0], k[1], ic // groups), "f32" if kind == "f32" else "q", wdt, channels)
    ins = [x, w]
    if bias:
        ins.append(bias_const(m, oc, kind, in_scale, ws, QTYPES.get(kind, (0, 0, None))[2], bias == "zero"))
    m.op("CONV_2D", ins, [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         dilation_h_factor=dil[0], dilation_w_factor=dil[1], fused_activation_function=act,
         **bias_type_option(kind))
    m.output(y)
    return m.build()


CONV_CASES = [
    dict(),
    dict(k=(1, 1)),
    dict(k=(1, 1), hw=(1, 1), ic=33, oc=17),
    dict(stride=(2, 2), padding="VALID"),
    dict(stride=(2, 1), k=(3, 2), padding="SAME", act="RELU"),
    dict(dil=(2, 2), act="RELU6"),
    dict(act="RELU_N1_TO_1", hw=(4, 5), ic=3, oc=16),
    dict(bias=False),
    dict(batch=1, hw=(6, 6), ic=6, oc=9, groups=3),
    dict(hw=(2, 2), k=(5, 5), padding="SAME"),
    dict(hw=(10, 12), k=(9, 9), ic=2, oc=3),  # more taps than one tap list holds
    # rows of whole tiles inside the image, across output rows and images, and those at its edges
    dict(hw=(23, 37), ic=3, oc=8, stride=(2, 2), padding="SAME"),
    dict(hw=(19, 45), ic=4, oc=5, stride=(1, 3), dil=(2, 1), padding="SAME"),
    dict(hw=(16, 30), ic=2, oc=6, k=(2, 4), padding="VALID"),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()) or "base")
@pytest.mark.parametrize("kind", ["f32", "i8", "u8", "i16", "i16b32"])
def test_conv2d(kind, case):
    if kind == "u8" and case.get("groups", 1) != 1:
        pytest.skip("TFLite's uint8 reference conv has no groups")
    if case.get("bias") is False:
        case = {k: v for k, v in case.items() if k != "bias"}
        return check_without_bias(conv_model, kind, **case)
    check(conv_model(kind, **case), kind)


def test_conv2d_int8_per_tensor():
    check(conv_model("i8", per_channel=False), "i8")


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("case", [dict(), dict(stride=(2, 2), padding="VALID", act="RELU"), dict(k=(1, 1))])
def test_conv2d_hybrid(case, per_channel):
    # per-channel hybrid quantizes each batch asymmetrically, per-tensor symmetrically
    check(conv_model("hybrid", per_channel=per_channel, **case), "hybrid")


def test_conv2d_threads_agree():
    model = conv_model("f32", batch=1, hw=(17, 13), ic=8, oc=20)
    a = assert_matches_reference(model, num_threads=1)
    b = assert_matches_reference(model, num_threads=3)
    np.testing.assert_array_equal(a[0], b[0])
    qa = assert_matches_reference(conv_model("i8", hw=(17, 13)), resolver="ref", num_threads=3)
    assert qa[0].dtype == np.int8


# --- DEPTHWISE_CONV_2D --------------------------------------------------------------------

def dw_model(kind, batch=2, hw=(9, 8), ic=6, dm=1, k=(3, 3), stride=(1, 1), dil=(1, 1),
             padding="SAME", act="NONE", bias=True):
    m = ModelBuilder()
    oc = ic * dm
    x, y, in_scale = io_tensors(m, kind, [batch, hw[0], hw[1], ic])
    wdt = QTYPES[kind][1] if kind in QTYPES else np.int8
    channels = 1 if wdt == np.uint8 else oc
    w, ws = weights(m, (1, k[0], k[1], oc), "f32" if kind == "f32" else "q", wdt, channels, axis=3)
    ins = [x, w]
    if bias:
        ins.append(bias_const(m, oc, kind, in_scale, ws, QTYPES.get(kind, (0, 0, None))[2], bias == "zero"))
    m.op("DEPTHWISE_CONV_2D", ins, [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         dilation_h_factor=dil[0], dilation_w_factor=dil[1], depth_multiplier=dm,
         fused_activation_function=act)
    m.output(y)
    return m.build()


DW_CASES = [
    dict(),
    dict(dm=3, ic=5),
    dict(stride=(2, 2), padding="VALID", act="RELU6"),
    dict(dil=(2, 3), act="RELU"),
    dict(ic=37, k=(5, 5), bias=False),
    dict(hw=(1, 1), ic=20, k=(1, 1)),
]


@pytest.mark.parametrize("case", DW_CASES, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()) or "base")
@pytest.mark.parametrize("kind", ["f32", "i8", "u8", "i16", "hybrid"])
def test_depthwise_conv2d(kind, case):
    if case.get("bias") is False:
        case = {k: v for k, v in case.items() if k != "bias"}
        return check_without_bias(dw_model, kind, **case)
    check(dw_model(kind, **case), kind)


# --- FULLY_CONNECTED ----------------------------------------------------------------------

def fc_model(kind, in_shape=(3, 20), units=11, act="NONE", bias=True, keep_num_dims=False,
             per_channel=False, asymmetric=False):
    m = ModelBuilder()
    x, y, in_scale = io_tensors(m, kind, list(in_shape))
    k = in_shape[-1]
    wdt = QTYPES[kind][1] if kind in QTYPES else np.int8
    channels = units if per_channel and wdt != np.uint8 else 1
    w, ws = weights(m, (units, k), "f32" if kind == "f32" else "q", wdt, channels)
    ins = [x, w]
    if bias:
        ins.append(bias_const(m, units, kind, in_scale, ws, QTYPES.get(kind, (0, 0, None))[2]))
    m.op("FULLY_CONNECTED", ins, [y], fused_activation_function=act, keep_num_dims=keep_num_dims,
         asymmetric_quantize_inputs=asymmetric, **bias_type_option(kind))
    m.output(y)
    return m.build()


FC_CASES = [
    dict(),
    dict(in_shape=(1, 64), units=10, act="RELU"),
    dict(in_shape=(2, 3, 8), units=5, keep_num_dims=True),
    dict(in_shape=(2, 3, 8), units=5, act="RELU6"),
    dict(in_shape=(9, 33), units=17, bias=False),
    dict(in_shape=(5, 7), units=3, per_channel=True),
]


@pytest.mark.parametrize("case", FC_CASES, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()) or "base")
@pytest.mark.parametrize("kind", ["f32", "i8", "u8", "i16", "i16b32"])
def test_fully_connected(kind, case):
    if kind == "u8" and case.get("per_channel"):
        pytest.skip("uint8 weights are per tensor")
    check(fc_model(kind, **case), kind)


@pytest.mark.parametrize("asymmetric", [False, True])
@pytest.mark.parametrize("case", [dict(), dict(in_shape=(1, 64), units=10, act="RELU"),
                                  dict(per_channel=True, in_shape=(4, 9), units=6)])
def test_fully_connected_hybrid(case, asymmetric):
    check(fc_model("hybrid", asymmetric=asymmetric, **case), "hybrid")


def test_fully_connected_non_constant_weights():
    m = ModelBuilder()
    x = m.input("x", [3, 6])
    w = m.input("w", [4, 6])
    y = m.tensor("y", [3, 4])
    m.op("FULLY_CONNECTED", [x, w], [y])
    m.output(y)
    model = m.build()
    for seed in range(2):
        assert_matches_reference(model, seed=seed)


# --- BATCH_MATMUL -------------------------------------------------------------------------

def bmm_model(kind, lhs, rhs, adj_x=False, adj_y=False, const_rhs=False):
    m = ModelBuilder()
    if kind == "f32":
        a = m.input("a", lhs)
        b = m.constant("b", RNG.standard_normal(rhs).astype(np.float32)) if const_rhs else m.input("b", rhs)
        y = m.tensor("y", [1])
    else:
        dt = np.int8 if kind == "i8" else np.int16
        qa, qb, qy = ((0.05, 3), (0.04, -7), (0.5, 2)) if dt == np.int8 else ((0.002, 0), (0.003, 0), (0.01, 0))
        a = m.input("a", lhs, dt, quantization=qa)
        b = m.input("b", rhs, dt, quantization=qb)
        y = m.tensor("y", [1], dt, quantization=qy)
    m.op("BATCH_MATMUL", [a, b], [y], adj_x=adj_x, adj_y=adj_y)
    m.output(y)
    return m.build()


BMM_CASES = [
    dict(lhs=[2, 3, 4], rhs=[2, 4, 5]),
    dict(lhs=[3, 4], rhs=[4, 70]),
    dict(lhs=[2, 4, 3], rhs=[2, 4, 5], adj_x=True),
    dict(lhs=[2, 3, 4], rhs=[2, 5, 4], adj_y=True),
    dict(lhs=[2, 4, 3], rhs=[5, 4], adj_x=True, adj_y=True),
    dict(lhs=[2, 1, 3, 4], rhs=[3, 4, 2]),
    dict(lhs=[1, 2, 1, 3, 4], rhs=[2, 1, 3, 4, 6]),
]


@pytest.mark.parametrize("case", BMM_CASES, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()))
@pytest.mark.parametrize("kind", ["f32", "i8", "i16"])
def test_batch_matmul(kind, case):
    check(bmm_model(kind, **case), kind)


def test_batch_matmul_constant_rhs():
    assert_matches_reference(bmm_model("f32", [2, 3, 4], [4, 5], const_rhs=True))


# --- pooling ------------------------------------------------------------------------------

def pool_model(op_name, kind, shape=(2, 9, 10, 5), f=(3, 3), stride=(2, 2), padding="SAME", act="NONE"):
    m = ModelBuilder()
    if kind == "f32":
        x, y = m.input("x", list(shape)), m.tensor("y", [1])
    else:
        dt = QTYPES[kind][0]
        x = m.input("x", list(shape), dt, quantization=act_q(dt))
        y = m.tensor("y", [1], dt, quantization=act_q(dt))
    m.op(op_name, [x], [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         filter_height=f[0], filter_width=f[1], fused_activation_function=act)
    m.output(y)
    return m.build()


POOL_CASES = [
    dict(),
    dict(padding="VALID"),
    dict(f=(2, 2), stride=(1, 1), act="RELU"),
    dict(f=(4, 3), stride=(3, 2), act="RELU6", shape=(1, 7, 7, 18)),
    dict(f=(9, 10), stride=(1, 1), padding="VALID"),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()) or "base")
@pytest.mark.parametrize("kind", ["f32", "i8", "u8", "i16"])
@pytest.mark.parametrize("op_name", ["AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"])
def test_pool(op_name, kind, case):
    if op_name == "L2_POOL_2D" and kind != "f32":
        pytest.skip("L2_POOL_2D is float only")
    check(pool_model(op_name, kind, **case), kind)


# --- TRANSPOSE_CONV -----------------------------------------------------------------------

def tconv_model(kind, in_shape=(2, 5, 6, 4), oc=3, k=(3, 3), stride=(2, 2), padding="SAME",
                out_hw=None, bias=True, act="NONE"):
    m = ModelBuilder()
    batch, h, w_, ic = in_shape
    if out_hw is None:
        out_hw = (h * stride[0], w_ * stride[1]) if padding == "SAME" else \
                 ((h - 1) * stride[0] + k[0], (w_ - 1) * stride[1] + k[1])
    x, y, in_scale = io_tensors(m, kind, list(in_shape), out_scale=0.3)
    shape = m.constant("shape", np.array([batch, out_hw[0], out_hw[1], oc], np.int32))
    wdt = QTYPES[kind][1] if kind in QTYPES else np.int8
    channels = 1 if wdt == np.uint8 else oc
    w, ws = weights(m, (oc, k[0], k[1], ic), "f32" if kind == "f32" else "q", wdt, channels)
    ins = [shape, w, x]
    if bias:
        ins.append(bias_const(m, oc, kind, in_scale, ws, QTYPES.get(kind, (0, 0, None))[2]))
    m.op("TRANSPOSE_CONV", ins, [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         fused_activation_function=act, **bias_type_option(kind))
    m.output(y)
    return m.build()


TCONV_CASES = [
    dict(),
    dict(padding="VALID"),
    dict(bias=False),
    dict(stride=(1, 1), k=(2, 3)),
    dict(stride=(3, 2), k=(4, 4), in_shape=(1, 3, 4, 9), oc=10),
    dict(act="RELU"),
]


@pytest.mark.parametrize("case", TCONV_CASES, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()) or "base")
@pytest.mark.parametrize("kind", ["f32", "i8", "u8", "i16", "i16b32"])
def test_transpose_conv(kind, case):
    check(tconv_model(kind, **case), kind)


# --- CONV_3D ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", [
    dict(),
    dict(padding="VALID", stride=(2, 1, 2)),
    dict(dil=(1, 2, 1), act="RELU", bias=False),
], ids=str)
def test_conv3d(case):
    padding, stride = case.get("padding", "SAME"), case.get("stride", (1, 1, 1))
    dil, act, bias = case.get("dil", (1, 1, 1)), case.get("act", "NONE"), case.get("bias", True)
    m = ModelBuilder()
    x = m.input("x", [2, 5, 6, 7, 3])
    w = m.constant("w", RNG.standard_normal((2, 3, 3, 3, 4)).astype(np.float32))
    ins = [x, w] + ([m.constant("b", RNG.standard_normal(4).astype(np.float32))] if bias else [])
    y = m.tensor("y", [1])
    m.op("CONV_3D", ins, [y], padding=padding, stride_d=stride[0], stride_h=stride[1], stride_w=stride[2],
         dilation_d_factor=dil[0], dilation_h_factor=dil[1], dilation_w_factor=dil[2],
         fused_activation_function=act)
    m.output(y)
    assert_matches_reference(m.build())


# --- models that must be rejected ---------------------------------------------------------

def rejects(model):
    with pytest.raises(ValueError):
        Interpreter(model_content=model).allocate_tensors()


def test_bad_conv_models():
    m = ModelBuilder()  # filter channels do not divide the input's
    x = m.input("x", [1, 5, 5, 5])
    w = m.constant("w", np.zeros((4, 3, 3, 2), np.float32))
    y = m.tensor("y", [1])
    m.op("CONV_2D", [x, w], [y], padding="SAME", stride_h=1, stride_w=1)
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # zero stride
    x = m.input("x", [1, 5, 5, 2])
    w = m.constant("w", np.zeros((4, 3, 3, 2), np.float32))
    y = m.tensor("y", [1])
    m.op("CONV_2D", [x, w], [y], padding="SAME", stride_h=0, stride_w=1)
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # bias of the wrong size
    x = m.input("x", [1, 5, 5, 2])
    w = m.constant("w", np.zeros((4, 3, 3, 2), np.float32))
    b = m.constant("b", np.zeros(3, np.float32))
    y = m.tensor("y", [1])
    m.op("CONV_2D", [x, w, b], [y], padding="SAME", stride_h=1, stride_w=1)
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # int8 input with float weights
    x = m.input("x", [1, 5, 5, 2], np.int8, quantization=(0.1, 0))
    w = m.constant("w", np.zeros((4, 3, 3, 2), np.float32))
    y = m.tensor("y", [1], np.int8, quantization=(0.1, 0))
    m.op("CONV_2D", [x, w], [y], padding="SAME", stride_h=1, stride_w=1)
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # rank 3 input
    x = m.input("x", [5, 5, 2])
    w = m.constant("w", np.zeros((4, 3, 3, 2), np.float32))
    y = m.tensor("y", [1])
    m.op("CONV_2D", [x, w], [y], padding="SAME", stride_h=1, stride_w=1)
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # per-channel scales that do not match the output channels
    x = m.input("x", [1, 5, 5, 2], np.int8, quantization=(0.1, 0))
    w = m.constant("w", np.zeros((4, 3, 3, 2), np.int8),
                   quantization={"scale": [0.1, 0.1], "zero_point": [0, 0], "quantized_dimension": 0})
    y = m.tensor("y", [1], np.int8, quantization=(0.1, 0))
    m.op("CONV_2D", [x, w], [y], padding="SAME", stride_h=1, stride_w=1)
    m.output(y)
    rejects(m.build())


def test_bad_other_models():
    m = ModelBuilder()  # depthwise filter channels not a multiple of the input's
    x = m.input("x", [1, 5, 5, 3])
    w = m.constant("w", np.zeros((1, 3, 3, 4), np.float32))
    y = m.tensor("y", [1])
    m.op("DEPTHWISE_CONV_2D", [x, w], [y], padding="SAME", stride_h=1, stride_w=1, depth_multiplier=1)
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # fully connected input that does not divide into rows
    x = m.input("x", [3, 5])
    w = m.constant("w", np.zeros((2, 4), np.float32))
    y = m.tensor("y", [1])
    m.op("FULLY_CONNECTED", [x, w], [y])
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # batch matmul contraction mismatch
    a, b = m.input("a", [2, 3, 4]), m.input("b", [2, 5, 6])
    y = m.tensor("y", [1])
    m.op("BATCH_MATMUL", [a, b], [y])
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # batch dims that do not broadcast
    a, b = m.input("a", [2, 3, 4]), m.input("b", [3, 4, 6])
    y = m.tensor("y", [1])
    m.op("BATCH_MATMUL", [a, b], [y])
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # pool with a zero-sized window
    x = m.input("x", [1, 5, 5, 3])
    y = m.tensor("y", [1])
    m.op("MAX_POOL_2D", [x], [y], padding="SAME", stride_h=1, stride_w=1, filter_height=0, filter_width=2)
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # quantized L2 pool
    x = m.input("x", [1, 5, 5, 3], np.int8, quantization=(0.1, 0))
    y = m.tensor("y", [1], np.int8, quantization=(0.1, 0))
    m.op("L2_POOL_2D", [x], [y], padding="SAME", stride_h=1, stride_w=1, filter_height=2, filter_width=2)
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # transpose conv whose output_shape is not constant
    s = m.input("s", [4], np.int32)
    x = m.input("x", [1, 4, 4, 2])
    w = m.constant("w", np.zeros((3, 3, 3, 2), np.float32))
    y = m.tensor("y", [1])
    m.op("TRANSPOSE_CONV", [s, w, x], [y], padding="SAME", stride_h=2, stride_w=2)
    m.output(y)
    rejects(m.build())

    m = ModelBuilder()  # transpose conv channels mismatch
    s = m.constant("s", np.array([1, 8, 8, 3], np.int32))
    x = m.input("x", [1, 4, 4, 2])
    w = m.constant("w", np.zeros((3, 3, 3, 5), np.float32))
    y = m.tensor("y", [1])
    m.op("TRANSPOSE_CONV", [s, w, x], [y], padding="SAME", stride_h=2, stride_w=2)
    m.output(y)
    rejects(m.build())
