"""Shared by the kernel benchmarks: one interpreter per runtime fed the same random inputs, and
median invoke times of the two runtimes taken in alternating rounds (so both see the same load)."""
import statistics
import time

import numpy as np


def make(module, model, threads, float_range=1.0):
    """An allocated interpreter of `module` with seeded random inputs, invoked once."""
    it = module.Interpreter(model_content=model, num_threads=threads)
    it.allocate_tensors()
    rng = np.random.default_rng(1)
    for d in it.get_input_details():
        dt = np.dtype(d["dtype"])
        if dt.kind == "f":
            x = rng.uniform(-float_range, float_range, d["shape"]).astype(dt)
        else:
            x = rng.integers(-128, 128, d["shape"]).astype(dt)
        it.set_tensor(d["index"], x)
    it.invoke()
    return it


def median_ms(it, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def side_by_side(model, threads, rounds=7, runs=30, float_range=1.0):
    """(ours ms, LiteRT ms): medians over alternating rounds (LiteRT: default resolver, XNNPACK)."""
    import ai_edge_litert.interpreter as litert

    import tflite_rt.interpreter as ours

    a = make(ours, model, threads, float_range)
    b = make(litert, model, threads, float_range)
    oa, ob = [], []
    for _ in range(rounds):
        oa.append(median_ms(a, runs))
        ob.append(median_ms(b, runs))
    return statistics.median(oa), statistics.median(ob)
