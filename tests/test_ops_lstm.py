"""Differential tests of UNIDIRECTIONAL_SEQUENCE_LSTM against the reference runtime.

float32 within a small tolerance (default resolver); the full-integer int8 LSTM (int16 cell
state, the converter's five intermediate tensors) bit-exactly against TFLite's reference
kernels (resolver="ref")."""
import numpy as np
import pytest

from tflite_rt import interpreter as ours
from tflite_rt.builder import ModelBuilder
from tflite_rt.interpreter import Interpreter

from harness import assert_matches_reference, reference_module

RNG = np.random.default_rng(1234)


def rejects(model):
    with pytest.raises(ValueError):
        Interpreter(model_content=model).allocate_tensors()


# --- float32 ------------------------------------------------------------------------------

def lstm_model(batch=2, steps=5, n_in=3, n_cell=4, n_out=None, time_major=False, cifg=False,
               peephole=False, layer_norm=False, cell_clip=0.0, proj_clip=0.0):
    projection = n_out is not None
    n_out = n_out or n_cell
    m = ModelBuilder()
    x = m.input("x", [steps, batch, n_in] if time_major else [batch, steps, n_in])

    def c(name, shape, scale=0.5):
        return m.constant(name, (RNG.standard_normal(shape) * scale).astype(np.float32))

    ins = [x]
    ins += [-1 if cifg and g == "i" else c("wx" + g, (n_cell, n_in)) for g in "ifco"]
    ins += [-1 if cifg and g == "i" else c("wh" + g, (n_cell, n_out)) for g in "ifco"]
    ins += [c("p" + g, (n_cell,)) if peephole and not (cifg and g == "i") else -1 for g in "ifo"]
    ins += [-1 if cifg and g == "i" else c("b" + g, (n_cell,)) for g in "ifco"]
    ins += [c("proj", (n_out, n_cell)), c("projb", (n_out,))] if projection else [-1, -1]
    ins += [m.tensor("h", [batch, n_out], is_variable=True), m.tensor("c", [batch, n_cell], is_variable=True)]
    ins += [c("ln" + g, (n_cell,)) if layer_norm and not (cifg and g == "i") else -1 for g in "ifco"]
    y = m.tensor("y", [1])
    m.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y], fused_activation_function="TANH",
         time_major=time_major, cell_clip=cell_clip, proj_clip=proj_clip)
    m.output(y)
    return m.build()


LSTM_CASES = [
    dict(),
    dict(time_major=True, batch=3),
    dict(cifg=True),
    dict(peephole=True),
    dict(cifg=True, peephole=True),
    dict(n_out=3, proj_clip=0.3),
    dict(cell_clip=0.5),
    dict(layer_norm=True),
    dict(layer_norm=True, cifg=True, peephole=True, n_out=2),
]


def case_id(c):
    return ",".join("%s=%s" % kv for kv in c.items()) or "base"


@pytest.mark.parametrize("case", LSTM_CASES, ids=case_id)
def test_lstm(case):
    assert_matches_reference(lstm_model(**case), rtol=1e-5, atol=1e-6)


def run_sequence(module, model, x, invokes=3, **kwargs):
    it = module.Interpreter(model_content=model, **kwargs)
    it.allocate_tensors()
    got = []
    for _ in range(invokes):
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        got.append(it.get_tensor(it.get_output_details()[0]["index"]))
    return got


def test_lstm_state_persists_across_invokes():
    model = lstm_model(n_out=3)
    ref = reference_module()
    shape = tuple(Interpreter(model_content=model).get_input_details()[0]["shape"])
    x = RNG.standard_normal(shape).astype(np.float32)
    got, expected = run_sequence(ours, model, x), run_sequence(ref, model, x)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got[0], got[1])


def test_bad_lstm_state_shape():
    m = ModelBuilder()
    x = m.input("x", [2, 5, 3])
    ins = [x] + [m.constant("w%d" % i, np.zeros((4, 3), np.float32)) for i in range(4)]
    ins += [m.constant("r%d" % i, np.zeros((4, 4), np.float32)) for i in range(4)]
    ins += [-1, -1, -1] + [m.constant("b%d" % i, np.zeros(4, np.float32)) for i in range(4)] + [-1, -1]
    ins += [m.tensor("h", [2, 4], is_variable=True), m.tensor("c", [3, 4], is_variable=True)]
    ins += [-1, -1, -1, -1]
    y = m.tensor("y", [1])
    m.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y], fused_activation_function="TANH")
    m.output(y)
    rejects(m.build())


# --- full integer: int8 activations and weights, int16 cell state ------------------------

def lstm_int8_model(batch=2, steps=5, n_in=3, n_cell=4, n_out=None, time_major=False, cifg=False,
                    peephole=False, layer_norm=False, cell_clip=0.0, proj_clip=0.0, cell_log2=-11,
                    x_zp=-5, h_zp=4, hidden_zp=-3, seed=0, mutate=None):
    """An int8 LSTM quantized the way the TFLite converter lays it out. `mutate(ins, m)` may
    edit the input list before the op is added (for the rejection tests)."""
    rng = np.random.default_rng(seed)
    projection = n_out is not None
    n_out = n_out or n_cell
    m = ModelBuilder()
    x_q, h_q = (0.03, x_zp), (1.0 / 128, h_zp)
    x = m.input("x", [steps, batch, n_in] if time_major else [batch, steps, n_in], np.int8, x_q)

    def weights(name, rows, cols):
        scale = 1.0 / (127 * np.sqrt(cols)) * rng.uniform(1.0, 2.5)
        return m.constant(name, rng.integers(-127, 128, (rows, cols)).astype(np.int8), quantization=(scale, 0))

    def vec(name, n, dtype, scale, span):
        return m.constant(name, rng.integers(-span, span + 1, n).astype(dtype), quantization=(scale, 0))

    gate_scale = [rng.uniform(0.5, 2.0) * 2.0 ** -11 for _ in range(4)]
    ins = [x]
    ins += [-1 if cifg and g == "i" else weights("wx" + g, n_cell, n_in) for g in "ifco"]
    ins += [-1 if cifg and g == "i" else weights("wh" + g, n_cell, n_out) for g in "ifco"]
    ins += [vec("p" + g, n_cell, np.int16, 0.6 / 32767, 32767) if peephole and not (cifg and g == "i") else -1
            for g in "ifo"]
    bias_scale = 0.03 / 127
    ins += [-1 if cifg and g == "i" else vec("b" + g, n_cell, np.int32, bias_scale, 3000) for g in "ifco"]
    if projection:
        ins += [weights("proj", n_out, n_cell), vec("projb", n_out, np.int32, 1e-4, 3000)]
    else:
        ins += [-1, -1]
    ins += [m.tensor("h", [batch, n_out], np.int8, h_q, is_variable=True),
            m.tensor("c", [batch, n_cell], np.int16, (2.0 ** cell_log2, 0), is_variable=True)]
    ins += [vec("ln" + g, n_cell, np.int16, 1.0 / 16384, 24000) if layer_norm and not (cifg and g == "i") else -1
            for g in "ifco"]
    if layer_norm:
        inter = [m.tensor("inter%d" % g, [0], np.int16, (gate_scale[g], 0)) for g in range(4)]
    else:
        inter = [m.tensor("inter%d" % g, [0], np.float32) for g in range(4)]
    inter.append(m.tensor("hidden", [0], np.int8, (1.0 / 128 if projection else h_q[0], hidden_zp)))
    y = m.tensor("y", [1], np.int8, h_q)
    if mutate:
        mutate(ins, m, inter)
    m.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y], intermediates=inter, fused_activation_function="TANH",
         time_major=time_major, cell_clip=cell_clip, proj_clip=proj_clip)
    m.output(y)
    return m.build()


INT8_CASES = [
    dict(),
    dict(batch=1, steps=1, n_in=1, n_cell=1),
    dict(batch=3, steps=7, n_in=5, n_cell=8),
    dict(time_major=True, batch=3),
    dict(x_zp=0, h_zp=0, hidden_zp=0),
    dict(cifg=True),
    dict(peephole=True),
    dict(cifg=True, peephole=True),
    dict(n_out=3, n_cell=6),
    dict(n_out=3, n_cell=6, proj_clip=0.2),
    dict(n_out=6, n_cell=4),
    dict(cell_clip=0.5),
    dict(layer_norm=True),
    dict(layer_norm=True, n_cell=8, n_in=5, batch=3),
    dict(layer_norm=True, cifg=True),
    dict(layer_norm=True, n_cell=6),  # TFLite's integer variance assumes a power-of-two width
    dict(batch=2, steps=9, n_in=20, n_cell=32, n_out=12, layer_norm=True, peephole=True),
    dict(layer_norm=True, peephole=True, n_out=3, n_cell=8, time_major=True, batch=2),
    dict(layer_norm=True, cifg=True, peephole=True, n_out=2, proj_clip=0.1, cell_clip=1.0),
    dict(peephole=True, n_out=3, n_cell=6, time_major=True, batch=3),
    dict(cell_log2=-15),
    dict(cell_log2=-9),
    dict(cell_log2=-12, peephole=True),
    # outside TFLite's 0..6 tanh integer bits the input gate stands in for tanh(cell)
    dict(cell_log2=-16),
    dict(cell_log2=-8, n_out=3, n_cell=5),
]


@pytest.mark.parametrize("case", INT8_CASES, ids=case_id)
def test_lstm_int8(case):
    for seed in range(3):
        assert_matches_reference(lstm_int8_model(seed=seed, **case), seed=seed, resolver="ref")


def test_lstm_int8_also_matches_default_resolver():
    assert_matches_reference(lstm_int8_model(layer_norm=True, peephole=True, n_out=3, n_cell=6))


def test_lstm_int8_state_persists_across_invokes():
    model = lstm_int8_model(n_out=3, n_cell=5, layer_norm=True)
    ref = reference_module()
    shape = tuple(Interpreter(model_content=model).get_input_details()[0]["shape"])
    x = RNG.integers(-128, 128, shape).astype(np.int8)
    got = run_sequence(ours, model, x)
    expected = run_sequence(ref, model, x, experimental_op_resolver_type=ref.OpResolverType.BUILTIN_REF)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(got[0], got[1])


def _set(i, dtype=None, quant="keep", const=True):
    def mutate(ins, m, inter):
        shape = [4, 3] if i in range(1, 5) else ([4, 4] if i in range(5, 9) else [4])
        if const:
            value = np.zeros(shape, dtype)
            ins[i] = m.constant("bad", value, quantization=None if quant is None else (0.01, 0))
        else:
            ins[i] = m.tensor("bad", shape, dtype, (0.01, 0))
    return mutate


def _drop_intermediates(ins, m, inter):
    del inter[:]


def _per_channel_weights(ins, m, inter):
    ins[2] = m.constant("pc", np.ones((4, 3), np.int8), quantization={"scale": [0.1, 0.2, 0.3, 0.4],
                                                                       "zero_point": 0})


def _cell_scale(scale):
    def mutate(ins, m, inter):
        ins[19] = m.tensor("c2", [2, 4], np.int16, (scale, 0), is_variable=True)
    return mutate


def _unquantized_hidden(ins, m, inter):
    inter[4] = m.tensor("hidden2", [0], np.int8)


@pytest.mark.parametrize("mutate", [
    _set(2, np.int16),                  # int16 weights
    _set(13, np.int8),                  # int8 bias
    _set(13, np.int32, const=False),    # non-constant bias
    _set(3, np.int8, quant=None),       # unquantized weights
    _drop_intermediates,
    _per_channel_weights,
    _cell_scale(0.001),                 # not a power of two
    _cell_scale(2.0 ** -31),
    _unquantized_hidden,
], ids=["int16_weights", "int8_bias", "variable_bias", "unquantized_weights", "no_intermediates",
        "per_channel", "cell_scale_not_pot", "cell_scale_tiny", "unquantized_hidden"])
def test_bad_int8_lstm(mutate):
    rejects(lstm_int8_model(mutate=mutate))


def test_int8_cifg_with_out_of_range_cell_scale_is_refused():
    # TFLite would read scratch memory that was never written
    rejects(lstm_int8_model(cifg=True, cell_log2=-16))


def test_int8_peephole_with_wider_output_is_refused():
    rejects(lstm_int8_model(peephole=True, n_out=6, n_cell=4))


def test_mixed_float_int8_is_refused():
    def mutate(ins, m, inter):
        ins[2] = m.constant("f", np.zeros((4, 3), np.float32))
    rejects(lstm_int8_model(mutate=mutate))


# --- float32 quirks of TFLite's kernel ------------------------------------------------------

def _with_activation(model_fn, act):
    orig = ModelBuilder.op

    def op(self, name, ins, outs, **kw):
        kw["fused_activation_function"] = act
        return orig(self, name, ins, outs, **kw)
    ModelBuilder.op = op
    try:
        return model_fn()
    finally:
        ModelBuilder.op = orig


def _zeroed(shape, time_major, how, seed=0):
    """Random input with some rows zero: `row` zeroes batch row 0 (time major: all of step 0),
    `step` zeroes every row of step 1 (time major: only batch row 0 of step 1)."""
    x = np.random.default_rng(seed).uniform(-3, 3, shape).astype(np.float32)
    if how == "row":
        x[0] = 0
    elif how == "step":
        if time_major:
            x[1, 0] = 0
        else:
            x[:, 1] = 0
    elif how == "all":
        x[:] = 0
    return x


@pytest.mark.parametrize("how", [None, "row", "step"])
@pytest.mark.parametrize("case", [dict(), dict(cifg=True), dict(n_out=3), dict(time_major=True, batch=3),
                                  dict(layer_norm=True), dict(layer_norm=True, time_major=True, batch=3)], ids=case_id)
def test_lstm_without_cell_activation(case, how):
    # TFLite's activation step writes nothing for NONE: the output multiplies the cell gate, and a
    # skipped all-zero input product leaves the cell gate at its bias
    model = _with_activation(lambda: lstm_model(**case), "NONE")
    shape = tuple(Interpreter(model_content=model).get_input_details()[0]["shape"])
    x = _zeroed(shape, case.get("time_major", False), how)
    assert_matches_reference(model, [x], rtol=1e-5, atol=1e-6)


# --- hybrid: float32 activations, int8 constant weights --------------------------------------

def _int8_weights(m, name, w, per_channel=False):
    if per_channel:
        s = np.abs(w).max(axis=1) / 127.0
        s[s == 0] = 1.0
        q = np.clip(np.round(w / s[:, None]), -127, 127).astype(np.int8)
        return m.constant(name, q, quantization={"scale": [float(v) for v in s], "zero_point": [0] * len(s),
                                                 "quantized_dimension": 0})
    s = float(np.abs(w).max()) / 127.0 or 1.0
    return m.constant(name, np.clip(np.round(w / s), -127, 127).astype(np.int8), quantization=(s, 0))


def lstm_hybrid_model(batch=2, steps=5, n_in=3, n_cell=4, n_out=None, time_major=False, cifg=False,
                      peephole=False, layer_norm=False, cell_clip=0.0, proj_clip=0.0, asymmetric=False,
                      per_channel=False, act="TANH", seed=0, mutate=None):
    """A dynamic-range LSTM as the converter writes it: the float LSTM's layout with int8
    symmetric weights (peepholes and projection included), float biases and states."""
    rng = np.random.default_rng(seed)
    projection = n_out is not None
    n_out = n_out or n_cell
    m = ModelBuilder()
    x = m.input("x", [steps, batch, n_in] if time_major else [batch, steps, n_in])

    def w(name, shape):
        return _int8_weights(m, name, (rng.standard_normal(shape) * 0.5).astype(np.float32), per_channel)

    def f(name, shape):
        return m.constant(name, (rng.standard_normal(shape) * 0.5).astype(np.float32))

    ins = [x]
    ins += [-1 if cifg and g == "i" else w("wx" + g, (n_cell, n_in)) for g in "ifco"]
    ins += [-1 if cifg and g == "i" else w("wh" + g, (n_cell, n_out)) for g in "ifco"]
    ins += [_int8_weights(m, "p" + g, (rng.standard_normal(n_cell) * 0.5).astype(np.float32))
            if peephole and not (cifg and g == "i") else -1 for g in "ifo"]
    ins += [-1 if cifg and g == "i" else f("b" + g, (n_cell,)) for g in "ifco"]
    ins += [w("proj", (n_out, n_cell)), f("projb", (n_out,))] if projection else [-1, -1]
    ins += [m.tensor("h", [batch, n_out], is_variable=True), m.tensor("c", [batch, n_cell], is_variable=True)]
    ins += [f("ln" + g, (n_cell,)) if layer_norm and not (cifg and g == "i") else -1 for g in "ifco"]
    if mutate:
        mutate(ins, m)
    y = m.tensor("y", [1])
    m.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y], fused_activation_function=act, time_major=time_major,
         cell_clip=cell_clip, proj_clip=proj_clip, asymmetric_quantize_inputs=asymmetric)
    m.output(y)
    return m.build()


def assert_hybrid_matches(model, x, invokes=2, rel=1e-5):
    """Within rel of the output range, against both the default and the builtin resolver, over
    several invokes (the state carries over)."""
    ref = reference_module()
    got = np.stack(run_sequence(ours, model, x, invokes))
    for kwargs in ({}, {"experimental_op_resolver_type": ref.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}):
        expected = np.stack(run_sequence(ref, model, x, invokes, **kwargs))
        assert got.shape == expected.shape and got.dtype == expected.dtype
        diff = float(np.abs(got - expected).max())
        assert diff <= rel * max(float(np.abs(expected).max()), 1e-3), "max diff %g" % diff


HYBRID_CASES = [
    dict(),
    dict(batch=1, steps=1, n_in=1, n_cell=1),
    dict(time_major=True, batch=3),
    dict(cifg=True),
    dict(peephole=True),
    dict(cifg=True, peephole=True),
    dict(n_out=3, proj_clip=0.3),
    dict(n_out=6, n_cell=4, time_major=True),
    dict(cell_clip=0.5),
    dict(layer_norm=True),
    dict(layer_norm=True, cifg=True, peephole=True, n_out=2),
    dict(act="RELU"),
    dict(act="RELU6", n_out=2),
    dict(act="RELU_N1_TO_1", time_major=True),
    dict(act="NONE"),
    dict(act="NONE", n_out=3, time_major=True, batch=3),
    dict(batch=3, steps=9, n_in=40, n_cell=64, n_out=24, peephole=True),
    dict(batch=4, steps=6, n_in=256, n_cell=128, n_out=64, layer_norm=True, peephole=True, time_major=True),
    dict(batch=2, steps=20, n_in=33, n_cell=17, cell_clip=0.9, proj_clip=0.2, n_out=5),
]
# Gates go through sigmoid / tanh, which differ from TFLite's (Eigen's) by an ulp now and then;
# when a value then sits exactly on a rounding tie of the next step's int8 quantization, that
# ulp moves it by one quantization step (about 1e-5 of the cases). The cases above avoid that.


@pytest.mark.parametrize("asymmetric", [False, True], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("case", HYBRID_CASES, ids=case_id)
def test_lstm_hybrid(case, asymmetric):
    for seed in range(2):
        model = lstm_hybrid_model(asymmetric=asymmetric, seed=seed, **case)
        shape = tuple(Interpreter(model_content=model).get_input_details()[0]["shape"])
        x = np.random.default_rng(seed).uniform(-3, 3, shape).astype(np.float32)
        assert_hybrid_matches(model, x)


@pytest.mark.parametrize("how", ["row", "step", "all"])
@pytest.mark.parametrize("case", [dict(n_out=3, peephole=True), dict(time_major=True, batch=3, n_out=3),
                                  dict(act="NONE", layer_norm=True), dict(act="NONE", time_major=True, batch=3)],
                         ids=case_id)
@pytest.mark.parametrize("asymmetric", [False, True], ids=["symmetric", "asymmetric"])
def test_lstm_hybrid_zero_rows(case, how, asymmetric):
    # TFLite skips the products of all-zero rows (and of an all-zero projection input)
    model = lstm_hybrid_model(asymmetric=asymmetric, **case)
    shape = tuple(Interpreter(model_content=model).get_input_details()[0]["shape"])
    assert_hybrid_matches(model, _zeroed(shape, case.get("time_major", False), how))


@pytest.mark.parametrize("case", [dict(), dict(n_out=3, peephole=True, time_major=True)], ids=case_id)
def test_lstm_hybrid_per_channel_weights(case):
    # TFLite's hybrid LSTM only reads a per-tensor scale, which per-channel tensors leave at 0:
    # their products vanish, and so they do here
    model = lstm_hybrid_model(per_channel=True, **case)
    shape = tuple(Interpreter(model_content=model).get_input_details()[0]["shape"])
    assert_hybrid_matches(model, np.random.default_rng(3).uniform(-3, 3, shape).astype(np.float32))


def _hybrid_set(i, value, quantization="default", const=True):
    def mutate(ins, m):
        if not const:
            ins[i] = m.tensor("bad", list(value.shape), value.dtype, (0.01, 0))
            return
        q = (0.01, 0) if quantization == "default" else quantization
        ins[i] = m.constant("bad", value, quantization=q)
    return mutate


@pytest.mark.parametrize("mutate", [
    _hybrid_set(2, np.zeros((4, 3), np.uint8)),                        # uint8 weights
    _hybrid_set(2, np.zeros((4, 3), np.float32), quantization=None),   # float among int8 weights
    _hybrid_set(6, np.zeros((4, 4), np.int8), const=False),            # variable weights
    _hybrid_set(3, np.zeros((4, 3), np.int8), quantization=None),      # int8 weights with no scale
    _hybrid_set(10, np.zeros(4, np.float32), quantization=None),       # float peephole
    _hybrid_set(13, np.zeros(4, np.int32)),                            # integer bias
    _hybrid_set(3, np.zeros((4, 3), np.int8), quantization=(0.0, 0)),  # zero scale
], ids=["uint8_weights", "float_weight", "variable_weights", "unquantized", "float_peephole", "int32_bias",
        "zero_scale"])
def test_bad_hybrid_lstm(mutate):
    rejects(lstm_hybrid_model(peephole=True, mutate=mutate))
