"""The micro-kernels on aarch64, for real: tests/native/ cross-compiled (-static) with
aarch64-linux-gnu-gcc and run under qemu-aarch64, once per CPU model so that every dispatch
level runs (max: NEON + dot product + i8mm; cortex-a76: dot product, no i8mm; cortex-a53:
baseline NEON). The harness compares every kernel with a plain reference on random shapes:
8-bit bit-exact, float within a tolerance that grows with the reduction length. The same
harness also runs natively (the x86 kernels here), and the whole C core must cross-compile.

Skips with a reason where the cross compiler or qemu is missing
(Debian: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)."""
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "native", "build.sh")
CROSS = os.environ.get("CROSS_CC", "aarch64-linux-gnu-gcc")
QEMU = "qemu-aarch64"
# Random cases per kernel, relative to the harness's defaults (about 60 per kernel).
CASES = os.environ.get("TR_NATIVE_CASES", "4")

need_cross = pytest.mark.skipif(shutil.which(CROSS) is None, reason=f"{CROSS} not installed (gcc-aarch64-linux-gnu)")
need_qemu = pytest.mark.skipif(shutil.which(QEMU) is None, reason=f"{QEMU} not installed (qemu-user)")
need_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not found")


def _build(target, out):
    proc = subprocess.run(["bash", BUILD, target, out], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"build.sh {target} failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def _check(proc, label):
    out = proc.stdout + proc.stderr
    failures = "\n".join(l for l in out.splitlines() if l.startswith(("FAIL", "CRASH")))
    summary = "\n".join(out.splitlines()[-3:])
    m = re.search(r"^(\d+) passed, (\d+) failed$", proc.stdout, re.M)
    assert proc.returncode == 0 and m and int(m.group(1)) > 0 and m.group(2) == "0", \
        f"{label}: exit {proc.returncode}\n{failures[:6000]}\n...\n{summary}"
    return out


@pytest.fixture(scope="module")
def arm_harness(tmp_path_factory):
    return _build("aarch64", str(tmp_path_factory.mktemp("native") / "harness-aarch64"))


# CPU model -> the level cpu.c must detect and the levels the harness must walk.
CPU_MODELS = {
    "max": ("i8mm", ["i8mm", "neondot", "neon", "scalar"]),
    "cortex-a76": ("neondot", ["neondot", "neon", "scalar"]),
    "cortex-a53": ("neon", ["neon", "scalar"]),
}


@need_bash
@need_cross
@need_qemu
@pytest.mark.parametrize("cpu", list(CPU_MODELS))
def test_arm_kernels_under_qemu(arm_harness, cpu):
    detected, levels = CPU_MODELS[cpu]
    proc = subprocess.run([QEMU, "-cpu", cpu, arm_harness, "--cases", CASES, "--seed", str(len(cpu))],
                          capture_output=True, text=True, timeout=600)
    out = _check(proc, f"qemu-aarch64 -cpu {cpu}")
    assert f"cpu: detected {detected} " in out, out[:400]
    m = re.search(r"^levels tested: (.*)$", out, re.M)
    assert m and m.group(1).split() == levels, out[:400]
    # every aarch64 kernel family that exists ran at this level
    for level in levels[:-1]:
        assert re.search(rf"^ok +(config {level}:|\S*__{level}\b)", out, re.M), f"no {level} kernel ran:\n{out[:3000]}"


@need_bash
@pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler")
def test_native_kernels(tmp_path):
    exe = _build("native", str(tmp_path / "harness-native"))
    proc = subprocess.run([exe, "--cases", CASES], capture_output=True, text=True, timeout=600)
    _check(proc, "native harness")


@need_bash
@need_cross
def test_core_cross_compiles_for_aarch64():
    proc = subprocess.run(["bash", BUILD, "core-aarch64"], capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert re.search(r"core-aarch64: \d+ files compiled, 0 failed", out), out[-6000:]
