"""A coverage-guided fuzz target (atheris, over libFuzzer) for untrusted models.

    pip install -e '.[fuzz]'
    python tests/fuzz/fuzz_atheris.py CORPUS_DIR [SEED_DIR...] -max_total_time=60 -timeout=20

Each input is a model: Interpreter(model_content=...) -> allocate -> random inputs -> invoke ->
outputs. ValueError, RuntimeError and MemoryError are clean refusals; any other exception, or a
crash, is a finding that libFuzzer saves as crash-*. The tflite_rt package is instrumented, so
Python coverage (the loader, the planner, every op's prepare) guides the search. Most
mutations go through the schema (tests/fuzz/fuzzlib.py: indices, shapes, options, quantization,
constant values); the rest are libFuzzer's own byte mutations.
"""
import os
import sys
import zlib

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

with atheris.instrument_imports(include=["tflite_rt"]):
    import fuzzlib
    import tflite_rt.interpreter  # noqa: F401  (instrumented here, used by fuzzlib.execute)
    import tflite_rt.ops  # noqa: F401

import numpy as np  # noqa: E402


def test_one_input(data):
    fuzzlib.execute(bytes(data), seed=zlib.crc32(data), num_threads=1, small_ints=True)


def custom_mutator(data, max_size, seed):
    rng = np.random.default_rng(seed)
    if rng.random() < 0.75:
        out = fuzzlib.mutate(bytes(data), rng)
        if out is not None and len(out) <= max_size:
            return out
    return atheris.Mutate(data, max_size)


def main():
    import warnings
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    if "asan" not in os.environ.get("LD_PRELOAD", ""):
        import resource
        limit = 4096 << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    argv = list(sys.argv)
    if not any(a.startswith("-rss_limit_mb") for a in argv):
        argv.append("-rss_limit_mb=4096")
    if not any(a.startswith("-artifact_prefix") for a in argv):
        argv.append("-artifact_prefix=%s/" % os.environ.get("FUZZ_ARTIFACTS", "."))
    if not any(a.startswith("-max_len") for a in argv):
        argv.append("-max_len=1048576")
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
