"""tflite_rt and LiteRT (ai-edge-litert, default XNNPACK) on the same models.

Latency: both runtimes live in one process and alternate in rounds, so that both see the same
machine load; the table shows the median invoke time of each and the ratio ours / LiteRT (below
1.0: we are faster). Load (Interpreter(model_path=...) + allocate_tensors()) and the first
invoke after it are timed the same way: alternating, median of --loads rounds.

With --load-clock cpu, load + allocate is the calling thread's CPU time instead: on a busy
machine it moves far less than the wall clock, and both runtimes load on that thread.

Fresh processes: each runtime also loads each model in child processes of their own (--processes,
medians), which record VmRSS after importing the runtime, then load, allocate and invoke once:
"fresh" is that first load + allocate of a process (where no freed memory of an earlier
interpreter can be reused), "peak" the child's VmHWM (MiB), "+rss" its increase over the baseline.

    python benchmarks/side_by_side.py [MODEL.tflite ...] [--threads 1 2] [--rounds 5] [--runs 20]
    python benchmarks/side_by_side.py --zoo /tmp/zoo      # every model benchmarks/zoo.py built

With no models it uses the bundled demo model and, when present, ../shared/models/mobilenet_*.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _timing import median_ms  # noqa: E402
RUNTIMES = {"ours": "tflite_rt.interpreter", "litert": "ai_edge_litert.interpreter"}


def default_models():
    models = [os.path.join(HERE, "..", "tflite_rt", "demo", "demo_cnn.tflite")]
    models += sorted(glob.glob(os.path.join(HERE, "..", "..", "shared", "models", "mobilenet_*.tflite")))
    return models


def random_inputs(it):
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        dtype = np.dtype(d["dtype"])
        if dtype.kind == "f":
            x = rng.uniform(-1, 1, d["shape"]).astype(dtype)
        else:
            info = np.iinfo(dtype)
            x = rng.integers(info.min, info.max, d["shape"], endpoint=True).astype(dtype)
        it.set_tensor(d["index"], x)


def make(module, path, threads, load_clock=time.perf_counter):
    """(interpreter, load + allocate ms, first invoke ms)."""
    t0 = load_clock()
    it = module.Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    t1 = load_clock()
    random_inputs(it)
    t2 = time.perf_counter()
    it.invoke()
    t3 = time.perf_counter()
    return it, (t1 - t0) * 1e3, (t3 - t2) * 1e3


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def compare(modules, path, threads, rounds, runs, loads, load_clock):
    """{runtime: {"ms", "load", "first"}}: medians over alternating rounds."""
    keys = list(modules)
    load = {k: [] for k in keys}
    first = {k: [] for k in keys}
    its = {}
    for _ in range(loads):
        for k in keys:
            its[k] = None  # the previous interpreter goes before the next one is made
            its[k], load_ms, first_ms = make(modules[k], path, threads, load_clock)
            load[k].append(load_ms)
            first[k].append(first_ms)
    latency = {k: [] for k in keys}
    for _ in range(rounds):
        for k in keys:
            latency[k].append(median_ms(its[k], runs))
    return {k: {"ms": statistics.median(latency[k]), "load": statistics.median(load[k]),
                "first": statistics.median(first[k])} for k in keys}


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_child(runtime, path, threads, load_clock):
    """Runs in a fresh process: prints {"baseline", "peak"} in KiB and the load time in ms of
    this first load of the process, as JSON."""
    import importlib

    module = importlib.import_module(RUNTIMES[runtime])
    baseline = _status_kib("VmRSS")
    it, load_ms, _first = make(module, path, threads, load_clock)
    print(json.dumps({"baseline": baseline, "peak": _status_kib("VmHWM"), "load": load_ms}))
    del it


def measure_fresh(runtime, path, threads, load_clock, processes):
    """(peak MiB, RSS increase MiB, load ms) of a first load in a fresh process: medians over
    `processes` processes."""
    recs = []
    for _ in range(processes):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--rss-child", runtime, path,
                              str(threads), "--load-clock", load_clock],
                             check=True, capture_output=True, text=True).stdout
        recs.append(json.loads(out.strip().splitlines()[-1]))
    return (statistics.median(r["peak"] for r in recs) / 1024.0,
            statistics.median(r["peak"] - r["baseline"] for r in recs) / 1024.0,
            statistics.median(r["load"] for r in recs))


def geomean(values):
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


COLUMNS = [  # (title, width, format, key)
    ("model", 32, "%-32s", "model"), ("thr", 3, "%3d", "threads"),
    ("ours ms", 8, "%8.3f", "ours.ms"), ("lrt ms", 8, "%8.3f", "litert.ms"), ("ratio", 5, "%5.2f", "ratio.ms"),
    ("ours load", 9, "%9.2f", "ours.load"), ("lrt load", 8, "%8.2f", "litert.load"), ("ratio", 5, "%5.2f", "ratio.load"),
    ("ours 1st", 8, "%8.2f", "ours.first"), ("lrt 1st", 8, "%8.2f", "litert.first"), ("ratio", 5, "%5.2f", "ratio.first"),
    ("ours fresh", 10, "%10.2f", "ours.fresh"), ("lrt fresh", 9, "%9.2f", "litert.fresh"), ("ratio", 5, "%5.2f", "ratio.fresh"),
    ("ours peak", 9, "%9.1f", "ours.peak"), ("lrt peak", 8, "%8.1f", "litert.peak"),
    ("ours +rss", 9, "%9.1f", "ours.rss"), ("lrt +rss", 8, "%8.1f", "litert.rss"), ("ratio", 5, "%5.2f", "ratio.rss"),
]
RATIOS = (("ms", "latency"), ("load", "load + allocate"), ("first", "first invoke"),
          ("fresh", "load in a fresh process"), ("rss", "RSS increase"))


def row_text(row):
    cells = []
    for _title, width, fmt, key in COLUMNS:
        head, _, tail = key.partition(".")
        value = row[head][tail] if tail else row[head]
        cells.append(fmt % value if value is not None else " " * (width - 1) + "-")
    return " ".join(cells)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--zoo", help="a directory of models built by benchmarks/zoo.py")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5, help="latency rounds per runtime")
    parser.add_argument("--runs", type=int, default=20, help="invokes per latency round")
    parser.add_argument("--loads", type=int, default=5, help="load + first invoke rounds")
    parser.add_argument("--no-rss", action="store_true", help="skip the fresh-process runs")
    parser.add_argument("--processes", type=int, default=3,
                        help="fresh processes per runtime, model and thread count")
    parser.add_argument("--load-clock", choices=sorted(CLOCKS), default="wall",
                        help="time load + allocate by the wall clock, or by the calling thread's "
                             "CPU time (steadier on a busy machine; both runtimes load on it)")
    parser.add_argument("--rss-child", nargs=3, metavar=("RUNTIME", "MODEL", "THREADS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        runtime, path, threads = args.rss_child
        return rss_child(runtime, path, int(threads), CLOCKS[args.load_clock])

    import importlib

    modules = {k: importlib.import_module(v) for k, v in RUNTIMES.items()}
    models = list(args.models)
    if args.zoo:
        models += sorted(glob.glob(os.path.join(args.zoo, "*.tflite")))
    print(" ".join(("%-*s" if i == 0 else "%*s") % (w, t) for i, (t, w, _f, _k) in enumerate(COLUMNS)))
    ratios = {(t, key): [] for t in args.threads for key, _ in RATIOS}
    for path in models or default_models():
        for t in args.threads:
            row = compare(modules, path, t, args.rounds, args.runs, args.loads,
                          CLOCKS[args.load_clock])
            for k in RUNTIMES:
                row[k]["peak"], row[k]["rss"], row[k]["fresh"] = (
                    (None, None, None) if args.no_rss
                    else measure_fresh(k, path, t, args.load_clock, args.processes))
            row["model"] = os.path.basename(path)[:32]
            row["threads"] = t
            row["ratio"] = {}
            for key, _ in RATIOS:
                ours, ref = row["ours"][key], row["litert"][key]
                ratio = ours / ref if ours is not None and ref else None
                row["ratio"][key] = ratio
                if ratio is not None:
                    ratios[(t, key)].append(ratio)
            print(row_text(row), flush=True)
    for t in args.threads:
        print("geometric mean ratio, %d thread(s): %s" % (t, ", ".join(
            "%s %.2f" % (title, geomean(ratios[(t, key)])) for key, title in RATIOS
            if ratios[(t, key)])))


if __name__ == "__main__":
    main()
