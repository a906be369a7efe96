"""Reduction micro-kernels (csrc/kernels/reduce) on every ISA this machine offers.

MEAN / SUM / REDUCE_MAX / REDUCE_MIN over the H,W of NHWC and other middle axes (column kernels)
and over the last axis (row kernels), with channel counts around every vector width, float32
and quantized int8 / uint8; float SOFTMAX (its polynomial exp, masked -inf entries, beta) and
8-bit SOFTMAX (its exp table); float L2_NORMALIZATION. Cases past the ops' thresholds (4 MiB of
input for reductions, 2^18 elements for float softmax and L2 normalisation) split over two
threads.

Quantized results equal the portable kernels' and TFLite's reference kernels' bit for bit.
Float column sums add the rows in the reference's order, so they equal the reference exactly
too; float row sums, softmax and L2 normalisation agree within a tolerance. Every result is the
same with one thread and two."""
import numpy as np
import pytest

import tflite_rt
from tflite_rt.builder import ModelBuilder

from harness import random_inputs, run, run_reference
from test_kernels_dwconv import isa_caps

ours = pytest.importorskip("tflite_rt.interpreter")

QIN = {"i8": (np.int8, (0.05, 3)), "u8": (np.uint8, (0.05, 130))}
QOUT = {"i8": (0.02, -5), "u8": (0.02, 120)}


def reduce_model(name, kind, shape, axes, keep=True, qout=None):
    m = ModelBuilder()
    if kind == "f32":
        x, y = m.input("x", list(shape)), m.tensor("y", [1])
    else:
        dt, q = QIN[kind]
        x = m.input("x", list(shape), dt, quantization=q)
        y = m.tensor("y", [1], dt, quantization=qout or QOUT[kind])
    a = m.constant("axes", np.array(axes, np.int32))
    m.op(name, [x, a], [y], keep_dims=keep)
    m.output(y)
    return m.build()


def softmax_model(kind, shape, beta=1.0, out="same"):
    m = ModelBuilder()
    if kind == "f32":
        x, y = m.input("x", list(shape)), m.tensor("y", list(shape))
    else:
        dt, _ = QIN[kind]
        x = m.input("x", list(shape), dt, quantization=(0.1, -20 if kind == "i8" else 100))
        if out == "i16":
            y = m.tensor("y", list(shape), np.int16, quantization=(1 / 32768, 0))
        elif kind == "i8":
            y = m.tensor("y", list(shape), np.int8, quantization=(1 / 256, -128))
        else:
            y = m.tensor("y", list(shape), np.uint8, quantization=(1 / 256, 0))
    m.op("SOFTMAX", [x], [y], beta=beta)
    m.output(y)
    return m.build()


def l2_model(shape):
    m = ModelBuilder()
    x, y = m.input("x", list(shape)), m.tensor("y", list(shape))
    m.op("L2_NORMALIZATION", [x], [y])
    m.output(y)
    return m.build()


def outputs_per_cap(model, inputs):
    """{cap: output} at one thread; two threads must give the same bits."""
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


def check(model, kind, inputs, rtol=1e-5, atol=1e-6, exact_float=False, resolver="ref"):
    outs = outputs_per_cap(model, inputs)
    ref = run_reference(model, inputs, resolver=resolver)[0]
    for cap, got in outs.items():
        if kind == "f32" and not exact_float:
            np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, err_msg=cap)
            np.testing.assert_allclose(got, outs["scalar"], rtol=rtol, atol=atol, err_msg=cap)
        else:
            np.testing.assert_array_equal(got, outs["scalar"], err_msg="%s vs scalar" % cap)
            np.testing.assert_array_equal(got, ref, err_msg="%s vs reference" % cap)


def inputs_for(model, seed, low=-3.0, high=3.0):
    probe = ours.Interpreter(model_content=model)
    probe.allocate_tensors()
    return random_inputs(probe.get_input_details(), seed, low, high)


def case_id(shape, axes):
    return "x".join(map(str, shape)) + "_ax" + "".join(map(str, axes))


# (shape, axes): columns (inner > 1) first, then rows (the last axis)
COLS = [
    *[((1, 3, 4, c), (1, 2)) for c in (1, 5, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 67, 100, 130)],
    ((1, 13, 11, 7), (1, 2)),
    ((1, 1, 9, 40), (2,)),
    ((2, 7, 7, 96), (1, 2)),
    ((3, 7, 19), (1,)),
    ((2, 5, 4, 33), (1, 2)),
    ((4, 9, 70), (1,)),
    ((5, 6), (0,)),
    ((1, 112, 112, 32), (1, 2)),
    ((1, 28, 28, 240), (1, 2)),
    ((1, 7, 7, 1280), (2, 1)),
    ((2, 30, 30, 72), (1, 2)),
    ((1, 64, 64, 260), (1, 2)),    # past 4 MiB (float): two threads, channel blocks
    ((3, 34, 34, 310), (1, 2)),    # a thread's blocks span two batches
    ((1, 128, 128, 261), (1, 2)),  # past 4 MiB in int8 too
]
ROWS = [
    *[((3, d), (1,)) for d in (1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 67, 127, 129)],
    ((1, 128, 256), (-1,)),
    ((2, 3, 4, 45), (3,)),
    ((1000,), (0,)),
    ((2, 5, 7), (1, 2)),
    ((300, 300), (1,)),
    ((40, 3000), (1,)),            # int8 row sums past 128 bytes
    ((4200, 257), (1,)),           # past 4 MiB (float): two threads, rows
    ((2100, 2050), (1,)),          # past 4 MiB in int8 too
]
OTHER = [((2, 3, 4), (0, 2)), ((3, 4, 5, 6), (0, 3)), ((2, 3), ())]  # the plain loops


@pytest.mark.parametrize("shape,axes", COLS + ROWS + OTHER, ids=[case_id(*c) for c in COLS + ROWS + OTHER])
@pytest.mark.parametrize("name", ["MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN"])
def test_reduce_f32(name, shape, axes):
    model = reduce_model(name, "f32", shape, axes)
    exact = (shape, axes) in COLS or name in ("REDUCE_MAX", "REDUCE_MIN")
    inputs = inputs_for(model, len(shape) + sum(shape))
    # blocked row sums round differently from the reference's sequential sum: a tolerance that
    # grows with the reduction length (both are within it of the exact sum)
    count = int(np.prod([shape[a] for a in axes])) if axes else 1
    atol = 1.2e-7 * count * float(np.abs(inputs[0]).max()) / (count if name == "MEAN" else 1)
    check(model, "f32", inputs, rtol=1e-6, atol=atol, exact_float=exact)


@pytest.mark.parametrize("shape,axes", COLS + ROWS + OTHER, ids=[case_id(*c) for c in COLS + ROWS + OTHER])
@pytest.mark.parametrize("kind", ["i8", "u8"])
@pytest.mark.parametrize("name", ["MEAN", "SUM"])
def test_reduce_quantized(name, kind, shape, axes):
    # TFLite 2.3's reference SUM reads int8 as uint8 (see test_ops_reduce.py): int8 SUM is
    # compared with the builtin kernels
    model = reduce_model(name, kind, shape, axes)
    check(model, kind, inputs_for(model, sum(shape)), resolver="builtin" if (name, kind) == ("SUM", "i8") else "ref")


SCALE_CASES = [((1, 9, 9, 37), (1, 2)), ((1, 56, 56, 19), (1, 2)), ((6, 300), (1,)), ((1, 3, 3, 1000), (1, 2))]


# output scales from 1/1000 to 50x the input's: left shifts, small and large right shifts in the
# rescale (the count folded into it), saturation at both ends
@pytest.mark.parametrize("out_scale", [0.00005, 0.0013, 0.01, 0.2, 2.5])
@pytest.mark.parametrize("shape,axes", SCALE_CASES, ids=[case_id(*c) for c in SCALE_CASES])
@pytest.mark.parametrize("kind", ["i8", "u8"])
def test_reduce_quantized_scales(kind, shape, axes, out_scale):
    zp = {"i8": -20, "u8": 140}[kind]
    model = reduce_model("MEAN", kind, shape, axes, qout=(out_scale, zp))
    check(model, kind, inputs_for(model, 7))


@pytest.mark.parametrize("keep", [False, True])
def test_reduce_keep_dims(keep):
    for kind in ("f32", "i8"):
        model = reduce_model("MEAN", kind, (1, 14, 14, 67), (1, 2), keep)
        check(model, kind, inputs_for(model, 3))


def test_reduce_extreme_inputs():
    # int8 sums of extreme values, and float maxima / minima of huge and tiny values
    model = reduce_model("MEAN", "i8", (1, 60, 60, 35), (1, 2))
    for value in (-128, 127):
        check(model, "i8", [np.full((1, 60, 60, 35), value, np.int8)])
    for name in ("REDUCE_MAX", "REDUCE_MIN"):
        model = reduce_model(name, "f32", (4, 50), (1,))
        x = np.random.default_rng(0).choice([-np.inf, np.inf, -3.4e38, 3.4e38, 0.0, -0.0, 1e-40], (4, 50))
        check(model, "f32", [x.astype(np.float32)], exact_float=True)


SOFTMAX_SHAPES = [(3, d) for d in (1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 67, 130)] + \
    [(1, 1000), (2, 3, 77), (1, 4, 128, 128), (1, 16, 128, 130)]  # the last on two threads


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES, ids=["x".join(map(str, s)) for s in SOFTMAX_SHAPES])
@pytest.mark.parametrize("beta", [1.0, 0.37])
def test_softmax_f32(shape, beta):
    model = softmax_model("f32", shape, beta)
    check(model, "f32", inputs_for(model, len(shape), -20.0, 20.0), rtol=2e-6, atol=1e-12)


def test_softmax_f32_masked_and_wide():
    # attention masks (-inf and -1e9 entries, whole rows masked: NaN as the reference),
    # differences wide enough that exp underflows to subnormals and zero
    rng = np.random.default_rng(5)
    x = rng.uniform(-60, 60, (6, 133)).astype(np.float32)
    x[0, ::3] = -np.inf
    x[1, 5:] = -1e9
    x[2, :] = -np.inf
    x[3, :] = 1e30
    x[4, 7] = 100.0
    x[5, :] = rng.uniform(-95, -85, 133)
    model = softmax_model("f32", x.shape)
    check(model, "f32", [x], rtol=2e-6, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1000), (3, 17), (2, 3, 77), (1, 4, 128, 128), (40, 500)], ids=str)
@pytest.mark.parametrize("beta", [1.0, 0.37, 3.0])
@pytest.mark.parametrize("kind,out", [("i8", "same"), ("i8", "i16"), ("u8", "same"), ("u8", "i16")])
def test_softmax_quantized(kind, out, shape, beta):
    model = softmax_model(kind, shape, beta, out)
    check(model, kind, inputs_for(model, len(shape)))


@pytest.mark.parametrize("shape", [(1, d) for d in (1, 5, 8, 9, 16, 17, 31, 33, 67)] +
                         [(4, 3, 5, 70), (200, 300), (1100, 240)], ids=str)
def test_l2_normalization_f32(shape):
    model = l2_model(shape)
    x = inputs_for(model, len(shape))[0]
    x.reshape(-1, shape[-1])[0] = 0.0  # a zero row: the 1e-6 floor
    check(model, "f32", [x], rtol=2e-6, atol=1e-7)
