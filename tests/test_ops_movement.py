"""Movement ops (shape and data movement) against the reference runtime.

Integer and quantized outputs are compared bit-exactly with TFLite's reference kernels
(resolver="ref"); these ops copy bytes, so float outputs must match exactly too.
"""
import numpy as np
import pytest

from tflite_rt.builder import ModelBuilder
from tflite_rt.interpreter import Interpreter

from harness import assert_matches_reference, run, run_reference

ALL_DTYPES = [np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64, np.bool_]
QUANT = {np.dtype(np.int8): (0.05, 3), np.dtype(np.uint8): (0.05, 128), np.dtype(np.int16): (0.01, 0)}


def quant_of(dtype, quantize=True):
    dtype = np.dtype(dtype)
    return QUANT.get(dtype) if quantize else None


def model(op, in_specs, out_shapes, dtype=np.float32, quantize=True, out_dtype=None, out_quant=None,
          version=1, **opts):
    """One-op model. in_specs: list of shapes (graph inputs of `dtype`) or ("const", array) /
    ("input", shape, dtype); -1 for an absent optional input. Output shapes are hints."""
    b = ModelBuilder()
    q = quant_of(dtype, quantize)
    ids = []
    for i, spec in enumerate(in_specs):
        if isinstance(spec, int) and spec == -1:
            ids.append(-1)
        elif isinstance(spec, tuple) and spec and spec[0] == "const":
            value = np.asarray(spec[1])
            ids.append(b.constant("c%d" % i, value, dtype=value.dtype,
                                  quantization=q if value.dtype == np.dtype(dtype) else None))
        elif isinstance(spec, tuple) and spec and spec[0] == "input":
            ids.append(b.input("x%d" % i, spec[1], spec[2]))
        else:
            ids.append(b.input("x%d" % i, spec, dtype, quantization=q))
    out_dtype = dtype if out_dtype is None else out_dtype
    oq = out_quant if out_quant is not None else (q if np.dtype(out_dtype) == np.dtype(dtype) else None)
    outs = [b.tensor("y%d" % i, s, out_dtype, quantization=oq) for i, s in enumerate(out_shapes)]
    b.op(op, ids, outs, **opts)
    if version != 1:
        b.opcodes[b.operators[-1].opcode_index].version = version
    b.output(*outs)
    return b.build()


def check(m, **kw):
    kw.setdefault("resolver", "ref")
    return assert_matches_reference(m, **kw)


def check_numpy(m, expected, inputs=None, seed=0):
    """For dtypes the reference runtime does not implement: compare with a NumPy oracle
    (expected: function of the input arrays returning the list of outputs)."""
    from tflite_rt import interpreter as ours
    from harness import random_inputs
    if inputs is None:
        probe = Interpreter(model_content=m)
        probe.allocate_tensors()
        inputs = random_inputs(probe.get_input_details(), seed)
    got, _ = run(ours, m, inputs)
    want = expected(*inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, g.shape, w.dtype, w.shape)
        np.testing.assert_array_equal(g, w)


def rejects(m):
    with pytest.raises(ValueError):
        Interpreter(model_content=m).allocate_tensors()


# -- reshape family ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES + [np.float16])
def test_reshape_shape_tensor(dtype):
    check(model("RESHAPE", [[2, 3, 4], ("const", np.array([4, -1], np.int32))], [[4, 6]], dtype=dtype))


def test_reshape_option_and_scalar():
    check(model("RESHAPE", [[2, 3, 4]], [[6, 4]], new_shape=[6, 4]))
    check(model("RESHAPE", [[1, 1]], [[]], new_shape=[0]))
    check(model("RESHAPE", [[1, 1], ("const", np.zeros([0], np.int32))], [[]]))
    rejects(model("RESHAPE", [[2, 3], ("const", np.array([4, -1], np.int32))], [[4, 2]]))
    rejects(model("RESHAPE", [[2, 3], ("const", np.array([-1, -1], np.int32))], [[6]]))


@pytest.mark.parametrize("dtype", [np.float32, np.int8])
def test_squeeze_expand_dims(dtype):
    check(model("SQUEEZE", [[1, 3, 1, 4]], [[3, 4]], dtype=dtype))
    check(model("SQUEEZE", [[1, 3, 1, 4]], [[1, 3, 4]], dtype=dtype, squeeze_dims=[-2]))
    for axis in (0, 1, 3, -1, -4):
        check(model("EXPAND_DIMS", [[2, 3, 4], ("const", np.array([axis], np.int32))], [[2, 3, 4, 1]],
                    dtype=dtype))
    rejects(model("SQUEEZE", [[1, 3, 1, 4]], [[3, 4]], squeeze_dims=[1]))
    rejects(model("EXPAND_DIMS", [[2, 3], ("const", np.array([3], np.int32))], [[2, 3, 1]]))


def test_shape_rank_fill_range():
    check(model("SHAPE", [[2, 3, 5]], [[3]], out_dtype=np.int32, out_type="INT32"))
    check(model("SHAPE", [[2, 3, 5]], [[3]], out_dtype=np.int64, out_type="INT64"))
    check(model("RANK", [[2, 3, 5]], [[]], out_dtype=np.int32))
    for dtype in (np.float32, np.int32, np.int64, np.int8, np.bool_):
        check(model("FILL", [("const", np.array([2, 3], np.int32)), ("input", [], dtype)], [[2, 3]],
                    dtype=dtype, quantize=False))
    for vals, dtype in (((0, 10, 3), np.int32), ((10, -3, -4), np.int32), ((0.5, 3.0, 0.3), np.float32),
                        ((-2, 7, 2), np.int64)):
        b = ModelBuilder()
        ids = [b.constant("c%d" % i, np.array(v, dtype), dtype=dtype) for i, v in enumerate(vals)]
        r = b.tensor("r", [1], dtype)
        b.op("RANGE", ids, [r])
        b.output(r)
        check(b.build(), inputs=[])
    rejects(model("RANGE", [("const", np.array(0, np.int32)), ("input", [], np.int32),
                            ("const", np.array(1, np.int32))], [[1]], quantize=False))


# -- views ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES + [np.float16])
@pytest.mark.parametrize("shape,perm", [([2, 3, 4], [0, 2, 1]), ([2, 3, 4, 5], [3, 1, 0, 2]),
                                        ([1, 7, 9, 3], [0, 3, 1, 2]), ([5], [0]),
                                        ([2, 3, 2, 3, 2, 3], [5, 0, 4, 1, 3, 2])])
def test_transpose(dtype, shape, perm):
    out = [shape[p] for p in perm]
    check(model("TRANSPOSE", [shape, ("const", np.array(perm, np.int32))], [out], dtype=dtype))


def test_transpose_bad():
    rejects(model("TRANSPOSE", [[2, 3], ("const", np.array([0, 0], np.int32))], [[2, 3]]))
    rejects(model("TRANSPOSE", [[2, 3], ("const", np.array([0, 1, 2], np.int32))], [[2, 3]]))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_slice(dtype):
    check(model("SLICE", [[3, 6, 7, 8], ("const", np.array([0, 2, 3, 1], np.int32)),
                          ("const", np.array([1, 4, -1, 6], np.int32))], [[1, 4, 4, 6]], dtype=dtype))
    check(model("SLICE", [[5, 6], ("const", np.array([1, 0], np.int64)),
                          ("const", np.array([-1, 6], np.int64))], [[4, 6]], dtype=dtype))


def test_slice_bad():
    rejects(model("SLICE", [[5, 6], ("const", np.array([1, 2], np.int32)),
                            ("const", np.array([5, 1], np.int32))], [[5, 1]]))


SS_CASES = [
    # shape, begin, end, strides, options
    ([1, 12, 10, 8], [0, 1, 0, 2], [1, 11, 10, 6], [1, 2, -1, 1], dict(begin_mask=1 | 4, end_mask=1 | 4)),
    ([4, 5, 6], [1, -1, 0], [3, 0, 6], [1, -1, 2], {}),
    ([4, 5, 6], [1, 2, 3], [3, 4, 5], [1, 1, 1], dict(shrink_axis_mask=2)),
    ([4, 5, 6], [-1, 2, -2], [0, 4, 0], [1, 1, 1], dict(shrink_axis_mask=5)),
    ([4, 5, 6], [0, 1], [0, 4], [1, 2], dict(begin_mask=1, end_mask=1)),
    ([4, 5, 6], [0, 1], [0, 3], [1, 1], dict(ellipsis_mask=1)),
    ([4, 5, 6], [1, 0, 2], [3, 0, 5], [1, 1, 1], dict(ellipsis_mask=2)),
    ([4, 5, 6], [0, 1, 0, 2], [0, 3, 0, 4], [1, 1, 1, 1], dict(new_axis_mask=1 | 4, begin_mask=0)),
    ([4, 5, 6], [0, 1, 0], [0, 3, 0], [1, 1, 1], dict(new_axis_mask=1, ellipsis_mask=4)),
    ([4, 5, 6], [10, -10, 7], [-10, 10, -8], [-1, 1, -2], {}),
    ([4, 5, 6], [1, 1, 1], [2, 3, 4], [1, 1, 1], dict(offset=True)),
    ([7], [5], [1], [-2], {}),
    ([3, 4], [0, 0], [3, 4], [1, 1], dict(shrink_axis_mask=3)),
]


@pytest.mark.parametrize("case", range(len(SS_CASES)))
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.int32, np.bool_])
def test_strided_slice(case, dtype):
    shape, begin, end, strides, opts = SS_CASES[case]
    m = model("STRIDED_SLICE", [shape, ("const", np.array(begin, np.int32)), ("const", np.array(end, np.int32)),
                                ("const", np.array(strides, np.int32))], [[1]], dtype=dtype, **opts)
    check(m)


def test_strided_slice_bad():
    rejects(model("STRIDED_SLICE", [[4, 5], ("const", np.array([0, 0], np.int32)),
                                    ("const", np.array([2, 2], np.int32)),
                                    ("const", np.array([1, 0], np.int32))], [[2, 2]]))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_reverse(dtype):
    for axes in ([0], [1], [-1], [0, 1], [1, 2]):
        check(model("REVERSE_V2", [[3, 4, 5], ("const", np.array(axes, np.int32))], [[3, 4, 5]], dtype=dtype))
    # the reference only reverses contiguous axes
    check_numpy(model("REVERSE_V2", [[3, 4, 5], ("const", np.array([0, 2], np.int32))], [[3, 4, 5]], dtype=dtype),
                lambda x: [x[::-1, :, ::-1]])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_tile_broadcast_to(dtype):
    check(model("TILE", [[2, 3, 4], ("const", np.array([1, 2, 3], np.int32))], [[2, 6, 12]], dtype=dtype))
    check(model("TILE", [[2, 1], ("const", np.array([3, 5], np.int64))], [[6, 5]], dtype=dtype))
    check(model("BROADCAST_TO", [[3, 1], ("const", np.array([2, 3, 4], np.int32))], [[2, 3, 4]], dtype=dtype,
                version=2))
    check(model("BROADCAST_TO", [[1, 4], ("const", np.array([3, 4], np.int64))], [[3, 4]], dtype=dtype,
                version=2))


def test_broadcast_to_bad():
    rejects(model("BROADCAST_TO", [[3, 2], ("const", np.array([3, 4], np.int32))], [[3, 4]]))


def d2s(x, b):
    n, h, w, c = x.shape
    return x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, -1)


def s2d(x, b):
    n, h, w, c = x.shape
    return x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h // b, w // b, -1)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_depth_space(dtype):
    m1 = model("DEPTH_TO_SPACE", [[2, 3, 4, 12]], [[2, 6, 8, 3]], dtype=dtype, block_size=2)
    m2 = model("SPACE_TO_DEPTH", [[2, 6, 9, 5]], [[2, 2, 3, 45]], dtype=dtype, block_size=3)
    if dtype in (np.int16, np.bool_):  # not in the reference
        check_numpy(m1, lambda x: [d2s(x, 2)])
        check_numpy(m2, lambda x: [s2d(x, 3)])
    else:
        check(m1)
        check(m2)
    rejects(model("SPACE_TO_DEPTH", [[2, 6, 9, 5]], [[1]], dtype=dtype, block_size=2))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_split_unpack(dtype):
    if dtype in (np.int64, np.bool_):  # SPLIT has no bool, UNPACK no int64 in the reference
        check_numpy(model("SPLIT", [("const", np.array(1, np.int32)), [2, 6, 3]], [[2, 3, 3]] * 2, dtype=dtype,
                          num_splits=2), lambda x: np.split(x, 2, axis=1))
        check_numpy(model("UNPACK", [[3, 4, 2]], [[3, 2]] * 4, dtype=dtype, num=4, axis=1),
                    lambda x: [x[:, i] for i in range(4)])
        return
    check(model("SPLIT", [("const", np.array(1, np.int32)), [2, 6, 3]], [[2, 3, 3]] * 2, dtype=dtype,
                num_splits=2))
    check(model("SPLIT", [("const", np.array([-1], np.int32)), [2, 6, 3]], [[2, 6, 1]] * 3, dtype=dtype,
                num_splits=3))
    check(model("SPLIT_V", [[2, 7, 3], ("const", np.array([3, -1, 1], np.int32)), ("const", np.array(1, np.int32))],
                [[1]] * 3, dtype=dtype, num_splits=3))
    check(model("UNPACK", [[3, 4, 2]], [[3, 2]] * 4, dtype=dtype, num=4, axis=1))
    check(model("UNPACK", [[3, 4, 2]], [[3, 4]] * 2, dtype=dtype, num=2, axis=-1))


def test_split_bad():
    rejects(model("SPLIT", [("const", np.array(1, np.int32)), [2, 7]], [[2, 3]] * 2, num_splits=2))
    rejects(model("SPLIT_V", [[2, 7], ("const", np.array([3, 3], np.int32)), ("const", np.array(1, np.int32))],
                  [[1]] * 2, num_splits=2))


# -- concatenation ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenation(dtype, axis):
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    shapes[1] = list(shapes[1])
    shapes[1][axis] = 5
    out = list(shapes[0])
    out[axis] = 13
    check(model("CONCATENATION", shapes, [out], dtype=dtype, axis=axis))


@pytest.mark.parametrize("act", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_concatenation_activation(act):
    # The reference kernel rejects a fused activation and its XNNPACK path ignores it; the schema
    # allows one, so it is applied here and checked against NumPy.
    m = model("CONCATENATION", [[2, 3], [2, 4]], [[2, 7]], axis=1, fused_activation_function=act)
    x = [np.linspace(-8, 8, 6, dtype=np.float32).reshape(2, 3), np.linspace(-3, 9, 8, dtype=np.float32).reshape(2, 4)]
    got, _ = run(__import__("tflite_rt.interpreter", fromlist=["x"]), m, x)
    lo, hi = {"RELU": (0, np.inf), "RELU6": (0, 6), "RELU_N1_TO_1": (-1, 1)}[act]
    np.testing.assert_array_equal(got[0], np.clip(np.concatenate(x, 1), lo, hi))


def test_concatenation_uint8_rescale():
    b = ModelBuilder()
    x0 = b.input("x0", [2, 3], np.uint8, quantization=(0.1, 120))
    x1 = b.input("x1", [2, 5], np.uint8, quantization=(0.037, 7))
    x2 = b.input("x2", [2, 2], np.uint8, quantization=(0.05, 128))
    y = b.tensor("y", [2, 10], np.uint8, quantization=(0.05, 128))
    b.op("CONCATENATION", [x0, x1, x2], [y], axis=1)
    b.output(y)
    check(b.build())


def test_concatenation_bad():
    rejects(model("CONCATENATION", [[2, 3], [3, 3]], [[5, 3]], axis=1))
    rejects(model("CONCATENATION", [[2, 3], [2, 3]], [[4, 3]], axis=2))
    b = ModelBuilder()
    x0 = b.input("x0", [2, 3], np.int8, quantization={"scale": [0.1, 0.1], "zero_point": [0, 0],
                                                        "quantized_dimension": 0})
    y = b.tensor("y", [2, 3], np.int8, quantization=(0.1, 0))
    b.op("CONCATENATION", [x0], [y], axis=1)
    b.output(y)
    rejects(b.build())


def test_concatenation_int8_rescale():
    """TFLite's int8 kernel refuses inputs quantized unlike the output; tflite_rt rescales them
    by the same float rule as its uint8 kernel, checked here against NumPy."""
    from tflite_rt import interpreter as ours
    quant = [(0.1, 1), (0.037, -20), (0.05, 127), (0.05, -128)]
    b = ModelBuilder()
    xs = [b.input("x%d" % i, [2, 4], np.int8, quantization=q) for i, q in enumerate(quant[:3])]
    y = b.tensor("y", [2, 12], np.int8, quantization=quant[3])
    b.op("CONCATENATION", xs, [y], axis=1)
    b.output(y)
    rng = np.random.default_rng(0)
    values = [rng.integers(-128, 128, (2, 4), dtype=np.int8) for _ in xs]
    got = run(ours, b.build(), values)[0][0]
    out_scale, out_zp = quant[3]
    parts = []
    for v, (scale, zp) in zip(values, quant):
        s = np.float32(scale) * (np.float32(1) / np.float32(out_scale))
        x = v.astype(np.float32) * s + (-np.float32(zp) * s)
        q = np.sign(x) * np.floor(np.abs(x) + np.float32(0.5)) + out_zp  # half away from zero
        parts.append(np.clip(q, -128, 127).astype(np.int8))
    np.testing.assert_array_equal(got, np.concatenate(parts, axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64])
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_pack(dtype, axis):
    check(model("PACK", [[3, 4]] * 3, [[1]], dtype=dtype, values_count=3, axis=axis))


# -- padding ----------------------------------------------------------------------------------

PADS = np.array([[0, 1], [2, 0], [1, 3], [0, 0]], np.int32)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_pad(dtype):
    check(model("PAD", [[1, 3, 4, 2], ("const", PADS)], [[1]], dtype=dtype))
    check(model("PAD", [[3, 5], ("const", np.array([[1, 2], [3, 4]], np.int64))], [[1]], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int32, np.int64])
def test_padv2(dtype):
    value = np.array(7 if dtype != np.float32 else 0.5, dtype)
    check(model("PADV2", [[1, 3, 4, 2], ("const", PADS), ("const", value)], [[1]], dtype=dtype))
    check(model("PADV2", [[2, 3], ("const", np.array([[1, 1], [2, 0]], np.int32))], [[1]], dtype=dtype))


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.int32, np.int64])
def test_mirror_pad(mode, dtype):
    pads = np.array([[1, 2], [2, 2], [0, 1]], np.int32)
    check(model("MIRROR_PAD", [[3, 4, 2], ("const", pads)], [[1]], dtype=dtype, mode=mode))


def test_pad_bad():
    rejects(model("PAD", [[3, 5], ("const", np.array([[1, 2]], np.int32))], [[1]]))
    rejects(model("PAD", [[3, 5], ("const", np.array([[1, 2], [-1, 0]], np.int32))], [[1]]))
    rejects(model("MIRROR_PAD", [[3, 5], ("const", np.array([[3, 0], [0, 0]], np.int32))], [[1]], mode="REFLECT"))


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int32, np.int64])
def test_space_batch(dtype):
    check(model("SPACE_TO_BATCH_ND", [[2, 5, 6, 3], ("const", np.array([2, 3], np.int32)),
                                      ("const", np.array([[1, 0], [2, 1]], np.int32))], [[1]], dtype=dtype))
    check(model("BATCH_TO_SPACE_ND", [[12, 3, 3, 2], ("const", np.array([2, 3], np.int32)),
                                      ("const", np.array([[1, 0], [2, 1]], np.int32))], [[1]], dtype=dtype))
    check(model("SPACE_TO_BATCH_ND", [[1, 6, 2], ("const", np.array([3], np.int32)),
                                      ("const", np.array([[0, 0]], np.int32))], [[1]], dtype=dtype))
    check(model("BATCH_TO_SPACE_ND", [[4, 3, 2], ("const", np.array([2], np.int32)),
                                      ("const", np.array([[0, 1]], np.int32))], [[1]], dtype=dtype))


# -- index-driven -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_gather(dtype):
    check(model("GATHER", [[3, 5, 7], ("const", np.array([4, 0, 3], np.int32))], [[1]], dtype=dtype, axis=1))
    check(model("GATHER", [[6, 2], ("const", np.array([[5, 0], [1, 1]], np.int64))], [[1]], dtype=dtype))
    check(model("GATHER", [[2, 5, 3], ("const", np.array([[4, 0], [1, 2]], np.int32))], [[1]], dtype=dtype,
                axis=-2, batch_dims=1))


def test_gather_runtime_indices():
    m = model("GATHER", [[6, 3], ("input", [4], np.int32)], [[4, 3]])
    x = np.arange(18, dtype=np.float32).reshape(6, 3)
    check(m, inputs=[x, np.array([5, 0, 2, 2], np.int32)])
    from tflite_rt import interpreter as ours
    with pytest.raises(Exception):
        run(ours, m, [x, np.array([5, 6, 2, 2], np.int32)])
    rejects(model("GATHER", [[6, 3], ("const", np.array([6], np.int32))], [[1, 3]]))


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.int32, np.int64, np.bool_])
def test_gather_nd(dtype):
    check(model("GATHER_ND", [[3, 4, 5], ("const", np.array([[2, 1], [0, 3], [1, 1]], np.int32))], [[1]],
                dtype=dtype))
    check(model("GATHER_ND", [[3, 4], ("const", np.array([[[2, 1]], [[0, 3]]], np.int64))], [[1]], dtype=dtype))
    check(model("GATHER_ND", [[3, 4], ("const", np.array([[2], [0]], np.int32))], [[1]], dtype=dtype))


def test_scatter_nd():
    for dtype in (np.float32, np.int32, np.int64, np.int8, np.uint8):
        idx = np.array([[1], [3], [1]], np.int32)
        check(model("SCATTER_ND", [("const", idx), ("input", [3, 4], dtype), ("const", np.array([5, 4], np.int32))],
                    [[5, 4]], dtype=dtype, quantize=False))
        idx = np.array([[0, 1], [2, 2]], np.int32)
        check(model("SCATTER_ND", [("const", idx), ("input", [2], dtype), ("const", np.array([3, 4], np.int32))],
                    [[3, 4]], dtype=dtype, quantize=False))


def test_embedding_lookup():
    m = model("EMBEDDING_LOOKUP", [("const", np.array([2, 0, 2, 1], np.int32)), [3, 2, 4]], [[4, 2, 4]])
    check(m)
    b = ModelBuilder()
    ids = b.input("ids", [3], np.int32)
    table = b.constant("t", np.arange(-12, 12, dtype=np.int8).reshape(4, 6), dtype=np.int8,
                       quantization=(0.25, 0))
    y = b.tensor("y", [3, 6], np.float32)
    b.op("EMBEDDING_LOOKUP", [ids, table], [y])
    b.output(y)
    check(b.build(), inputs=[np.array([3, 0, 1], np.int32)])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(axis):
    for dtype in (np.float32, np.int32, np.int64, np.int8, np.bool_):
        b = ModelBuilder()
        x = b.input("x", [2, 3], np.int32)
        depth = b.constant("d", np.array(4, np.int32), dtype=np.int32)
        on = b.constant("on", np.array(1 if dtype != np.float32 else 2.5, dtype), dtype=dtype)
        off = b.constant("off", np.array(0 if dtype != np.float32 else -1.0, dtype), dtype=dtype)
        y = b.tensor("y", [1], dtype)
        b.op("ONE_HOT", [x, depth, on, off], [y], axis=axis)
        b.output(y)
        check(b.build(), inputs=[np.array([[0, 3, 1], [5, -1, 2]], np.int32)])


def test_strided_slice_random():
    """Random begin/end/strides/masks against the reference. Shrunk axes get positive strides:
    with a negative stride the reference kernel leaves a shrunk output unwritten."""
    from tflite_rt import interpreter as ours
    rng = np.random.default_rng(7)
    compared = 0
    for _ in range(250):
        rank = int(rng.integers(1, 5))
        shape = [int(rng.integers(0 if rng.random() < 0.05 else 1, 6)) for _ in range(rank)]
        n = int(rng.integers(1, rank + 2))
        begin, end = rng.integers(-7, 8, n).tolist(), rng.integers(-7, 8, n).tolist()
        strides = [int(s) for s in rng.choice([-3, -2, -1, 1, 2, 3], n)]
        opts = {k: int(rng.integers(0, 1 << n)) for k in ("begin_mask", "end_mask", "shrink_axis_mask",
                                                         "new_axis_mask") if rng.random() < 0.35}
        if rng.random() < 0.3:
            opts["ellipsis_mask"] = 1 << int(rng.integers(0, n))
        for k in range(n):
            if opts.get("shrink_axis_mask", 0) >> k & 1:
                strides[k] = abs(strides[k])
        m = model("STRIDED_SLICE", [shape, ("const", np.array(begin, np.int32)),
                                    ("const", np.array(end, np.int32)), ("const", np.array(strides, np.int32))],
                  [[1]], **opts)
        x = rng.standard_normal(shape).astype(np.float32)
        try:
            got = run(ours, m, [x])[0][0]
        except ValueError:
            continue  # out-of-range shrink index: rejected here, read out of bounds by the reference
        want = run_reference(m, [x], resolver="ref")[0]
        assert got.shape == want.shape, (shape, begin, end, strides, opts)
        np.testing.assert_array_equal(got, want)
        compared += 1
    assert compared > 150


@pytest.mark.parametrize("op,shape,arg", [("TRANSPOSE", [64, 48, 40], [2, 0, 1]), ("TILE", [33, 40, 3], [2, 3, 2]),
                                          ("REVERSE_V2", [50, 60, 30], [1])])
def test_threads_give_same_result(op, shape, arg):
    m = model(op, [shape, ("const", np.array(arg, np.int32))], [[1]])
    for threads in (1, 3, 4):
        check(m, num_threads=threads)


def test_string_reshape():
    from tflite_rt import interpreter as ours
    b = ModelBuilder()
    x = b.constant("x", np.array([["a", "bcd"], ["", "efgh"]]))
    y = b.tensor("y", [4], np.object_)
    b.op("RESHAPE", [x, b.constant("s", np.array([4], np.int32))], [y])
    b.output(y)
    m = b.build()
    want = run_reference(m, [])[0]
    got = run(ours, m, [])[0][0]
    assert got.shape == want.shape == (4,)
    assert list(got) == list(want)


def test_string_input_reshape():
    from tflite_rt import interpreter as ours
    b = ModelBuilder()
    x = b.input("x", [2, 2], np.object_)
    y = b.tensor("y", [4], np.object_)
    b.op("RESHAPE", [x, b.constant("s", np.array([4], np.int32))], [y])
    b.output(y)
    m = b.build()
    value = np.array([[b"a", b"bcd"], [b"", "\u00e9t\u00e9".encode()]], dtype=object)
    want = run_reference(m, [value])[0]
    got = run(ours, m, [value])[0][0]
    assert list(got) == list(want) == [b"a", b"bcd", b"", "\u00e9t\u00e9".encode()]


def test_reshape_computed_shape():
    # a shape computed by the graph: usable when the model states a static output shape
    b = ModelBuilder()
    x = b.input("x", [2, 3, 4])
    s = b.input("s", [2], np.int32)
    y = b.tensor("y", [6, 4])
    b.op("RESHAPE", [x, s], [y])
    b.output(y)
    check(b.build(), inputs=[np.arange(24, dtype=np.float32).reshape(2, 3, 4), np.array([6, 4], np.int32)])
    b = ModelBuilder()
    x = b.input("x", [2, 3, 4])
    s = b.input("s", [2], np.int32)
    y = b.tensor("y", [6, 4], shape_signature=[-1, 4])
    b.op("RESHAPE", [x, s], [y])
    b.output(y)
    with pytest.raises(ValueError, match="computed at run time"):
        Interpreter(model_content=b.build()).allocate_tensors()


def test_zero_sized():
    check(model("TRANSPOSE", [[0, 3], ("const", np.array([1, 0], np.int32))], [[3, 0]]))
    check(model("CONCATENATION", [[2, 0], [2, 3]], [[2, 3]], axis=1))
    check(model("SLICE", [[4, 5], ("const", np.array([1, 2], np.int32)), ("const", np.array([0, 3], np.int32))],
                [[0, 3]]))
    check(model("PAD", [[0, 2], ("const", np.array([[1, 1], [0, 1]], np.int32))], [[2, 3]]))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_pad_quantized_zero_point(dtype):
    # PAD fills with the output zero point, PADV2 with its (equally quantized) constant
    zp = {np.int8: -5, np.uint8: 131, np.int16: 0}[dtype]
    q = (0.1, zp)
    b = ModelBuilder()
    x = b.input("x", [2, 3], dtype, quantization=q)
    y = b.tensor("y", [4, 4], dtype, quantization=q)
    b.op("PAD", [x, b.constant("p", np.array([[1, 1], [0, 1]], np.int32))], [y])
    b.output(y)
    check(b.build())
    b = ModelBuilder()
    x = b.input("x", [2, 3], dtype, quantization=q)
    y = b.tensor("y", [4, 4], dtype, quantization=q)
    v = b.constant("v", np.array(9, dtype), dtype=dtype, quantization=q)
    b.op("PADV2", [x, b.constant("p", np.array([[1, 1], [0, 1]], np.int32)), v], [y])
    b.output(y)
    check(b.build())


def test_runtime_index_errors():
    from tflite_rt import interpreter as ours
    m = model("GATHER_ND", [[3, 4], ("input", [2, 2], np.int32)], [[2]])
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    check(m, inputs=[x, np.array([[2, 3], [0, 0]], np.int32)])
    with pytest.raises(Exception, match="out of range"):
        run(ours, m, [x, np.array([[2, 4], [0, 0]], np.int32)])
    m = model("SCATTER_ND", [("input", [2, 1], np.int32), [2, 4], ("const", np.array([3, 4], np.int32))], [[3, 4]])
    u = np.ones((2, 4), np.float32)
    check(m, inputs=[np.array([[2], [0]], np.int32), u])
    with pytest.raises(Exception, match="out of range"):
        run(ours, m, [np.array([[3], [0]], np.int32), u])
    m = model("EMBEDDING_LOOKUP", [("input", [2], np.int32), ("const", np.ones((3, 2), np.float32))], [[2, 2]])
    with pytest.raises(Exception, match="out of range"):
        run(ours, m, [np.array([1, -1], np.int32)])


def test_embedding_lookup_uint8_hybrid():
    # the reference reads a uint8 table as int8 bits (values >= 128 turn negative)
    b = ModelBuilder()
    ids = b.input("ids", [3], np.int32)
    table = b.constant("t", np.arange(0, 240, 10, dtype=np.uint8).reshape(4, 6), dtype=np.uint8,
                       quantization=(0.25, 0))
    y = b.tensor("y", [3, 6], np.float32)
    b.op("EMBEDDING_LOOKUP", [ids, table], [y])
    b.output(y)
    check(b.build(), inputs=[np.array([3, 0, 1], np.int32)])


def test_bad_types_and_counts():
    rejects(model("TRANSPOSE", [[2, 3], ("const", np.array([1, 0], np.int32))], [[3, 2]], out_dtype=np.int32))
    rejects(model("GATHER", [[3, 4], ("const", np.array([0.5], np.float32))], [[1, 4]]))
    rejects(model("GATHER", [[3, 4], ("const", np.array([1], np.int32))], [[1, 4]], axis=2))
    rejects(model("CONCATENATION", [[2, 3], ("input", [2, 3], np.int32)], [[4, 3]]))
    rejects(model("PACK", [[2, 3], [2, 4]], [[2, 2, 3]], values_count=2))
    rejects(model("UNPACK", [[3, 4]], [[4]] * 2, num=2))
    rejects(model("TILE", [[3, 4], ("const", np.array([1], np.int32))], [[3, 4]]))
    rejects(model("DEPTH_TO_SPACE", [[1, 2, 2, 6]], [[1]], block_size=2))
    rejects(model("SPACE_TO_BATCH_ND", [[1, 5, 4, 1], ("const", np.array([2, 2], np.int32)),
                                        ("const", np.array([[0, 0], [0, 0]], np.int32))], [[1]]))
