"""Reductions on the shapes of the benchmark zoo, tflite_rt vs LiteRT: MEAN over H,W (the
squeeze-and-excitation and global pools of MobileNetV2/V3, EfficientNet-B0, ResNet-50), MEAN over
the last axis (the encoder's layer norms), SOFTMAX (attention and classifier), REDUCE_MAX and
L2_NORMALIZATION.

pytest-benchmark (skipped unless --benchmark-enable or TFLITE_RT_BENCH=1):

    TFLITE_RT_BENCH=1 PYTHONPATH=. python -m pytest -q benchmarks/bench_kernels_reduce.py

Side by side, medians of alternating rounds (ratio < 1: tflite_rt is faster):

    PYTHONPATH=. python benchmarks/bench_kernels_reduce.py [--dtype f32 i8] [--threads 1 2] [--only mean]

The reduction ops of whole models, each as a one-op model of the same shape, type and
quantization, summed per model (the models' own op counts):

    python benchmarks/zoo.py --out /tmp/zoo
    PYTHONPATH=. python benchmarks/bench_kernels_reduce.py --models /tmp/zoo/*.tflite
"""
import argparse
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _timing  # noqa: E402
from tflite_rt.builder import ModelBuilder  # noqa: E402

# (name, op, input shape, axes or None, dtypes)
BOTH, F32 = ("f32", "i8"), ("f32",)
LAYERS = [
    ("mean_v3_28x28x72", "MEAN", (1, 28, 28, 72), (1, 2), BOTH),
    ("mean_v3_28x28x120", "MEAN", (1, 28, 28, 120), (1, 2), BOTH),
    ("mean_v3_14x14x480", "MEAN", (1, 14, 14, 480), (1, 2), BOTH),
    ("mean_v3_14x14x672", "MEAN", (1, 14, 14, 672), (1, 2), BOTH),
    ("mean_v3_7x7x960", "MEAN", (1, 7, 7, 960), (1, 2), BOTH),
    ("mean_eb0_112x112x32", "MEAN", (1, 112, 112, 32), (1, 2), BOTH),
    ("mean_eb0_56x56x96", "MEAN", (1, 56, 56, 96), (1, 2), BOTH),
    ("mean_eb0_56x56x144", "MEAN", (1, 56, 56, 144), (1, 2), BOTH),
    ("mean_eb0_28x28x240", "MEAN", (1, 28, 28, 240), (1, 2), BOTH),
    ("mean_eb0_7x7x1152", "MEAN", (1, 7, 7, 1152), (1, 2), BOTH),
    ("mean_v2_7x7x1280", "MEAN", (1, 7, 7, 1280), (1, 2), BOTH),
    ("mean_r50_7x7x2048", "MEAN", (1, 7, 7, 2048), (1, 2), BOTH),
    ("mean_bert_128x256", "MEAN", (1, 128, 256), (2,), F32),
    ("sum_bert_128x256", "SUM", (1, 128, 256), (2,), F32),
    ("max_7x7x1280", "REDUCE_MAX", (1, 7, 7, 1280), (1, 2), F32),
    ("max_128x256", "REDUCE_MAX", (1, 128, 256), (2,), F32),
    ("softmax_bert_4x128x128", "SOFTMAX", (1, 4, 128, 128), None, F32),
    ("softmax_1000", "SOFTMAX", (1, 1000), None, BOTH),
    ("l2norm_128x256", "L2_NORMALIZATION", (1, 128, 256), None, F32),
]


def layer_model(op, shape, axes, dtype="f32"):
    """One reduction op as a .tflite model (int8: the zoo's quantization, SOFTMAX's fixed output)."""
    m = ModelBuilder()
    if dtype == "f32":
        x = m.input("x", list(shape))
        y = m.tensor("y", list(shape) if axes is None else [1])
    else:
        x = m.input("x", list(shape), np.int8, quantization=(0.05, -3))
        yq = (1 / 256, -128) if op == "SOFTMAX" else (0.02, -7)
        y = m.tensor("y", list(shape) if axes is None else [1], np.int8, quantization=yq)
    if axes is None:
        m.op(op, [x], [y], **({"beta": 1.0} if op == "SOFTMAX" else {}))
    else:
        m.op(op, [x, m.constant("axes", np.array(axes, np.int32))], [y], keep_dims=True)
    m.output(y)
    return m.build()


REDUCE_OPS = ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "SOFTMAX", "L2_NORMALIZATION")


def model_ops(path):
    """[(op, shape, axes, keep, dtype, in quantization, out quantization)] of a model's reduction ops."""
    import tflite_rt.interpreter as ours

    it = ours.Interpreter(model_path=path)
    it.allocate_tensors()
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    ops = []
    for o in it._get_ops_details():
        if o["op_name"] not in REDUCE_OPS:
            continue
        x, y = tensors[o["inputs"][0]], tensors[o["outputs"][0]]
        axes, keep = None, False
        if len(o["inputs"]) > 1:
            axes = tuple(int(a) for a in np.asarray(it.get_tensor(o["inputs"][1])).reshape(-1))
            keep = len(y["shape"]) == len(x["shape"])
        dtype = "f32" if np.dtype(x["dtype"]) == np.float32 else "i8"
        ops.append((o["op_name"], tuple(int(d) for d in x["shape"]), axes, keep, dtype,
                    x["quantization"], y["quantization"]))
    return ops


def op_model(op, shape, axes, keep, dtype, qin, qout):
    """One op as a model, with the given shape, type and quantization."""
    m = ModelBuilder()
    np_type = np.float32 if dtype == "f32" else np.int8
    x = m.input("x", list(shape), np_type, quantization=qin if dtype != "f32" else None)
    y = m.tensor("y", [1], np_type, quantization=qout if dtype != "f32" else None)
    if axes is None:
        m.op(op, [x], [y], **({"beta": 1.0} if op == "SOFTMAX" else {}))
    else:
        m.op(op, [x, m.constant("axes", np.array(axes, np.int32))], [y], keep_dims=keep)
    m.output(y)
    return m.build()


def zoo_table(paths, threads, rounds, runs):
    """Per model: the reduction ops' total time, ours and LiteRT's, each op timed on its own."""
    import collections
    import os

    print("%-32s %3s %5s %9s %9s %6s" % ("model: reduction ops", "thr", "ops", "ours ms", "lrt ms", "ratio"))
    cache = {}
    for path in paths:
        counts = collections.Counter(model_ops(path))
        for t in threads:
            tot_o = tot_r = 0.0
            by_op = collections.defaultdict(lambda: [0.0, 0.0])
            for key, n in counts.items():
                if (key, t) not in cache:
                    cache[(key, t)] = side_by_side(op_model(*key), t, rounds, runs)
                o, r = cache[(key, t)]
                tot_o += n * o
                tot_r += n * r
                by_op[key[0]][0] += n * o
                by_op[key[0]][1] += n * r
            name = os.path.splitext(os.path.basename(path))[0]
            print("%-32s %3d %5d %9.4f %9.4f %6.2f   %s" % (name, t, sum(counts.values()), tot_o, tot_r, tot_o / tot_r,
                  "  ".join("%s %.4f/%.4f" % (k, v[0], v[1]) for k, v in sorted(by_op.items()))), flush=True)


def make(module, model, threads):
    return _timing.make(module, model, threads, float_range=3.0)


def side_by_side(model, threads, rounds=7, runs=50):
    return _timing.side_by_side(model, threads, rounds, runs, float_range=3.0)


# --- pytest-benchmark --------------------------------------------------------------------------

ENABLED = os.environ.get("TFLITE_RT_BENCH") == "1" or any("benchmark-enable" in a for a in sys.argv)
pytestmark = pytest.mark.skipif(not ENABLED, reason="benchmarks run with --benchmark-enable or TFLITE_RT_BENCH=1")

CASES = [(layer, dt) for layer in LAYERS for dt in layer[4]]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("layer,dtype", CASES, ids=["%s-%s" % (c[0][0], c[1]) for c in CASES])
def test_reduce(benchmark, layer, dtype, threads):
    import tflite_rt.interpreter as ours

    _, op, shape, axes, _ = layer
    it = make(ours, layer_model(op, shape, axes, dtype), threads)
    benchmark(it.invoke)


def main():
    p = argparse.ArgumentParser(description="reduction layers, tflite_rt vs LiteRT")
    p.add_argument("--dtype", nargs="+", default=["f32", "i8"])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--only", default="", help="substring of layer names to run")
    p.add_argument("--models", nargs="+", help=".tflite files: time their reduction ops instead")
    args = p.parse_args()
    if args.models:
        zoo_table(args.models, args.threads, args.rounds, args.runs)
        return
    print("%-24s %4s %3s %9s %9s %6s" % ("layer", "type", "thr", "ours ms", "lrt ms", "ratio"))
    for dtype in args.dtype:
        for t in args.threads:
            ratios = []
            for name, op, shape, axes, dtypes in LAYERS:
                if args.only not in name or dtype not in dtypes:
                    continue
                o, r = side_by_side(layer_model(op, shape, axes, dtype), t, args.rounds, args.runs)
                ratios.append(o / r)
                print("%-24s %4s %3d %9.4f %9.4f %6.2f" % (name, dtype, t, o, r, o / r), flush=True)
            if ratios:
                print("geomean %s %d thread(s): %.2f" % (dtype, t, float(np.exp(np.mean(np.log(ratios))))))


if __name__ == "__main__":
    main()
