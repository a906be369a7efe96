"""Depthwise convolution micro-kernels (csrc/kernels/dwconv) on every ISA this machine offers.

Odd channel counts (tails of every channel tile), small and odd images, 3x3 / 5x5 (the
specialised kernels) and other sizes (the generic one), strides, dilations, both paddings,
fused activations. 8-bit results must equal the portable kernels' and TFLite's reference
kernels' bit for bit; float ones agree within a tolerance. 1 and 2 threads agree exactly."""
import numpy as np
import pytest

import tflite_rt
from tflite_rt.builder import ModelBuilder

from harness import random_inputs, run, run_reference

ours = pytest.importorskip("tflite_rt.interpreter")

ISA_ORDER = ["scalar", "avx2", "avx512", "vnni", "neon", "neondot", "i8mm"]


def isa_caps():
    """The caps worth testing here: every compiled level up to the detected one."""
    info = tflite_rt.cpu_info()
    top = ISA_ORDER.index(info["detected"]) if info["detected"] in ISA_ORDER else 0
    caps = [n for n in ISA_ORDER[:top + 1] if n in info["compiled"] or n == info["detected"]]
    return caps if "scalar" in caps else ["scalar"] + caps


def dw_model(kind, hw, c, k, stride=(1, 1), dil=(1, 1), padding="SAME", act="NONE", batch=1, bias=True,
             out_scale=0.1, seed=0):
    rng = np.random.default_rng(seed)
    m = ModelBuilder()
    shape = [batch, hw[0], hw[1], c]
    wshape = (1, k[0], k[1], c)
    if kind == "f32":
        x = m.input("x", shape)
        y = m.tensor("y", [1], np.float32)
        w = m.constant("w", rng.standard_normal(wshape).astype(np.float32))
        b = m.constant("b", rng.standard_normal(c).astype(np.float32) * (bias is True)) if bias else None
    else:
        if kind == "i8":
            adt, in_q, out_q = np.int8, (0.05, 3), (out_scale, -5)
            scales = rng.uniform(0.005, 0.02, c).astype(np.float32)
            w = m.constant("w", rng.integers(-127, 128, wshape).astype(np.int8),
                           quantization={"scale": scales, "zero_point": np.zeros(c, np.int64),
                                         "quantized_dimension": 3})
        else:
            adt, in_q, out_q = np.uint8, (0.05, 128), (out_scale, 120)
            scales = np.full(c, 0.01, np.float32)
            w = m.constant("w", rng.integers(0, 256, wshape).astype(np.uint8), quantization=(0.01, 130))
        x = m.input("x", shape, adt, quantization=in_q)
        y = m.tensor("y", [1], adt, quantization=out_q)
        b = None
        if bias:
            bscale = (np.float32(in_q[0]) * scales).astype(np.float32)
            bq = {"scale": bscale, "zero_point": np.zeros(c, np.int64)} if kind == "i8" else (float(bscale[0]), 0)
            b = m.constant("b", rng.integers(-3000, 3000, c).astype(np.int32) * (bias is True), dtype=np.int32,
                           quantization=bq)
    ins = [x, w] + ([b] if b is not None else [])
    m.op("DEPTHWISE_CONV_2D", ins, [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         dilation_h_factor=dil[0], dilation_w_factor=dil[1], depth_multiplier=1,
         fused_activation_function=act)
    m.output(y)
    return m.build()


def run_all_isas(model, inputs, threads=1):
    outs = {}
    try:
        for cap in isa_caps():
            tflite_rt.set_isa(cap)
            outs[cap] = run(ours, model, inputs, num_threads=threads)[0][0]
    finally:
        tflite_rt.set_isa(None)
    return outs


def check(model, kind, seed=0, ref_model=None):
    probe = ours.Interpreter(model_content=model)
    probe.allocate_tensors()
    inputs = random_inputs(probe.get_input_details(), seed)
    outs = run_all_isas(model, inputs)
    two = run(ours, model, inputs, num_threads=2)[0][0]
    ref = run_reference(ref_model or model, inputs, resolver="default" if kind == "f32" else "ref")[0]
    base = outs["scalar"]
    assert base.shape == ref.shape
    for cap, got in outs.items():
        if kind == "f32":
            np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-5, err_msg=cap)
        else:
            np.testing.assert_array_equal(got, base, err_msg="%s vs scalar" % cap)
            np.testing.assert_array_equal(got, ref, err_msg="%s vs reference" % cap)
    top = outs[list(outs)[-1]]
    np.testing.assert_array_equal(two, top, err_msg="2 threads vs 1")


CHANNELS = [1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 47, 48, 63, 64, 65, 67]

CASES = [
    # the specialised 3x3 and 5x5 kernels at every channel tail
    *[dict(hw=(7, 6), c=c, k=(3, 3)) for c in CHANNELS],
    *[dict(hw=(6, 7), c=c, k=(5, 5), stride=(2, 2)) for c in (1, 16, 17, 33, 67)],
    dict(hw=(13, 11), c=19, k=(3, 3), stride=(2, 2), act="RELU6"),
    dict(hw=(12, 12), c=32, k=(3, 3), stride=(2, 2), padding="VALID", act="RELU"),
    dict(hw=(9, 13), c=35, k=(5, 5), act="RELU_N1_TO_1"),
    dict(hw=(8, 8), c=48, k=(5, 5), stride=(1, 2), padding="VALID"),
    dict(hw=(1, 1), c=20, k=(3, 3)),
    dict(hw=(2, 3), c=5, k=(5, 5)),
    dict(hw=(1, 13), c=66, k=(3, 3), stride=(1, 3)),
    dict(hw=(5, 5), c=17, k=(3, 3), batch=3),
    dict(hw=(11, 9), c=18, k=(3, 3), dil=(2, 2)),
    dict(hw=(11, 9), c=18, k=(3, 3), dil=(1, 2), stride=(2, 1)),
    dict(hw=(11, 12), c=9, k=(5, 5), dil=(2, 1), padding="VALID"),
    # the generic kernels: other tap counts
    dict(hw=(5, 6), c=21, k=(1, 1)),
    dict(hw=(6, 5), c=33, k=(2, 2), stride=(2, 2)),
    dict(hw=(7, 9), c=40, k=(3, 5), act="RELU6"),
    dict(hw=(10, 10), c=13, k=(7, 7), stride=(3, 3)),
    dict(hw=(4, 30), c=3, k=(1, 9)),
    dict(hw=(3, 3), c=4, k=(3, 3), bias=False),
]


def case_id(c):
    return "-".join("%s=%s" % (k, "x".join(map(str, v)) if isinstance(v, tuple) else v) for k, v in c.items())


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
@pytest.mark.parametrize("kind", ["f32", "i8", "u8"])
def test_dwconv(kind, case):
    ref_model = None
    if case.get("bias") is False:  # TFLite's kernels need a bias: compare with zeros
        ref_model = dw_model(kind, **dict(case, bias="zero"))
    check(dw_model(kind, **case), kind, seed=len(case_id(case)), ref_model=ref_model)


@pytest.mark.parametrize("out_scale", [0.0004, 0.003, 0.1, 3.0, 400.0])
def test_dwconv_int8_requantization_range(out_scale):
    # multipliers above and far below one: left shifts, large right shifts, saturation
    for kind in ("i8", "u8"):
        check(dw_model(kind, (6, 7), 37, (3, 3), act="RELU", out_scale=out_scale), kind)


def test_dwconv_large_rows_threads():
    # more pixels in a row than one indirection run holds; rows split over threads
    model = dw_model("i8", (9, 700), 24, (3, 3), stride=(1, 1))
    check(model, "i8")
    check(dw_model("f32", (5, 400), 16, (5, 5), stride=(1, 1)), "f32")
