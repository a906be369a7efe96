"""tflite_rt and LiteRT (ai-edge-litert, default XNNPACK) on the same models, in one process.

Runs alternate between the two runtimes in rounds, so that both see the same machine load; the
table shows median latency per runtime, the ratio ours / LiteRT (below 1.0: we are faster), the
load + allocate time of each, for 1 and 2 threads.

    python benchmarks/side_by_side.py [MODEL.tflite ...] [--rounds 5] [--runs 20]

With no models it uses the bundled demo model and, when present, ../shared/models/mobilenet_*.
"""
import argparse
import glob
import os
import statistics
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def default_models():
    models = [os.path.join(HERE, "..", "tflite_rt", "demo", "demo_cnn.tflite")]
    models += sorted(glob.glob(os.path.join(HERE, "..", "..", "shared", "models", "mobilenet_*.tflite")))
    return models


def make(module, path, threads):
    t0 = time.perf_counter()
    it = module.Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    load_ms = (time.perf_counter() - t0) * 1e3
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        dtype = np.dtype(d["dtype"])
        if dtype.kind == "f":
            x = rng.uniform(-1, 1, d["shape"]).astype(dtype)
        else:
            info = np.iinfo(dtype)
            x = rng.integers(info.min, info.max, d["shape"], endpoint=True).astype(dtype)
        it.set_tensor(d["index"], x)
    it.invoke()
    return it, load_ms


def time_runs(it, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def compare(path, threads, rounds, runs):
    import ai_edge_litert.interpreter as litert

    import tflite_rt.interpreter as ours

    a, a_load = make(ours, path, threads)
    b, b_load = make(litert, path, threads)
    ours_ms, ref_ms = [], []
    for _ in range(rounds):
        ours_ms.append(time_runs(a, runs))
        ref_ms.append(time_runs(b, runs))
    return statistics.median(ours_ms), statistics.median(ref_ms), a_load, b_load


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print("%-34s %3s %10s %10s %7s %10s %10s" % ("model", "thr", "ours ms", "litert ms", "ratio",
                                                 "ours load", "lrt load"))
    ratios = {t: [] for t in args.threads}
    for path in args.models or default_models():
        for t in args.threads:
            o, r, ol, rl = compare(path, t, args.rounds, args.runs)
            ratios[t].append(o / r)
            print("%-34s %3d %10.3f %10.3f %7.2f %10.2f %10.2f" % (
                os.path.basename(path)[:34], t, o, r, o / r, ol, rl))
    for t, rs in ratios.items():
        if rs:
            print("geometric mean ratio, %d thread(s): %.2f" % (t, float(np.exp(np.mean(np.log(rs))))))


if __name__ == "__main__":
    main()
