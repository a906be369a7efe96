"""The weight packers against plain reference packers (tests/pack_harness.c).

Packing runs once per prepare and its layout is what every GEMM and depthwise micro-kernel
reads, so the packed bytes are compared whole: odd column counts, k not a multiple of KR,
several taps, every source stride pattern the ops use, and the accumulator-bound flag the int8
packer returns.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@pytest.mark.skipif(not shutil.which("cc"), reason="needs a C compiler")
@pytest.mark.parametrize("variant", [[], ["-DTR_PACK_PORTABLE"]], ids=["default", "portable"])
def test_packers_match_reference_layouts(variant):
    """The default build (in-register transposes where the baseline ISA has them) and the
    portable loops alone."""
    kernels = os.path.join(ROOT, "csrc", "kernels")
    sources = [os.path.join(HERE, "pack_harness.c"), os.path.join(kernels, "gemm", "gemm-pack.c"),
               os.path.join(kernels, "dwconv", "dwconv-pack.c")]
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "pack_harness")
        subprocess.run(["cc", "-std=c11", "-O2", "-Wall", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "csrc")]
                       + variant + sources + ["-o", exe], check=True)
        result = subprocess.run([exe, "1500"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALL OK" in result.stdout
