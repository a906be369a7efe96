"""Builds the C core into tflite_rt._core.

Everything compiles at the architecture's baseline (never -march=native), so one build runs on
every CPU of its architecture. Kernels for wider instruction sets live in files named after
their ISA (`csrc/kernels/<family>/<name>-avx2.c`, `-avx512.c`, `-vnni.c`, `-neondot.c`, ...):
only those files get that ISA's flags, the compiler is probed for each ISA first, and what it
cannot build is left out. Which kernels run is decided at run time from the CPU's features.
"""
import glob
import os
import platform
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
MACHINE = platform.machine().lower()
X86 = MACHINE in ("x86_64", "amd64")
ARM64 = MACHINE in ("aarch64", "arm64")

# suffix -> (architecture applies, compiler flags, macro saying the kernels are in)
ISA_FLAGS = {
    "avx2": (X86, ["-mavx2", "-mfma", "-mf16c"], "TR_HAVE_AVX2"),
    "avx512": (X86, ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mfma"], "TR_HAVE_AVX512"),
    "vnni": (X86, ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx512vnni", "-mfma"],
             "TR_HAVE_AVX512VNNI"),
    "neon": (ARM64, [], "TR_HAVE_NEON"),
    "neondot": (ARM64, ["-march=armv8.2-a+dotprod"], "TR_HAVE_NEONDOT"),
    "i8mm": (ARM64, ["-march=armv8.6-a+dotprod+i8mm"], "TR_HAVE_I8MM"),
}


def rel(paths):
    return [os.path.relpath(p, HERE) for p in paths]


def isa_of(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    suffix = stem.rsplit("-", 1)[-1] if "-" in stem else None
    return suffix if suffix in ISA_FLAGS else None


def portable_sources():
    sources = []
    for pattern in ("csrc/runtime/*.c", "csrc/model/*.c", "csrc/threadpool/*.c", "csrc/isa/*.c",
                    "csrc/ops/*/*.c", "csrc/reference/*.c", "csrc/kernels/*/*.c"):
        sources += sorted(glob.glob(os.path.join(HERE, pattern)))
    return rel([s for s in sources if isa_of(s) is None])


def isa_sources(isa):
    return rel(sorted(s for s in glob.glob(os.path.join(HERE, "csrc/kernels/*/*.c")) if isa_of(s) == isa))


def base_args():
    # -ffp-contract=off: no fused multiply-add where the reference rounds twice, on any target.
    args = ["-std=c11", "-O2", "-fno-math-errno", "-ffp-contract=off", "-Wall", "-Wno-unused-function",
            "-D_GNU_SOURCE"]
    if X86:
        args.append("-march=x86-64")
    if os.environ.get("TFLITE_RT_SANITIZE"):
        args += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
    return args


def link_args():
    args = ["-lm", "-lpthread"]
    if os.environ.get("TFLITE_RT_SANITIZE"):
        args += ["-fsanitize=address,undefined"]
    return args


class BuildWithIsaKernels(build_ext):
    """Compiles each ISA's kernel files with that ISA's flags, if the compiler can."""

    def compiler_accepts(self, flags):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write("int tr_probe(void) { return 0; }\n")
            try:
                self.compiler.compile([src], output_dir=tmp, extra_postargs=base_args() + flags)
                return True
            except Exception:
                return False

    def build_extension(self, ext):
        if ext.name != "tflite_rt._core":
            return super().build_extension(ext)
        objects, macros = [], []
        for isa, (applies, flags, macro) in ISA_FLAGS.items():
            sources = isa_sources(isa)
            if not applies or not sources or not self.compiler_accepts(flags):
                continue
            macros.append((macro, "1"))
            objects += self.compiler.compile(
                sources, output_dir=self.build_temp, include_dirs=ext.include_dirs,
                macros=ext.define_macros + macros, extra_postargs=base_args() + flags)
        ext.define_macros = ext.define_macros + macros
        ext.extra_objects = list(ext.extra_objects or []) + objects
        super().build_extension(ext)


core = Extension(
    "tflite_rt._core",
    sources=["tflite_rt/_core.pyx"] + portable_sources(),
    include_dirs=["csrc", "csrc/include", np.get_include()],
    extra_compile_args=base_args(),
    extra_link_args=link_args(),
    depends=rel(glob.glob(os.path.join(HERE, "csrc/**/*.[ch]"), recursive=True)),
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

# The FlatBuffer reader stands alone: no C core, so it rebuilds on its own.
reader = Extension(
    "tflite_rt._fbreader",
    sources=["tflite_rt/_fbreader.pyx"],
    include_dirs=[np.get_include()],
    extra_compile_args=base_args(),
    extra_link_args=link_args(),
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

# The loader's checks of tensors and operators, compiled: numpy only, like the reader.
specs = Extension(
    "tflite_rt._loadspecs",
    sources=["tflite_rt/_loadspecs.pyx"],
    include_dirs=[np.get_include()],
    extra_compile_args=base_args() + ["-O3"],   # vectorises the loops over every scale
    extra_link_args=link_args(),
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

# The planner's TensorInfo and Node, which every op's prepare uses many times over, and the
# prepare of the op families most models are made of: convolutions and matrix products, the
# elementwise ops and activations between them, and the reductions (pooling means, softmax).
planning = [Extension(name, sources=[source], include_dirs=[np.get_include()], extra_compile_args=base_args(),
                      extra_link_args=link_args(), define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
            for name, source in (("tflite_rt.ops._node", "tflite_rt/ops/_node.pyx"),
                                 ("tflite_rt.ops.nn", "tflite_rt/ops/nn.pyx"),
                                 ("tflite_rt.ops.elementwise", "tflite_rt/ops/elementwise.pyx"),
                                 ("tflite_rt.ops.reduce", "tflite_rt/ops/reduce.pyx"))]

setup(ext_modules=cythonize([core, reader, specs] + planning, language_level=3),
      cmdclass={"build_ext": BuildWithIsaKernels})
