"""Builds the C core into tflite_rt._core.

Everything compiles at the architecture's baseline (never -march=native), so one build runs on
every CPU of its architecture; faster kernels are chosen at run time.
"""
import glob
import os
import platform

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def c_sources():
    sources = []
    for pattern in ("csrc/runtime/*.c", "csrc/model/*.c", "csrc/threadpool/*.c", "csrc/ops/*/*.c",
                    "csrc/reference/*.c"):
        sources += sorted(glob.glob(os.path.join(HERE, pattern)))
    return [os.path.relpath(s, HERE) for s in sources]


def compile_args():
    # -ffp-contract=off: no fused multiply-add where the reference rounds twice, on any target.
    args = ["-std=c11", "-O2", "-fno-math-errno", "-ffp-contract=off", "-Wall", "-Wno-unused-function",
            "-D_GNU_SOURCE"]
    if platform.machine() in ("x86_64", "AMD64"):
        args.append("-march=x86-64")
    if os.environ.get("TFLITE_RT_SANITIZE"):
        args += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
    return args


def link_args():
    args = ["-lm", "-lpthread"]
    if os.environ.get("TFLITE_RT_SANITIZE"):
        args += ["-fsanitize=address,undefined"]
    return args


core = Extension(
    "tflite_rt._core",
    sources=["tflite_rt/_core.pyx"] + c_sources(),
    include_dirs=["csrc", "csrc/include", np.get_include()],
    extra_compile_args=compile_args(),
    extra_link_args=link_args(),
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

setup(ext_modules=cythonize([core], language_level=3))
