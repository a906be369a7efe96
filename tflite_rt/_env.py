"""Every TFLITE_RT_* setting, read in one place."""
import os

MAX_THREADS = 256


def default_num_threads():
    """num_threads=None: every core this process may run on (TFLITE_RT_NUM_THREADS overrides)."""
    value = os.environ.get("TFLITE_RT_NUM_THREADS")
    if value:
        try:
            return max(1, min(int(value), MAX_THREADS))
        except ValueError:
            raise ValueError("TFLITE_RT_NUM_THREADS must be an integer, got %r" % value) from None
    try:
        return max(1, min(len(os.sched_getaffinity(0)), MAX_THREADS))
    except AttributeError:
        return max(1, min(os.cpu_count() or 1, MAX_THREADS))


def isa_cap():
    """TFLITE_RT_ISA: the highest instruction set kernels may use (scalar, avx2, avx512, vnni,
    neon, neondot, i8mm), or None for the best the CPU has."""
    value = os.environ.get("TFLITE_RT_ISA", "").strip().lower()
    return value or None
