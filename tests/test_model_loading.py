"""The reader and checks treat a model file as untrusted input."""
import gc

import numpy as np
import pytest

from tflite_rt import _flatbuffer, _schema, interpreter as ours, model as model_module
from tflite_rt.builder import ModelBuilder


def small_model():
    b = ModelBuilder()
    x = b.input("x", [1, 4, 4, 2])
    w = b.constant("w", np.ones((3, 1, 1, 2), np.float32))
    y = b.tensor("y", [1, 4, 4, 3])
    b.op("CONV_2D", [x, w, -1], [y], padding="SAME", stride_h=1, stride_w=1)
    z = b.tensor("z", [1, 48])
    b.op("RESHAPE", [y, b.constant("shape", np.array([1, 48], np.int32))], [z])
    b.output(z)
    return b.build()


def test_round_trip_through_reader():
    data = small_model()
    root = _flatbuffer.read(data)
    assert root.version == 3
    assert len(root.subgraphs) == 1
    assert [t.name for t in root.subgraphs[0].tensors] == ["x", "w", "y", "z", "shape"]
    assert root.subgraphs[0].operators[0].builtin_options.padding == 0
    assert _flatbuffer.write(root) and _flatbuffer.has_identifier(data)


def test_weights_are_not_copied():
    data = small_model()
    root = _flatbuffer.read(data)
    weights = root.buffers[1].data
    assert np.shares_memory(weights, np.frombuffer(data, np.uint8))


@pytest.mark.parametrize("seed", range(4))
def test_random_mutations_never_crash(seed):
    """Flipped bytes must give a working model or a ValueError: never a crash or a hang."""
    data = bytearray(small_model())
    rng = np.random.default_rng(seed)
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            pos = int(rng.integers(0, len(mutated)))
            mutated[pos] = int(rng.integers(0, 256))
        try:
            it = ours.Interpreter(model_content=bytes(mutated))
            it.allocate_tensors()
            for d in it.get_input_details():
                it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
            it.invoke()
        except (ValueError, RuntimeError):
            pass


def test_buffer_size_mismatch_is_refused():
    b = ModelBuilder()
    x = b.input("x", [4])
    c = b.constant("c", np.ones(3, np.float32))
    b.tensors[c].shape = np.array([4], np.int32)  # declared 4 elements, 3 stored
    y = b.tensor("y", [4])
    b.op("ADD", [x, c], [y])
    b.output(y)
    with pytest.raises(ValueError, match="buffer holds 12 bytes"):
        ours.Interpreter(model_content=b.build())


def test_out_of_range_tensor_index_is_refused():
    b = ModelBuilder()
    x = b.input("x", [4])
    y = b.tensor("y", [4])
    b.op("ADD", [x, 17], [y])
    b.output(y)
    with pytest.raises(ValueError, match="refers to tensor 17"):
        ours.Interpreter(model_content=b.build())


def test_subgraph_cycle_is_refused():
    b = ModelBuilder()
    body = b.subgraph("body")
    bx = body.input("x", [1])
    body.output(bx)
    body.op("CALL_ONCE", [], [], init_subgraph_index=1)
    x = b.input("x", [1])
    b.op("CALL_ONCE", [], [], init_subgraph_index=1)
    b.output(x)
    with pytest.raises(ValueError, match="cycle"):
        ours.Interpreter(model_content=b.build())


def test_bad_quantization_is_refused():
    b = ModelBuilder()
    x = b.input("x", [4], np.int8, quantization={"scale": [0.1, 0.2], "zero_point": [0, 0]})
    b.output(x)
    with pytest.raises(ValueError, match="per-channel scales"):
        ours.Interpreter(model_content=b.build())
    b = ModelBuilder()
    x = b.input("x", [4], np.int8, quantization={"scale": float("nan"), "zero_point": 0})
    b.output(x)
    with pytest.raises(ValueError, match="non-finite"):
        ours.Interpreter(model_content=b.build())


def _resident_kib_of(path):
    """Resident KiB of this process's mappings of `path` (from /proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            if line[:1] in "0123456789abcdef" and "-" in line.split()[0]:
                inside = line.rstrip().endswith(path)
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


def test_packed_filter_pages_are_given_back_and_still_read_right(tmp_path):
    """With model_path, the file pages of a filter the kernels packed leave the process; the
    results, and the filter read back through get_tensor, stay those of model_content."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.input("x", [2, 512])
    w = b.constant("w", rng.standard_normal((512, 512)).astype(np.float32))   # 1 MiB
    y = b.tensor("y", [2, 512])
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.output(y)
    path = str(tmp_path / "fc.tflite")
    with open(path, "wb") as f:
        f.write(b.build())
    from_file = ours.Interpreter(model_path=path, num_threads=1)
    from_file.allocate_tensors()
    assert _resident_kib_of(path) < 512   # the 1 MiB filter was read, packed and dropped
    with open(path, "rb") as f:
        from_bytes = ours.Interpreter(model_content=f.read(), num_threads=1)
    from_bytes.allocate_tensors()
    data = rng.standard_normal((2, 512)).astype(np.float32)
    for it in (from_file, from_bytes):
        it.set_tensor(it.get_input_details()[0]["index"], data)
        it.invoke()
    out = from_file.get_output_details()[0]["index"]
    np.testing.assert_array_equal(from_file.get_tensor(out), from_bytes.get_tensor(out))
    np.testing.assert_array_equal(from_file.get_tensor(w), from_bytes.get_tensor(w))


def _varied_model():
    """Tensors and operators of many kinds: per-tensor and per-channel quantization, every
    integer width, signatures, variables, constants, absent inputs, float options."""
    b = ModelBuilder()
    x = b.input("x", [1, 4, 4, 2], np.int8, quantization={"scale": 0.5, "zero_point": -3},
                shape_signature=[-1, 4, 4, 2])
    w = b.constant("w", np.ones((3, 1, 1, 2), np.int8),
                   quantization={"scale": [0.1, 0.2, 0.3], "zero_point": [0, 0, 0],
                                 "quantized_dimension": 0})
    bias = b.constant("bias", np.zeros(3, np.int32), quantization={"scale": [0.05, 0.1, 0.15]})
    y = b.tensor("y", [1, 4, 4, 3], np.int8, quantization={"scale": 0.25, "zero_point": 7})
    b.op("CONV_2D", [x, w, bias], [y], padding="SAME", stride_h=1, stride_w=1)
    z = b.tensor("z", [1, 48], np.int8, quantization={"scale": 0.25, "zero_point": 7})
    b.op("RESHAPE", [y, b.constant("shape", np.array([1, 48], np.int32))], [z])
    h = b.input("h", [2, 3], np.int16, quantization={"scale": 1e-3, "zero_point": 0})
    g = b.tensor("g", [2, 3], np.int16, quantization={"scale": 1e-3, "zero_point": 0})
    b.op("LEAKY_RELU", [h], [g], alpha=0.25)
    f = b.input("f", [0, 3])
    e = b.tensor("e", [0, 3])
    b.op("ADD", [f, b.constant("one", np.ones((1, 3), np.float32))], [e])
    v = b.tensor("v", [3], is_variable=True)
    b.output(z, g, e, v)
    return b.build()


def _mutate(root, rng):
    """One random change to a tensor or operator field, of the kind the loader checks."""
    sg = root.subgraphs[0]
    if rng.random() < 0.6:
        field = rng.choice(["type", "shape", "shape_signature", "buffer", "is_variable", "scale",
                            "zero_point", "quantized_dimension", "external_buffer", "sparsity",
                            "quantization_extras"])
        # most quantization changes go to the per-channel tensors, where most can go wrong
        t = sg.tensors[int(rng.choice([1, 2])) if field in ("scale", "zero_point") and rng.random() < 0.7
                       else int(rng.integers(len(sg.tensors)))]
        if field == "type":
            t.type = int(rng.choice([0, 2, 3, 5, 7, 9, 10, 11, 13, 16, 17, 40, 63, 64, 127]))
        elif field == "shape":
            t.shape = rng.choice([-2, -1, 0, 1, 2, 3, 48, 1 << 20, (1 << 31) - 1],
                                 size=int(rng.integers(0, 10))).astype(np.int32)
        elif field == "shape_signature":
            n = len(t.shape) if t.shape is not None else 0
            t.shape_signature = rng.choice([-1, 0, 1, 2, 3, 4], size=n + int(rng.integers(-1, 2)) if n else
                                           int(rng.integers(0, 2))).astype(np.int32)
        elif field == "buffer":
            t.buffer = int(rng.integers(0, len(root.buffers) + 2))
        elif field == "is_variable":
            t.is_variable = not t.is_variable
        elif field == "external_buffer":
            t.external_buffer = int(rng.integers(0, 3))
        elif field == "sparsity":
            t.sparsity = _flatbuffer.Table("SparsityParameters")
        else:
            if t.quantization is None:
                t.quantization = _flatbuffer.Table("QuantizationParameters", scale=np.ones(1, np.float32))
            q = t.quantization
            n = int(rng.integers(0, 5))
            if rng.random() < 0.5 and t.shape is not None and len(t.shape):
                n = int(t.shape[(q.quantized_dimension or 0) % len(t.shape)]) % 5
            if field == "scale":
                q.scale = np.full(n, 0.5, np.float32)
                if n:   # one odd scale among good ones
                    q.scale[int(rng.integers(n))] = rng.choice(
                        [0.0, -0.0, 1e-40, 1e-30, -1.0, np.inf, np.nan, 2.0])
            elif field == "zero_point":
                q.zero_point = (None if rng.random() < 0.2 else rng.choice(
                    [-40000, -129, -128, 0, 127, 128, 255, 256, 40000], size=n).astype(np.int64))
            elif field == "quantization_extras":   # fields the checks ignore, or no scales at all
                extra = rng.choice(["no scale", "min max", "details"])
                if extra == "no scale":
                    q.scale = None
                elif extra == "min max":
                    q.min, q.max = np.full(n, -1.0, np.float32), np.full(n, 1.0, np.float32)
                else:
                    member = "CustomQuantization"
                    q.details = _flatbuffer.Table(member, custom=np.arange(3, dtype=np.uint8))
                    q.details_type = _schema.UNIONS["QuantizationDetails"].index(member)
            else:
                q.quantized_dimension = int(rng.integers(-1, 5))
    else:
        o = sg.operators[int(rng.integers(len(sg.operators)))]
        field = rng.choice(["opcode_index", "inputs", "outputs", "intermediates", "options"])
        if field == "opcode_index":
            o.opcode_index = int(rng.integers(0, len(root.operator_codes) + 2))
        elif field == "options":
            if o.builtin_options is not None and hasattr(o.builtin_options, "alpha"):
                o.builtin_options.alpha = float(rng.choice([np.nan, np.inf, -1.0, 0.0]))
            else:
                o.builtin_options = _flatbuffer.Table("LeakyReluOptions", alpha=0.5)
                o.builtin_options_type = _schema.UNIONS["BuiltinOptions"].index("LeakyReluOptions")
        else:
            ids = rng.integers(-3, len(sg.tensors) + 2, size=int(rng.integers(0, 4))).astype(np.int32)
            setattr(o, field, ids)


def _load_outcome(data):
    try:
        m = model_module.load(data)
    except ValueError as e:
        return "%s: %s" % (type(e).__name__, e)
    out = []
    for sg in m.subgraphs:
        for spec in sg.tensors + sg.operators:
            for name in (n for n in dir(spec) if not n.startswith("_")):
                value = getattr(spec, name)
                if isinstance(value, np.ndarray):
                    value = (value.dtype.str, value.flags.writeable, value.tolist())
                elif name in ("sparsity", "options"):
                    value = repr(value)
                out.append((name, type(value).__name__, value))
    return out


def _compiled_and_python_outcomes(data, monkeypatch, counts):
    """What load makes of `data` as it is, and with every compiled check unsure (so the Python
    checks decide on the full read); `counts` tallies the loads the compiled checks accepted."""
    specs = model_module._loadspecs.tensor_specs

    def counting(*args):
        out = specs(*args)
        counts["compiled"] += out is not None
        return out

    with monkeypatch.context() as m:
        m.setattr(model_module._loadspecs, "tensor_specs", counting)
        compiled = _load_outcome(data)
    with monkeypatch.context() as m:
        m.setattr(model_module._loadspecs, "tensor_specs", lambda *a: None)
        m.setattr(model_module._loadspecs, "operator_specs", lambda *a: None)
        m.setattr(model_module._loadspecs, "dataflow_ok", lambda *a: False)
        m.setattr(model_module._loadspecs, "inline_buffers", lambda *a: None)
        python = _load_outcome(data)
    return compiled, python


@pytest.mark.parametrize("seed", range(3))
def test_compiled_checks_agree_with_python_checks(seed, monkeypatch):
    """The compiled loops load exactly what the Python checks load, into equal specs, and refuse
    the rest (which the Python checks then name); field mutations probe every check."""
    rng = np.random.default_rng(seed)
    original = _varied_model()
    lean = _flatbuffer.read(original, lean=True)
    buffers = model_module._loadspecs.inline_buffers(lean.buffers)
    assert model_module._loadspecs.tensor_specs(lean.subgraphs[0].tensors, buffers, original) is not None
    counts = {"compiled": 0}
    accepted = 0
    for _ in range(300):
        root = _flatbuffer.read(original)
        for _ in range(int(rng.integers(1, 3))):
            _mutate(root, rng)
        compiled, python = _compiled_and_python_outcomes(_flatbuffer.write(root), monkeypatch, counts)
        assert compiled == python
        accepted += isinstance(compiled, list)
    assert 15 < accepted < 285   # both outcomes well represented
    assert counts["compiled"] > 15


@pytest.mark.parametrize("seed", range(2))
def test_lean_read_fails_as_the_full_read(seed, monkeypatch):
    """Flipped bytes: the lean read and the compiled checks end as the full read and the Python
    checks do, with the same error (or the same specs)."""
    rng = np.random.default_rng(100 + seed)
    data = _varied_model()
    counts = {"compiled": 0}
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            mutated[int(rng.integers(len(mutated)))] = int(rng.integers(256))
        compiled, python = _compiled_and_python_outcomes(bytes(mutated), monkeypatch, counts)
        assert compiled == python
    assert counts["compiled"] > 5


def _per_channel_model(scales, zero_points, dtype=np.int8):
    b = ModelBuilder()
    x = b.input("x", [len(scales)], dtype, quantization={
        "scale": scales, "zero_point": zero_points, "quantized_dimension": 0})
    b.output(x)
    return b.build()


@pytest.mark.parametrize("channels", [1, 3, 4, 5, 11, 37])
def test_every_channel_of_a_quantization_is_checked(channels):
    """One bad scale or zero point, at any position among many (the compiled loops work on
    several at once, then the tail), is refused with the message the Python checks give."""
    good_scales, good_zeros = [0.5] * channels, [0] * channels
    model_module.load(_per_channel_model(good_scales, good_zeros))
    model_module.load(_per_channel_model(good_scales, [-7] * channels))
    for k in range(channels):
        for bad, message in ((float("nan"), "non-finite"), (-1.0, "non-finite"),
                             (float("inf"), "non-finite"), (0.0, "subnormal"), (1e-40, "subnormal")):
            scales = list(good_scales)
            scales[k] = bad
            with pytest.raises(ValueError, match=message):
                model_module.load(_per_channel_model(scales, good_zeros))
        for bad in (128, -129, 1 << 40):
            zeros = list(good_zeros)
            zeros[k] = bad
            with pytest.raises(ValueError, match="zero point outside"):
                model_module.load(_per_channel_model(good_scales, zeros))
    # float tensors take zero scales (and -0.0), but still not negative or non-finite ones
    model_module.load(_per_channel_model([0.0, -0.0] + good_scales[2:], good_zeros, np.float32)
                      if channels >= 2 else _per_channel_model([0.0], good_zeros, np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        model_module.load(_per_channel_model(good_scales[:-1] + [-2.0], good_zeros, np.float32))


def _many_tensors_model(n, repeat_first):
    """A subgraph of n distinct tensor tables; with `repeat_first`, its tensor vector ends by
    pointing at the first one again."""
    import flatbuffers
    fb = flatbuffers.Builder(0)
    tables = []
    for i in range(n):
        fb.StartObject(11)
        fb.PrependInt32Slot(2, i % 7, 0)   # buffer: distinct contents, distinct tables
        tables.append(fb.EndObject())
    entries = tables + tables[:1] if repeat_first else tables
    fb.StartVector(4, len(entries), 4)
    for t in reversed(entries):
        fb.PrependUOffsetTRelative(t)
    tensors = fb.EndVector()
    fb.StartObject(5)
    fb.PrependUOffsetTRelativeSlot(0, tensors, 0)
    sg = fb.EndObject()
    fb.StartVector(4, 1, 4)
    fb.PrependUOffsetTRelative(sg)
    subgraphs = fb.EndVector()
    buffers = []
    for _ in range(7):
        fb.StartObject(3)
        buffers.append(fb.EndObject())
    fb.StartVector(4, 7, 4)
    for b in reversed(buffers):
        fb.PrependUOffsetTRelative(b)
    buffer_vector = fb.EndVector()
    fb.StartObject(8)
    fb.PrependUint32Slot(0, 3, 0)
    fb.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    fb.PrependUOffsetTRelativeSlot(4, buffer_vector, 0)
    fb.Finish(fb.EndObject(), file_identifier=b"TFL3")
    return bytes(fb.Output())


def test_a_table_met_again_among_thousands_is_refused():
    """The reader's record of the tables it has read grows with them and still finds one met
    again after thousands of others."""
    m = model_module.load(_many_tensors_model(5000, repeat_first=False))
    assert len(m.subgraphs[0].tensors) == 5000
    with pytest.raises(ValueError, match="Tensor at offset .* is referenced more than once"):
        model_module.load(_many_tensors_model(5000, repeat_first=True))


def _quantized_chain(ops):
    """`ops` int8 ADDs in a row, each with a quantized constant and options."""
    b = ModelBuilder()
    q = {"scale": 0.5, "zero_point": -3}
    x = b.input("x", [1, 8], np.int8, quantization=q)
    for i in range(ops):
        c = b.constant("c%d" % i, np.full((1, 8), i % 100, np.int8), quantization=q)
        y = b.tensor("y%d" % i, [1, 8], np.int8, quantization=q)
        b.op("ADD", [x, c], [y], fused_activation_function="RELU")
        x = y
    b.output(x)
    return b.build()


def test_a_loaded_model_leaves_the_collector_little_to_look_at():
    """Specs, their index tuples and shapes, and the tables they keep (options) are untracked
    by the cyclic collector: the objects a load leaves it do not grow with the model."""
    def tracked_by_a_load(data):
        gc.collect()
        gc.disable()
        try:
            before = {id(o) for o in gc.get_objects()}
            m = model_module.load(data)
            new = [o for o in gc.get_objects() if id(o) not in before]
        finally:
            gc.enable()
        assert len(m.subgraphs[0].operators) in (4, 300)
        return len(new)

    few, many = tracked_by_a_load(_quantized_chain(4)), tracked_by_a_load(_quantized_chain(300))
    assert few < 40 and many < few + 10   # 300 operators would leave thousands


def test_buffers_stored_after_the_flatbuffer_are_read_in_place():
    """Large models keep their buffers past the FlatBuffer (offset and size): the compiled
    checks leave those to the full read, which maps them in place."""
    root = _flatbuffer.read(small_model())
    weights = root.buffers[1].data.tobytes()
    root.buffers[1].data, root.buffers[1].offset, root.buffers[1].size = None, 1 << 20, len(weights)
    head = _flatbuffer.write(root)
    offset = -(-len(head) // 16) * 16
    root.buffers[1].offset = offset   # a fixed-width field: the FlatBuffer keeps its length
    head = _flatbuffer.write(root)
    assert len(head) <= offset
    data = head + bytes(offset - len(head)) + weights
    m = model_module.load(data)
    w = m.subgraphs[0].tensors[1]
    assert w.name == "w" and w.data.tobytes() == weights
    assert np.shares_memory(w.data, np.frombuffer(data, np.uint8))


def test_each_read_sees_only_its_own_tables():
    """The reader's record of the tables it has read is kept for the next read: what one read
    saw is never 'met again' by the next, on the same bytes or others, after a failed read too,
    and a table met again within one read is still refused."""
    few, many = small_model(), _many_tensors_model(5000, repeat_first=False)
    shared = _many_tensors_model(5000, repeat_first=True)
    for data in (few, many, few, many, many):
        for lean in (True, False):
            _flatbuffer.read(data, lean=lean)
        with pytest.raises(ValueError, match="Tensor at offset .* is referenced more than once"):
            _flatbuffer.read(shared, lean=True)
    assert len(model_module.load(many).subgraphs[0].tensors) == 5000
