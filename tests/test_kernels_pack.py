"""The weight packers against plain reference packers (tests/pack_harness.c).

Packing runs once per prepare and its layout is what every GEMM and depthwise micro-kernel
reads, so the packed bytes are compared whole: odd column counts, k not a multiple of KR,
several taps, every source stride pattern the ops use, and the accumulator-bound flag the int8
packer returns.
"""
import os
import platform
import shutil
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


KERNELS = os.path.join(ROOT, "csrc", "kernels")
SOURCES = [os.path.join(HERE, "pack_harness.c"), os.path.join(KERNELS, "gemm", "gemm-pack.c"),
           os.path.join(KERNELS, "dwconv", "dwconv-pack.c")]
CROSS = os.environ.get("CROSS_CC", "aarch64-linux-gnu-gcc")


AVX512_FLAGS = ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl"]


def _build_and_run(compiler, flags, runner, avx512=False):
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "pack_harness")
        base = [compiler, "-std=c11", "-O2", "-Wall", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "csrc")]
        extra = []
        if avx512:
            # the AVX-512 packer with its ISA's flags only, the rest at the baseline (as setup.py)
            obj = os.path.join(tmp, "gemm-pack-avx512.o")
            subprocess.run(base + AVX512_FLAGS + ["-c", os.path.join(KERNELS, "gemm", "gemm-pack-avx512.c"),
                                                  "-o", obj], check=True)
            flags = flags + ["-DTR_HAVE_AVX512"]
            extra = [obj, os.path.join(ROOT, "csrc", "isa", "cpu.c"), "-lpthread"]
        subprocess.run(base + flags + SOURCES + extra + ["-o", exe], check=True)
        result = subprocess.run(runner + [exe, "1500"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALL OK" in result.stdout
    return result.stdout


@pytest.mark.skipif(not shutil.which("cc"), reason="needs a C compiler")
@pytest.mark.parametrize("variant", [[], ["-DTR_PACK_PORTABLE"]], ids=["default", "portable"])
def test_packers_match_reference_layouts(variant):
    """The default build (in-register transposes where the baseline ISA has them) and the
    portable loops alone."""
    out = _build_and_run("cc", variant, [])
    if variant:
        assert "portable transposes" in out
    elif platform.machine().lower() in ("x86_64", "amd64"):
        assert "sse2 transposes" in out


def _cpu_has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return all(f" {flag}" in flags for flag in ("avx512f", "avx512bw", "avx512dq", "avx512vl"))


@pytest.mark.skipif(not shutil.which("cc"), reason="needs a C compiler")
@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 only")
@pytest.mark.skipif(not _cpu_has_avx512(), reason="this CPU has no AVX-512")
def test_packers_match_reference_layouts_avx512():
    """With the AVX-512 packer built in: every int8 case packed under a cap that keeps the
    baseline transposes and at the detected level (AVX-512 for the KR = 4, NR = 16/32 tiles)."""
    out = _build_and_run("cc", [], [], avx512=True)
    assert "avx512+sse2 transposes" in out


@pytest.mark.skipif(shutil.which(CROSS) is None, reason=f"{CROSS} not installed (gcc-aarch64-linux-gnu)")
@pytest.mark.skipif(shutil.which("qemu-aarch64") is None, reason="qemu-aarch64 not installed (qemu-user)")
def test_packers_match_reference_layouts_on_aarch64():
    """The NEON transposes, cross-compiled and run under qemu-aarch64."""
    out = _build_and_run(CROSS, ["-static"], ["qemu-aarch64"])
    assert "neon transposes" in out
