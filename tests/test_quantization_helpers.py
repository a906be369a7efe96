"""tflite_rt.quantization: quantize() / dequantize() on the details dicts of an interpreter."""
import numpy as np
import pytest

from harness import run_reference
from tflite_rt import interpreter as ours
from tflite_rt.builder import ModelBuilder
from tflite_rt.quantization import dequantize, quantize


def details(dtype, scales, zero_points, axis=0, name="t"):
    scales = np.atleast_1d(np.asarray(scales, np.float32))
    zero_points = np.atleast_1d(np.asarray(zero_points, np.int32))
    per_tensor = (float(scales[0]), int(zero_points[0])) if scales.size == 1 else (0.0, 0)
    return {"name": name, "dtype": dtype, "quantization": per_tensor,
            "quantization_parameters": {"scales": scales, "zero_points": zero_points,
                                        "quantized_dimension": axis}}


@pytest.mark.parametrize("dtype,zp", [(np.int8, -3), (np.int8, -128), (np.uint8, 128), (np.uint8, 0),
                                      (np.int16, 0)])
def test_round_trip_every_value(dtype, zp):
    info = np.iinfo(dtype)
    d = details(dtype, 0.0731, zp)
    q = np.arange(info.min, info.max + 1).astype(dtype)
    x = dequantize(q, d)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(quantize(x, d), q)


def test_dequantize_then_quantize_error_is_half_a_step():
    d = details(np.int8, 0.05, 10)
    x = np.random.default_rng(0).uniform(-6.9, 5.8, 1000).astype(np.float32)
    back = dequantize(quantize(x, d), d)
    assert np.max(np.abs(back - x)) <= 0.025 + 1e-6


def test_rounds_half_away_from_zero():
    d = details(np.int8, 0.5, 0)
    x = np.array([0.25, -0.25, 0.75, -0.75, 1.25, -1.25], np.float32)
    np.testing.assert_array_equal(quantize(x, d), [1, -1, 2, -2, 3, -3])
    # the float just below one half must not round up
    below_half = np.nextafter(np.float32(0.5), np.float32(0))
    np.testing.assert_array_equal(quantize(np.array([below_half, -below_half]), details(np.int8, 1.0, 0)),
                                  [0, 0])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_saturates_at_the_dtype_extremes(dtype):
    info = np.iinfo(dtype)
    zp = 0 if dtype == np.int16 else int(info.min + 100)
    d = details(dtype, 0.1, zp)
    x = np.array([1e30, -1e30, np.inf, -np.inf, (info.max - zp) * 0.1, (info.min - zp) * 0.1,
                  (info.max - zp + 1) * 0.1, (info.min - zp - 1) * 0.1], np.float32)
    q = quantize(x, d)
    assert q.dtype == dtype
    np.testing.assert_array_equal(q, [info.max, info.min, info.max, info.min, info.max, info.min,
                                      info.max, info.min])


def test_per_channel():
    scales = [0.1, 0.02, 0.5]
    zps = [0, 5, -7]
    d = details(np.int8, scales, zps, axis=1)
    rng = np.random.default_rng(1)
    x = rng.uniform(-5, 5, (4, 3, 2)).astype(np.float32)
    q = quantize(x, d)
    for c in range(3):
        single = details(np.int8, scales[c], zps[c])
        np.testing.assert_array_equal(q[:, c], quantize(x[:, c], single))
        np.testing.assert_array_equal(dequantize(q, d)[:, c], dequantize(q[:, c], single))
    with pytest.raises(ValueError, match="per-channel"):
        quantize(np.zeros((4, 2)), d)
    with pytest.raises(ValueError, match="rank"):
        quantize(np.zeros(3), details(np.int8, scales, zps, axis=2))


def test_errors():
    with pytest.raises(ValueError, match="not quantized"):
        quantize(np.zeros(3), details(np.int8, 0.0, 0))
    with pytest.raises(ValueError, match="integer"):
        quantize(np.zeros(3), details(np.float32, 0.1, 0))
    with pytest.raises(ValueError, match="NaN"):
        quantize(np.array([np.nan]), details(np.int8, 0.1, 0))
    with pytest.raises(ValueError, match="integer"):
        dequantize(np.zeros(3, np.float32), details(np.int8, 0.1, 0))


def test_only_the_per_tensor_pair():
    d = {"name": "t", "dtype": np.uint8, "quantization": (0.25, 128)}
    np.testing.assert_array_equal(quantize(np.array([0.0, 1.0, -1.0]), d), [128, 132, 124])
    np.testing.assert_array_equal(dequantize(np.array([128, 132], np.uint8), d), [0.0, 1.0])


@pytest.mark.parametrize("dtype,scale,zp", [(np.int8, 0.0173, -5), (np.uint8, 0.31, 131),
                                            (np.int16, 1.7e-4, 0), (np.int8, 3e-7, 127)])
def test_agrees_with_the_quantize_op(dtype, scale, zp):
    """quantize() on an interpreter's details equals the model's own QUANTIZE op, in tflite_rt and
    in the reference runtime; dequantize() equals DEQUANTIZE."""
    b = ModelBuilder()
    x = b.input("x", [5, 40])
    q = b.tensor("q", [5, 40], dtype, quantization=(scale, zp))
    r = b.tensor("r", [5, 40])
    b.op("QUANTIZE", [x], [q])
    b.op("DEQUANTIZE", [q], [r])
    b.output(q, r)
    model = b.build()
    it = ours.Interpreter(model_content=model)
    it.allocate_tensors()
    q_details, r_details = it.get_output_details()
    info = np.iinfo(dtype)
    rng = np.random.default_rng(2)
    values = ((rng.integers(info.min, info.max, (5, 40)) - zp + rng.choice([-0.5, 0.5, 0.2], (5, 40)))
              * scale).astype(np.float32)
    it.set_tensor(it.get_input_details()[0]["index"], values)
    it.invoke()
    expected_q, expected_r = run_reference(model, [values], resolver="ref")
    np.testing.assert_array_equal(quantize(values, q_details), expected_q)
    np.testing.assert_array_equal(it.get_tensor(q_details["index"]), expected_q)
    np.testing.assert_array_equal(dequantize(expected_q, q_details), expected_r)


def test_reference_details_work_too():
    ref = pytest.importorskip("ai_edge_litert.interpreter")
    b = ModelBuilder()
    x = b.input("x", [3], np.int8, quantization=(0.5, -1))
    y = b.tensor("y", [3])
    b.op("DEQUANTIZE", [x], [y])
    b.output(y)
    it = ref.Interpreter(model_content=b.build())
    it.allocate_tensors()
    d = it.get_input_details()[0]
    np.testing.assert_array_equal(quantize(np.array([0.0, 1.0, -64.5]), d), [-1, 1, -128])
