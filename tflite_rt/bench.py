"""Timing a model from Python: `benchmark(path, ...)` returns a `BenchmarkResult`.

    from tflite_rt.bench import benchmark
    result = benchmark("model.tflite", num_threads=2, runs=100)
    print(result.median_ms, result.to_dict())
"""
import os
import time

import numpy as np


class BenchmarkResult:
    def __init__(self, model, num_threads, model_bytes, load_ms, first_invoke_ms, times_ms,
                 peak_rss_mb, arena_bytes, profile):
        self.model = model
        self.num_threads = num_threads
        self.model_bytes = model_bytes
        self.load_ms = load_ms
        self.first_invoke_ms = first_invoke_ms
        self.times_ms = np.asarray(times_ms, dtype=np.float64)
        self.peak_rss_mb = peak_rss_mb
        self.arena_bytes = arena_bytes
        self.profile = profile

    def stat(self, name):
        t = self.times_ms
        if t.size == 0:
            return float("nan")
        return {"mean": t.mean(), "std": t.std(), "min": t.min(), "median": np.median(t),
                "p90": np.percentile(t, 90), "p99": np.percentile(t, 99), "max": t.max()}[name]

    @property
    def median_ms(self):
        return float(self.stat("median"))

    def to_dict(self):
        latency = {k: float(self.stat(k)) for k in ("mean", "std", "min", "median", "p90", "p99", "max")}
        latency["count"] = int(self.times_ms.size)
        return {"model": self.model, "num_threads": self.num_threads, "model_bytes": self.model_bytes,
                "load_allocate_ms": self.load_ms, "first_invoke_ms": self.first_invoke_ms,
                "latency_ms": latency, "peak_rss_mb": self.peak_rss_mb, "arena_bytes": self.arena_bytes,
                "profile": self.profile}

    def report(self):
        d = self.to_dict()
        lat = d["latency_ms"]
        lines = [
            "model            %s (%.1f KiB)" % (self.model, self.model_bytes / 1024.0),
            "threads          %d" % self.num_threads,
            "load + allocate  %.3f ms" % self.load_ms,
            "first invoke     %.3f ms" % self.first_invoke_ms,
            "latency (ms)     count %d  mean %.3f  std %.3f  min %.3f  median %.3f  p90 %.3f  p99 %.3f  max %.3f"
            % (lat["count"], lat["mean"], lat["std"], lat["min"], lat["median"], lat["p90"], lat["p99"], lat["max"]),
            "peak RSS         %.1f MiB" % self.peak_rss_mb,
            "arena            %.1f KiB" % (self.arena_bytes / 1024.0),
        ]
        if self.profile:
            total = sum(p["mean_ms"] for p in self.profile) or 1.0
            lines.append("")
            lines.append("%-5s %-24s %10s %7s" % ("node", "op", "ms", "%"))
            for p in self.profile:
                lines.append("%-5d %-24s %10.4f %6.1f%%" % (p["index"], p["op_name"], p["mean_ms"],
                                                           100.0 * p["mean_ms"] / total))
        return "\n".join(lines)


def _peak_rss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def benchmark(model_path, num_threads=1, runs=50, warmup=5, min_secs=0.0, max_secs=60.0,
              input_shapes=None, input_files=None, profile=False, seed=0):
    from .cli import _load_inputs, _random_input
    from .interpreter import Interpreter

    if not os.path.isfile(model_path):
        raise ValueError("no such model file: %s" % model_path)
    t0 = time.perf_counter()
    it = Interpreter(model_path=model_path, num_threads=num_threads, profile=profile)
    for d in it.get_input_details():
        if input_shapes and d["name"] in input_shapes:
            it.resize_tensor_input(d["index"], input_shapes[d["name"]])
    it.allocate_tensors()
    load_ms = (time.perf_counter() - t0) * 1e3
    values = _load_inputs(it, input_files)
    rng = np.random.default_rng(seed)
    for d in it.get_input_details():
        x = values.get(d["index"])
        it.set_tensor(d["index"], x if x is not None else _random_input(d, rng))
    t0 = time.perf_counter()
    it.invoke()
    first_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(max(warmup, 0)):
        it.invoke()
    if profile:
        it._alloc.plan.set_profiling(True)
    times = []
    start = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - start
        if (len(times) >= runs and elapsed >= min_secs) or elapsed >= max_secs:
            break
        t0 = time.perf_counter()
        it.invoke()
        times.append((time.perf_counter() - t0) * 1e3)
    return BenchmarkResult(model_path, num_threads, os.path.getsize(model_path), load_ms, first_ms,
                           times, _peak_rss_mb(), it._alloc.arena.nbytes,
                           it.get_profile() if profile else None)
