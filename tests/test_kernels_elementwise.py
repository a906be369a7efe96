"""Elementwise micro-kernels (csrc/kernels/vbinary, vunary) on every ISA this machine offers.

ADD / SUB / MUL in float32, int8 and uint8 (same shapes of every length around the vector
tails, a scalar on either side, rows broadcast against a tensor, fused activations, awkward
scales), float32 RELU-family / LOGISTIC / TANH / HARD_SWISH (values over the whole range,
including the ends where the kernels take shortcuts), float32 GELU in both forms (every ISA
equal to the portable kernel bit for bit, the portable kernel within a few ulp of
double-precision math), and the 8-bit table activations.
8-bit results equal the portable kernels' and TFLite's reference kernels' bit for bit; float
ones stay within 1e-6 relative of the portable kernels and within the conformance tolerance of
the reference runtime. 1 and 2 threads agree exactly."""
import math

import numpy as np
import pytest

import tflite_rt
from tflite_rt.builder import ModelBuilder

from harness import run, run_reference
from test_kernels_dwconv import isa_caps

ours = pytest.importorskip("tflite_rt.interpreter")

QPARAMS = {"i8": ((0.05, -3), (0.04, 7), (0.07, 2)), "u8": ((0.05, 130), (0.04, 120), (0.07, 127))}
NPTYPE = {"f32": np.float32, "i8": np.int8, "u8": np.uint8}


def random_values(dtype, shape, rng, low=-4.0, high=4.0):
    if dtype == "f32":
        return rng.uniform(low, high, shape).astype(np.float32)
    info = np.iinfo(NPTYPE[dtype])
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(NPTYPE[dtype])


def binary_model(op, dtype, a_shape, b_shape, act="NONE", qparams=None, b_const=None):
    m = ModelBuilder()
    qa, qb, qo = qparams or QPARAMS.get(dtype, (None, None, None))
    t = NPTYPE[dtype]
    a = m.input("a", list(a_shape), t, quantization=qa)
    if b_const is not None:
        b = m.constant("b", b_const, quantization=qb)
    else:
        b = m.input("b", list(b_shape), t, quantization=qb)
    y = m.tensor("y", [1], t, quantization=qo)
    m.op(op, [a, b], [y], fused_activation_function=act)
    m.output(y)
    return m.build()


def unary_model(op, dtype, shape, q_in=None, q_out=None):
    m = ModelBuilder()
    t = NPTYPE[dtype]
    x = m.input("x", list(shape), t, quantization=q_in)
    y = m.tensor("y", [1], t, quantization=q_out)
    m.op(op, [x], [y])
    m.output(y)
    return m.build()


def run_caps(model, inputs):
    outs = {}
    try:
        for cap in isa_caps():
            tflite_rt.set_isa(cap)
            outs[cap] = run(ours, model, inputs)[0][0]
            two = run(ours, model, inputs, num_threads=2)[0][0]
            np.testing.assert_array_equal(two, outs[cap], err_msg="%s: 2 threads vs 1" % cap)
    finally:
        tflite_rt.set_isa(None)
    return outs


def check(model, inputs, dtype, rtol=1e-6, ref_rtol=1e-5, ref_atol=2e-6):
    outs = run_caps(model, inputs)
    ref = run_reference(model, inputs, resolver="default" if dtype == "f32" else "ref")[0]
    base = outs["scalar"]
    for cap, got in outs.items():
        assert got.shape == ref.shape and got.dtype == ref.dtype
        if dtype == "f32":
            np.testing.assert_allclose(got, base, rtol=rtol, atol=1e-30, err_msg="%s vs scalar" % cap)
            np.testing.assert_allclose(got, ref, rtol=ref_rtol, atol=ref_atol, err_msg="%s vs reference" % cap)
        else:
            np.testing.assert_array_equal(got, base, err_msg="%s vs scalar" % cap)
            np.testing.assert_array_equal(got, ref, err_msg="%s vs reference" % cap)


# --- ADD / SUB / MUL ---------------------------------------------------------------------------

LENGTHS = [1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257]
SHAPE_PAIRS = [
    *[((1, n), (1, n)) for n in LENGTHS],
    ((2, 5, 7, 19), (1,)),            # scalar b
    ((1,), (3, 4, 37)),               # scalar a
    ((2, 6, 6, 40), (1, 1, 1, 40)),   # rows of b repeated
    ((1, 1, 1, 24), (3, 5, 5, 24)),   # rows of a repeated
    ((4, 1, 9), (1, 6, 1)),           # both broadcast
    ((1, 1), (1, 1)),
]


def shape_id(pair):
    return "x".join(map(str, pair[0])) + "_" + "x".join(map(str, pair[1]))


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=[shape_id(p) for p in SHAPE_PAIRS])
@pytest.mark.parametrize("dtype", ["f32", "i8", "u8"])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_binary(op, dtype, shapes):
    rng = np.random.default_rng(len(shape_id(shapes)) + len(op))
    a_shape, b_shape = shapes
    act = "RELU6" if len(a_shape) == 4 else "NONE"
    model = binary_model(op, dtype, a_shape, b_shape, act=act)
    check(model, [random_values(dtype, a_shape, rng), random_values(dtype, b_shape, rng)], dtype)


@pytest.mark.parametrize("dtype", ["i8", "u8"])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("scales", [(0.05, 0.05, 0.0003), (1.0, 0.001, 0.01), (0.002, 0.9, 7.0), (0.3, 0.3, 0.3)],
                         ids=["tiny_out", "far_apart", "huge_out", "equal"])
def test_binary_scales(op, dtype, scales):
    # multipliers above one (left shifts), inputs of one scale, rescales that round to nothing
    zp = {"i8": (-128, 127, 0), "u8": (0, 255, 128)}[dtype]
    q = tuple((s, z) for s, z in zip(scales, zp))
    rng = np.random.default_rng(3)
    shape = (3, 67)
    for act in ("NONE", "RELU"):
        model = binary_model(op, dtype, shape, shape, act=act, qparams=q)
        check(model, [random_values(dtype, shape, rng), random_values(dtype, shape, rng)], dtype)


@pytest.mark.parametrize("dtype", ["f32", "i8"])
def test_binary_constant_operand(dtype):
    rng = np.random.default_rng(5)
    shape = (2, 9, 9, 33)
    for op in ("ADD", "SUB", "MUL"):
        for b_shape in ((1,), (33,)):
            model = binary_model(op, dtype, shape, None, b_const=random_values(dtype, b_shape, rng))
            check(model, [random_values(dtype, shape, rng)], dtype)


def test_binary_float_specials():
    a = np.array([[np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-40, -3e38, 3e38, 5.0, -5.0] * 7], np.float32)
    b = np.array([[1.0, np.inf, 2.0, -0.0, 0.0, 1e-40, -3e38, 3e38, np.nan, 0.5] * 7], np.float32)
    for op in ("ADD", "SUB", "MUL"):
        for act in ("NONE", "RELU", "RELU6"):
            outs = run_caps(binary_model(op, "f32", a.shape, b.shape, act=act), [a, b])
            for cap, got in outs.items():
                np.testing.assert_array_equal(got, outs["scalar"], err_msg=cap)


def swish_model(dtype, shape, order=0, act="NONE", other=False, sigmoid_out=False):
    """y = x * LOGISTIC(x) (operands in `order`), or x * LOGISTIC(z) with `other`."""
    m = ModelBuilder()
    t = NPTYPE[dtype]
    qx = (0.05, -3) if dtype == "i8" else (0.07, 120)
    x = m.input("x", list(shape), t, quantization=qx)
    z = m.input("z", list(shape), t, quantization=qx) if other else x
    s = m.tensor("s", [1], t, quantization=(1 / 256, -128 if dtype == "i8" else 0))
    y = m.tensor("y", [1], t, quantization=(0.04, 2 if dtype == "i8" else 128))
    m.op("LOGISTIC", [z], [s])
    m.op("MUL", [x, s] if order == 0 else [s, x], [y], fused_activation_function=act)
    m.output(y, s) if sigmoid_out else m.output(y)
    return m.build()


@pytest.mark.parametrize("dtype", ["i8", "u8"])
@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("act", ["NONE", "RELU"])
def test_mul_of_input_and_its_sigmoid(dtype, order, act):
    # swish: computed as one table lookup per element, which must give the two ops' bits; every
    # byte value, in a tensor large enough to be split over two threads
    shape = (1, 64, 64, 40)
    x = np.resize(np.arange(256, dtype=np.uint8), shape).view(NPTYPE[dtype])
    check(swish_model(dtype, shape, order, act), [x], dtype)
    # the sigmoid also an output of the model: both outputs as the reference has them
    model = swish_model(dtype, (1, 256), order, act, sigmoid_out=True)
    got = run(ours, model, [x.reshape(-1)[:256].reshape(1, 256)])[0]
    ref = run_reference(model, [x.reshape(-1)[:256].reshape(1, 256)], resolver="ref")
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("dtype", ["i8", "u8"])
def test_mul_by_the_sigmoid_of_another_tensor(dtype):
    # x * LOGISTIC(z): not a function of x alone, so no table
    rng = np.random.default_rng(11)
    shape = (3, 77)
    model = swish_model(dtype, shape, other=True)
    inputs = [random_values(dtype, shape, rng), random_values(dtype, shape, rng)]
    got = run(ours, model, inputs)[0][0]
    np.testing.assert_array_equal(got, run_reference(model, inputs, resolver="ref")[0])


# --- unary -------------------------------------------------------------------------------------

FLOAT_UNARY = ["RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LOGISTIC", "TANH", "HARD_SWISH"]


def float_sweep(n=4099, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([
        rng.uniform(-4, 4, n), rng.uniform(-30, 30, n), rng.uniform(-120, 120, 257),
        rng.standard_normal(n) * 1e-3, np.linspace(-9.5, -8.5, 101), np.linspace(16.0, 17.2, 101),
        [0.0, -0.0, 1e-40, -1e-40, 87.0, -87.0, -87.5, -88.8, -103.0, 9.0, -9.0, 3.0, -3.0, 1e30, -1e30],
    ]).astype(np.float32)
    return x.reshape(1, -1)


@pytest.mark.parametrize("op", FLOAT_UNARY)
def test_unary_float(op):
    x = float_sweep()
    for n in (1, 5, 8, 15, 17, 33):  # every tail
        check(unary_model(op, "f32", (1, n)), [x[:, :n].copy()], "f32")
    model = unary_model(op, "f32", x.shape)
    outs = run_caps(model, [x])
    ref = run_reference(model, [x])[0]
    for cap, got in outs.items():
        # relative to the portable kernels (libm) where the values are normal floats
        tiny = np.abs(outs["scalar"]) < 1e-37
        np.testing.assert_allclose(np.where(tiny, 0, got), np.where(tiny, 0, outs["scalar"]), rtol=1e-6, atol=0,
                                   err_msg="%s vs scalar" % cap)
        # (XNNPACK's LOGISTIC gives NaN for |x| ~ 1e30: compare ordinary values only)
        ordinary = np.abs(x) < 1e4
        np.testing.assert_allclose(got[ordinary], ref[ordinary], rtol=1e-5, atol=2e-6,
                                   err_msg="%s vs reference" % cap)


@pytest.mark.parametrize("op", FLOAT_UNARY)
def test_unary_float_specials(op):
    x = np.array([[np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 3e38, -3e38] * 3], np.float32)
    outs = run_caps(unary_model(op, "f32", x.shape), [x])
    for cap, got in outs.items():
        np.testing.assert_array_equal(np.isnan(got), np.isnan(outs["scalar"]), err_msg=cap)
        np.testing.assert_allclose(got, outs["scalar"], rtol=1e-6, atol=1e-37, err_msg=cap)


# --- GELU (float32: vunary-gelu.h, the same approximation at every ISA level) -----------------

def gelu_model(shape, approximate):
    m = ModelBuilder()
    x = m.input("x", list(shape), np.float32)
    y = m.tensor("y", [1], np.float32)
    m.op("GELU", [x], [y], approximate=approximate)
    m.output(y)
    return m.build()


def gelu_inputs():
    """The sweep, the branch edges (|x| = 0.75, the clamps) and subnormal / huge / special values."""
    edges = np.array([0.75, -0.75, np.nextafter(np.float32(0.75), np.float32(1)), -14.85, -15.0, -13.2, -11.5,
                      -11.0, -10.0, 5.9, 6.0, 1e-40, -1e-40, 1e-45, 3e38, -3e38, np.inf, -np.inf, np.nan, 0.0, -0.0],
                     np.float32)
    return np.concatenate([float_sweep()[0], np.linspace(-16, 16, 3001, dtype=np.float32), edges]).reshape(1, -1)


def ulp(v):
    """The spacing of float32 at |v| (subnormal spacing below the normal range)."""
    return np.spacing(np.maximum(np.abs(v), np.float32(2.0 ** -126)).astype(np.float32)).astype(np.float64)


def gelu_double(x, approximate):
    xd = x.astype(np.float64)
    if not approximate:
        return 0.5 * xd * np.vectorize(math.erfc)(-xd / math.sqrt(2.0)), np.zeros_like(xd)
    w = xd * (float(np.float32(2 * math.sqrt(2 / math.pi))) + float(np.float32(2 * math.sqrt(2 / math.pi) * 0.044715))
              * xd * xd)
    with np.errstate(over="ignore"):
        return xd / (1.0 + np.exp(-w)), w


@pytest.mark.parametrize("approximate", [False, True], ids=["exact", "tanh"])
def test_gelu_float_isas_agree(approximate):
    # every ISA computes the portable kernel's floats exactly, signed zeros and NaNs included
    x = gelu_inputs()
    outs = run_caps(gelu_model(x.shape, approximate), [x])
    for cap, got in outs.items():
        np.testing.assert_array_equal(got, outs["scalar"], err_msg=cap)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(outs["scalar"]), err_msg=cap)
    for n in (1, 5, 8, 15, 16, 17, 31, 33, 63):  # every tail of 8 and 16 lanes, one and two per step
        part = x[:, 7:7 + n].copy()
        tails = run_caps(gelu_model(part.shape, approximate), [part])
        for cap, got in tails.items():
            np.testing.assert_array_equal(got, outs["scalar"][:, 7:7 + n], err_msg="%s n=%d" % (cap, n))


@pytest.mark.parametrize("approximate", [False, True], ids=["exact", "tanh"])
def test_gelu_float_accuracy(approximate):
    # the portable kernel against double-precision math, in ulp of the result: 7 for the exact
    # form; the tanh form's e^(-|2u|) magnifies the rounding of 2u by |2u|
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2 ** 32, 200000, dtype=np.uint64).astype(np.uint32)
    x = np.concatenate([bits.view(np.float32), gelu_inputs()[0]])
    x = x[np.isfinite(x)].reshape(1, -1)
    try:
        tflite_rt.set_isa("scalar")
        got = run(ours, gelu_model(x.shape, approximate), [x])[0][0][0].astype(np.float64)
    finally:
        tflite_rt.set_isa(None)
    want, w = gelu_double(x[0], approximate)
    err = np.abs(got - want) / ulp(want)
    bound = 7.0 if not approximate else 4.5 * (1 + np.abs(w) / 2)
    bound = np.broadcast_to(bound, err.shape)
    normal = np.abs(want) >= 2.0 ** -126
    assert np.all(err[normal] <= bound[normal]), \
        "worst %.2f ulp at x = %r" % (err[normal].max(), x[0][normal][np.argmax(err[normal])])
    # subnormal results: the same relative error, plus the one rounding into the subnormal range
    assert np.all((np.abs(got - want) <= 2.0 ** -149 + bound * 2.0 ** -23 * np.abs(want))[~normal])
    # the limits: +inf -> +inf, -inf -> -0, NaN -> NaN
    specials = np.array([[np.inf, -np.inf, np.nan, -0.0]], np.float32)
    out = run(ours, gelu_model(specials.shape, approximate), [specials])[0][0][0]
    assert out[0] == np.inf and out[1] == 0 and np.signbit(out[1]) and np.isnan(out[2]) and np.signbit(out[3])


@pytest.mark.parametrize("approximate", [False, True], ids=["exact", "tanh"])
def test_gelu_float_reference(approximate):
    # against ai-edge-litert on BERT's range, tails and two threads (run_caps)
    x = np.random.default_rng(2).normal(0, 2.5, (1, 4099)).astype(np.float32)
    check(gelu_model(x.shape, approximate), [x], "f32", rtol=0, ref_rtol=1e-5, ref_atol=2e-6)


LUT_CASES = [
    ("LOGISTIC", "i8", (0.08, 3), (1 / 256, -128)),
    ("LOGISTIC", "u8", (0.08, 128), (1 / 256, 0)),
    ("TANH", "i8", (0.05, -10), (1 / 128, 0)),
    ("TANH", "u8", (0.05, 120), (1 / 128, 128)),
    ("HARD_SWISH", "i8", (0.04, 5), (0.03, -100)),
    ("HARD_SWISH", "u8", (0.04, 128), (0.03, 20)),
    ("RELU6", "i8", (0.05, -20), (0.05, -128)),
    ("RELU", "u8", (0.05, 100), (0.03, 0)),
]


@pytest.mark.parametrize("case", LUT_CASES, ids=["%s-%s" % c[:2] for c in LUT_CASES])
def test_unary_table(case):
    op, dtype, q_in, q_out = case
    info = np.iinfo(NPTYPE[dtype])
    every = np.arange(info.min, info.max + 1).astype(NPTYPE[dtype])
    for n in (1, 7, 31, 33, 63, 64, 65, 127, 256, 1000):
        x = np.resize(np.roll(every, n), n).reshape(1, n)
        check(unary_model(op, dtype, x.shape, q_in, q_out), [x], dtype)
