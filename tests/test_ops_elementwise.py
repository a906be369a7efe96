"""Elementwise ops against the reference runtime.

Float results must match within a tight tolerance; integer and quantized results must be
bit-exact with TFLite's reference kernels (resolver="ref", OpResolverType.BUILTIN_REF).
"""
import numpy as np
import pytest

from harness import assert_matches_reference
from tflite_rt.builder import ModelBuilder
from tflite_rt.interpreter import Interpreter

RNG = np.random.default_rng(1234)

Q8 = {"scale": 0.05, "zero_point": 3}
Q8B = {"scale": 0.03, "zero_point": -7}
Q8O = {"scale": 0.08, "zero_point": -2}
QU8 = {"scale": 0.04, "zero_point": 130}
QU8B = {"scale": 0.06, "zero_point": 120}
QU8O = {"scale": 0.07, "zero_point": 127}
Q16 = {"scale": 3e-4, "zero_point": 0}
Q16B = {"scale": 5e-4, "zero_point": 0}
Q16O = {"scale": 8e-4, "zero_point": 0}


def rand(shape, dtype, low=-3.0, high=3.0):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.integers(0, 2, shape).astype(np.bool_)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = (max(info.min, -100), min(info.max, 100)) if dtype.itemsize >= 4 else (info.min, info.max)
        return RNG.integers(lo, hi, shape, endpoint=True).astype(dtype)
    return RNG.uniform(low, high, shape).astype(dtype)


def binary_model(op, sa, sb, dtype, qa=None, qb=None, qo=None, out_dtype=None, const_b=None,
                 out_shape=None, **options):
    b = ModelBuilder()
    x = b.input("a", sa, dtype, quantization=qa)
    if const_b is not None:
        y = b.constant("b", const_b, dtype=dtype, quantization=qb)
    else:
        y = b.input("b", sb, dtype, quantization=qb)
    shape = out_shape if out_shape is not None else np.broadcast_shapes(tuple(sa), tuple(sb))
    z = b.tensor("out", shape, out_dtype or dtype, quantization=qo)
    b.op(op, [x, y], [z], **options)
    b.output(z)
    return b.build()


def unary_model(op, shape, dtype, qi=None, qo=None, out_dtype=None, **options):
    b = ModelBuilder()
    x = b.input("x", shape, dtype, quantization=qi)
    z = b.tensor("out", shape, out_dtype or dtype, quantization=qo)
    b.op(op, [x], [z], **options)
    b.output(z)
    return b.build()


# Ops the reference resolver (BUILTIN_REF) does not register: compare with the builtin kernels.
NOT_IN_REF = {"CEIL", "ROUND", "ELU"}


def check(model, inputs, resolver="ref", rtol=1e-5, atol=1e-6, num_threads=1, op=None):
    if resolver == "ref" and op in NOT_IN_REF:
        resolver = "builtin"
    return assert_matches_reference(model, inputs, rtol=rtol, atol=atol, resolver=resolver,
                                    num_threads=num_threads)


def fails(model):
    with pytest.raises(ValueError):
        Interpreter(model_content=model).allocate_tensors()


BROADCAST_SHAPES = [
    ([2, 3, 4], [2, 3, 4]),            # same shape: one flat run
    ([1, 8, 8, 16], [1, 1, 1, 16]),    # per-channel
    ([1, 8, 8, 16], [1, 8, 1, 1]),
    ([5, 7], []),                      # scalar second
    ([], [3, 5]),                      # scalar first
    ([3, 1, 5], [1, 4, 1]),            # both broadcast
    ([2, 1, 3, 1, 2], [1, 4, 1, 5, 1]),  # rank 5
    ([2, 3, 1, 2, 1, 3], [3, 4, 1, 1, 3]),  # rank 6, different ranks
    ([2, 1, 2, 1, 2, 1, 2], [2, 1, 2, 1, 2, 1]),  # rank 7
    ([7], [1]),
    ([0, 3], [1, 3]),                  # empty
]


# -- float / integer binary arithmetic ------------------------------------------------------------

@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE",
                                "POW", "FLOOR_DIV", "FLOOR_MOD"])
@pytest.mark.parametrize("sa,sb", BROADCAST_SHAPES)
def test_binary_float_broadcast(op, sa, sb):
    a = rand(sa, np.float32)
    b = rand(sb, np.float32)
    if op in ("DIV", "FLOOR_DIV", "FLOOR_MOD"):
        b = np.where(np.abs(b) < 0.1, 0.5, b).astype(np.float32)
    if op == "POW":
        a = np.abs(a) + 0.1
    check(binary_model(op, sa, sb, np.float32), [a, b], resolver="ref")


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "DIV"])
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
def test_binary_float_fused_activation(op, act):
    sa, sb = [2, 5, 6], [6]
    a, b = rand(sa, np.float32, -8, 8), rand(sb, np.float32, 0.5, 4)
    check(binary_model(op, sa, sb, np.float32, fused_activation_function=act), [a, b])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("sa,sb", [([3, 4], [3, 4]), ([2, 3, 4], [4]), ([4], [])])
def test_binary_int(op, dtype, sa, sb):
    check(binary_model(op, sa, sb, dtype), [rand(sa, dtype), rand(sb, dtype)])


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("act", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_binary_int32_activation(op, act):
    sa = [4, 6]
    check(binary_model(op, sa, sa, np.int32, fused_activation_function=act),
          [rand(sa, np.int32), rand(sa, np.int32)])


def test_int32_wraps_on_overflow():
    a = np.array([2 ** 31 - 1, -2 ** 31, 65536, -5], np.int32)
    b = np.array([1, -1, 65536, 7], np.int32)
    for op in ("ADD", "SUB", "MUL"):
        check(binary_model(op, [4], [4], np.int32), [a, b])


@pytest.mark.parametrize("op", ["DIV", "FLOOR_DIV", "FLOOR_MOD"])
@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.int8, np.int64])
def test_integer_division(op, dtype):
    if op == "DIV" and dtype != np.int32:
        pytest.skip("DIV of plain integers is int32 only")
    if op == "FLOOR_DIV" and dtype == np.int64:
        pytest.skip("FLOOR_DIV has no int64 kernel")
    sa, sb = [3, 8], [8]
    a = rand(sa, dtype)
    b = np.array([-7, -3, -2, -1, 1, 2, 5, 9], dtype)
    check(binary_model(op, sa, sb, dtype), [a, b])


@pytest.mark.parametrize("op", ["DIV", "FLOOR_DIV", "FLOOR_MOD"])
def test_integer_division_by_zero_fails_at_invoke(op):
    model = binary_model(op, [3], [3], np.int32)
    it = Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.array([1, 2, 3], np.int32))
    it.set_tensor(it.get_input_details()[1]["index"], np.array([1, 0, 3], np.int32))
    with pytest.raises(Exception):
        it.invoke()


def test_pow_int32():
    a = RNG.integers(-5, 6, [10]).astype(np.int32)
    b = RNG.integers(0, 7, [10]).astype(np.int32)
    check(binary_model("POW", [10], [10], np.int32), [a, b])


def test_squared_difference_int32():
    check(binary_model("SQUARED_DIFFERENCE", [3, 5], [5], np.int32),
          [rand([3, 5], np.int32), rand([5], np.int32)])


def test_add_mul_int16_unquantized():
    for op in ("ADD", "MUL"):
        check(binary_model(op, [4, 5], [5], np.int16), [rand([4, 5], np.int16), rand([5], np.int16)])


def test_constant_operand():
    sa = [2, 4, 3]
    model = binary_model("MUL", sa, [3], np.float32, const_b=np.array([0.5, -2.0, 3.0], np.float32))
    check(model, [rand(sa, np.float32)])


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_large_binary_threads(threads):
    sa, sb = [4, 64, 64, 32], [1, 64, 1, 32]
    check(binary_model("ADD", sa, sb, np.float32), [rand(sa, np.float32), rand(sb, np.float32)],
          num_threads=threads)
    check(binary_model("MUL", sa, sa, np.float32), [rand(sa, np.float32), rand(sa, np.float32)],
          num_threads=threads)


# -- quantized binary arithmetic --------------------------------------------------------------------

QUANT_CASES = [
    (np.int8, Q8, Q8B, Q8O),
    (np.uint8, QU8, QU8B, QU8O),
]


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("dtype,qa,qb,qo", QUANT_CASES)
@pytest.mark.parametrize("sa,sb", [([2, 3, 4], [2, 3, 4]), ([1, 8, 8, 16], [1, 1, 1, 16]),
                                   ([3, 1, 5], [1, 4, 1]), ([5, 6], []), ([2, 1, 3, 1, 2], [1, 4, 1, 5, 1])])
def test_binary_quantized(op, dtype, qa, qb, qo, sa, sb):
    model = binary_model(op, sa, sb, dtype, qa, qb, qo)
    check(model, [rand(sa, dtype), rand(sb, dtype)])


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("act", ["RELU", "RELU6", "RELU_N1_TO_1"])
@pytest.mark.parametrize("dtype,qa,qb,qo", QUANT_CASES)
def test_binary_quantized_activation(op, act, dtype, qa, qb, qo):
    sa = [3, 7]
    model = binary_model(op, sa, sa, dtype, qa, qb, qo, fused_activation_function=act)
    check(model, [rand(sa, dtype), rand(sa, dtype)])


@pytest.mark.parametrize("dtype,qa,qb,qo", QUANT_CASES)
@pytest.mark.parametrize("sa,sb", [([2, 3, 4], [2, 3, 4]), ([1, 8, 8, 16], [1, 1, 1, 16])])
def test_div_quantized(dtype, qa, qb, qo, sa, sb):
    a = rand(sa, dtype)
    b = rand(sb, dtype)
    zp = qb["zero_point"]
    b = np.where(b == zp, zp + 1, b).astype(dtype)  # the divisor's real zero is an error
    check(binary_model("DIV", sa, sb, dtype, qa, qb, qo), [a, b])


def test_div_quantized_int16():
    sa = [3, 8]
    a, b = rand(sa, np.int16), rand(sa, np.int16)
    b = np.where(b == 0, 1, b).astype(np.int16)
    check(binary_model("DIV", sa, sa, np.int16, Q16, Q16B, Q16O), [a, b])


@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("pot", [True, False])
@pytest.mark.parametrize("sa,sb", [([4, 9], [4, 9]), ([2, 3, 4], [4])])
def test_add_sub_int16_general(op, pot, sa, sb):
    # scales that are not powers of two take the general path whatever pot_scale_int16 says
    model = binary_model(op, sa, sb, np.int16, Q16, Q16B, Q16O, pot_scale_int16=pot)
    check(model, [rand(sa, np.int16), rand(sb, np.int16)])


@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("s1,s2", [(2 ** -12, 2 ** -10), (2 ** -10, 2 ** -13), (2 ** -10, 2 ** -10)])
def test_add_sub_int16_power_of_two(op, s1, s2):
    sa = [5, 8]
    qa = {"scale": s1, "zero_point": 0}
    qb = {"scale": s2, "zero_point": 0}
    qo = {"scale": 2 ** -10, "zero_point": 0}
    model = binary_model(op, sa, sa, np.int16, qa, qb, qo, pot_scale_int16=True)
    check(model, [rand(sa, np.int16), rand(sa, np.int16)])


def test_mul_int16_quantized():
    sa, sb = [3, 4, 5], [5]
    check(binary_model("MUL", sa, sb, np.int16, Q16, Q16B, {"scale": 1e-6, "zero_point": 0}),
          [rand(sa, np.int16), rand(sb, np.int16)])


@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("dtype,q", [(np.int8, Q8), (np.uint8, QU8), (np.int16, Q16)])
def test_maximum_minimum_quantized(op, dtype, q):
    sa, sb = [1, 8, 8, 16], [16]
    check(binary_model(op, sa, sb, dtype, q, q, q), [rand(sa, dtype), rand(sb, dtype)])


@pytest.mark.parametrize("sa,sb", [([1, 16, 64], [1, 16, 1]), ([4, 5], [4, 5]), ([3, 4], [])])
def test_squared_difference_int8(sa, sb):
    model = binary_model("SQUARED_DIFFERENCE", sa, sb, np.int8, Q8, Q8B, {"scale": 0.2, "zero_point": -128})
    check(model, [rand(sa, np.int8), rand(sb, np.int8)])


def test_binary_bad_models():
    fails(binary_model("ADD", [2, 3], [4], np.float32, out_shape=[2, 3]))           # no broadcast
    fails(binary_model("ADD", [2, 3], [3], np.float32, out_dtype=np.int32))         # output type
    fails(binary_model("POW", [3], [3], np.int8))                                   # type
    fails(binary_model("ADD", [3], [3], np.int8))                                   # not quantized
    fails(binary_model("ADD", [3], [3], np.int16, Q16, {"scale": 0.1, "zero_point": 3}, Q16))
    b = ModelBuilder()
    x = b.input("a", [3], np.float32)
    y = b.input("b", [3], np.int32)
    z = b.tensor("out", [3], np.float32)
    b.op("ADD", [x, y], [z])
    b.output(z)
    fails(b.build())
    b = ModelBuilder()
    x = b.input("a", [3], np.float32)
    z = b.tensor("out", [3], np.float32)
    b.op("MUL", [x], [z])
    b.output(z)
    fails(b.build())


# -- comparisons and logical ops --------------------------------------------------------------------

COMPARE_OPS = ["EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"]


@pytest.mark.parametrize("op", COMPARE_OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int16])
@pytest.mark.parametrize("sa,sb", [([3, 4], [3, 4]), ([2, 3, 4], [4]), ([5], []), ([2, 1, 3], [4, 1])])
def test_compare(op, dtype, sa, sb):
    if op == "NOT_EQUAL" and dtype == np.int16:
        pytest.skip("TFLite's NOT_EQUAL never writes an unquantized int16 result; ours is correct")
    a = rand(sa, dtype)
    b = rand(sb, dtype)
    if np.dtype(dtype).kind == "f":
        a = np.round(a)  # make equal values common
        b = np.round(b)
    else:
        a, b = (a % 4).astype(dtype), (b % 4).astype(dtype)
    check(binary_model(op, sa, sb, dtype, out_dtype=np.bool_), [a, b])


@pytest.mark.parametrize("op", COMPARE_OPS)
@pytest.mark.parametrize("dtype,qa,qb", [(np.int8, Q8, Q8B), (np.uint8, QU8, QU8B), (np.int8, Q8, Q8)])
def test_compare_quantized(op, dtype, qa, qb):
    sa, sb = [4, 6], [6]
    check(binary_model(op, sa, sb, dtype, qa, qb, out_dtype=np.bool_), [rand(sa, dtype), rand(sb, dtype)])


@pytest.mark.parametrize("op", COMPARE_OPS)
def test_compare_int16_quantized(op):
    # EQUAL / NOT_EQUAL rescale quantized int16; TFLite's orderings compare the raw values
    sa, sb = [4, 6], [6]
    a, b = (rand(sa, np.int16) % 8).astype(np.int16), (rand(sb, np.int16) % 8).astype(np.int16)
    check(binary_model(op, sa, sb, np.int16, Q16, Q16B, out_dtype=np.bool_), [a, b])


@pytest.mark.parametrize("op", ["EQUAL", "NOT_EQUAL"])
def test_compare_bool(op):
    sa, sb = [3, 4], [4]
    check(binary_model(op, sa, sb, np.bool_), [rand(sa, np.bool_), rand(sb, np.bool_)])


@pytest.mark.parametrize("op", ["LOGICAL_AND", "LOGICAL_OR"])
@pytest.mark.parametrize("sa,sb", [([3, 4], [3, 4]), ([2, 3, 4], [4]), ([5], [])])
def test_logical_binary(op, sa, sb):
    check(binary_model(op, sa, sb, np.bool_), [rand(sa, np.bool_), rand(sb, np.bool_)])


def test_logical_not():
    check(unary_model("LOGICAL_NOT", [3, 5], np.bool_), [rand([3, 5], np.bool_)])


def test_compare_bad_models():
    fails(binary_model("LESS", [3], [3], np.float32))                   # output must be BOOL
    fails(binary_model("LESS", [3], [3], np.bool_))                     # no ordering of BOOL
    fails(binary_model("LOGICAL_AND", [3], [3], np.float32, out_dtype=np.bool_))


# -- unary math --------------------------------------------------------------------------------------

FLOAT_UNARY = ["ABS", "NEG", "SIN", "COS", "EXP", "LOG", "SQRT", "RSQRT", "SQUARE", "FLOOR", "CEIL",
               "ROUND", "SIGN"]


@pytest.mark.parametrize("op", FLOAT_UNARY)
@pytest.mark.parametrize("shape", [[1, 4, 16], [7], [], [2, 3, 1, 5, 2]])
def test_unary_float(op, shape):
    x = rand(shape, np.float32, -4, 4)
    if op in ("LOG", "SQRT", "RSQRT"):
        x = np.abs(x) + 0.01
    check(unary_model(op, shape, np.float32), [x], rtol=2e-6, atol=1e-6, op=op)


def test_round_half_to_even():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -3.7, 1e8], np.float32)
    check(unary_model("ROUND", [10], np.float32), [x], op="ROUND")


@pytest.mark.parametrize("op,dtype", [("ABS", np.int32), ("ABS", np.int16), ("NEG", np.int32),
                                      ("NEG", np.int64), ("NEG", np.int8), ("NEG", np.int16),
                                      ("SIGN", np.int32)])
def test_unary_int(op, dtype):
    x = rand([4, 6], dtype)
    x.flat[0] = np.iinfo(dtype).min
    check(unary_model(op, [4, 6], dtype), [x])


@pytest.mark.parametrize("op", ["ABS", "EXP", "LOG", "SQRT", "RSQRT"])
@pytest.mark.parametrize("qi,qo", [(Q8, Q8O), ({"scale": 0.02, "zero_point": -128}, {"scale": 0.02, "zero_point": -128}),
                                   ({"scale": 0.1, "zero_point": 0}, {"scale": 0.01, "zero_point": -100})])
def test_unary_int8(op, qi, qo):
    x = np.arange(-128, 128, dtype=np.int8)
    if op in ("SQRT", "RSQRT"):
        x = np.maximum(x, qi["zero_point"]).astype(np.int8)
    check(unary_model(op, [256], np.int8, qi, qo), [x])


def test_sqrt_int8_negative_fails_at_invoke():
    model = unary_model("SQRT", [3], np.int8, Q8, Q8O)
    it = Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.array([10, -50, 4], np.int8))
    with pytest.raises(Exception):
        it.invoke()


def test_unary_bad_models():
    fails(unary_model("SIN", [3], np.int32))
    fails(unary_model("EXP", [3], np.uint8, QU8, QU8O))
    fails(unary_model("LOG", [3], np.float32, out_dtype=np.int32))
    fails(unary_model("EXP", [3], np.int8))                             # int8 needs quantization


# -- activations ------------------------------------------------------------------------------------

ACTIVATIONS = ["RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LOGISTIC", "TANH", "ELU", "HARD_SWISH",
               "LEAKY_RELU", "GELU"]


def activation_options(op):
    return {"alpha": 0.2} if op == "LEAKY_RELU" else {}


@pytest.mark.parametrize("op", ACTIVATIONS)
@pytest.mark.parametrize("shape", [[1, 8, 8, 16], [5], [3, 1, 7]])
def test_activation_float(op, shape):
    x = rand(shape, np.float32, -10, 10)
    # the default resolver (optimised kernels) too: they use other float approximations
    for resolver in ("ref", "default"):
        check(unary_model(op, shape, np.float32, **activation_options(op)), [x], resolver=resolver,
              rtol=1e-5, atol=2e-6, op=op)


def test_logistic_float_tails():
    x = np.array([-100, -20, -9.5, -9, -1e-3, 0, 5, 16.6, 16.7, 50, 100], np.float32)
    check(unary_model("LOGISTIC", [11], np.float32), [x])


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_float(approximate):
    x = rand([4, 33], np.float32, -6, 6)
    check(unary_model("GELU", [4, 33], np.float32, approximate=approximate), [x], resolver="default",
          rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.2, -0.5, 1.7])
def test_leaky_relu_float_alpha(alpha):
    x = rand([50], np.float32, -5, 5)
    check(unary_model("LEAKY_RELU", [50], np.float32, alpha=alpha), [x])


QUANT_ACT_PARAMS = {
    np.int8: [(Q8, Q8O), ({"scale": 0.1, "zero_point": -128}, {"scale": 0.02, "zero_point": 10}),
              ({"scale": 0.01, "zero_point": 0}, {"scale": 0.01, "zero_point": 0})],
    np.uint8: [(QU8, QU8O), ({"scale": 0.1, "zero_point": 0}, {"scale": 0.05, "zero_point": 128})],
}
QUANT_ACT_OPS = {
    np.int8: ACTIVATIONS,
    np.uint8: ["RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LOGISTIC", "TANH", "HARD_SWISH",
               "LEAKY_RELU", "GELU"],
}


def quant_act_cases():
    for dtype, ops in QUANT_ACT_OPS.items():
        for op in ops:
            for k, (qi, qo) in enumerate(QUANT_ACT_PARAMS[dtype]):
                yield pytest.param(op, dtype, qi, qo, id="%s-%s-%d" % (op, np.dtype(dtype).name, k))


@pytest.mark.parametrize("op,dtype,qi,qo", quant_act_cases())
def test_activation_quantized(op, dtype, qi, qo):
    if op == "LOGISTIC":
        qo = {"scale": 1.0 / 256, "zero_point": -128 if dtype == np.int8 else 0}
    if op == "TANH":
        qo = {"scale": 1.0 / 128, "zero_point": 0 if dtype == np.int8 else 128}
    info = np.iinfo(dtype)
    x = np.arange(info.min, info.max + 1).astype(dtype)
    options = activation_options(op)
    if op == "GELU":
        for approximate in (False, True):
            check(unary_model(op, [x.size], dtype, qi, qo, approximate=approximate), [x])
        return
    check(unary_model(op, [x.size], dtype, qi, qo, **options), [x], op=op)


@pytest.mark.parametrize("op", ["RELU", "RELU6", "LEAKY_RELU"])
def test_activation_int16(op):
    x = rand([4, 100], np.int16)
    check(unary_model(op, [4, 100], np.int16, Q16, Q16O, **activation_options(op)), [x])


@pytest.mark.parametrize("alpha_shape", [[1, 1, 16], [16], [1, 8, 8, 16], [8, 1, 1]])
def test_prelu_float(alpha_shape):
    shape = [1, 8, 8, 16]
    b = ModelBuilder()
    x = b.input("x", shape)
    a = b.constant("alpha", rand(alpha_shape, np.float32, -1, 1))
    z = b.tensor("out", shape)
    b.op("PRELU", [x, a], [z])
    b.output(z)
    check(b.build(), [rand(shape, np.float32)])


@pytest.mark.parametrize("dtype,qx,qa,qo", [(np.int8, Q8, {"scale": 0.01, "zero_point": 5}, Q8O),
                                            (np.uint8, QU8, {"scale": 0.01, "zero_point": 120}, QU8O)])
@pytest.mark.parametrize("alpha_shape", [[1, 1, 16], [1, 6, 6, 16]])
def test_prelu_quantized(dtype, qx, qa, qo, alpha_shape):
    shape = [1, 6, 6, 16]
    b = ModelBuilder()
    x = b.input("x", shape, dtype, quantization=qx)
    a = b.input("alpha", alpha_shape, dtype, quantization=qa)
    z = b.tensor("out", shape, dtype, quantization=qo)
    b.op("PRELU", [x, a], [z])
    b.output(z)
    check(b.build(), [rand(shape, dtype), rand(alpha_shape, dtype)])


def test_activation_bad_models():
    fails(unary_model("RELU", [3], np.int32))
    fails(unary_model("ELU", [3], np.uint8, QU8, QU8O))
    fails(unary_model("LOGISTIC", [3], np.int8, Q8, Q8O))               # output scale must be 1/256
    fails(unary_model("RELU", [3], np.int16, {"scale": 0.1, "zero_point": 4}, Q16O))
    b = ModelBuilder()
    x = b.input("x", [2, 3])
    a = b.constant("alpha", np.ones([4, 2, 3], np.float32))
    z = b.tensor("out", [2, 3])
    b.op("PRELU", [x, a], [z])
    b.output(z)
    fails(b.build())                                                    # alpha grows the shape


# -- CAST, SELECT, ZEROS_LIKE, ADD_N ---------------------------------------------------------------

CAST_TYPES = [np.float32, np.int32, np.int64, np.uint8, np.int8, np.int16, np.bool_, np.float16]


@pytest.mark.parametrize("src", CAST_TYPES)
@pytest.mark.parametrize("dst", CAST_TYPES)
def test_cast(src, dst):
    if src == dst:
        pytest.skip("identity")
    x = rand([3, 7], src, -300, 300)
    if np.dtype(src).kind == "f":
        x = x.astype(src)
    model = unary_model("CAST", [3, 7], src, out_dtype=dst)
    check(model, [x], resolver="default")


def test_cast_float_edge_values():
    x = np.array([0.5, -0.5, 1.99, -1.99, 2.5e9, -2.5e9, 3e9, 1e-30], np.float32)
    check(unary_model("CAST", [8], np.float32, out_dtype=np.int32), [x], resolver="default")
    y = np.array([1e-8, 65504, 65520, 1e5, -6.1e-5, 3.0e-8, 0.1, 2049], np.float32)
    check(unary_model("CAST", [8], np.float32, out_dtype=np.float16), [y], resolver="default")


def select_model(op, sc, sx, sy, dtype=np.float32, out_shape=None):
    b = ModelBuilder()
    c = b.input("c", sc, np.bool_)
    x = b.input("x", sx, dtype)
    y = b.input("y", sy, dtype)
    shape = out_shape or np.broadcast_shapes(tuple(sc), tuple(sx), tuple(sy))
    z = b.tensor("out", shape, dtype)
    b.op(op, [c, x, y], [z])
    b.output(z)
    return b.build()


@pytest.mark.parametrize("sc,sx,sy", [([1, 4, 16], [1, 4, 16], [1, 4, 16]), ([3], [3, 4, 2], [3, 4, 2]),
                                      ([], [3, 5], [3, 5])])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int8, np.int64, np.bool_])
def test_select(sc, sx, sy, dtype):
    model = select_model("SELECT", sc, sx, sy, dtype, out_shape=sx)
    check(model, [rand(sc, np.bool_), rand(sx, dtype), rand(sy, dtype)])


@pytest.mark.parametrize("sc,sx,sy", [([1, 4, 16], [1, 4, 16], [1, 4, 16]), ([4, 1], [1, 5], [4, 5]),
                                      ([], [2, 3], [3]), ([2, 1, 3, 1, 2], [1, 4, 1, 5, 1], [2])])
@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.uint8])
def test_select_v2(sc, sx, sy, dtype):
    model = select_model("SELECT_V2", sc, sx, sy, dtype)
    check(model, [rand(sc, np.bool_), rand(sx, dtype), rand(sy, dtype)])


def test_select_bad_models():
    fails(select_model("SELECT", [4], [3, 2], [3, 2], out_shape=[3, 2]))
    fails(select_model("SELECT_V2", [4], [3], [3], out_shape=[3]))
    b = ModelBuilder()
    c = b.input("c", [3], np.float32)
    x = b.input("x", [3])
    z = b.tensor("out", [3])
    b.op("SELECT_V2", [c, x, x], [z])
    b.output(z)
    fails(b.build())


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
def test_zeros_like(dtype):
    check(unary_model("ZEROS_LIKE", [2, 5], dtype), [rand([2, 5], dtype)])


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
@pytest.mark.parametrize("count", [2, 3, 5])
def test_add_n(dtype, count):
    shape = [3, 4]
    b = ModelBuilder()
    xs = [b.input("x%d" % i, shape, dtype) for i in range(count)]
    z = b.tensor("out", shape, dtype)
    b.op("ADD_N", xs, [z])
    b.output(z)
    check(b.build(), [rand(shape, dtype) for _ in range(count)])


def test_add_n_bad_shapes():
    b = ModelBuilder()
    x = b.input("x", [3, 4])
    y = b.input("y", [4])
    z = b.tensor("out", [3, 4])
    b.op("ADD_N", [x, y], [z])
    b.output(z)
    fails(b.build())
