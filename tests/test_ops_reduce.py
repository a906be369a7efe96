"""Reductions, arg-min/max, softmax, normalisations, cumsum, top-k and resizing against the
reference runtime. Integer and quantized results are compared bit-exactly with TFLite's
reference kernels (resolver="ref") unless a test says otherwise."""
import numpy as np
import pytest

from tflite_rt import interpreter as ours
from tflite_rt.builder import ModelBuilder

from harness import assert_matches_reference, random_inputs, run, run_reference

I8Q = (0.05, 3)
U8Q = (0.05, 130)
I16Q = (0.002, 0)


def reduce_model(name, shape, axes, keep=False, dtype=np.float32, q=None, qo=None):
    b = ModelBuilder()
    x = b.input("x", shape, dtype, quantization=q)
    a = b.constant("axes", np.array(axes, np.int32))
    y = b.tensor("y", [1], dtype, quantization=qo or q)
    b.op(name, [x, a], [y], keep_dims=keep)
    b.output(y)
    return b.build()


def unary_model(name, shape, dtype=np.float32, q=None, qo=None, out_dtype=None, **options):
    b = ModelBuilder()
    x = b.input("x", shape, dtype, quantization=q)
    y = b.tensor("y", shape, out_dtype or dtype, quantization=qo)
    b.op(name, [x], [y], **options)
    b.output(y)
    return b.build()


def fails(model):
    with pytest.raises(ValueError):
        it = ours.Interpreter(model_content=model)
        it.allocate_tensors()


# -- reductions -----------------------------------------------------------------------------

CASES = [([2, 3, 4], [1]), ([2, 3, 4], [0, 2]), ([4, 5], [-1]), ([3, 4, 5, 6], [1, 2]),
         ([1, 5, 6, 8], [2, 1]), ([7], [0]), ([2, 3], [0, 0, -2]), ([2, 3, 4], [0, 1, 2]),
         ([2, 1, 3, 1, 4], [1, 3]), ([3, 4, 5], [0, -1])]


@pytest.mark.parametrize("name", ["MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"])
@pytest.mark.parametrize("shape,axes", CASES)
@pytest.mark.parametrize("keep", [False, True])
def test_reduce_float(name, shape, axes, keep):
    assert_matches_reference(reduce_model(name, shape, axes, keep), resolver="ref", seed=len(shape))


@pytest.mark.parametrize("name", ["MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("shape,axes", CASES[:6])
def test_reduce_int(name, dtype, shape, axes):
    assert_matches_reference(reduce_model(name, shape, axes, True, dtype), resolver="ref")


@pytest.mark.parametrize("name", ["REDUCE_ANY", "REDUCE_ALL"])
@pytest.mark.parametrize("shape,axes", CASES)
@pytest.mark.parametrize("keep", [False, True])
def test_reduce_bool(name, shape, axes, keep):
    assert_matches_reference(reduce_model(name, shape, axes, keep, np.bool_), resolver="ref")


def test_reduce_large_parallel():
    model = reduce_model("SUM", [64, 33, 40], [1], dtype=np.float32)
    for threads in (1, 3):
        assert_matches_reference(model, resolver="ref", num_threads=threads)


def test_reduce_empty_axes():
    # an empty axis list reduces nothing; quantized MEAN still rescales (TFLite 2.3 does)
    assert_matches_reference(reduce_model("SUM", [2, 3], np.zeros(0, np.int32)), resolver="ref")
    assert_matches_reference(reduce_model("MEAN", [2, 3, 5], np.zeros(0, np.int32), dtype=np.int8,
                                          q=I8Q, qo=(0.02, 1)), resolver="ref")


QUANT_PAIRS = {
    np.int8: [(I8Q, I8Q), (I8Q, (0.02, 1)), ((0.1, -5), (0.7, 4))],
    np.uint8: [(U8Q, U8Q), (U8Q, (0.02, 128)), ((0.1, 120), (0.7, 131))],
    np.int16: [(I16Q, I16Q), (I16Q, (0.0007, 0)), ((0.01, 0), (0.05, 0))],
}


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("pair", [0, 1, 2])
@pytest.mark.parametrize("shape,axes", CASES)
@pytest.mark.parametrize("keep", [False, True])
def test_mean_quantized(dtype, pair, shape, axes, keep):
    qi, qo = QUANT_PAIRS[dtype][pair]
    assert_matches_reference(reduce_model("MEAN", shape, axes, keep, dtype, qi, qo), resolver="ref",
                             seed=pair)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("pair", [0, 1, 2])
@pytest.mark.parametrize("shape,axes", CASES[:6])
def test_sum_quantized(dtype, pair, shape, axes):
    # TFLite 2.3's reference SUM reads int8 / int16 data as uint8 and returns garbage (the corpus
    # README notes it for maxmin_argmax_reduce_int8), so int8 and int16 are compared with the
    # builtin kernels (the default resolver without XNNPACK); uint8 with the reference.
    qi, qo = QUANT_PAIRS[dtype][pair]
    resolver = "ref" if dtype == np.uint8 else "builtin"
    assert_matches_reference(reduce_model("SUM", shape, axes, False, dtype, qi, qo), resolver=resolver,
                             seed=pair)


@pytest.mark.parametrize("name", ["REDUCE_MAX", "REDUCE_MIN"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("shape,axes", CASES[:6])
def test_max_min_quantized(name, dtype, shape, axes):
    q = QUANT_PAIRS[dtype][0][0]
    assert_matches_reference(reduce_model(name, shape, axes, True, dtype, q, q), resolver="ref")


@pytest.mark.parametrize("dtype,q,qo", [(np.int8, (0.3, 1), (0.5, -2)), (np.int8, (0.2, 0), (0.05, 3)),
                                        (np.int16, (0.01, 0), (0.02, 0))])
@pytest.mark.parametrize("shape,axes", CASES[:6])
def test_prod_quantized(dtype, q, qo, shape, axes):
    assert_matches_reference(reduce_model("REDUCE_PROD", shape, axes, False, dtype, q, qo), resolver="ref")


def test_reduce_bad_models():
    fails(reduce_model("SUM", [2, 3], [2]))
    fails(reduce_model("MEAN", [2, 3], [-3]))
    fails(reduce_model("REDUCE_ANY", [2, 3], [0]))  # float input
    fails(reduce_model("REDUCE_MAX", [2, 3], [0], dtype=np.int8, q=I8Q, qo=(0.1, 3)))
    b = ModelBuilder()
    x = b.input("x", [2, 3])
    a = b.input("a", [1], np.int32)
    y = b.tensor("y", [2])
    b.op("SUM", [x, a], [y])
    b.output(y)
    fails(b.build())  # axes that are not constant


# -- ARG_MAX / ARG_MIN ----------------------------------------------------------------------

def arg_model(name, shape, axis, dtype=np.float32, out=np.int32, axis_dtype=np.int32, q=None):
    b = ModelBuilder()
    x = b.input("x", shape, dtype, quantization=q)
    a = b.constant("axis", np.array([axis], axis_dtype))
    y = b.tensor("y", [1], out)
    b.op(name, [x, a], [y], output_type="INT64" if out == np.int64 else "INT32")
    b.output(y)
    return b.build()


@pytest.mark.parametrize("name", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("shape,axis", [([5], 0), ([3, 7], 1), ([3, 7], 0), ([2, 3, 4], -2), ([2, 3, 4, 5], 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int8, np.uint8])
@pytest.mark.parametrize("out", [np.int32, np.int64])
def test_arg_min_max(name, shape, axis, dtype, out):
    q = {np.int8: I8Q, np.uint8: U8Q}.get(dtype)
    assert_matches_reference(arg_model(name, shape, axis, dtype, out, q=q), resolver="ref")


@pytest.mark.parametrize("name", ["ARG_MAX", "ARG_MIN"])
def test_arg_min_max_ties(name):
    model = arg_model(name, [3, 6], 1, np.int32, axis_dtype=np.int64)
    x = np.array([[1, 5, 5, 0, 0, 5], [2, 2, 2, 2, 2, 2], [0, -1, 3, -1, 3, 1]], np.int32)
    assert_matches_reference(model, [x], resolver="ref")


def test_arg_bad_models():
    fails(arg_model("ARG_MAX", [3, 4], 2))
    fails(arg_model("ARG_MAX", [3, 4], 1, out=np.float32))


# -- SOFTMAX / LOG_SOFTMAX ------------------------------------------------------------------

@pytest.mark.parametrize("shape", [[5], [3, 10], [2, 3, 17], [2, 2, 3, 4], [1, 1001]])
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.7])
def test_softmax_float(shape, beta):
    assert_matches_reference(unary_model("SOFTMAX", shape, beta=beta), resolver="ref", rtol=1e-5, atol=1e-7)


SOFTMAX_Q = [(np.int8, (0.1, 3), np.int8, (1 / 256, -128)), (np.int8, (0.04, -20), np.int16, (1 / 32768, 0)),
             (np.uint8, (0.1, 128), np.uint8, (1 / 256, 0)), (np.uint8, (0.5, 100), np.int16, (1 / 32768, 0)),
             (np.int16, (0.0005, 0), np.int16, (1 / 32768, 0)), (np.int16, (0.01, 0), np.int16, (1 / 32768, 0))]


@pytest.mark.parametrize("dtype,q,odtype,qo", SOFTMAX_Q)
@pytest.mark.parametrize("shape", [[5], [3, 10], [2, 3, 17], [1, 2, 3, 40]])
@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_softmax_quantized(dtype, q, odtype, qo, shape, beta):
    model = unary_model("SOFTMAX", shape, dtype, q, qo, odtype, beta=beta)
    for seed in range(3):
        assert_matches_reference(model, resolver="ref", seed=seed)


def test_softmax_bad_models():
    fails(unary_model("SOFTMAX", [2, 3], np.int8, (0.1, 0), (0.1, 0), beta=1.0))
    fails(unary_model("SOFTMAX", [2, 3], np.float32, out_dtype=np.int8, beta=1.0))


@pytest.mark.parametrize("shape", [[5], [3, 10], [2, 3, 17], [2, 2, 3, 4]])
def test_log_softmax_float(shape):
    assert_matches_reference(unary_model("LOG_SOFTMAX", shape), resolver="ref", rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype,q,qo", [(np.int8, (0.1, 3), (16 / 256, 127)), (np.int8, (0.02, -7), (16 / 256, 127)),
                                        (np.uint8, (0.1, 128), (16 / 256, 255)), (np.uint8, (0.5, 90), (16 / 256, 255))])
@pytest.mark.parametrize("shape", [[5], [3, 10], [2, 3, 17], [1, 2, 3, 40]])
def test_log_softmax_quantized(dtype, q, qo, shape):
    model = unary_model("LOG_SOFTMAX", shape, dtype, q, qo)
    for seed in range(3):
        assert_matches_reference(model, resolver="ref", seed=seed)


def test_log_softmax_bad_output_scale():
    fails(unary_model("LOG_SOFTMAX", [2, 5], np.int8, (0.1, 3), (0.1, 127)))


# -- L2_NORMALIZATION / LOCAL_RESPONSE_NORMALIZATION --------------------------------------------

@pytest.mark.parametrize("shape", [[6], [3, 10], [2, 3, 17], [1, 2, 3, 40]])
def test_l2_normalization(shape):
    assert_matches_reference(unary_model("L2_NORMALIZATION", shape), resolver="ref", rtol=1e-5, atol=1e-7)
    for seed in range(3):
        assert_matches_reference(unary_model("L2_NORMALIZATION", shape, np.int8, (0.05, -3), (1 / 128, 0)),
                                 resolver="ref", seed=seed)
        assert_matches_reference(unary_model("L2_NORMALIZATION", shape, np.uint8, (0.05, 120), (1 / 128, 128)),
                                 resolver="ref", seed=seed)


def test_l2_normalization_zero_row():
    model = unary_model("L2_NORMALIZATION", [2, 4], np.int8, (0.05, -3), (1 / 128, 0))
    x = np.array([[-3, -3, -3, -3], [-3, -2, -3, -3]], np.int8)
    assert_matches_reference(model, [x], resolver="ref")
    model = unary_model("L2_NORMALIZATION", [2, 4])
    assert_matches_reference(model, [np.zeros((2, 4), np.float32)], resolver="ref")


def test_l2_normalization_bad_models():
    fails(unary_model("L2_NORMALIZATION", [2, 4], np.int8, (0.05, 0), (0.05, 0)))
    fails(unary_model("L2_NORMALIZATION", [2, 4], fused_activation_function="RELU"))


@pytest.mark.parametrize("radius,bias,alpha,beta", [(2, 1.0, 0.5, 0.75), (0, 2.0, 1e-3, 0.5), (5, 0.5, 0.1, 1.3)])
def test_local_response_normalization(radius, bias, alpha, beta):
    model = unary_model("LOCAL_RESPONSE_NORMALIZATION", [2, 3, 4, 9], radius=radius, bias=bias,
                        alpha=alpha, beta=beta)
    assert_matches_reference(model, resolver="ref", rtol=1e-5, atol=1e-6)


# -- CUMSUM ---------------------------------------------------------------------------------

def cumsum_model(shape, axis, dtype=np.float32, **options):
    b = ModelBuilder()
    x = b.input("x", shape, dtype)
    a = b.constant("axis", np.array(axis, np.int32))
    y = b.tensor("y", shape, dtype)
    b.op("CUMSUM", [x, a], [y], **options)
    b.output(y)
    return b.build()


@pytest.mark.parametrize("shape,axis", [([7], 0), ([3, 5], 1), ([3, 5], 0), ([2, 3, 4], -2)])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum(shape, axis, dtype, exclusive, reverse):
    assert_matches_reference(cumsum_model(shape, axis, dtype, exclusive=exclusive, reverse=reverse),
                             resolver="ref")


def test_cumsum_bad_axis():
    fails(cumsum_model([3, 5], 2))


# -- TOPK_V2 --------------------------------------------------------------------------------

def topk_model(shape, k, dtype=np.float32, q=None):
    b = ModelBuilder()
    x = b.input("x", shape, dtype, quantization=q)
    kk = b.constant("k", np.array(k, np.int32))
    v = b.tensor("values", [1], dtype, quantization=q)
    i = b.tensor("indices", [1], np.int32)
    b.op("TOPK_V2", [x, kk], [v, i])
    b.output(v, i)
    return b.build()


@pytest.mark.parametrize("shape,k", [([7], 3), ([3, 10], 10), ([2, 3, 17], 5), ([4, 9], 1), ([4, 9], 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int8, np.uint8, np.int64])
def test_topk(shape, k, dtype):
    q = {np.int8: I8Q, np.uint8: U8Q}.get(dtype)
    assert_matches_reference(topk_model(shape, k, dtype, q), resolver="ref")


def test_topk_ties():
    model = topk_model([2, 8], 5, np.int32)
    x = np.array([[3, 1, 3, 2, 3, 1, 0, 3], [5, 5, 5, 5, 5, 5, 5, 5]], np.int32)
    assert_matches_reference(model, [x], resolver="ref")


def test_topk_bad_k():
    fails(topk_model([3, 4], 5))


# -- RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR ----------------------------------------------

def resize_model(name, shape, size, dtype=np.float32, q=None, **options):
    b = ModelBuilder()
    x = b.input("x", shape, dtype, quantization=q)
    s = b.constant("size", np.array(size, np.int32))
    y = b.tensor("y", [shape[0], size[0], size[1], shape[3]], dtype, quantization=q)
    b.op(name, [x, s], [y], **options)
    b.output(y)
    return b.build()


RESIZE_SHAPES = [([1, 4, 4, 3], [8, 8]), ([2, 5, 7, 2], [3, 4]), ([1, 3, 3, 1], [7, 5]), ([1, 1, 1, 4], [3, 2]),
                 ([1, 6, 4, 5], [6, 4]), ([1, 2, 9, 3], [1, 1])]
RESIZE_OPTIONS = [{}, {"align_corners": True}, {"half_pixel_centers": True}]


@pytest.mark.parametrize("name", ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"])
@pytest.mark.parametrize("shape,size", RESIZE_SHAPES)
@pytest.mark.parametrize("options", RESIZE_OPTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int16])
def test_resize(name, shape, size, options, dtype):
    q = {np.int8: I8Q, np.uint8: U8Q, np.int16: I16Q}.get(dtype)
    assert_matches_reference(resize_model(name, shape, size, dtype, q, **options), resolver="ref")


def test_resize_nearest_align_and_half_pixel():
    model = resize_model("RESIZE_NEAREST_NEIGHBOR", [1, 5, 3, 2], [7, 8], align_corners=True,
                         half_pixel_centers=True)
    assert_matches_reference(model, resolver="ref")


def test_resize_bad_models():
    fails(resize_model("RESIZE_BILINEAR", [1, 4, 4, 3], [8, 8], align_corners=True, half_pixel_centers=True))
    fails(resize_model("RESIZE_BILINEAR", [1, 4, 4, 3], [0, 8]))
    b = ModelBuilder()
    x = b.input("x", [4, 4, 3])
    s = b.constant("size", np.array([8, 8], np.int32))
    y = b.tensor("y", [8, 8, 3])
    b.op("RESIZE_BILINEAR", [x, s], [y])
    b.output(y)
    fails(b.build())


# -- threads do not change results ------------------------------------------------------------

def test_thread_count_independent():
    model = unary_model("SOFTMAX", [300, 70], np.int8, (0.1, 3), (1 / 256, -128), beta=1.0)
    probe = ours.Interpreter(model_content=model)
    probe.allocate_tensors()
    inputs = random_inputs(probe.get_input_details(), 1)
    one = run(ours, model, inputs, num_threads=1)[0][0]
    four = run(ours, model, inputs, num_threads=4)[0][0]
    np.testing.assert_array_equal(one, four)
    np.testing.assert_array_equal(one, run_reference(model, inputs, resolver="ref")[0])
