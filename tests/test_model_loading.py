"""The reader and checks treat a model file as untrusted input."""
import numpy as np
import pytest

from tflite_rt import _flatbuffer, interpreter as ours
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
