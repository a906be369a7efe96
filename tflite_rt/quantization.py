"""Converting between real values and the integers of a quantized input or output.

A quantized tensor stores q for the real value r = scale * (q - zero_point). These helpers take
the details dict that `Interpreter.get_input_details()` / `get_output_details()` return (from
tflite_rt or from the TFLite runtimes) and do the conversion in numpy, per tensor or per
channel (along `quantization_parameters["quantized_dimension"]`):

    from tflite_rt.interpreter import Interpreter
    from tflite_rt.quantization import quantize, dequantize

    it = Interpreter(model_path="model_int8.tflite")
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    it.set_tensor(inp["index"], quantize(images, inp))
    it.invoke()
    scores = dequantize(it.get_tensor(out["index"]), out)

`quantize` rounds half away from zero and saturates to the dtype's range, as TFLite's QUANTIZE
kernel does, so its result equals what a QUANTIZE op in the model would have produced.
"""
import numpy as np

__all__ = ["quantize", "dequantize"]


def _params(details):
    """(scales, zero points, axis or None) of a details dict; raises if it is not quantized."""
    qp = details.get("quantization_parameters") or {}
    scales = np.asarray(qp.get("scales", ()), dtype=np.float32).reshape(-1)
    zero_points = np.asarray(qp.get("zero_points", ()), dtype=np.int64).reshape(-1)
    axis = int(qp.get("quantized_dimension", 0) or 0)
    if scales.size == 0:
        # details built by hand, or by an older runtime: only the per-tensor pair
        scale, zero_point = details.get("quantization", (0.0, 0))
        scales = np.asarray([scale], dtype=np.float32)
        zero_points = np.asarray([zero_point], dtype=np.int64)
    if zero_points.size == 0:
        zero_points = np.zeros(scales.size, np.int64)
    if zero_points.size == 1 and scales.size > 1:
        zero_points = np.repeat(zero_points, scales.size)
    if zero_points.size != scales.size:
        raise ValueError("tensor %r has %d scales but %d zero points"
                         % (details.get("name"), scales.size, zero_points.size))
    if not np.all(np.isfinite(scales)) or np.any(scales <= 0):
        raise ValueError("tensor %r is not quantized (its scales are %s)"
                         % (details.get("name"), scales.tolist()))
    return scales, zero_points, (axis if scales.size > 1 else None)


def _along(values, axis, ndim, shape, name):
    """Per-channel values shaped to broadcast along `axis` of an array of this shape."""
    if axis is None:
        return values.reshape(())
    if not 0 <= axis < ndim:
        raise ValueError("tensor %r is quantized along dimension %d, but the array has rank %d"
                         % (name, axis, ndim))
    if shape[axis] != values.size:
        raise ValueError("tensor %r has %d per-channel scales, but dimension %d of the array has "
                         "size %d" % (name, values.size, axis, shape[axis]))
    target = [1] * ndim
    target[axis] = values.size
    return values.reshape(target)


def _round_half_away(v):
    """Round half away from zero, exactly (np.round rounds half to even; adding 0.5 and
    truncating is wrong for the float just below 0.5)."""
    whole = np.trunc(v)
    fraction = v - whole  # exact in floating point
    return whole + np.where(np.abs(fraction) >= 0.5, np.sign(v), 0).astype(v.dtype)


def quantize(x, details):
    """Real values `x` -> the integers of the tensor described by `details`, in its dtype.

    q = clip(round(x / scale) + zero_point) with the division in float32 (as TFLite does),
    rounding half away from zero and saturating to the dtype's range. NaN raises ValueError."""
    dtype = np.dtype(details["dtype"])
    if dtype.kind not in "iu":
        raise ValueError("tensor %r has dtype %s; quantize() produces integer tensors"
                         % (details.get("name"), dtype))
    scales, zero_points, axis = _params(details)
    x = np.asarray(x, dtype=np.float32)
    if np.isnan(x).any():
        raise ValueError("cannot quantize NaN values for tensor %r" % (details.get("name"),))
    scale = _along(scales, axis, x.ndim, x.shape, details.get("name"))
    zero_point = _along(zero_points, axis, x.ndim, x.shape, details.get("name"))
    with np.errstate(over="ignore"):
        steps = _round_half_away(x / scale)
    info = np.iinfo(dtype)
    q = np.clip(steps.astype(np.float64) + zero_point, info.min, info.max)
    return q.astype(dtype)


def dequantize(q, details):
    """The integers `q` of the tensor described by `details` -> float32 real values.

    r = scale * (q - zero_point), computed in double and rounded once to float32, as TFLite's
    DEQUANTIZE kernel does."""
    scales, zero_points, axis = _params(details)
    q = np.asarray(q)
    if q.dtype.kind not in "iu":
        raise ValueError("dequantize() takes integer values, got dtype %s" % q.dtype)
    scale = _along(scales.astype(np.float64), axis, q.ndim, q.shape, details.get("name"))
    zero_point = _along(zero_points, axis, q.ndim, q.shape, details.get("name"))
    return (scale * (q.astype(np.int64) - zero_point)).astype(np.float32)
