"""Python side of UNIDIRECTIONAL_SEQUENCE_LSTM: float32 (csrc/ops/nn/lstm.c), hybrid float32 with
int8 weights (csrc/ops/nn/lstm_hybrid.c) and the full-integer int8 LSTM with int16 cell state
(csrc/ops/nn/lstm_int8.c)."""
import math

import numpy as np

from ._base import F32, I8, I16, I32, U8, op


# float32: ip: [activation, time_major, T, B, n_input, n_cell, n_output]; fp: [cell_clip, proj_clip]
#     (csrc/ops/nn/lstm.c)
# hybrid: see _prepare_hybrid below (csrc/ops/nn/lstm_hybrid.c)
# int8: see _prepare_int8 below (csrc/ops/nn/lstm_int8.c)
@op("UNIDIRECTIONAL_SEQUENCE_LSTM")
def unidirectional_sequence_lstm(node):
    node.check_counts(1, 24)
    if len(node.inputs) not in (20, 24):
        node.fail("takes 20 or 24 inputs, the model gives %d", len(node.inputs))
    for i in (0, 2, 3, 4, 6, 7, 8, 13, 14, 15, 18, 19):
        node.input(i)
    x, out = node.input(0), node.outputs[0]
    integer = x.type == I8
    # TFLite picks the hybrid kernel from the input-to-output weights' type
    hybrid = x.type == F32 and node.input(4).type in (I8, U8)
    if integer:
        _check_int8_types(node)
    elif hybrid:
        _check_hybrid_types(node)
    elif any(t is not None and t.type != F32 for t in node.inputs) or out.type != F32:
        node.fail("LSTMs must be float32 throughout or full-integer int8 (input type %s)", x.type_name)
    node.check_rank(x, 3, what="input")
    time_major = bool(node.opt("time_major", False))
    steps, batch = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    n_in = x.shape[2]
    n_cell = node.input(4).shape[0] if node.input(4).rank == 2 else -1
    n_out = node.input(8).shape[1] if node.input(8).rank == 2 else -1
    if n_cell < 0 or n_out < 0:
        node.fail("weights must be matrices")

    def expect(i, shape, what):
        t = node.optional_input(i)
        if t is None:
            return None
        if tuple(t.shape) != tuple(shape):
            node.fail("%s (input %d) has shape %s, expected %s", what, i, list(t.shape), list(shape))
        return t

    cifg = node.optional_input(1) is None
    for i in (1, 2, 3, 4):
        expect(i, (n_cell, n_in), "input weights")
    for i in (5, 6, 7, 8):
        expect(i, (n_cell, n_out), "recurrent weights")
    if cifg != (node.optional_input(5) is None):
        node.fail("input-to-input and recurrent-to-input weights must both be present or absent")
    for i in (9, 10, 11, 12, 13, 14, 15):
        expect(i, (n_cell,), "peephole / bias")
    if not cifg and node.optional_input(12) is None:
        node.fail("the input gate bias is required without CIFG")
    peepholes = [node.optional_input(i) is not None for i in (10, 11)]
    if any(peepholes) and not all(peepholes):
        node.fail("forget and output peepholes must both be present or absent")
    if all(peepholes) and not cifg and node.optional_input(9) is None:
        node.fail("the input gate peephole is required with peepholes and without CIFG")
    proj = expect(16, (n_out, n_cell), "projection weights")
    expect(17, (n_out,), "projection bias")
    if proj is None and n_out != n_cell:
        node.fail("without projection the output size (%d) must equal the cell size (%d)", n_out, n_cell)
    expect(18, (batch, n_out), "output state")
    expect(19, (batch, n_cell), "cell state")
    for i in (18, 19):
        if node.input(i).const is not None:
            node.fail("state input %d must be a variable tensor, not a constant", i)
    ln = [node.optional_input(i) is not None for i in range(20, 24)]
    if any(ln):
        if not all(ln[1:]) or ln[0] == cifg:
            node.fail("layer norm coefficients must be given for every gate that exists")
        for i in range(20, 24):
            expect(i, (n_cell,), "layer norm coefficients")
    node.set_output_shape(0, (steps, batch, n_out) if time_major else (batch, steps, n_out))
    if integer:
        _prepare_int8(node, time_major, steps, batch, n_in, n_cell, n_out, cifg, any(ln))
        return
    act = node.activation()
    if act not in (0, 1, 2, 3, 4):
        node.fail("unsupported cell activation %d", act)
    cell_clip, proj_clip = float(node.opt("cell_clip", 0.0)), float(node.opt("proj_clip", 0.0))
    if cell_clip < 0 or proj_clip < 0:
        node.fail("clip values must be non-negative")
    node.ip = [act, int(time_major), steps, batch, n_in, n_cell, n_out]
    node.fp = [cell_clip, proj_clip]
    if hybrid:
        _prepare_hybrid(node)


# Hybrid input index -> required type (absent optional inputs are skipped): int8 weights, float
# everything else.
_HYBRID_TYPES = {i: (I8 if i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16) else F32) for i in range(24)}


def _check_hybrid_types(node):
    for i, t in enumerate(node.inputs):
        if t is None:
            continue
        want = _HYBRID_TYPES[i]
        if t.type != want:
            if want == I8 and t.type == U8:
                node.fail("hybrid LSTM: uint8 weights (input %d) are not supported, only int8", i)
            node.fail("hybrid LSTM: input %d (%s) has type %s, expected %s", i, _ROLES[i], t.type_name,
                      "int8" if want == I8 else "float32")
        if want == I8:
            if t.const is None:
                node.fail("hybrid LSTM: int8 weights must be constant (input %d is not)", i)
            if not t.quantized or not len(t.scales):
                node.fail("hybrid LSTM: int8 weights (input %d) must carry a quantization scale", i)
    if node.outputs[0].type != F32:
        node.fail("hybrid LSTM: the output has type %s, expected float32", node.outputs[0].type_name)


# ip: [activation, time_major, T, B, n_input, n_cell, n_output, asymmetric_quantize_inputs]
# fp: [cell_clip, proj_clip, input-to-{i, f, c, o} scale, recurrent-to-{i, f, c, o} scale,
#      cell-to-{i, f, o} scale, projection scale]   (csrc/ops/nn/lstm_hybrid.c)
def _prepare_hybrid(node):
    """TFLite's hybrid LSTM reads one scale per weight tensor, its legacy per-tensor scale, and
    treats the int8 values as symmetric (zero points are not used). A per-channel tensor has no
    legacy scale (TFLite leaves it 0), so TFLite's products with it come out as zero; that is
    reproduced here rather than refused, to give the reference's results."""
    def scale(i):
        t = node.optional_input(i)
        if t is None:
            return 1.0
        if len(t.scales) > 1:
            return 0.0
        s = float(np.float32(t.scales[0]))
        if not (math.isfinite(s) and s > 0):
            node.fail("hybrid LSTM: weights (input %d) have a non-positive or non-finite scale", i)
        return s

    node.ip.append(int(bool(node.opt("asymmetric_quantize_inputs", False))))
    node.fp += [scale(i) for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16)]


# Input index -> required type of the full-integer LSTM (absent optional inputs are skipped).
_INT8_TYPES = {0: I8, 1: I8, 2: I8, 3: I8, 4: I8, 5: I8, 6: I8, 7: I8, 8: I8, 9: I16, 10: I16, 11: I16,
               12: I32, 13: I32, 14: I32, 15: I32, 16: I8, 17: I32, 18: I8, 19: I16,
               20: I16, 21: I16, 22: I16, 23: I16}
_ROLES = ("input",) + ("weights",) * 8 + ("peephole",) * 3 + ("gate bias",) * 4 + (
    "projection weights", "projection bias", "output state", "cell state") + ("layer norm coefficients",) * 4


def _check_int8_types(node):
    for i, t in enumerate(node.inputs):
        if t is not None and t.type != _INT8_TYPES[i]:
            node.fail("full-integer LSTM: input %d (%s) has type %s, expected %s", i, _ROLES[i], t.type_name,
                      {I8: "int8", I16: "int16", I32: "int32"}[_INT8_TYPES[i]])
    if node.outputs[0].type != I8:
        node.fail("full-integer LSTM: the output has type %s, expected int8", node.outputs[0].type_name)


def _f32(x):
    return np.float32(x)


def _checked_log2(scale):
    """TFLite's CheckedLog2, in float32: (rounded log2, whether the scale is a power of two)."""
    x_log2 = _f32(np.log(_f32(scale))) * (_f32(1.0) / _f32(np.log(_f32(2.0))))
    rounded = _f32(math.copysign(math.floor(abs(float(x_log2)) + 0.5), float(x_log2)))
    return int(rounded), abs(float(_f32(x_log2 - rounded))) < 1e-3


# ip: [time_major, T, B, n_input, n_cell, n_output, input_zp, output_state_zp, hidden_zp,
#      cell_scale_log2, quantized_cell_clip, quantized_proj_clip, layer_norm,
#      variance_guard_{input, forget, cell, output}]
# fp: effective scales [input-to-{i, f, c, o}, recurrent-to-{i, f, c, o}, cell-to-{i, f, o},
#      projection, hidden, layer-norm-{i, f, c, o}]   (csrc/ops/nn/lstm_int8.c)
def _prepare_int8(node, time_major, steps, batch, n_in, n_cell, n_out, cifg, layer_norm):
    """The scales and zero points of TFLite's 8x8->16 integer LSTM, computed in float32 in the
    same order as its prepare, so that the multipliers come out identical."""
    ins = node.inputs
    if n_cell < 1 or n_out < 1:
        node.fail("full-integer LSTM: the cell and output sizes must be positive (%d, %d)", n_cell, n_out)

    def present(i):
        return node.optional_input(i) is not None

    def scale_of(i, what):
        t = ins[i]
        if not t.quantized:
            node.fail("full-integer LSTM: %s (input %d) is not quantized", what, i)
        if len(t.scales) != 1:
            node.fail("full-integer LSTM: %s (input %d) must be quantized per tensor, not per channel", what, i)
        s = float(t.scales[0])
        if not (math.isfinite(s) and s > 0):
            node.fail("full-integer LSTM: %s (input %d) has a non-positive or non-finite scale", what, i)
        return _f32(s)

    for i in list(range(1, 9)) + list(range(12, 18)):
        if present(i) and ins[i].const is None:
            node.fail("full-integer LSTM: weights and biases must be constant (input %d is not)", i)
    for i in (0, 18, 19):
        t = ins[i]
        if t.quantized and any(int(z) != 0 for z in t.zero_points[1:]):
            node.fail("full-integer LSTM: input %d must be quantized per tensor", i)
    if len(node.intermediates) != 5:
        node.fail("full-integer LSTM needs the converter's 5 intermediate tensors, the model has %d",
                  len(node.intermediates))
    peephole = present(11)
    projection = present(16)
    if peephole and n_out > n_cell:
        # TFLite's integer peephole walks n_output entries of the n_cell-long weights
        node.fail("full-integer LSTM with peepholes needs n_output <= n_cell (%d > %d)", n_out, n_cell)

    def inter(i):
        t = node.intermediates[i]
        if t is None or not t.quantized:
            node.fail("full-integer LSTM: intermediate tensor %d must be quantized", i)
        s = float(t.scales[0])
        if not (math.isfinite(s) and s > 0):
            node.fail("full-integer LSTM: intermediate tensor %d has a non-positive scale", i)
        return _f32(s), int(t.zero_points[0])

    gate_scale = [inter(i)[0] if layer_norm else _f32(2.0 ** -12) for i in range(4)]
    hidden_scale, hidden_zp = inter(4)
    x_scale, x_zp = scale_of(0, "input"), ins[0].zero_point
    h_scale, h_zp = scale_of(18, "output state"), ins[18].zero_point
    c_scale = scale_of(19, "cell state")
    out = node.outputs[0]
    if not out.quantized or not float(out.scales[0]) > 0:
        node.fail("full-integer LSTM: the output must be quantized")
    out_scale = _f32(out.scales[0])
    cell_log2, exact = _checked_log2(c_scale)
    if not exact:
        node.fail("full-integer LSTM: the cell state scale %g is not a power of two", float(c_scale))
    if not -30 <= cell_log2 <= 1:
        node.fail("full-integer LSTM: the cell state scale 2^%d is outside 2^-30..2^1", cell_log2)
    if not -15 <= cell_log2 <= -9 and cifg:
        # TFLite evaluates tanh(cell) with 15 + log2(scale) integer bits and skips it outside
        # 0..6, reading the scratch the input gate would use; under CIFG that is never written
        node.fail("full-integer CIFG LSTM: the cell state scale 2^%d is outside 2^-15..2^-9", cell_log2)

    one = _f32(1.0)
    w_in = [scale_of(1 + g, "input weights") if present(1 + g) else one for g in range(4)]
    w_rec = [scale_of(5 + g, "recurrent weights") if present(5 + g) else one for g in range(4)]
    eff_in = [w_in[g] * x_scale / gate_scale[g] if present(1 + g) else one for g in range(4)]
    eff_rec = [w_rec[g] * h_scale / gate_scale[g] if present(5 + g) else one for g in range(4)]
    eff_peep = []
    for g, i in ((0, 9), (1, 10), (3, 11)):
        if peephole and present(i):
            eff_peep.append(_f32(2.0 ** cell_log2 * float(scale_of(i, "peephole")) / float(gate_scale[g])))
        else:
            eff_peep.append(one)
    eff_proj = scale_of(16, "projection weights") * hidden_scale / h_scale if projection else one
    eff_hidden = _f32(2.0 ** -15 / float(hidden_scale) * 2.0 ** -15)
    ln_scale = [scale_of(20 + g, "layer norm coefficients") if layer_norm and present(20 + g) else one
                for g in range(4)]
    guards = [max(1, int(_f32(10000) * ln_scale[g])) for g in range(4)]

    def clip(value, scale, lo, hi):
        return int(min(max(float(_f32(value) / scale), lo), hi)) if value > 0 else 0

    cell_clip = float(node.opt("cell_clip", 0.0))
    proj_clip = float(node.opt("proj_clip", 0.0))
    if cell_clip < 0 or proj_clip < 0:
        node.fail("clip values must be non-negative")
    q_cell_clip = clip(cell_clip, c_scale, -32768.0, 32767.0)
    q_proj_clip = clip(proj_clip, out_scale, -128.0, 127.0)

    fp = eff_in + eff_rec + eff_peep + [eff_proj, eff_hidden] + ln_scale
    for k, v in enumerate(fp):
        if not (math.isfinite(float(v)) and float(v) > 0):
            node.fail("full-integer LSTM: effective scale %d is not a positive finite number (%r)", k, float(v))
    node.ip = [int(time_major), steps, batch, n_in, n_cell, n_out, x_zp, h_zp, hidden_zp, cell_log2,
               q_cell_clip, q_proj_clip, int(layer_norm)] + guards
    node.fp = [float(v) for v in fp]
