"""QUANTIZE, DEQUANTIZE, FAKE_QUANT and DENSIFY against the reference runtime.

Integer results are compared bit for bit with TFLite's reference kernels (resolver "ref"). One
known difference: the ai_edge_litert 2.3 reference QUANTIZE casts round(x / scale) to int32
before clamping, so on x86 an input beyond the int32 range (or NaN) gives whatever extreme that
overflow produces; we saturate (+inf -> max, -inf -> min) as current TFLite does and map NaN to
the zero point. Those inputs are tested against explicit values instead.
"""
import numpy as np
import pytest

from harness import assert_matches_reference, run, run_reference
from tflite_rt import interpreter as ours
from tflite_rt.builder import ModelBuilder
from tflite_rt.ops._base import ModelError

RANGES = {np.int8: (-128, 127), np.uint8: (0, 255), np.int16: (-32768, 32767),
          np.int32: (-2 ** 31, 2 ** 31 - 1)}
SHAPES = [(1,), (7,), (2, 3, 5), (1, 4, 4, 3), (3, 1, 2, 2, 5)]


def single_op(op, in_dtype, out_dtype, shape, qin=None, qout=None, **options):
    b = ModelBuilder()
    x = b.input("x", shape, in_dtype, quantization=qin)
    y = b.tensor("y", shape, out_dtype, quantization=qout)
    b.op(op, [x], [y], **options)
    b.output(y)
    return b.build()


def random_zero_point(rng, dtype):
    if dtype == np.int16:
        return 0
    lo, hi = RANGES[dtype]
    return int(rng.choice([lo, hi, (lo + hi + 1) // 2, rng.integers(lo, hi, endpoint=True)]))


def random_scale(rng):
    return float(np.float32(10.0 ** rng.uniform(-6, 3)))


def float_inputs(rng, shape, scale, zero_point, dtype):
    """Values that land on every interesting spot: exact halves, both ends of the range and
    beyond, zero, and plain random values."""
    lo, hi = RANGES[dtype]
    n = int(np.prod(shape))
    halves = (rng.integers(lo - 4, hi + 4, n) - zero_point + 0.5 * rng.choice([-1, 1], n)) * scale
    plain = rng.uniform((lo - zero_point - 10) * scale, (hi - zero_point + 10) * scale, n)
    pick = rng.integers(0, 3, n)
    x = np.where(pick == 0, halves, plain)
    x[rng.integers(0, n, max(n // 8, 1))] = 0.0
    return x.astype(np.float32).reshape(shape)


def int_inputs(rng, shape, dtype):
    lo, hi = RANGES[dtype]
    if dtype == np.int32:
        lo, hi = -70000, 70000
    x = rng.integers(lo, hi, int(np.prod(shape)), endpoint=True)
    x.flat[:2] = [lo, hi][:x.size]
    return x.astype(dtype).reshape(shape)


# -- QUANTIZE: float -> integer -------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("shape", SHAPES)
def test_quantize_float(dtype, shape):
    rng = np.random.default_rng(abs(hash((dtype.__name__, shape))) % 2 ** 32)
    for _ in range(4):
        scale, zp = random_scale(rng), random_zero_point(rng, dtype)
        model = single_op("QUANTIZE", np.float32, dtype, shape, qout=(scale, zp))
        assert_matches_reference(model, [float_inputs(rng, shape, scale, zp, dtype)], resolver="ref")


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_quantize_extreme_scales(dtype):
    rng = np.random.default_rng(5)
    lo, hi = RANGES[dtype]
    for scale in [1e-30, 1e-10, 2.0 ** -20, 0.5, 1.0, 3.0, 1e10, 1e30]:
        for zp in sorted({lo, 0 if dtype != np.uint8 else lo, hi}) if dtype != np.int16 else [0]:
            model = single_op("QUANTIZE", np.float32, dtype, (64,), qout=(scale, zp))
            # stay inside the int32 range of round(x / scale) (see the module docstring)
            bound = min(2e9, 1e38 / scale)  # and inside the float32 range
            x = (rng.uniform(-bound, bound, 64) * np.float32(scale)).astype(np.float32)
            x[:8] = np.float32(scale) * np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0, 127.5], np.float32)
            assert_matches_reference(model, [x], resolver="ref")


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_quantize_saturates_non_finite(dtype):
    lo, hi = RANGES[dtype]
    zp = 0 if dtype == np.int16 else (lo + hi + 1) // 2 + 3
    model = single_op("QUANTIZE", np.float32, dtype, (7,), qout=(0.1, zp))
    x = np.array([np.inf, -np.inf, 1e30, -1e30, 3e9, -3e9, np.nan], np.float32)
    got, _ = run(ours, model, [x])
    np.testing.assert_array_equal(got[0], np.array([hi, lo, hi, lo, hi, lo, zp], dtype))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("shape,axis", [((6,), 0), ((4, 3), 0), ((4, 3), 1), ((2, 3, 5, 4), 3),
                                        ((2, 3, 5, 4), 1), ((3, 2, 1, 2), 0)])
def test_quantize_per_channel(dtype, shape, axis):
    rng = np.random.default_rng(shape[axis] * 7 + axis)
    channels = shape[axis]
    scales = [random_scale(rng) for _ in range(channels)]
    zps = [random_zero_point(rng, dtype) for _ in range(channels)]
    model = single_op("QUANTIZE", np.float32, dtype, shape,
                      qout={"scale": scales, "zero_point": zps, "quantized_dimension": axis})
    x = rng.standard_normal(shape).astype(np.float32)
    x *= np.asarray(scales, np.float32).reshape([-1 if d == axis else 1 for d in range(len(shape))]) * 100
    assert_matches_reference(model, [x], resolver="ref")


# -- QUANTIZE: requantization ---------------------------------------------------------------

REQUANT_PAIRS = [(np.int8, np.int8), (np.int8, np.uint8), (np.uint8, np.int8), (np.uint8, np.uint8),
                 (np.int16, np.int8), (np.int16, np.int16), (np.int16, np.int32),
                 (np.int32, np.int8), (np.int32, np.int16)]


@pytest.mark.parametrize("in_dtype,out_dtype", REQUANT_PAIRS)
def test_requantize(in_dtype, out_dtype):
    rng = np.random.default_rng(abs(RANGES[in_dtype][0] * 3 + RANGES[out_dtype][1]))
    for trial in range(12):
        shape = SHAPES[trial % len(SHAPES)]
        s_in = random_scale(rng)
        # scale ratios of 2^30 and more make the reference shift an int32 by 31 or more bits
        # (undefined behaviour, platform-dependent); quant.c clamps the shift instead
        ratio = [1.0, 0.5, 2.0, 1e-3, 1e3, 2.0 ** -33, 2.0 ** 29, rng.uniform(0.1, 10)][trial % 8]
        s_out = float(np.float32(s_in / ratio))
        # int16 zero points are 0 in practice (and required for int16 -> int16)
        zp_in = int(rng.integers(-1000, 1000)) if in_dtype == np.int32 else random_zero_point(rng, in_dtype)
        zp_out = 0 if out_dtype in (np.int16, np.int32) else random_zero_point(rng, out_dtype)
        model = single_op("QUANTIZE", in_dtype, out_dtype, shape, qin=(s_in, zp_in), qout=(s_out, zp_out))
        assert_matches_reference(model, [int_inputs(rng, shape, in_dtype)], resolver="ref")


@pytest.mark.parametrize("in_dtype,out_dtype,zp_in,zp_out", [
    (np.int8, np.uint8, 0, 128), (np.int8, np.uint8, -128, 0), (np.uint8, np.int8, 128, 0),
    (np.uint8, np.int8, 255, 127), (np.int8, np.uint8, 5, 133)])
def test_requantize_sign_flip(in_dtype, out_dtype, zp_in, zp_out):
    """Equal scales with zero points 128 apart: TFLite's XOR 0x80 shortcut."""
    model = single_op("QUANTIZE", in_dtype, out_dtype, (256,), qin=(0.037, zp_in), qout=(0.037, zp_out))
    x = np.arange(256).astype(np.uint8).view(in_dtype)
    got = assert_matches_reference(model, [x], resolver="ref")
    np.testing.assert_array_equal(got[0].view(np.uint8), x.view(np.uint8) ^ 0x80)


def test_requantize_zero_point_shift_only():
    rng = np.random.default_rng(3)
    for zp_in, zp_out in [(-128, 127), (127, -128), (0, 0), (10, -10)]:
        model = single_op("QUANTIZE", np.int8, np.int8, (300,), qin=(0.5, zp_in), qout=(0.5, zp_out))
        assert_matches_reference(model, [int_inputs(rng, (300,), np.int8)], resolver="ref")


# -- DEQUANTIZE -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("shape", SHAPES)
def test_dequantize(dtype, shape):
    rng = np.random.default_rng(len(shape) * 11 + RANGES[dtype][1])
    for _ in range(4):
        scale = random_scale(rng)
        zp = random_zero_point(rng, dtype)  # 0 for int16, which TFLite requires
        model = single_op("DEQUANTIZE", dtype, np.float32, shape, qin=(scale, zp))
        assert_matches_reference(model, [int_inputs(rng, shape, dtype)], resolver="ref",
                                 rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("shape,axis", [((5,), 0), ((4, 3), 0), ((4, 3), 1), ((2, 3, 5, 4), 3),
                                        ((2, 3, 5, 4), 2), ((3, 3, 3, 2), 0)])
def test_dequantize_per_channel(dtype, shape, axis):
    rng = np.random.default_rng(axis * 13 + len(shape))
    channels = shape[axis]
    scales = [random_scale(rng) for _ in range(channels)]
    zps = [random_zero_point(rng, dtype) for _ in range(channels)]
    model = single_op("DEQUANTIZE", dtype, np.float32, shape,
                      qin={"scale": scales, "zero_point": zps, "quantized_dimension": axis})
    assert_matches_reference(model, [int_inputs(rng, shape, dtype)], resolver="ref", rtol=0, atol=0)


def test_dequantize_per_channel_constant_weights():
    """The shape of a per-channel weight: a constant int8 tensor dequantized once per invoke."""
    rng = np.random.default_rng(9)
    w = rng.integers(-127, 128, (4, 3, 3, 2)).astype(np.int8)
    scales = [0.01, 0.02, 0.003, 0.5]
    b = ModelBuilder()
    x = b.input("x", [4, 3, 3, 2])
    wc = b.constant("w", w, quantization={"scale": scales, "zero_point": [0] * 4,
                                         "quantized_dimension": 0})
    wf = b.tensor("wf", [4, 3, 3, 2])
    y = b.tensor("y", [4, 3, 3, 2])
    b.op("DEQUANTIZE", [wc], [wf])
    b.op("ADD", [x, wf], [y])
    b.output(y)
    assert_matches_reference(b.build(), resolver="ref", rtol=0, atol=0)


def _half_values(rng, n):
    special = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, -65504.0, 6.1e-5, 6e-8, -6e-8, 3e-6,
                        np.inf, -np.inf], np.float16)
    x = rng.standard_normal(n).astype(np.float16)
    x[:len(special)] = special[:n]
    return x


@pytest.mark.parametrize("shape", SHAPES)
def test_dequantize_float16_input(shape):
    rng = np.random.default_rng(len(shape))
    model = single_op("DEQUANTIZE", np.float16, np.float32, shape)
    x = _half_values(rng, int(np.prod(shape))).reshape(shape)
    got = assert_matches_reference(model, [x], resolver="ref", rtol=0, atol=0)
    np.testing.assert_array_equal(got[0], x.astype(np.float32))


def test_dequantize_float16_all_values():
    """Every one of the 65536 half values converts exactly (NaNs stay NaN)."""
    model = single_op("DEQUANTIZE", np.float16, np.float32, (65536,))
    x = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    got, _ = run(ours, model, [x])
    expected = x.astype(np.float32)
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(got[0]), nan)
    np.testing.assert_array_equal(got[0][~nan], expected[~nan])


def test_dequantize_float16_constant_weights():
    """A float16 model's weights: the constant is converted once at allocate_tensors, and
    every invoke still produces it (the output's arena memory is shared with other tensors)."""
    rng = np.random.default_rng(4)
    w = _half_values(rng, 2 * 3 * 4).reshape(2, 3, 4)
    w[np.isinf(w)] = 7.0
    b = ModelBuilder()
    x = b.input("x", [2, 3, 4])
    wc = b.constant("w", w)
    wf = b.tensor("wf", [2, 3, 4])
    t = b.tensor("t", [2, 3, 4])
    y = b.tensor("y", [2, 3, 4])
    b.op("DEQUANTIZE", [wc], [wf])
    b.op("MUL", [x, wf], [t])
    b.op("ADD", [t, wf], [y])
    b.output(y)
    model = b.build()
    it = ours.Interpreter(model_content=model)
    it.allocate_tensors()
    for seed in range(3):
        xv = np.random.default_rng(seed).standard_normal((2, 3, 4)).astype(np.float32)
        it.set_tensor(it.get_input_details()[0]["index"], xv)
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"])
        expected = run_reference(model, [xv], resolver="ref")[0]
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)


# -- FAKE_QUANT -----------------------------------------------------------------------------

@pytest.mark.parametrize("lo,hi,num_bits", [(-1.0, 1.0, 8), (-6.0, 0.0, 8), (0.0, 6.0, 8),
                                            (-0.3, 5.7, 8), (-10.1, 3.3, 4), (-1.0, 1.0, 16),
                                            (-2.5, 1.5, 2), (-0.001, 100.0, 7), (0.5, 3.0, 8),
                                            (-3.0, -0.25, 8)])
@pytest.mark.parametrize("shape", [(1,), (2, 3, 5), (1, 8, 8, 3)])
def test_fake_quant(lo, hi, num_bits, shape):
    rng = np.random.default_rng(num_bits)
    model = single_op("FAKE_QUANT", np.float32, np.float32, shape, min=lo, max=hi, num_bits=num_bits)
    x = rng.uniform(lo - 2, hi + 2, shape).astype(np.float32)
    x.flat[:3] = [lo, hi, 0.0][:x.size]
    assert_matches_reference(model, [x], resolver="ref", rtol=0, atol=0)


def test_fake_quant_nan_goes_to_min():
    model = single_op("FAKE_QUANT", np.float32, np.float32, (3,), min=-1.0, max=1.0, num_bits=8)
    x = np.array([np.nan, 0.25, -np.inf], np.float32)
    assert_matches_reference(model, [x], resolver="ref", rtol=0, atol=0)


# -- DENSIFY --------------------------------------------------------------------------------

def sparsity_table(order, block_map, levels):
    """levels: ("dense", size) or ("csr", segments, indices, index dtype)."""
    from tflite_rt._flatbuffer import Table
    names = {np.int32: "Int32Vector", np.uint16: "Uint16Vector", np.uint8: "Uint8Vector"}
    union = ["NONE", "Int32Vector", "Uint16Vector", "Uint8Vector"]
    meta = []
    for level in levels:
        if level[0] == "dense":
            meta.append(Table("DimensionMetadata", format=0, dense_size=level[1]))
            continue
        _, segments, indices, dt = level
        meta.append(Table("DimensionMetadata", format=1,
                          array_segments_type=union.index(names[dt]),
                          array_segments=Table(names[dt], values=np.asarray(segments, dt)),
                          array_indices_type=union.index(names[dt]),
                          array_indices=Table(names[dt], values=np.asarray(indices, dt))))
    return Table("SparsityParameters", traversal_order=np.asarray(order, np.int32),
                 block_map=np.asarray(block_map, np.int32) if block_map else None, dim_metadata=meta)


def encode_csr(dense, index_dtype=np.int32):
    """Row-major dense matrix -> (values, levels) with dim 0 dense and dim 1 CSR."""
    rows, cols = dense.shape
    segments, indices, values = [0], [], []
    for r in range(rows):
        nz = np.nonzero(dense[r])[0]
        indices.extend(nz.tolist())
        values.extend(dense[r, nz].tolist())
        segments.append(len(indices))
    return (np.asarray(values, dense.dtype),
            [("dense", rows), ("csr", segments, indices, index_dtype)])


def encode_block_csr(dense, block, index_dtype=np.int32):
    """Dense [R, C] with [br, bc] blocks: dim 0 dense, dim 1 CSR over block columns, then the
    two dense block dimensions (block_map [0, 1])."""
    br, bc = block
    rows, cols = dense.shape[0] // br, dense.shape[1] // bc
    segments, indices, values = [0], [], []
    for r in range(rows):
        for c in range(cols):
            tile = dense[r * br:(r + 1) * br, c * bc:(c + 1) * bc]
            if np.any(tile != 0):
                indices.append(c)
                values.extend(tile.reshape(-1).tolist())
        segments.append(len(indices))
    levels = [("dense", rows), ("csr", segments, indices, index_dtype), ("dense", br), ("dense", bc)]
    return np.asarray(values, dense.dtype), levels


def densify_model(dense_shape, values, sparsity):
    b = ModelBuilder()
    buf = b.add_buffer(np.ascontiguousarray(values).astype(values.dtype.newbyteorder("<")).tobytes())
    s = b.tensor("sparse", dense_shape, values.dtype, buffer=buf, sparsity=sparsity)
    y = b.tensor("dense", dense_shape, values.dtype)
    b.op("DENSIFY", [s], [y])
    b.output(y)
    return b.build()


def sparse_matrix(rng, shape, dtype, density=0.3):
    m = rng.standard_normal(shape) * 10
    m[rng.uniform(size=shape) > density] = 0
    return m.astype(dtype)


def _decode(shape, values, sparsity):
    from tflite_rt.ops._base import Node
    from tflite_rt.ops.quant import densify_values
    node = Node("DENSIFY", 124, 0, 0, [], [], None, None)
    return densify_values(node, shape, sparsity, values).reshape(shape)


@pytest.mark.parametrize("index_dtype", [np.int32, np.uint16, np.uint8])
def test_densify_decoder_csr(index_dtype):
    rng = np.random.default_rng(1)
    for shape in [(4, 6), (1, 1), (7, 3), (5, 40)]:
        dense = sparse_matrix(rng, shape, np.float32)
        values, levels = encode_csr(dense, index_dtype)
        np.testing.assert_array_equal(_decode(shape, values, sparsity_table([0, 1], None, levels)), dense)


def test_densify_decoder_block_sparse_and_traversal_order():
    rng = np.random.default_rng(2)
    dense = sparse_matrix(rng, (8, 12), np.int8, 0.2)
    dense[4:6, 0:4] = 0
    values, levels = encode_block_csr(dense, (2, 4))
    got = _decode(dense.shape, values, sparsity_table([0, 1, 2, 3], [0, 1], levels))
    np.testing.assert_array_equal(got, dense)
    # column-major storage: traversal order [1, 0] with dim 1 dense, dim 0 CSR
    values_t, levels_t = encode_csr(np.ascontiguousarray(dense.T))
    got_t = _decode(dense.shape, values_t, sparsity_table([1, 0], None, levels_t))
    np.testing.assert_array_equal(got_t, dense)
    # a fully dense encoding
    flat = _decode((3, 4), np.arange(12, dtype=np.float32),
                   sparsity_table([0, 1], None, [("dense", 3), ("dense", 4)]))
    np.testing.assert_array_equal(flat, np.arange(12, dtype=np.float32).reshape(3, 4))


@pytest.mark.parametrize("bad,match", [
    (dict(indices=[0, 9, 1]), "index outside"),
    (dict(segments=[0, 2, 1, 3]), "segments"),
    (dict(segments=[1, 2, 3, 3]), "segments"),
    (dict(segments=[0, 1, 3]), "segment entries"),
    (dict(order=[0, 0]), "traversal_order"),
    (dict(order=[0]), "traversal_order"),
    (dict(dense_size=4), "dense with size"),
    (dict(values=np.zeros(5, np.float32)), "stores 5 values"),
])
def test_densify_decoder_rejects_bad_metadata(bad, match):
    segments = bad.get("segments", [0, 1, 2, 3])
    indices = bad.get("indices", [0, 2, 1])
    order = bad.get("order", [0, 1])
    levels = [("dense", bad.get("dense_size", 3)), ("csr", segments, indices, np.int32)]
    values = bad.get("values", np.ones(3, np.float32))
    with pytest.raises(ValueError, match=match):
        _decode((3, 3), values, sparsity_table(order, None, levels))


def _densify_or_skip(model):
    """The runtime's model reader must accept a sparse constant (whose buffer is shorter than
    its dense shape) for DENSIFY to run end to end."""
    try:
        it = ours.Interpreter(model_content=model)
        it.allocate_tensors()
    except ModelError as e:
        if "buffer holds" in str(e) or "cannot reshape" in str(e):
            pytest.skip("the model reader does not load sparse constants yet: %s" % e)
        raise
    except ValueError as e:
        if "cannot reshape" in str(e):
            pytest.skip("the planner does not load sparse constants yet: %s" % e)
        raise


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.float16])
def test_densify_matches_reference(dtype):
    rng = np.random.default_rng(7)
    dense = sparse_matrix(rng, (6, 9), dtype)
    values, levels = encode_csr(dense, np.uint8)
    model = densify_model(dense.shape, values, sparsity_table([0, 1], None, levels))
    _densify_or_skip(model)
    got = assert_matches_reference(model, [], resolver="ref", rtol=0, atol=0)
    np.testing.assert_array_equal(got[0], dense)
    dense_b = sparse_matrix(rng, (4, 8), dtype, 0.25)
    values_b, levels_b = encode_block_csr(dense_b, (2, 2), np.uint16)
    model_b = densify_model(dense_b.shape, values_b, sparsity_table([0, 1, 2, 3], [0, 1], levels_b))
    got_b = assert_matches_reference(model_b, [], resolver="ref", rtol=0, atol=0)
    np.testing.assert_array_equal(got_b[0], dense_b)


@pytest.mark.parametrize("op,in_dtype,out_dtype,qin,qout", [
    ("QUANTIZE", np.float32, np.int8, None, (0.1, 2)),
    ("QUANTIZE", np.int8, np.uint8, (0.1, 2), (0.2, 100)),
    ("DEQUANTIZE", np.int8, np.float32, (0.1, 2), None),
    ("DEQUANTIZE", np.float16, np.float32, None, None)])
def test_empty_tensors(op, in_dtype, out_dtype, qin, qout):
    model = single_op(op, in_dtype, out_dtype, (0, 3), qin=qin, qout=qout)
    assert_matches_reference(model, resolver="ref")


# -- bad models -----------------------------------------------------------------------------

def _allocate(model):
    it = ours.Interpreter(model_content=model)
    it.allocate_tensors()
    return it


@pytest.mark.parametrize("model", [
    # QUANTIZE to float, or from float to an unquantized output
    lambda: single_op("QUANTIZE", np.float32, np.float32, (4,), qout=(0.1, 0)),
    lambda: single_op("QUANTIZE", np.float32, np.int8, (4,)),
    # unsupported pairs
    lambda: single_op("QUANTIZE", np.int8, np.int16, (4,), qin=(0.1, 0), qout=(0.1, 0)),
    lambda: single_op("QUANTIZE", np.uint8, np.int32, (4,), qin=(0.1, 0), qout=(0.1, 0)),
    lambda: single_op("QUANTIZE", np.bool_, np.int8, (4,), qout=(0.1, 0)),
    # requantize from an unquantized input, zero scales, int16 zero points
    lambda: single_op("QUANTIZE", np.int8, np.int8, (4,), qout=(0.1, 0)),
    lambda: single_op("QUANTIZE", np.float32, np.int8, (4,), qout=(0.0, 0)),
    lambda: single_op("QUANTIZE", np.int8, np.int8, (4,), qin=(0.0, 0), qout=(0.1, 0)),
    lambda: single_op("QUANTIZE", np.int16, np.int16, (4,), qin=(0.1, 3), qout=(0.1, 0)),
    lambda: single_op("QUANTIZE", np.int16, np.int16, (4,), qin=(0.1, 0), qout=(0.1, 2)),
    # per-channel with the wrong count, or on a requantization
    lambda: single_op("QUANTIZE", np.float32, np.int8, (4, 3), qout={
        "scale": [0.1, 0.2], "zero_point": [0, 0], "quantized_dimension": 1}),
    lambda: single_op("QUANTIZE", np.float32, np.int8, (4, 3), qout={
        "scale": [0.1, 0.2, 0.3], "zero_point": [0, 0, 0], "quantized_dimension": 2}),
    lambda: single_op("QUANTIZE", np.int8, np.int8, (4, 3), qin=(0.1, 0), qout={
        "scale": [0.1, 0.2, 0.3], "zero_point": [0, 0, 0], "quantized_dimension": 1}),
    # DEQUANTIZE
    lambda: single_op("DEQUANTIZE", np.float32, np.float32, (4,)),
    lambda: single_op("DEQUANTIZE", np.int8, np.float32, (4,)),
    lambda: single_op("DEQUANTIZE", np.int8, np.int32, (4,), qin=(0.1, 0)),
    lambda: single_op("DEQUANTIZE", np.int16, np.float32, (4,), qin=(0.1, 5)),
    lambda: single_op("DEQUANTIZE", np.int16, np.float32, (4, 2), qin={
        "scale": [0.1, 0.2], "zero_point": [0, 0], "quantized_dimension": 1}),
    lambda: single_op("DEQUANTIZE", np.int8, np.float32, (4, 3), qin={
        "scale": [0.1, 0.2, 0.3], "zero_point": [0, 0, 0], "quantized_dimension": 0}),
    # FAKE_QUANT
    lambda: single_op("FAKE_QUANT", np.float32, np.float32, (4,), min=-1.0, max=1.0, num_bits=8,
                      narrow_range=True),
    lambda: single_op("FAKE_QUANT", np.float32, np.float32, (4,), min=-1.0, max=1.0, num_bits=1),
    lambda: single_op("FAKE_QUANT", np.float32, np.float32, (4,), min=-1.0, max=1.0, num_bits=17),
    lambda: single_op("FAKE_QUANT", np.float32, np.float32, (4,), min=1.0, max=1.0, num_bits=8),
    lambda: single_op("FAKE_QUANT", np.float32, np.float32, (4,), min=-np.inf, max=1.0, num_bits=8),
    lambda: single_op("FAKE_QUANT", np.int8, np.int8, (4,), min=-1.0, max=1.0, num_bits=8),
    # DENSIFY of a tensor that is not sparse
    lambda: single_op("DENSIFY", np.float32, np.float32, (4,)),
])
def test_bad_models(model):
    with pytest.raises(ValueError):
        _allocate(model())


def test_bad_counts():
    b = ModelBuilder()
    x = b.input("x", [4])
    x2 = b.input("x2", [4])
    y = b.tensor("y", [4], np.int8, quantization=(0.1, 0))
    b.op("QUANTIZE", [x, x2], [y])
    b.output(y)
    with pytest.raises(ValueError):
        _allocate(b.build())


# -- models from the shared corpus ----------------------------------------------------------

CORPUS = "/work/shared/models"
OUR_OPS = {"QUANTIZE", "DEQUANTIZE", "FAKE_QUANT", "DENSIFY"}


def _reference_with_all_tensors(model):
    ref = pytest.importorskip("ai_edge_litert.interpreter")
    try:
        it = ref.Interpreter(model_content=model, experimental_preserve_all_tensors=True,
                             experimental_op_resolver_type=ref.OpResolverType.BUILTIN_REF)
    except (RuntimeError, ValueError):
        # the reference resolver lacks some op of the model (e.g. ELU): use the builtin kernels,
        # which for these ops equal the reference ones on finite values
        it = ref.Interpreter(model_content=model, experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    return it


@pytest.mark.parametrize("name", ["activations_int8", "cnn_small_int8_floatio", "cnn_small_f16",
                                  "concat_reshape_transpose_pad_int8", "maxmin_argmax_reduce_int8"])
def test_corpus_models(name):
    """Every QUANTIZE / DEQUANTIZE of the model gives the reference's bits, given the same input
    (the ops of other families upstream are compared by their own tests)."""
    import os
    path = os.path.join(CORPUS, name + ".tflite")
    if not os.path.exists(path):
        pytest.skip("corpus model %s is not available" % name)
    model = open(path, "rb").read()
    try:
        mine = ours.Interpreter(model_content=model, experimental_preserve_all_tensors=True)
        mine.allocate_tensors()
    except ModelError as e:
        if "no kernel" in str(e):
            pytest.skip("an op of another family is missing: %s" % e)
        raise
    ref = _reference_with_all_tensors(model)
    from harness import random_inputs
    for seed in range(3):
        for d, x in zip(mine.get_input_details(), random_inputs(mine.get_input_details(), seed)):
            mine.set_tensor(d["index"], x)
            ref.set_tensor(d["index"], x)
        mine.invoke()
        ref.invoke()
        checked = 0
        for node in ref._get_ops_details():
            if node["op_name"] not in OUR_OPS:
                continue
            inputs = [i for i in node["inputs"] if i >= 0]
            if not all(np.array_equal(mine.get_tensor(i), ref.get_tensor(i), equal_nan=True)
                       for i in inputs):
                continue
            for t in node["outputs"]:
                np.testing.assert_array_equal(mine.get_tensor(t), ref.get_tensor(t),
                                              err_msg="%s node %d" % (node["op_name"], node["index"]))
            checked += 1
        assert checked, "no %s node of %s could be compared" % ("/".join(sorted(OUR_OPS)), name)
