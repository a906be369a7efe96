"""Untrusted models: every malformed model is refused with a ValueError naming what is wrong,
before anything reaches C; fuzzing finds stay fixed (tests/fuzz/regressions/)."""
import os
import struct
import sys
import time

import numpy as np
import pytest

from tflite_rt import _flatbuffer, interpreter as ours
from tflite_rt.builder import ModelBuilder
from tflite_rt.model import MAX_CALL_DEPTH

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fuzz"))
import fuzzlib  # noqa: E402
import runner  # noqa: E402

REGRESSIONS = os.path.join(HERE, "fuzz", "regressions")


def add_chain():
    """x -> ADD(c) -> y -> MUL(x) -> z: two ops, a constant, per-tensor int8 quantization."""
    b = ModelBuilder()
    q = {"scale": 0.05, "zero_point": -3}
    x = b.input("x", [2, 3], np.int8, quantization=q)
    c = b.constant("c", np.ones(3, np.int8), quantization=q)
    y = b.tensor("y", [2, 3], np.int8, quantization=q)
    b.op("ADD", [x, c], [y])
    z = b.tensor("z", [2, 3], np.int8, quantization=q)
    b.op("MUL", [y, x], [z])
    b.output(z)
    return b.build()


def edited(model, edit):
    """The model after `edit(root)` changed its decoded tree."""
    root = _flatbuffer.read(model)
    edit(root)
    return _flatbuffer.write(root)


def refused(model, match):
    with pytest.raises(ValueError, match=match):
        ours.Interpreter(model_content=model)


def tensor(root, i, sg=0):
    return root.subgraphs[sg].tensors[i]


def test_the_chain_runs():
    it = ours.Interpreter(model_content=add_chain())
    it.allocate_tensors()
    it.set_tensor(0, np.ones((2, 3), np.int8))
    it.invoke()


# -- structure and indices ---------------------------------------------------------------------

@pytest.mark.parametrize("cut", [0, 4, 7, 8, 16, 64, 200, -200, -17, -1])
def test_truncated_files_are_refused(cut):
    model = add_chain()
    with pytest.raises(ValueError):
        ours.Interpreter(model_content=model[:cut] if cut else b"\0" * 12)


def test_every_prefix_is_refused_or_runs():
    model = add_chain()
    for n in range(0, len(model), 7):
        try:
            ours.Interpreter(model_content=model[:n]).allocate_tensors()
        except ValueError:
            pass


def test_root_offset_outside_the_file():
    model = bytearray(add_chain())
    model[0:4] = struct.pack("<I", len(model) + 100)
    refused(bytes(model), "outside")


def test_shared_tables_cannot_expand_exponentially():
    """Vectors whose entries all point at one table: a small file that would decode into a
    hundred million tensors. The reader refuses a table referenced twice, at once."""
    import flatbuffers
    fb = flatbuffers.Builder(0)
    fb.StartObject(11)
    fb.PrependInt32Slot(1, 0, 0)
    t = fb.EndObject()
    n = 10000
    fb.StartVector(4, n, 4)
    for _ in range(n):
        fb.PrependUOffsetTRelative(t)
    tensors = fb.EndVector()
    fb.StartObject(5)
    fb.PrependUOffsetTRelativeSlot(0, tensors, 0)
    sg = fb.EndObject()
    fb.StartVector(4, n, 4)
    for _ in range(n):
        fb.PrependUOffsetTRelative(sg)
    subgraphs = fb.EndVector()
    fb.StartObject(8)
    fb.PrependUint32Slot(0, 3, 0)
    fb.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    fb.Finish(fb.EndObject(), file_identifier=b"TFL3")
    start = time.perf_counter()
    with pytest.raises(ValueError, match="referenced more than once"):
        ours.Interpreter(model_content=bytes(fb.Output()))
    assert time.perf_counter() - start < 10


def test_opcode_index_out_of_range():
    def edit(root):
        root.subgraphs[0].operators[1].opcode_index = 7
    refused(edited(add_chain(), edit), r"subgraph 0, operator 1: opcode index 7 out of range")


def test_unknown_builtin():
    def edit(root):
        root.operator_codes[0].builtin_code = 4000
    refused(edited(add_chain(), edit), "unknown builtin operator 4000")


@pytest.mark.parametrize("field,index", [("inputs", 9), ("outputs", -1), ("inputs", -2)])
def test_operator_tensor_index_out_of_range(field, index):
    def edit(root):
        setattr(root.subgraphs[0].operators[0], field, np.array([0, index], np.int32))
    refused(edited(add_chain(), edit), r"subgraph 0: operator 0 \(ADD\) .*refers to tensor %d" % index)


def test_subgraph_io_index_out_of_range():
    def edit(root):
        root.subgraphs[0].outputs = np.array([3, 40], np.int32)
    refused(edited(add_chain(), edit), "an output refers to tensor 40")


def test_buffer_index_out_of_range():
    def edit(root):
        tensor(root, 1).buffer = 99
    refused(edited(add_chain(), edit), r"tensor 1 \('c'\) refers to buffer 99")


def test_offset_buffer_outside_the_file():
    def edit(root):
        buf = root.buffers[tensor(root, 1).buffer]
        buf.data, buf.offset, buf.size = None, 1 << 40, 3
    refused(edited(add_chain(), edit), "buffer 1 points outside the file")


def test_external_buffers_are_refused():
    def edit(root):
        tensor(root, 1).external_buffer = 2
    refused(edited(add_chain(), edit), "external buffer")


# -- shapes and buffer sizes -------------------------------------------------------------------

@pytest.mark.parametrize("shape,match", [
    ([4], "buffer holds 3 bytes, but shape \\[4\\] of INT8 needs 4"),
    ([1, 2], "needs 2"),
    ([-3], "negative dimension"),
    ([2] * 9, "rank 9"),
    ([2 ** 31 - 1] * 2, "absurd shape"),
])
def test_constant_shape_and_buffer(shape, match):
    def edit(root):
        tensor(root, 1).shape = np.array(shape, np.int32)
    refused(edited(add_chain(), edit), match)


def test_shape_signature_disagrees():
    def edit(root):
        tensor(root, 0).shape_signature = np.array([-1, 4], np.int32)
    refused(edited(add_chain(), edit), "shape_signature")


def test_malformed_string_constant():
    b = ModelBuilder()
    s = b.constant("s", np.array([b"ab", b"cde"], dtype=object))
    x = b.input("x", [2], np.int32)
    y = b.tensor("y", [2], np.bytes_)
    b.op("GATHER", [s, x], [y], axis=0)
    b.output(y)
    model = b.build()

    def bad_offsets(root):
        buf = root.buffers[tensor(root, 0).buffer]
        raw = np.array(buf.data)
        raw[8:12] = np.frombuffer(struct.pack("<i", 1000), np.uint8)
        buf.data = raw

    def bad_count(root):
        buf = root.buffers[tensor(root, 0).buffer]
        raw = np.array(buf.data)
        raw[0:4] = np.frombuffer(struct.pack("<i", 1 << 30), np.uint8)
        buf.data = raw

    refused(edited(model, bad_offsets), "string buffer has offsets")
    refused(edited(model, bad_count), "string buffer holds")


# -- quantization ------------------------------------------------------------------------------

@pytest.mark.parametrize("scale,zero_point,match", [
    ([float("nan")], [0], "non-finite"),
    ([float("inf")], [0], "non-finite"),
    ([-0.1], [0], "negative"),
    ([0.0], [0], "zero or subnormal"),
    ([1e-42], [0], "zero or subnormal"),
    ([0.1], [300], r"zero point outside the range \[-128, 127\] of INT8"),
    ([0.1, 0.2], [0], "2 scales but 1 zero points"),
    ([0.1, 0.2, 0.3], [0, 0, 0], "per-channel scales do not match"),
])
def test_bad_quantization(scale, zero_point, match):
    def edit(root):
        q = tensor(root, 0).quantization
        q.scale = np.array(scale, np.float32)
        q.zero_point = np.array(zero_point, np.int64)
    refused(edited(add_chain(), edit), match)


def test_negative_quantized_dimension():
    def edit(root):
        tensor(root, 0).quantization.quantized_dimension = -1
    refused(edited(add_chain(), edit), "negative quantized dimension")


def test_zero_point_beyond_int32_on_a_float_tensor():
    b = ModelBuilder()
    x = b.input("x", [2], np.float32, quantization={"scale": 0.5, "zero_point": 1 << 40})
    y = b.tensor("y", [2], np.float32)
    b.op("RELU", [x], [y])
    b.output(y)
    refused(b.build(), r"zero point outside the range")


# -- data flow ---------------------------------------------------------------------------------

def test_output_is_a_constant():
    def edit(root):
        root.subgraphs[0].operators[0].outputs = np.array([1], np.int32)
    refused(edited(add_chain(), edit), r"operator 0 \(ADD\): output tensor 1 \('c'\) is a constant")


def test_tensor_written_twice():
    def edit(root):
        root.subgraphs[0].operators[1].outputs = np.array([2], np.int32)
    refused(edited(add_chain(), edit), r"output tensor 2 \('y'\) is also written by operator 0")


def test_output_is_a_subgraph_input():
    def edit(root):
        root.subgraphs[0].operators[1].outputs = np.array([0], np.int32)
    refused(edited(add_chain(), edit), "is an input of the subgraph")


def test_tensor_read_before_it_is_written():
    def edit(root):
        ops = root.subgraphs[0].operators
        ops[0], ops[1] = ops[1], ops[0]
    refused(edited(add_chain(), edit), r"output tensor 2 \('y'\) is read by operator 0 before")


def test_constant_subgraph_input():
    def edit(root):
        root.subgraphs[0].inputs = np.array([0, 1], np.int32)
    refused(edited(add_chain(), edit), r"input tensor 1 \('c'\) holds constant data")


def test_duplicate_subgraph_input():
    def edit(root):
        root.subgraphs[0].inputs = np.array([0, 0], np.int32)
    refused(edited(add_chain(), edit), "twice among its inputs")


def test_variable_with_constant_data():
    def edit(root):
        tensor(root, 1).is_variable = True
    refused(edited(add_chain(), edit), "is a variable but holds constant data")


# -- options -----------------------------------------------------------------------------------

def test_options_of_another_op():
    def edit(root):
        from tflite_rt import _schema
        o = root.subgraphs[0].operators[0]
        o.builtin_options = _flatbuffer.Table("Conv2DOptions")
        o.builtin_options_type = _schema.UNIONS["BuiltinOptions"].index("Conv2DOptions")
    refused(edited(add_chain(), edit), r"operator 0 \(ADD\): its options are a Conv2DOptions, expected AddOptions")


def test_non_finite_option():
    b = ModelBuilder()
    x = b.input("x", [4])
    y = b.tensor("y", [4])
    b.op("LEAKY_RELU", [x], [y], alpha=float("nan"))
    b.output(y)
    refused(b.build(), "option alpha is not finite")


# -- subgraph calls ----------------------------------------------------------------------------

def call_chain(depth):
    """Subgraph i calls subgraph i + 1 through CALL_ONCE, `depth` levels deep."""
    b = ModelBuilder()
    x = b.input("x", [1])
    y = b.tensor("y", [1])
    b.op("RELU", [x], [y])
    b.output(y)
    sgs = [b.subgraph("s%d" % i) for i in range(depth)]
    b.op("CALL_ONCE", [], [], init_subgraph_index=sgs[0].index)
    for i, sg in enumerate(sgs[:-1]):
        sg.op("CALL_ONCE", [], [], init_subgraph_index=sgs[i + 1].index)
    return b.build()


def test_deep_call_chain_is_refused():
    ours.Interpreter(model_content=call_chain(4))
    refused(call_chain(MAX_CALL_DEPTH + 1), "nests subgraph calls")


def test_long_call_cycle_is_found_without_recursion():
    b = ModelBuilder()
    x = b.input("x", [1])
    b.output(x)
    n = 3000
    sgs = [b.subgraph() for _ in range(n)]
    b.op("CALL_ONCE", [], [], init_subgraph_index=1)
    for i, sg in enumerate(sgs):
        sg.op("CALL_ONCE", [], [], init_subgraph_index=1 + (i + 1) % n)
    refused(b.build(), "cycle")


def test_subgraph_index_out_of_range():
    b = ModelBuilder()
    x = b.input("x", [1])
    b.output(x)
    b.op("CALL_ONCE", [], [], init_subgraph_index=5)
    refused(b.build(), r"init_subgraph_index 5 out of range \(1 subgraphs\)")


def test_signature_tensor_out_of_range():
    b = ModelBuilder()
    x = b.input("x", [1])
    y = b.tensor("y", [1])
    b.op("RELU", [x], [y])
    b.output(y)
    b.signature("s", {"x": x}, {"y": 17})
    refused(b.build(), "signature 's': output 'y' refers to tensor 17")


# -- fuzzing finds -----------------------------------------------------------------------------

def test_fuzz_regressions_are_refused_cleanly(tmp_path):
    """Each saved input once crashed, hung or raised something other than ValueError /
    RuntimeError. Each now runs in a watched subprocess and must end cleanly."""
    files = sorted(f for f in os.listdir(REGRESSIONS) if f.endswith(".tflite"))
    if not files:
        pytest.skip("no regression inputs")
    code = runner.main(["check", REGRESSIONS, "--out", str(tmp_path), "--jobs", "1",
                        "--timeout", "60", "--report-every", "1e9"])
    assert code == 0, "a regression input failed again: see %s" % tmp_path


@pytest.mark.parametrize("seed", range(3))
def test_structured_mutations_end_cleanly(seed):
    """A few hundred schema-aware mutations of small models, in process."""
    seeds = [("chain", add_chain())]
    rng = np.random.default_rng(seed)
    for k in range(150):
        case = fuzzlib.make_case(seeds, rng)
        fuzzlib.execute(case, seed=k, num_threads=1, small_ints=True)


# -- hostile values at run time ----------------------------------------------------------------

def _binary(op, dtype):
    b = ModelBuilder()
    x, y = b.input("x", [6], dtype), b.input("y", [6], dtype)
    z = b.tensor("z", [6], dtype)
    b.op(op, [x, y], [z])
    b.output(z)
    return b.build()


def _indexing(op, idx_dtype):
    b = ModelBuilder()
    if op == "GATHER":
        x, i = b.input("x", [4, 3]), b.input("i", [5], idx_dtype)
        z = b.tensor("z", [5, 3])
        b.op(op, [x, i], [z], axis=0)
    elif op == "GATHER_ND":
        x, i = b.input("x", [4, 3]), b.input("i", [5, 2], idx_dtype)
        z = b.tensor("z", [5])
        b.op(op, [x, i], [z])
    elif op == "SCATTER_ND":
        i, u = b.input("i", [5, 1], idx_dtype), b.input("u", [5, 3])
        z = b.tensor("z", [4, 3])
        b.op(op, [i, u, b.constant("shape", np.array([4, 3], idx_dtype))], [z])
    elif op == "EMBEDDING_LOOKUP":
        i = b.input("i", [5], idx_dtype)
        z = b.tensor("z", [5, 3])
        b.op(op, [i, b.constant("w", np.ones((4, 3), np.float32))], [z])
    else:  # CAST
        x = b.input("x", [8])
        z = b.tensor("z", [8], idx_dtype)
        b.op(op, [x], [z])
    b.output(z)
    return b.build()


HOSTILE = [_binary(op, dt) for op in ("DIV", "FLOOR_DIV", "FLOOR_MOD", "MUL", "POW", "SQUARED_DIFFERENCE")
           for dt in (np.int32, np.int8, np.int16, np.int64)]
HOSTILE += [_indexing(op, dt) for op in ("GATHER", "GATHER_ND", "SCATTER_ND", "EMBEDDING_LOOKUP")
            for dt in (np.int32, np.int64)]
HOSTILE += [_indexing("CAST", dt) for dt in (np.int32, np.int8, np.uint8, np.int16, np.int64)]


@pytest.mark.parametrize("model", range(len(HOSTILE)))
def test_hostile_values_at_run_time(model):
    """Division by zero, INT_MIN / -1, out-of-range indices, NaN and infinities cast to integers:
    a result or a RuntimeError naming the op, never a crash."""
    try:
        it = ours.Interpreter(model_content=HOSTILE[model], num_threads=1)
        it.allocate_tensors()
    except ValueError:
        return   # a type this build does not run
    rng = np.random.default_rng(model)
    for _ in range(30):
        for d in it.get_input_details():
            dtype = np.dtype(d["dtype"])
            if dtype.kind in "iu":
                info = np.iinfo(dtype)
                pool = np.array([0, -1, 1, 5, -5, info.min, info.max], np.int64)
                value = rng.choice(pool[(pool >= info.min) & (pool <= info.max)], d["shape"])
            else:
                value = rng.choice([np.nan, np.inf, -np.inf, 3e9, -3e9, 1.5, 0.0], d["shape"])
            it.set_tensor(d["index"], value.astype(dtype))
        try:
            it.invoke()
        except RuntimeError as e:
            assert "(subgraph 0, node 0)" in str(e)


# -- extreme but valid quantization: where TFLite's own shifts leave 0..31 ----------------------

def _div_model(dtype, qa, qb, qo):
    b = ModelBuilder()
    x, y = b.input("x", [96], dtype, quantization=qa), b.input("y", [96], dtype, quantization=qb)
    z = b.tensor("z", [96], dtype, quantization=qo)
    b.op("DIV", [x, y], [z])
    b.output(z)
    return b.build()


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_div_extreme_scales_match_the_reference(dtype):
    """Zero numerators and scale ratios far from 1 take TFLite's rounding shift below 0 or past
    31 (and its multiplier's shift past 30): the results stay TFLite's, bit for bit."""
    from harness import assert_matches_reference, reference_module
    ref = reference_module()
    info = np.iinfo(dtype)
    rng = np.random.default_rng(7)
    compared = 0
    for _ in range(40):
        scales = 10.0 ** rng.uniform(-14, 14, 3)
        zps = rng.integers(-300, 300, 3) if dtype == np.int16 else rng.integers(info.min, info.max, 3, endpoint=True)
        qa, qb, qo = ({"scale": float(s), "zero_point": int(z)} for s, z in zip(scales, zps))
        model = _div_model(dtype, qa, qb, qo)
        x = rng.integers(info.min, info.max, 96, endpoint=True)
        x[:24] = zps[0]                                   # zero numerators
        x[24:32] = np.clip(zps[0] + rng.integers(-2, 3, 8), info.min, info.max)
        y = rng.integers(info.min, info.max, 96, endpoint=True)
        y[y == zps[1]] = zps[1] + (1 if zps[1] < info.max else -1)
        try:
            ref.Interpreter(model_content=model).allocate_tensors()
        except RuntimeError:
            continue                                      # scales the reference refuses
        assert_matches_reference(model, [x.astype(dtype), y.astype(dtype)], resolver="ref")
        compared += 1
    assert compared >= 20


def _softmax_row(depth, dtype, qi, out_dtype, qo):
    b = ModelBuilder()
    x = b.input("x", [depth], dtype, quantization=qi)
    z = b.tensor("z", [depth], out_dtype, quantization=qo)
    b.op("SOFTMAX", [x], [z], beta=1.0)
    b.output(z)
    return b.build()


U8_SOFTMAX = (np.uint8, {"scale": 0.1, "zero_point": 128}, np.uint8, {"scale": 1 / 256, "zero_point": 0})
U8_I16_SOFTMAX = (np.uint8, {"scale": 0.5, "zero_point": 100}, np.int16, {"scale": 1 / 32768, "zero_point": 0})


@pytest.mark.parametrize("depth", [511, 8192, 8193])
def test_softmax_long_equal_rows_match_the_reference(depth):
    """A sum of exps just under 2^9, and sums that wrap in 32 bits to 0 and to 2^19, as TFLite's
    reference computes them."""
    from harness import assert_matches_reference
    model = _softmax_row(depth, *U8_SOFTMAX)
    assert_matches_reference(model, [np.full(depth, 7, np.uint8)], resolver="ref")


@pytest.mark.parametrize("spec,depth", [(U8_SOFTMAX, 512), (U8_SOFTMAX, 2048), (U8_SOFTMAX, 65536),
                                        (U8_I16_SOFTMAX, 8192), (U8_I16_SOFTMAX, 65536)])
def test_softmax_sums_past_the_output_range_give_the_lowest_output(spec, depth):
    """Where TFLite's reference stops (its shift leaves 0..31), every probability is below half
    an output unit: the lowest output, as the true values round."""
    out_dtype = spec[2]
    it = ours.Interpreter(model_content=_softmax_row(depth, *spec))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.full(depth, 200, np.uint8))
    it.invoke()
    y = it.get_tensor(it.get_output_details()[0]["index"])
    assert (y == np.iinfo(out_dtype).min).all()


def test_int16_softmax_longer_than_its_sum_holds():
    """Past 65537 elements TFLite's int32 sum of int16 exps overflows; the sum saturates here and
    the outputs stay probabilities near the true 1/depth (0 at scale 1/32768)."""
    depth = 70000
    q = {"scale": 0.001, "zero_point": 0}
    model = _softmax_row(depth, np.int16, q, np.int16, {"scale": 1 / 32768, "zero_point": 0})
    it = ours.Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.zeros(depth, np.int16))
    it.invoke()
    y = it.get_tensor(it.get_output_details()[0]["index"])
    assert y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("kind", ["f32", "i8"])
def test_transpose_conv_many_stride_phases(kind):
    """More stride phases (17 x 16) than the GEMM path packs filters for: the direct loops, as
    the reference computes."""
    from test_ops_nn import check, tconv_model
    check(tconv_model(kind, in_shape=(1, 3, 2, 4), stride=(17, 16), padding="VALID"), kind)


def test_transpose_conv_stride_past_int16_is_refused():
    """A fuzzed stride of 2^24 x 2^12 once overflowed the C core's count of stride phases to 0;
    TFLite refuses strides above 32767."""
    from test_ops_nn import tconv_model
    refused(tconv_model("f32", in_shape=(1, 1, 1, 4), stride=(1 << 24, 1 << 12), padding="VALID"),
            "stride_h must be at most 32767")


def test_tensor_memory_beyond_the_machine_is_refused_at_allocate():
    """Declared sizes no machine here can hold: a clear MemoryError before any allocation,
    whatever the kernel's overcommit policy would have let through."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    rows = int(physical // (4 << 20)) + 1           # rows of 1 Mi floats: more than memory
    b = ModelBuilder()
    x = b.input("x", [rows, 1 << 20])
    y = b.tensor("y", [rows, 1 << 20])
    b.op("RELU", [x], [y])
    b.output(y)
    with pytest.raises(MemoryError, match="more than this machine's"):
        ours.Interpreter(model_content=b.build()).allocate_tensors()


def test_conv_filter_with_an_empty_window_is_refused():
    """A fuzzed CONV_2D filter of height 0 once overran the GEMM path's packed weights."""
    b = ModelBuilder()
    x = b.input("x", [1, 16, 16, 16])
    w = b.constant("w", np.ones((12, 0, 3, 16), np.float32))
    y = b.tensor("y", [1, 9, 7, 12])
    b.op("CONV_2D", [x, w, b.constant("b", np.ones(12, np.float32))], [y], padding="VALID", stride_h=2, stride_w=2)
    b.output(y)
    refused(b.build(), "filter has an empty window 0x3")


@pytest.mark.parametrize("error", [
    lambda: np.zeros(5).reshape(2),                 # numpy's "cannot reshape array"
    lambda: bool(np.zeros(0) == np.zeros(0)),       # an empty array's truth value
    lambda: [][0],
    lambda: 1 // 0,
])
def test_a_prepare_the_checks_let_through_still_names_the_op(monkeypatch, error):
    """Whatever an op's prepare trips over in numpy is refused as a fault of that node."""
    from tflite_rt.ops import _base

    def tripping_prepare(node):
        error()
    monkeypatch.setitem(_base._REGISTRY, "MUL", tripping_prepare)
    with pytest.raises(ValueError, match=r"MUL \(subgraph 0, node 1\): operands it cannot take") as info:
        ours.Interpreter(model_content=add_chain())
    assert isinstance(info.value, _base.ModelError)
