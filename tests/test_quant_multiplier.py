"""The Q31 multiplier of a real scale, read from the double's bits (model/quant.h), against the
frexp and llround computation it replaced (tests/quant_harness.c): identical for every
exponent, both signs, zero, subnormals and non-finite values, on edge and random significands."""
import os
import shutil
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@pytest.mark.skipif(not shutil.which("cc"), reason="needs a C compiler")
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_multiplier_from_bits_matches_frexp(opt):
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "quant_harness")
        subprocess.run(["cc", "-std=c11", opt, "-Wall", "-D_GNU_SOURCE", "-fno-math-errno", "-ffp-contract=off",
                        "-I" + os.path.join(ROOT, "csrc"), "-I" + os.path.join(ROOT, "csrc", "include"),
                        os.path.join(HERE, "quant_harness.c"),
                        os.path.join(ROOT, "csrc", "model", "quant.c"), "-lm", "-o", exe], check=True)
        result = subprocess.run([exe, "1000"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ALL OK" in result.stdout
    assert "0 failed" in result.stdout
