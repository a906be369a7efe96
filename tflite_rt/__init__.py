"""tflite_rt: a fast TensorFlow Lite inference runtime; `tflite_rt.interpreter` is a drop-in
for `tflite_runtime.interpreter` and `ai_edge_litert.interpreter`."""
from . import _core, _env

__version__ = "0.1.0"

_ISA_LEVELS = {"scalar": 0, "avx2": 10, "avx512": 20, "vnni": 30, "neon": 110, "neondot": 120, "i8mm": 130}


def set_isa(name):
    """Caps the instruction set that kernels of Interpreters created from now on may use:
    "scalar" forces the portable kernels; None lifts the cap. Same as TFLITE_RT_ISA."""
    if name is None:
        _core.set_isa_cap(1000)
        return
    name = str(name).lower()
    if name not in _ISA_LEVELS:
        raise ValueError("unknown ISA %r; choose from %s" % (name, ", ".join(_ISA_LEVELS)))
    _core.set_isa_cap(_ISA_LEVELS[name])


def cpu_info():
    """What the CPU offers, which kernel sets this build contains, and which one is in force."""
    return {"features": _core.cpu_features(), "detected": _core.isa_detected()[0],
            "compiled": list(_core.isa_levels()), "active": _core.isa_level()[0]}


set_isa(_env.isa_cap())
