"""Soak: long runs keep memory flat and threads agree with a single-threaded run.

Fast by default (a few seconds in all). TFLITE_RT_SOAK=1 runs the full lengths: 100,000
invokes, 1,000 create/allocate/invoke/destroy cycles, 8 threads for a minute. Each test prints
its figures (see them with `pytest -s tests/test_soak.py`).
"""
import gc
import os
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest

from tflite_rt import interpreter as ours

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz"))
from seeds import built_seeds  # noqa: E402

FULL = os.environ.get("TFLITE_RT_SOAK") == "1"
INVOKES = 100_000 if FULL else 3_000
CYCLES = 1_000 if FULL else 60
THREAD_SECONDS = 60.0 if FULL else 3.0
THREADS = 8
# RSS may move by allocator noise; a leak of even a few bytes per call over the full run is
# well beyond this
RSS_SLACK = 6 << 20
# AddressSanitizer holds freed memory in quarantine, so RSS grows under it without a leak
SANITIZED = "asan" in os.environ.get("LD_PRELOAD", "")


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def models():
    """The built seed models that load here: int8 conv net, WHILE, IF + CALL_ONCE + resource
    variable, LSTM with state, strings."""
    out = []
    for data in built_seeds():
        try:
            it = ours.Interpreter(model_content=data, num_threads=1)
            it.allocate_tensors()
        except ValueError:
            continue
        out.append(data)
    assert len(out) >= 3
    return out


def inputs_for(it, rng):
    values = []
    for d in it.get_input_details():
        shape, dtype = tuple(d["shape"]), np.dtype(d["dtype"])
        if dtype == np.bool_:
            v = rng.integers(0, 2, shape).astype(bool)
        elif dtype.kind in "iu":
            v = rng.integers(-2, 3, shape).astype(dtype)
        elif dtype.kind == "f":
            v = rng.standard_normal(shape).astype(dtype)
        else:
            v = np.array([b"ab" * int(rng.integers(0, 4)) for _ in range(int(np.prod(shape)))],
                         dtype=object).reshape(shape)
        values.append(v)
    return values


def run_once(it, values, reset=False):
    if reset:
        it.reset_all_variables()   # stateful models (LSTM state) then give the same result again
    for d, v in zip(it.get_input_details(), values):
        it.set_tensor(d["index"], v)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def report(name, **figures):
    print("\n[soak] %s: %s" % (name, ", ".join("%s=%s" % kv for kv in figures.items())))


def test_invokes_keep_rss_flat():
    its = []
    for data in models():
        it = ours.Interpreter(model_content=data, num_threads=2)
        it.allocate_tensors()
        its.append(it)
    rng = np.random.default_rng(0)
    feeds = [[inputs_for(it, rng) for _ in range(4)] for it in its]
    warm = max(INVOKES // 10, 200)
    n, start = 0, None
    t0 = time.perf_counter()
    while n < INVOKES:
        for it, feed in zip(its, feeds):
            run_once(it, feed[n % 4])
            n += 1
            if n == warm:
                gc.collect()
                start = rss()
                tracemalloc.start()   # from here on, Python-level allocations that stay
    gc.collect()
    end = rss()
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    report("invokes", invokes=n, seconds=round(time.perf_counter() - t0, 1),
           rss_start_mb=round(start / 2 ** 20, 1), rss_end_mb=round(end / 2 ** 20, 1),
           growth_kb=(end - start) >> 10, python_kept_kb=kept >> 10)
    assert SANITIZED or end - start < RSS_SLACK, "RSS grew by %d KB over %d invokes" % (
        (end - start) >> 10, n)
    assert kept < 1 << 20, "%d KB of Python objects kept over %d invokes" % (kept >> 10, n)


def test_create_destroy_cycles_keep_rss_flat():
    datas = models()
    rng = np.random.default_rng(1)
    warm = max(CYCLES // 10, 20)
    start = None
    t0 = time.perf_counter()
    for i in range(CYCLES):
        data = datas[i % len(datas)]
        it = ours.Interpreter(model_content=data, num_threads=1 + i % 2)
        it.allocate_tensors()
        run_once(it, inputs_for(it, rng))
        del it
        if i + 1 == warm:
            gc.collect()
            start = rss()
    gc.collect()
    end = rss()
    report("cycles", cycles=CYCLES, seconds=round(time.perf_counter() - t0, 1),
           rss_start_mb=round(start / 2 ** 20, 1), rss_end_mb=round(end / 2 ** 20, 1),
           growth_kb=(end - start) >> 10)
    assert SANITIZED or end - start < RSS_SLACK, "RSS grew by %d KB over %d cycles" % (
        (end - start) >> 10, CYCLES)


def same(a, b):
    return all(x.dtype == y.dtype and x.shape == y.shape
               and np.array_equal(x, y, equal_nan=x.dtype.kind in "fc") for x, y in zip(a, b))


def test_threads_with_own_interpreters_match_single_thread():
    """Each thread runs every model in its own Interpreters, for a while; every result must equal
    the one a single thread computed. A stateful model (LSTM state) is reset before each run;
    CALL_ONCE initialises once, on a first warm-up run."""
    rng = np.random.default_rng(2)
    cases = []   # (model, reset before each run, inputs, expected outputs from one thread)
    for data in models():
        it = ours.Interpreter(model_content=data, num_threads=1)
        it.allocate_tensors()
        values = [inputs_for(it, rng) for _ in range(3)]
        run_once(it, values[0])
        reset = not same(run_once(it, values[0]), run_once(it, values[0]))
        for v in values:
            expected = run_once(it, v, reset)
            assert same(expected, run_once(it, v, reset))
            cases.append((data, reset, v, expected))
    errors, counts = [], [0] * THREADS
    deadline = time.perf_counter() + THREAD_SECONDS

    def work(k):
        try:
            its = {}
            i = k
            while time.perf_counter() < deadline:
                data, reset, values, expected = cases[i % len(cases)]
                it = its.get(id(data))
                if it is None:
                    it = its[id(data)] = ours.Interpreter(model_content=data, num_threads=1)
                    it.allocate_tensors()
                    run_once(it, values)
                assert same(run_once(it, values, reset), expected), \
                    "thread %d differs from the single-threaded run" % k
                counts[k] += 1
                i += 1
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report("threads", threads=THREADS, seconds=THREAD_SECONDS, invokes=sum(counts),
           per_thread_min=min(counts))
    assert not errors, errors[0]
    assert min(counts) > 0


def test_string_inputs_do_not_accumulate():
    from tflite_rt.builder import ModelBuilder
    b = ModelBuilder()
    x = b.input("s", [3], np.bytes_)
    y = b.tensor("y", [3, 1], np.bytes_)
    b.op("RESHAPE", [x, b.constant("shape", np.array([3, 1], np.int32))], [y])
    b.output(y)
    it = ours.Interpreter(model_content=b.build(), num_threads=1)
    it.allocate_tensors()
    value = np.array([b"a" * 10000, b"b" * 10000, b"c"], dtype=object)
    n = INVOKES // 2
    # The values are Python objects: tracemalloc sees them whatever the allocator had free
    # before (RSS would not, in a process that freed a lot earlier).
    tracemalloc.start()
    try:
        for i in range(n):
            it.set_tensor(0, value)
            it.invoke()
            if i == n // 10:
                gc.collect()
                start = tracemalloc.get_traced_memory()[0]
        gc.collect()
        end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    report("string inputs", invokes=n, growth_kb=(end - start) >> 10)
    assert end - start < 1 << 20, "%d KB more allocated after %d string inputs" % ((end - start) >> 10, n)
