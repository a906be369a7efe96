"""The GEMM family on odd shapes, under every instruction set this build and CPU offer.

CONV_2D, FULLY_CONNECTED and BATCH_MATMUL (float32 and int8) run on the micro-kernels of
csrc/kernels/gemm. Two layers of checks:
  * the C harness (tests/gemm_harness.c) calls every SIMD micro-kernel and its portable twin on
    random tiles and requires int8 bit for bit, float within a k-dependent tolerance;
  * one-op models with channel counts 1..67, spatial sizes 1..13, strides, dilations, padding,
    groups and tails run through the Interpreter under each ISA cap: int8 outputs must equal the
    scalar cap's and the reference runtime's (resolver "ref") exactly, float ones must match the
    reference within tolerance, and two threads must give the same bits as one.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import tflite_rt
from tflite_rt import interpreter as ours
from tflite_rt.builder import ModelBuilder

from harness import random_inputs, run, run_reference

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def available_isas():
    """The ISA caps that select different kernels here: compiled in and supported, best first."""
    info = tflite_rt.cpu_info()
    levels = getattr(tflite_rt, "_ISA_LEVELS", {})
    detected = levels.get(info["detected"], 0)
    return [n for n in info["compiled"] if levels.get(n, 0) <= detected]


ISAS = available_isas()


def run_ours(model, inputs, isa, threads=1):
    tflite_rt.set_isa(isa)
    try:
        return run(ours, model, inputs, num_threads=threads)[0]
    finally:
        tflite_rt.set_isa(None)


def check_model(model, quantized, k, seed=0):
    """Every ISA cap (1 thread) and the best one with 2 threads against the reference."""
    probe = ours.Interpreter(model_content=model)
    probe.allocate_tensors()
    inputs = random_inputs(probe.get_input_details(), seed)
    expected = run_reference(model, inputs, resolver="ref" if quantized else "default")
    results = {isa: run_ours(model, inputs, isa) for isa in ISAS}
    two = run_ours(model, inputs, ISAS[0], threads=2)
    for isa, got in results.items():
        for g, e in zip(got, expected):
            assert g.shape == e.shape and g.dtype == e.dtype
            if quantized:
                np.testing.assert_array_equal(g, e, err_msg="%s vs reference" % isa)
            else:
                tol = 1e-5 * max(1.0, np.sqrt(k))
                np.testing.assert_allclose(g, e, rtol=tol, atol=tol, err_msg="%s vs reference" % isa)
    if quantized:
        for isa, got in results.items():
            for g, s in zip(got, results["scalar"]):
                np.testing.assert_array_equal(g, s, err_msg="%s vs scalar" % isa)
    for g, o in zip(two, results[ISAS[0]]):
        np.testing.assert_array_equal(g, o, err_msg="2 threads vs 1")


# --- the micro-kernels against their twins ---------------------------------------------------

ISA_FLAGS = {
    "avx2": ["-mavx2", "-mfma", "-mf16c"],
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mfma"],
    "vnni": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx512vnni", "-mfma"],
}
MACROS = {"avx2": "TR_HAVE_AVX2", "avx512": "TR_HAVE_AVX512", "vnni": "TR_HAVE_AVX512VNNI"}


@pytest.mark.skipif(not shutil.which("cc"), reason="needs a C compiler")
def test_microkernels_match_their_portable_twins():
    gemm = os.path.join(ROOT, "csrc", "kernels", "gemm")
    base = ["-std=c11", "-O2", "-fno-math-errno", "-ffp-contract=off", "-D_GNU_SOURCE",
            "-I" + os.path.join(ROOT, "csrc")]
    isas = [i for i in ("avx2", "avx512", "vnni") if i in ISAS] if os.uname().machine in ("x86_64", "amd64") else []
    macros = ["-D%s=1" % MACROS[i] for i in isas]
    with tempfile.TemporaryDirectory() as tmp:
        objs = []

        def cc(src, flags):
            obj = os.path.join(tmp, os.path.basename(src) + ".o")
            subprocess.run(["cc"] + base + macros + flags + ["-c", src, "-o", obj], check=True)
            objs.append(obj)
        for name in ("gemm-pack.c", "gemm-f32-scalar.c", "gemm-qs8-scalar.c"):
            cc(os.path.join(gemm, name), [])
        cc(os.path.join(HERE, "gemm_harness.c"), [])
        cc(os.path.join(ROOT, "csrc", "isa", "cpu.c"), [])   # the packer asks for the ISA level
        for isa in isas:
            for dtype in ("f32", "qs8", "pack"):
                src = os.path.join(gemm, "gemm-%s-%s.c" % (dtype, isa))
                if os.path.exists(src):
                    cc(src, ISA_FLAGS[isa])
        exe = os.path.join(tmp, "harness")
        subprocess.run(["cc"] + objs + ["-o", exe, "-lm", "-lpthread"], check=True)
        result = subprocess.run([exe, "400"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALL OK" in result.stdout


# --- CONV_2D -------------------------------------------------------------------------------

def conv_model(dtype, batch=1, hw=(5, 6), ic=3, oc=5, k=(3, 3), stride=(1, 1), dil=(1, 1), padding="SAME",
               act="NONE", groups=1, out_scale=0.05, in_zp=-3, seed=0, bias=None):
    rng = np.random.default_rng(seed)
    m = ModelBuilder()
    wshape = (oc, k[0], k[1], ic // groups)
    if dtype == "f32":
        x = m.input("x", [batch, hw[0], hw[1], ic])
        w = m.constant("w", rng.standard_normal(wshape).astype(np.float32))
        b = m.constant("b", rng.standard_normal(oc).astype(np.float32))
        y = m.tensor("y", [1])
    else:
        x = m.input("x", [batch, hw[0], hw[1], ic], np.int8, quantization=(0.05, in_zp))
        scales = rng.uniform(0.005, 0.02, oc).astype(np.float32)
        w = m.constant("w", rng.integers(-127, 128, wshape).astype(np.int8),
                       quantization={"scale": scales, "zero_point": np.zeros(oc, np.int64), "quantized_dimension": 0})
        bias = rng.integers(-3000, 3000, oc) if bias is None else bias
        b = m.constant("b", np.asarray(bias).astype(np.int32), dtype=np.int32,
                       quantization={"scale": (np.float32(0.05) * scales).astype(np.float32),
                                     "zero_point": np.zeros(oc, np.int64)})
        y = m.tensor("y", [1], np.int8, quantization=(out_scale, 4))
    m.op("CONV_2D", [x, w, b], [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         dilation_h_factor=dil[0], dilation_w_factor=dil[1], fused_activation_function=act)
    m.output(y)
    return m.build()


CONV_CASES = [
    dict(ic=1, oc=1, k=(1, 1), hw=(1, 1)),
    dict(ic=3, oc=32, stride=(2, 2), hw=(13, 13)),          # a stem: k tails on every tap
    dict(ic=4, oc=16, k=(1, 1), hw=(7, 9)),
    dict(ic=7, oc=33, k=(1, 1), hw=(3, 5), act="RELU6"),
    dict(ic=16, oc=24, k=(1, 1), hw=(9, 11), batch=2),
    dict(ic=17, oc=67, k=(1, 1), hw=(4, 4)),
    dict(ic=64, oc=1, k=(1, 1), hw=(5, 5)),
    dict(ic=33, oc=40, k=(1, 1), stride=(2, 2), hw=(9, 7)),  # 1x1 strided: indirect
    dict(ic=5, oc=9, k=(3, 3), hw=(13, 12), act="RELU"),
    dict(ic=12, oc=35, k=(3, 3), stride=(2, 2), padding="VALID", hw=(11, 10)),
    dict(ic=8, oc=8, k=(3, 3), dil=(2, 2), hw=(9, 9)),
    dict(ic=6, oc=10, k=(2, 3), stride=(2, 1), dil=(1, 2), hw=(8, 13), act="RELU_N1_TO_1"),
    dict(ic=2, oc=3, k=(5, 5), hw=(2, 3)),                    # more padding than image
    dict(ic=9, oc=12, k=(3, 3), groups=3, hw=(6, 7)),
    dict(ic=10, oc=4, k=(1, 1), groups=2, hw=(5, 5)),
    dict(ic=67, oc=65, k=(3, 3), hw=(4, 5), batch=2),
    dict(ic=32, oc=64, k=(3, 3), stride=(3, 3), hw=(13, 13)),
    dict(ic=3, oc=7, k=(7, 7), stride=(2, 2), hw=(12, 13)),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()))
@pytest.mark.parametrize("dtype", ["f32", "i8"])
def test_conv2d(dtype, case):
    k = case.get("k", (3, 3))
    check_model(conv_model(dtype, **case), dtype == "i8", k[0] * k[1] * case.get("ic", 3))


@pytest.mark.parametrize("out_scale", [1e-4, 0.002, 3.0])  # left shifts, mild and large right shifts
@pytest.mark.parametrize("in_zp", [-128, 0, 127])
def test_conv2d_int8_requantization_ranges(out_scale, in_zp):
    for case in (dict(ic=19, oc=37, k=(1, 1), hw=(5, 3)), dict(ic=5, oc=21, k=(3, 3), hw=(4, 6))):
        check_model(conv_model("i8", out_scale=out_scale, in_zp=in_zp, **case), True, 50)


@pytest.mark.parametrize("out_scale", [0.002, 1e4])
def test_conv2d_int8_accumulators_near_the_limits(out_scale):
    # Accumulators that may reach 2^30 take the general requantization, the others a shorter
    # one (gemm.h, acc_bounded): biases on either side of that bound, with outputs that
    # saturate (small scale) and outputs that do not (a scale that brings 2^30 near int8).
    oc = 20
    edge = 2 ** 30 - 255 * 127 * 19 * 9
    bias = np.array([edge - 1, -(edge - 1), edge, -edge, 2 ** 31 - 1, -2 ** 31, 2 ** 29, -2 ** 29, 0, 1] * 2,
                    np.int64)
    for limit in (edge - 1, 2 ** 31):
        case = conv_model("i8", ic=19, oc=oc, k=(3, 3), hw=(5, 6), out_scale=out_scale,
                          bias=np.clip(bias, -limit, limit))
        check_model(case, True, 19 * 9)


# --- FULLY_CONNECTED -----------------------------------------------------------------------

def fc_model(dtype, m_rows, k, n, act="NONE", per_channel=True, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    if dtype == "f32":
        x = mb.input("x", [m_rows, k])
        w = mb.constant("w", rng.standard_normal((n, k)).astype(np.float32))
        b = mb.constant("b", rng.standard_normal(n).astype(np.float32)) if bias else -1
        y = mb.tensor("y", [1])
    else:
        x = mb.input("x", [m_rows, k], np.int8, quantization=(0.05, 7))
        ch = n if per_channel else 1
        scales = rng.uniform(0.002, 0.02, ch).astype(np.float32)
        w = mb.constant("w", rng.integers(-127, 128, (n, k)).astype(np.int8),
                        quantization={"scale": scales, "zero_point": np.zeros(ch, np.int64), "quantized_dimension": 0})
        b = mb.constant("b", rng.integers(-5000, 5000, n).astype(np.int32), dtype=np.int32,
                        quantization={"scale": (np.float32(0.05) * np.broadcast_to(scales, (n,))).astype(np.float32),
                                      "zero_point": np.zeros(n, np.int64)}) if bias else -1
        y = mb.tensor("y", [1], np.int8, quantization=(0.07, -2))
    mb.op("FULLY_CONNECTED", [x, w, b], [y], fused_activation_function=act)
    mb.output(y)
    return mb.build()


FC_CASES = [(1, 1, 1), (1, 67, 33), (3, 20, 11), (13, 64, 67), (1, 300, 40), (5, 37, 64), (2, 1283, 10),
            (9, 4, 100), (1, 16, 65),
            (16, 40, 35), (128, 70, 50)]  # rows a multiple of 8: the tall float tile (AVX-512 8x16)


@pytest.mark.parametrize("shape", FC_CASES, ids=str)
@pytest.mark.parametrize("dtype", ["f32", "i8"])
def test_fully_connected(dtype, shape):
    check_model(fc_model(dtype, *shape), dtype == "i8", shape[1])


@pytest.mark.parametrize("dtype", ["f32", "i8"])
def test_fully_connected_per_tensor_no_bias_relu(dtype):
    check_model(fc_model(dtype, 4, 45, 19, act="RELU", per_channel=False, bias=False), dtype == "i8", 45)


# --- BATCH_MATMUL --------------------------------------------------------------------------

def bmm_model(dtype, lhs, rhs, adj_x=False, adj_y=False, rzp=-7):
    m = ModelBuilder()
    if dtype == "f32":
        a, b, y = m.input("a", lhs), m.input("b", rhs), m.tensor("y", [1])
    else:
        a = m.input("a", lhs, np.int8, quantization=(0.05, 3))
        b = m.input("b", rhs, np.int8, quantization=(0.04, rzp))
        y = m.tensor("y", [1], np.int8, quantization=(0.3, 2))
    m.op("BATCH_MATMUL", [a, b], [y], adj_x=adj_x, adj_y=adj_y)
    m.output(y)
    return m.build()


BMM_CASES = [
    dict(lhs=[1, 1], rhs=[1, 1]),
    dict(lhs=[13, 67], rhs=[67, 33]),
    dict(lhs=[2, 9, 5], rhs=[2, 5, 40]),
    dict(lhs=[3, 7, 12], rhs=[12, 17], adj_x=False),
    dict(lhs=[2, 12, 7], rhs=[2, 17, 12], adj_x=True, adj_y=True),
    dict(lhs=[2, 1, 6, 20], rhs=[3, 20, 9], adj_y=False),
    dict(lhs=[1, 4, 64, 16], rhs=[1, 4, 16, 64]),
    dict(lhs=[1, 2, 16, 33], rhs=[1, 2, 24, 33], adj_y=True),
    dict(lhs=[1, 4, 128, 24], rhs=[1, 4, 37, 24], adj_y=True),  # attention scores: 128 rows, tall tile
]


@pytest.mark.parametrize("case", BMM_CASES, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()))
@pytest.mark.parametrize("dtype", ["f32", "i8"])
def test_batch_matmul(dtype, case):
    check_model(bmm_model(dtype, **case), dtype == "i8", case["lhs"][-1])


def test_batch_matmul_int8_symmetric_rhs():
    check_model(bmm_model("i8", [2, 9, 30], [2, 30, 21], rzp=0), True, 30)


# --- TRANSPOSE_CONV ------------------------------------------------------------------------

def tconv_model(dtype, in_shape=(1, 4, 5, 3), oc=5, k=(3, 3), stride=(2, 2), padding="SAME", act="NONE",
                in_zp=-3, seed=0):
    rng = np.random.default_rng(seed)
    m = ModelBuilder()
    batch, h, w_, ic = in_shape
    out_hw = ((h * stride[0], w_ * stride[1]) if padding == "SAME"
              else ((h - 1) * stride[0] + k[0], (w_ - 1) * stride[1] + k[1]))
    out_shape = [batch, out_hw[0], out_hw[1], oc]
    shape = m.constant("shape", np.array(out_shape, np.int32))
    if dtype == "f32":
        x = m.input("x", list(in_shape))
        w = m.constant("w", rng.standard_normal((oc, k[0], k[1], ic)).astype(np.float32))
        b = m.constant("b", rng.standard_normal(oc).astype(np.float32))
        y = m.tensor("y", out_shape)
    else:
        x = m.input("x", list(in_shape), np.int8, quantization=(0.05, in_zp))
        scales = rng.uniform(0.005, 0.02, oc).astype(np.float32)
        w = m.constant("w", rng.integers(-127, 128, (oc, k[0], k[1], ic)).astype(np.int8),
                       quantization={"scale": scales, "zero_point": np.zeros(oc, np.int64), "quantized_dimension": 0})
        b = m.constant("b", rng.integers(-3000, 3000, oc).astype(np.int32), dtype=np.int32,
                       quantization={"scale": (np.float32(0.05) * scales).astype(np.float32),
                                     "zero_point": np.zeros(oc, np.int64)})
        y = m.tensor("y", out_shape, np.int8, quantization=(0.1, 2))
    m.op("TRANSPOSE_CONV", [shape, w, x, b], [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         fused_activation_function=act)
    m.output(y)
    return m.build()


TCONV_CASES = [
    dict(),
    dict(padding="VALID"),
    dict(in_shape=(2, 3, 7, 17), oc=33, k=(4, 4), stride=(2, 2), act="RELU6"),
    dict(in_shape=(1, 5, 5, 8), oc=67, k=(1, 1), stride=(2, 2), padding="VALID"),  # phases without taps
    dict(in_shape=(1, 4, 3, 6), oc=7, k=(2, 3), stride=(3, 2), padding="VALID"),
    dict(in_shape=(1, 6, 6, 16), oc=16, k=(3, 3), stride=(1, 1), act="RELU"),
    dict(in_shape=(1, 2, 9, 1), oc=1, k=(5, 2), stride=(1, 3)),
]


@pytest.mark.parametrize("case", TCONV_CASES, ids=lambda c: ",".join("%s=%s" % kv for kv in c.items()) or "base")
@pytest.mark.parametrize("dtype", ["f32", "i8"])
def test_transpose_conv(dtype, case):
    k = case.get("k", (3, 3))
    check_model(tconv_model(dtype, **case), dtype == "i8", k[0] * k[1] * case.get("in_shape", (1, 4, 5, 3))[3])


# --- weights that are not constants (packed on every invoke) ------------------------------------

def test_conv2d_filter_and_bias_as_inputs():
    m = ModelBuilder()
    x = m.input("x", [1, 6, 7, 5])
    w = m.input("w", [9, 3, 3, 5])
    b = m.input("b", [9])
    y = m.tensor("y", [1, 6, 7, 9])
    m.op("CONV_2D", [x, w, b], [y], padding="SAME", stride_h=1, stride_w=1)
    m.output(y)
    model = m.build()
    for isa in ISAS:
        tflite_rt.set_isa(isa)
        try:
            it = ours.Interpreter(model_content=model)
        finally:
            tflite_rt.set_isa(None)
        it.allocate_tensors()
        for seed in range(2):  # the second invoke brings new weights: they must be repacked
            inputs = random_inputs(it.get_input_details(), seed)
            for d, v in zip(it.get_input_details(), inputs):
                it.set_tensor(d["index"], v)
            it.invoke()
            got = it.get_tensor(it.get_output_details()[0]["index"])
            expected = run_reference(model, inputs)[0]
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4, err_msg=isa)


def test_batch_matmul_int8_constant_rhs():
    rng = np.random.default_rng(3)
    m = ModelBuilder()
    a = m.input("a", [2, 7, 20], np.int8, quantization=(0.05, 3))
    b = m.constant("b", rng.integers(-128, 128, (20, 33)).astype(np.int8), quantization=(0.04, -5))
    y = m.tensor("y", [2, 7, 33], np.int8, quantization=(0.3, 2))
    m.op("BATCH_MATMUL", [a, b], [y])
    m.output(y)
    check_model(m.build(), True, 20)


# --- layers large enough to be split over threads ---------------------------------------------

@pytest.mark.parametrize("dtype", ["f32", "i8"])
def test_large_layers_split_over_threads(dtype):
    """Ops above the size at which the tiles are shared between threads: 2 threads must give
    the bits of 1 (and the reference's)."""
    q = dtype == "i8"
    check_model(conv_model(dtype, hw=(40, 40), ic=64, oc=72, k=(3, 3)), q, 576)
    check_model(conv_model(dtype, hw=(56, 56), ic=48, oc=100, k=(1, 1)), q, 48)
    check_model(fc_model(dtype, 64, 1024, 300), q, 1024)
    check_model(bmm_model(dtype, [4, 128, 128], [4, 128, 256]), q, 128)
    check_model(tconv_model(dtype, in_shape=(1, 20, 20, 64), oc=48, k=(4, 4)), q, 1024)
