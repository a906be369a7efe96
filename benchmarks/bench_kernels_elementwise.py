"""Elementwise ops and pooling on MobileNet / EfficientNet activation shapes, tflite_rt vs LiteRT.

pytest-benchmark (skipped unless --benchmark-enable or TFLITE_RT_BENCH=1):

    TFLITE_RT_BENCH=1 PYTHONPATH=. python -m pytest -q benchmarks/bench_kernels_elementwise.py

Side by side, medians of alternating rounds (ratio < 1: tflite_rt is faster):

    PYTHONPATH=. python benchmarks/bench_kernels_elementwise.py [--dtype f32 i8] [--threads 1 2]
"""
import argparse
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import make, side_by_side  # noqa: E402
from tflite_rt.builder import ModelBuilder  # noqa: E402

Q = {"f32": None, "i8": (0.05, -3)}
OUT_Q = {"LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}

# (name, op, shape, second operand: None (unary), "same", "scalar", "row")
CASES = [
    ("add_56x56x24", "ADD", (1, 56, 56, 24), "same"),
    ("add_28x28x32", "ADD", (1, 28, 28, 32), "same"),
    ("mul_112x112x32", "MUL", (1, 112, 112, 32), "same"),
    ("mul_se_56x56x144", "MUL", (1, 56, 56, 144), "row"),
    ("mul_scalar_28x28x240", "MUL", (1, 28, 28, 240), "scalar"),
    ("sub_scalar_14x14x480", "SUB", (1, 14, 14, 480), "scalar"),
    ("logistic_112x112x32", "LOGISTIC", (1, 112, 112, 32), None),
    ("logistic_56x56x144", "LOGISTIC", (1, 56, 56, 144), None),
    ("tanh_28x28x240", "TANH", (1, 28, 28, 240), None),
    ("hardswish_112x112x16", "HARD_SWISH", (1, 112, 112, 16), None),
    ("hardswish_28x28x240", "HARD_SWISH", (1, 28, 28, 240), None),
    ("relu6_56x56x144", "RELU6", (1, 56, 56, 144), None),
    ("maxpool_112x112x64_3s2", "MAX_POOL_2D", (1, 112, 112, 64), (3, 2)),
    ("avgpool_7x7x1280_global", "AVERAGE_POOL_2D", (1, 7, 7, 1280), (7, 7)),
    ("avgpool_28x28x192_3s1", "AVERAGE_POOL_2D", (1, 28, 28, 192), (3, 1)),
]


def op_model(op, shape, other, dtype="f32", seed=0):
    rng = np.random.default_rng(seed)
    m = ModelBuilder()
    q = Q[dtype]
    npdt = np.float32 if dtype == "f32" else np.int8
    x = m.input("x", list(shape), npdt, quantization=q)
    out_q = OUT_Q.get(op, (0.07, 2)) if q else None
    if op in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        out_q = q
    y = m.tensor("y", [1], npdt, quantization=out_q)
    if op in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        f, s = other
        m.op(op, [x], [y], padding="VALID" if f == shape[1] else "SAME", stride_h=s, stride_w=s,
             filter_height=f, filter_width=f)
    elif other is None:
        m.op(op, [x], [y])
    else:
        bshape = {"same": shape, "scalar": (1,), "row": (1, 1, 1, shape[-1])}[other]
        if other == "same":
            b = m.input("b", list(bshape), npdt, quantization=(0.04, 5) if q else None)
        elif dtype == "f32":
            b = m.constant("b", rng.uniform(0.5, 1.5, bshape).astype(np.float32))
        else:
            b = m.constant("b", rng.integers(-100, 100, bshape).astype(np.int8), quantization=(0.04, 5))
        m.op(op, [x, b], [y], fused_activation_function="RELU" if op == "ADD" else "NONE")
    m.output(y)
    return m.build()


ENABLED = os.environ.get("TFLITE_RT_BENCH") == "1" or any("benchmark-enable" in a for a in sys.argv)
pytestmark = pytest.mark.skipif(not ENABLED, reason="benchmarks run with --benchmark-enable or TFLITE_RT_BENCH=1")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["f32", "i8"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_elementwise(benchmark, case, dtype, threads):
    import tflite_rt.interpreter as ours

    _, op, shape, other = case
    it = make(ours, op_model(op, shape, other, dtype), threads)
    benchmark(it.invoke)


def main():
    p = argparse.ArgumentParser(description="elementwise ops and pools, tflite_rt vs LiteRT")
    p.add_argument("--dtype", nargs="+", default=["f32", "i8"])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--only", default="")
    args = p.parse_args()
    print("%-26s %4s %3s %9s %9s %6s" % ("case", "type", "thr", "ours ms", "lrt ms", "ratio"))
    for dtype in args.dtype:
        for t in args.threads:
            ratios = []
            for name, op, shape, other in CASES:
                if args.only not in name:
                    continue
                o, r = side_by_side(op_model(op, shape, other, dtype), t, args.rounds, args.runs)
                ratios.append(o / r)
                print("%-26s %4s %3d %9.4f %9.4f %6.2f" % (name, dtype, t, o, r, o / r), flush=True)
            if ratios:
                print("geomean %s %d thread(s): %.2f" % (dtype, t, float(np.exp(np.mean(np.log(ratios))))))


if __name__ == "__main__":
    main()
