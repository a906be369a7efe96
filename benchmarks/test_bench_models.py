"""pytest-benchmark timings of tflite_rt's invoke() on the zoo models (benchmarks/zoo.py), one thread.

    pytest benchmarks/test_bench_models.py --benchmark-enable
    TFLITE_RT_BENCH=1 pytest benchmarks/test_bench_models.py

Without either, every benchmark is skipped, so `pytest benchmarks/` stays quick. The int8
models are calibrated with ai-edge-litert when first built; without it they are skipped.
Compare runs with pytest-benchmark's own options (--benchmark-autosave, --benchmark-compare).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import zoo  # noqa: E402


def _enabled(config):
    if os.environ.get("TFLITE_RT_BENCH", "") not in ("", "0"):
        return True
    try:
        return bool(config.getoption("benchmark_enable"))
    except ValueError:      # pytest-benchmark is not installed
        return False


@pytest.mark.parametrize("name,dtype", zoo.variants(), ids=["%s-%s" % v for v in zoo.variants()])
def test_invoke(request, name, dtype):
    if not _enabled(request.config):
        pytest.skip("benchmarks run with --benchmark-enable or TFLITE_RT_BENCH=1")
    benchmark = request.getfixturevalue("benchmark")
    if dtype == "int8":
        pytest.importorskip("ai_edge_litert.interpreter", reason="int8 models are calibrated with ai-edge-litert")
    from tflite_rt.interpreter import Interpreter

    model = zoo.build(name, dtype)
    it = Interpreter(model_content=model, num_threads=1)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), zoo.random_inputs(it.get_input_details())):
        it.set_tensor(d["index"], x)
    it.invoke()
    benchmark.extra_info.update(model=name, dtype=dtype, threads=1, macs=zoo.macs(name),
                                model_bytes=len(model))
    benchmark(it.invoke)
