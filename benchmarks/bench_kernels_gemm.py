"""The GEMM family (CONV_2D, FULLY_CONNECTED, BATCH_MATMUL) on real layer shapes, ours vs LiteRT.

Layer shapes are MobileNetV2-1.0/224's pointwise and first convolutions and classifier, and
ResNet-50's stem, bottleneck convolutions and classifier, each as a one-op model in float32
and int8 (per-channel weights).

    TFLITE_RT_BENCH=1 pytest benchmarks/bench_kernels_gemm.py --benchmark-enable
    python benchmarks/bench_kernels_gemm.py [--dtype f32 i8] [--threads 1 2] [--filter mnv2]

The script form alternates rounds of the two runtimes (same machine load) and prints the median
latency of each and the ratio ours / LiteRT (below 1.0: we are faster).
"""
import argparse
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import make, side_by_side  # noqa: E402
from tflite_rt.builder import ModelBuilder  # noqa: E402

# (name, H, W, IC, OC, K, stride); K = 0 is a FULLY_CONNECTED of IC -> OC on one row (more
# kinds below, by the BERT entries)
LAYERS = [
    ("mnv2_stem_3x3s2", 224, 224, 3, 32, 3, 2),
    ("mnv2_112x32_16", 112, 112, 32, 16, 1, 1),
    ("mnv2_112x16_96", 112, 112, 16, 96, 1, 1),
    ("mnv2_56x96_24", 56, 56, 96, 24, 1, 1),
    ("mnv2_56x24_144", 56, 56, 24, 144, 1, 1),
    ("mnv2_56x144_24", 56, 56, 144, 24, 1, 1),
    ("mnv2_28x144_32", 28, 28, 144, 32, 1, 1),
    ("mnv2_28x32_192", 28, 28, 32, 192, 1, 1),
    ("mnv2_28x192_32", 28, 28, 192, 32, 1, 1),
    ("mnv2_14x192_64", 14, 14, 192, 64, 1, 1),
    ("mnv2_14x64_384", 14, 14, 64, 384, 1, 1),
    ("mnv2_14x384_64", 14, 14, 384, 64, 1, 1),
    ("mnv2_14x384_96", 14, 14, 384, 96, 1, 1),
    ("mnv2_14x96_576", 14, 14, 96, 576, 1, 1),
    ("mnv2_14x576_96", 14, 14, 576, 96, 1, 1),
    ("mnv2_7x576_160", 7, 7, 576, 160, 1, 1),
    ("mnv2_7x160_960", 7, 7, 160, 960, 1, 1),
    ("mnv2_7x960_160", 7, 7, 960, 160, 1, 1),
    ("mnv2_7x960_320", 7, 7, 960, 320, 1, 1),
    ("mnv2_7x320_1280", 7, 7, 320, 1280, 1, 1),
    ("mnv2_fc_1280_1000", 1, 1, 1280, 1000, 0, 1),
    ("rn50_stem_7x7s2", 224, 224, 3, 64, 7, 2),
    ("rn50_56x64_64", 56, 56, 64, 64, 1, 1),
    ("rn50_56x64_3x3", 56, 56, 64, 64, 3, 1),
    ("rn50_56x64_256", 56, 56, 64, 256, 1, 1),
    ("rn50_56x256_64", 56, 56, 256, 64, 1, 1),
    ("rn50_28x128_3x3", 28, 28, 128, 128, 3, 1),
    ("rn50_28x512_128", 28, 28, 512, 128, 1, 1),
    ("rn50_28x128_512", 28, 28, 128, 512, 1, 1),
    ("rn50_14x256_3x3", 14, 14, 256, 256, 3, 1),
    ("rn50_14x1024_256", 14, 14, 1024, 256, 1, 1),
    ("rn50_14x256_1024", 14, 14, 256, 1024, 1, 1),
    ("rn50_7x512_3x3", 7, 7, 512, 512, 3, 1),
    ("rn50_7x2048_512", 7, 7, 2048, 512, 1, 1),
    ("rn50_7x512_2048", 7, 7, 512, 2048, 1, 1),
    ("rn50_fc_2048_1000", 1, 1, 2048, 1000, 0, 1),
    ("bmm_128x64x128", 128, 1, 64, 128, -1, 1),
    # BERT-base-like encoder (zoo.py bert_encoder): 128 tokens, hidden 256, FFN 1024, 4 heads of 64;
    # K = -2 is a FULLY_CONNECTED over H rows; BATCH_MATMUL with W heads, K = -3 with adj_y
    ("bert_fc_128x256_256", 128, 1, 256, 256, -2, 1),
    ("bert_fc_128x256_1024", 128, 1, 256, 1024, -2, 1),
    ("bert_fc_128x1024_256", 128, 1, 1024, 256, -2, 1),
    ("bert_bmm_scores", 128, 4, 64, 128, -3, 1),
    ("bert_bmm_context", 128, 4, 128, 64, -1, 1),
]


def layer_model(layer, dtype, seed=0):
    """A one-op model for one LAYERS entry, float32 or int8 (per-channel weights)."""
    name, h, w, ic, oc, k, stride = layer
    rng = np.random.default_rng(seed)
    m = ModelBuilder()
    q = dtype == "i8"
    if k in (-1, -3):  # BATCH_MATMUL [w, h, ic] x [w, ic, oc] (-3: b given as [w, oc, ic], adj_y)
        b_shape = [w, oc, ic] if k == -3 else [w, ic, oc]
        if q:
            a = m.input("a", [w, h, ic], np.int8, quantization=(0.05, 3))
            b = m.input("b", b_shape, np.int8, quantization=(0.04, -2))
            y = m.tensor("y", [w, h, oc], np.int8, quantization=(0.4, 1))
        else:
            a, b, y = m.input("a", [w, h, ic]), m.input("b", b_shape), m.tensor("y", [w, h, oc])
        m.op("BATCH_MATMUL", [a, b], [y], adj_x=False, adj_y=k == -3)
        m.output(y)
        return m.build()
    fc = k in (0, -2)
    rows = h if k == -2 else 1
    in_shape = [rows, ic] if fc else [1, h, w, ic]
    # the real output shape: a placeholder would make LiteRT resize it at prepare, which keeps
    # XNNPACK from taking the op
    out_shape = [rows, oc] if fc else [1, -(-h // stride), -(-w // stride), oc]
    wshape = (oc, ic) if fc else (oc, k, k, ic)
    fan_in = ic * max(k, 1) ** 2
    if q:
        x = m.input("x", in_shape, np.int8, quantization=(0.05, -3))
        scales = rng.uniform(0.5, 1.5, oc).astype(np.float32) / np.sqrt(fan_in) / 40
        wq = rng.integers(-127, 128, wshape).astype(np.int8)
        wt = m.constant("w", wq, quantization={"scale": scales, "zero_point": np.zeros(oc, np.int64),
                                               "quantized_dimension": 0})
        bs = (np.float32(0.05) * scales).astype(np.float32)
        bt = m.constant("b", rng.integers(-2000, 2000, oc).astype(np.int32), dtype=np.int32,
                        quantization={"scale": bs, "zero_point": np.zeros(oc, np.int64)})
        y = m.tensor("y", out_shape, np.int8, quantization=(0.08, -10))
    else:
        x = m.input("x", in_shape)
        wt = m.constant("w", (rng.standard_normal(wshape) / np.sqrt(fan_in)).astype(np.float32))
        bt = m.constant("b", rng.standard_normal(oc).astype(np.float32) * 0.1)
        y = m.tensor("y", out_shape, np.float32)
    if fc:
        m.op("FULLY_CONNECTED", [x, wt, bt], [y], fused_activation_function="NONE")
    else:
        m.op("CONV_2D", [x, wt, bt], [y], padding="SAME", stride_h=stride, stride_w=stride,
             fused_activation_function="RELU6")
    m.output(y)
    return m.build()


ENABLED = bool(os.environ.get("TFLITE_RT_BENCH"))


@pytest.mark.skipif(not ENABLED, reason="set TFLITE_RT_BENCH=1 (and --benchmark-enable) to run")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["f32", "i8"])
@pytest.mark.parametrize("layer", LAYERS, ids=[l[0] for l in LAYERS])
def test_layer(benchmark, layer, dtype, threads):
    import tflite_rt.interpreter as ours
    it = make(ours, layer_model(layer, dtype), threads)
    benchmark(it.invoke)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", nargs="+", default=["f32", "i8"])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--filter", default="")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    print("%-22s %4s %3s %10s %10s %7s" % ("layer", "type", "thr", "ours ms", "litert ms", "ratio"))
    ratios = {}
    for layer in LAYERS:
        if args.filter not in layer[0]:
            continue
        for dtype in args.dtype:
            model = layer_model(layer, dtype)
            for t in args.threads:
                o, r = side_by_side(model, t, args.rounds, args.runs)
                ratios.setdefault((dtype, t), []).append(o / r)
                print("%-22s %4s %3d %10.3f %10.3f %7.2f" % (layer[0], dtype, t, o, r, o / r), flush=True)
    for (dtype, t), rs in sorted(ratios.items()):
        print("geometric mean ratio %s, %d thread(s): %.2f" % (dtype, t, float(np.exp(np.mean(np.log(rs))))))


if __name__ == "__main__":
    main()
