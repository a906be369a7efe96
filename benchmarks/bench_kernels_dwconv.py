"""Depthwise convolution on MobileNetV2 / V3 / EfficientNet-B0 layer shapes, tflite_rt vs LiteRT.

pytest-benchmark (skipped unless --benchmark-enable or TFLITE_RT_BENCH=1):

    TFLITE_RT_BENCH=1 PYTHONPATH=. python -m pytest -q benchmarks/bench_kernels_dwconv.py

Side by side, medians of alternating rounds (ratio < 1: tflite_rt is faster):

    PYTHONPATH=. python benchmarks/bench_kernels_dwconv.py [--dtype f32 i8] [--threads 1 2]
"""
import argparse
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import make, side_by_side  # noqa: E402
from tflite_rt.builder import ModelBuilder  # noqa: E402

# (name, H=W, channels, kernel, stride): the depthwise layers of the three networks
LAYERS = [
    ("v2_112x32_k3s1", 112, 32, 3, 1),
    ("v2_112x96_k3s2", 112, 96, 3, 2),
    ("v2_56x144_k3s1", 56, 144, 3, 1),
    ("v2_56x144_k3s2", 56, 144, 3, 2),
    ("v2_28x192_k3s1", 28, 192, 3, 1),
    ("v2_14x384_k3s1", 14, 384, 3, 1),
    ("v2_14x576_k3s1", 14, 576, 3, 1),
    ("v2_14x576_k3s2", 14, 576, 3, 2),
    ("v2_7x960_k3s1", 7, 960, 3, 1),
    ("v3_56x72_k5s2", 56, 72, 5, 2),
    ("v3_28x120_k5s1", 28, 120, 5, 1),
    ("v3_7x960_k5s1", 7, 960, 5, 1),
    ("eb0_28x240_k5s1", 28, 240, 5, 1),
    ("eb0_14x672_k5s1", 14, 672, 5, 1),
    ("eb0_14x672_k5s2", 14, 672, 5, 2),
    ("eb0_7x1152_k5s1", 7, 1152, 5, 1),
]


def dw_layer(hw, c, k, stride, dtype="f32", act="RELU6", seed=0):
    """One DEPTHWISE_CONV_2D (SAME padding, bias, fused activation) as a .tflite model."""
    rng = np.random.default_rng(seed)
    m = ModelBuilder()
    shape = [1, hw, hw, c]
    if dtype == "f32":
        x = m.input("x", shape)
        y = m.tensor("y", [1], np.float32)
        w = m.constant("w", (rng.standard_normal((1, k, k, c)) * 0.3).astype(np.float32))
        b = m.constant("b", rng.standard_normal(c).astype(np.float32))
    else:
        in_scale = 0.05
        x = m.input("x", shape, np.int8, quantization=(in_scale, -3))
        y = m.tensor("y", [1], np.int8, quantization=(0.1, -7))
        scales = rng.uniform(0.005, 0.02, c).astype(np.float32)
        w = m.constant("w", rng.integers(-127, 128, (1, k, k, c)).astype(np.int8),
                       quantization={"scale": scales, "zero_point": np.zeros(c, np.int64),
                                     "quantized_dimension": 3})
        b = m.constant("b", rng.integers(-3000, 3000, c).astype(np.int32), dtype=np.int32,
                       quantization={"scale": (np.float32(in_scale) * scales).astype(np.float32),
                                     "zero_point": np.zeros(c, np.int64)})
    m.op("DEPTHWISE_CONV_2D", [x, w, b], [y], padding="SAME", stride_h=stride, stride_w=stride,
         depth_multiplier=1, fused_activation_function=act)
    m.output(y)
    return m.build()


# --- pytest-benchmark --------------------------------------------------------------------------

ENABLED = os.environ.get("TFLITE_RT_BENCH") == "1" or any("benchmark-enable" in a for a in sys.argv)
pytestmark = pytest.mark.skipif(not ENABLED, reason="benchmarks run with --benchmark-enable or TFLITE_RT_BENCH=1")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["f32", "i8"])
@pytest.mark.parametrize("layer", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_dwconv(benchmark, layer, dtype, threads):
    import tflite_rt.interpreter as ours

    _, hw, c, k, s = layer
    it = make(ours, dw_layer(hw, c, k, s, dtype), threads)
    benchmark(it.invoke)


def main():
    p = argparse.ArgumentParser(description="depthwise layers, tflite_rt vs LiteRT")
    p.add_argument("--dtype", nargs="+", default=["f32", "i8"])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--only", default="", help="substring of layer names to run")
    args = p.parse_args()
    print("%-18s %4s %3s %9s %9s %6s" % ("layer", "type", "thr", "ours ms", "lrt ms", "ratio"))
    for dtype in args.dtype:
        for t in args.threads:
            ratios = []
            for name, hw, c, k, s in LAYERS:
                if args.only not in name:
                    continue
                o, r = side_by_side(dw_layer(hw, c, k, s, dtype), t, args.rounds, args.runs)
                ratios.append(o / r)
                print("%-18s %4s %3d %9.4f %9.4f %6.2f" % (name, dtype, t, o, r, o / r), flush=True)
            if ratios:
                print("geomean %s %d thread(s): %.2f" % (dtype, t, float(np.exp(np.mean(np.log(ratios))))))


if __name__ == "__main__":
    main()
