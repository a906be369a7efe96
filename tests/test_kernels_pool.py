"""Pooling micro-kernels (csrc/kernels/pool) on every ISA this machine offers: odd channel
counts (every vector tail), clipped windows, strides, both paddings, global pooling (split over
channels between threads), fused activations. 8-bit results equal the portable kernels' and
TFLite's reference kernels' bit for bit; float ones agree within a tolerance."""
import numpy as np
import pytest

import tflite_rt
from tflite_rt.builder import ModelBuilder

from harness import random_inputs, run, run_reference
from test_kernels_dwconv import isa_caps

ours = pytest.importorskip("tflite_rt.interpreter")


def pool_model(op, kind, shape, f, stride=(1, 1), padding="SAME", act="NONE"):
    m = ModelBuilder()
    if kind == "f32":
        x, y = m.input("x", list(shape)), m.tensor("y", [1])
    else:
        dt, q = (np.int8, (0.05, 3)) if kind == "i8" else (np.uint8, (0.05, 128))
        x = m.input("x", list(shape), dt, quantization=q)
        y = m.tensor("y", [1], dt, quantization=q)
    m.op(op, [x], [y], padding=padding, stride_h=stride[0], stride_w=stride[1], filter_height=f[0],
         filter_width=f[1], fused_activation_function=act)
    m.output(y)
    return m.build()


def check(model, kind, seed=0):
    probe = ours.Interpreter(model_content=model)
    probe.allocate_tensors()
    inputs = random_inputs(probe.get_input_details(), seed)
    outs = {}
    try:
        for cap in isa_caps():
            tflite_rt.set_isa(cap)
            outs[cap] = run(ours, model, inputs)[0][0]
            two = run(ours, model, inputs, num_threads=2)[0][0]
            np.testing.assert_array_equal(two, outs[cap], err_msg="%s: 2 threads vs 1" % cap)
    finally:
        tflite_rt.set_isa(None)
    ref = run_reference(model, inputs, resolver="default" if kind == "f32" else "ref")[0]
    for cap, got in outs.items():
        if kind == "f32":
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6, err_msg=cap)
            np.testing.assert_allclose(got, outs["scalar"], rtol=1e-6, atol=1e-7, err_msg=cap)
        else:
            np.testing.assert_array_equal(got, outs["scalar"], err_msg="%s vs scalar" % cap)
            np.testing.assert_array_equal(got, ref, err_msg="%s vs reference" % cap)


CASES = [
    *[dict(shape=(1, 7, 6, c), f=(3, 3), stride=(2, 2)) for c in (1, 5, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100)],
    dict(shape=(1, 5, 5, 130), f=(3, 3), stride=(1, 1), act="RELU6"),
    dict(shape=(2, 9, 10, 257), f=(2, 2), stride=(2, 2), padding="VALID"),
    dict(shape=(1, 6, 6, 300), f=(3, 3), stride=(2, 2), act="RELU"),
    dict(shape=(1, 13, 11, 7), f=(4, 3), stride=(3, 2), act="RELU_N1_TO_1"),
    dict(shape=(1, 7, 7, 160), f=(7, 7), padding="VALID"),    # global, split over channels
    dict(shape=(1, 7, 7, 1280), f=(7, 7), padding="VALID"),
    dict(shape=(3, 4, 4, 67), f=(4, 4), padding="VALID"),
    dict(shape=(1, 1, 1, 9), f=(1, 1)),
    dict(shape=(1, 8, 8, 19), f=(5, 5), stride=(1, 1)),
]


def case_id(c):
    return "-".join("%s=%s" % (k, "x".join(map(str, v)) if isinstance(v, tuple) else v) for k, v in c.items())


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
@pytest.mark.parametrize("kind", ["f32", "i8", "u8"])
@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_pool(op, kind, case):
    check(pool_model(op, kind, **case), kind, seed=len(case_id(case)))
