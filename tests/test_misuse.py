"""Misusing the API gives a clear exception (as the reference does), never a crash or garbage."""
import threading

import numpy as np
import pytest

from tflite_rt import interpreter as ours
from tflite_rt.builder import ModelBuilder


def add_model(shape=(2, 3), dtype=np.float32):
    b = ModelBuilder()
    x = b.input("x", shape, dtype, shape_signature=[-1] + list(shape[1:]))
    c = b.constant("c", np.arange(shape[-1]).astype(dtype))
    y = b.tensor("y", shape, dtype)
    b.op("ADD", [x, c], [y])
    b.output(y)
    b.signature("serving_default", {"x": x}, {"y": y})
    return b.build()


def strings_model():
    b = ModelBuilder()
    x = b.input("s", [3], np.bytes_)
    y = b.tensor("y", [3, 1], np.bytes_)
    b.op("RESHAPE", [x, b.constant("shape", np.array([3, 1], np.int32))], [y])
    b.output(y)
    return b.build()


@pytest.fixture
def it():
    it = ours.Interpreter(model_content=add_model(), num_threads=1)
    it.allocate_tensors()
    return it


# -- set_tensor / get_tensor -----------------------------------------------------------------

@pytest.mark.parametrize("value,match", [
    (np.zeros((2, 3), np.float64), "Got value of type FLOAT64 but expected type FLOAT32"),
    (np.zeros((2, 3), np.int32), "Got value of type INT32"),
    (np.zeros((2, 3), ">f4"), "expected type FLOAT32"),
    (np.zeros((2, 3), object), "expected type FLOAT32"),
    ([[1.0, 2.0, 3.0]] * 2, "Got value of type FLOAT64"),
    (np.zeros((3, 2), np.float32), "Dimension mismatch. Got 3 but expected 2"),
    (np.zeros((2, 3, 1), np.float32), "Dimension mismatch. Got 3 but expected 2"),
    (np.float32(1), "Dimension mismatch. Got 0 but expected 2"),
])
def test_set_tensor_wrong_value(it, value, match):
    with pytest.raises(ValueError, match=match):
        it.set_tensor(0, value)


@pytest.mark.parametrize("index", [-1, 3, 99, 2 ** 40, 1.0, "0", None, True])
def test_bad_tensor_index(it, index):
    with pytest.raises(ValueError):
        it.set_tensor(index, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError):
        it.get_tensor(index)
    with pytest.raises(ValueError):
        it.tensor(index)


def test_bad_subgraph_index(it):
    for sg in (-1, 1, 7, "0"):
        with pytest.raises(ValueError, match="subgraph_index is out of range"):
            it.get_tensor(0, subgraph_index=sg)


def test_constant_cannot_be_set(it):
    with pytest.raises(ValueError, match="constant"):
        it.set_tensor(1, np.zeros(3, np.float32))


def test_non_contiguous_and_read_only_inputs(it):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    for value in (base[::2, ::2], base[:2, :3].T.copy().T, np.asfortranarray(base[:2, :3])):
        assert value.shape == (2, 3)
        it.set_tensor(0, value)
        it.invoke()
        np.testing.assert_array_equal(it.get_tensor(2), value + np.arange(3))
    frozen = np.ones((2, 3), np.float32)
    frozen.flags.writeable = False
    it.set_tensor(0, frozen)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(2), frozen + np.arange(3))


def test_get_tensor_returns_a_copy(it):
    it.set_tensor(0, np.ones((2, 3), np.float32))
    it.invoke()
    out = it.get_tensor(2)
    out[...] = 99
    np.testing.assert_array_equal(it.get_tensor(2), np.ones((2, 3)) + np.arange(3))


def test_string_tensor_misuse():
    it = ours.Interpreter(model_content=strings_model())
    it.allocate_tensors()
    with pytest.raises(ValueError, match="Dimension mismatch"):
        it.set_tensor(0, np.array([b"a", b"b"], dtype=object))
    it.set_tensor(0, np.array([b"a", "bc", b""], dtype=object))
    it.invoke()
    assert it.get_tensor(1).reshape(-1).tolist() == [b"a", b"bc", b""]


# -- lifecycle ---------------------------------------------------------------------------------

def test_use_before_allocate():
    it = ours.Interpreter(model_content=add_model())
    with pytest.raises(RuntimeError, match="not ready"):
        it.invoke()
    with pytest.raises(ValueError, match="allocate_tensors"):
        it.get_tensor(2)
    with pytest.raises(ValueError, match="allocate_tensors"):
        it.set_tensor(0, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="allocate_tensors"):
        it.tensor(0)()
    it.allocate_tensors()
    it.invoke()


def test_resize_without_allocate(it):
    it.resize_tensor_input(0, [4, 3])
    with pytest.raises(RuntimeError, match="not ready"):
        it.invoke()
    with pytest.raises(ValueError, match="allocate_tensors"):
        it.set_tensor(0, np.zeros((4, 3), np.float32))
    it.allocate_tensors()
    it.set_tensor(0, np.zeros((4, 3), np.float32))
    it.invoke()
    assert it.get_tensor(2).shape == (4, 3)


@pytest.mark.parametrize("size,match", [
    ([-1, 3], ">= 0"), ([2.5, 3], "list of integers"), ([[2, 3]], "list of integers"),
    ([1] * 9, "at most 8 dimensions"), ([2 ** 31, 3], "below 2\\*\\*31"), ("23", "integers"),
])
def test_bad_resize(it, size, match):
    with pytest.raises(ValueError, match=match):
        it.resize_tensor_input(0, size)
    it.invoke()  # the interpreter is still usable


def test_resize_of_a_non_input(it):
    with pytest.raises(ValueError, match="not an input"):
        it.resize_tensor_input(2, [4, 3])


def test_resize_to_a_shape_the_model_cannot_take(it):
    it.resize_tensor_input(0, [2, 4])   # ADD of a [3] constant cannot broadcast to [2, 4]
    with pytest.raises(ValueError, match="ADD"):
        it.allocate_tensors()
    with pytest.raises(RuntimeError, match="not ready"):
        it.invoke()
    it.resize_tensor_input(0, [5, 3])
    it.allocate_tensors()
    it.invoke()


def test_tensor_view_across_resize(it):
    view_fn = it.tensor(0)
    view = view_fn()
    assert view.shape == (2, 3)
    with pytest.raises(RuntimeError, match="reference to internal data"):
        it.resize_tensor_input(0, [4, 3])
    with pytest.raises(RuntimeError, match="reference to internal data"):
        it.invoke()
    with pytest.raises(RuntimeError, match="reference to internal data"):
        it.allocate_tensors()
    del view
    it.resize_tensor_input(0, [4, 3])
    it.allocate_tensors()
    fresh = view_fn()   # the function made before the resize sees the new buffer
    assert fresh.shape == (4, 3)
    fresh[...] = 1
    del fresh
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(2), np.ones((4, 3)) + np.arange(3))


# -- construction ------------------------------------------------------------------------------

@pytest.mark.parametrize("threads,match", [
    (-1, ">= 1"), (0, ">= 1"), (10 ** 6, "<= 256"), (2 ** 40, "<= 256"), (1.5, "should be int"),
    ("4", "should be int"), (True, "should be int"),
])
def test_bad_num_threads(threads, match):
    with pytest.raises(ValueError, match=match):
        ours.Interpreter(model_content=add_model(), num_threads=threads)


def test_bad_num_threads_environment(monkeypatch):
    monkeypatch.setenv("TFLITE_RT_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="TFLITE_RT_NUM_THREADS"):
        ours.Interpreter(model_content=add_model())
    monkeypatch.setenv("TFLITE_RT_NUM_THREADS", "100000")
    ours.Interpreter(model_content=add_model()).allocate_tensors()   # capped, not refused


@pytest.mark.parametrize("kwargs,match", [
    ({}, "must be specified"),
    ({"model_content": "not bytes"}, "model_content must be bytes"),
    ({"model_content": 17}, "model_content must be bytes"),
    ({"model_content": b"x" * 100, "model_path": "a.tflite"}, "Can't both"),
    ({"model_path": "/nonexistent/model.tflite"}, "Could not open"),
    ({"model_path": "/"}, "Could not open"),
    ({"model_content": b"\0" * 64}, "model"),
])
def test_bad_model_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ours.Interpreter(**kwargs)


def test_empty_model_file(tmp_path):
    path = tmp_path / "empty.tflite"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        ours.Interpreter(model_path=str(path))


def test_signature_runner_misuse(it):
    runner = it.get_signature_runner("serving_default")
    with pytest.raises(ValueError, match="Invalid Input name"):
        runner(z=np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="Invalid number of inputs"):
        runner()
    with pytest.raises(ValueError, match="expected type FLOAT32"):
        runner(x=np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match="Invalid signature_key"):
        it.get_signature_runner("nope")
    out = runner(x=np.ones((5, 3), np.float32))
    assert out["y"].shape == (5, 3)


# -- threads -----------------------------------------------------------------------------------

def test_one_interpreter_from_many_threads():
    """Calls from several threads are serialised: no crash, and each signature call (which
    sets, runs and reads under one lock) sees exactly its own result."""
    it = ours.Interpreter(model_content=add_model(), num_threads=2)
    it.allocate_tensors()
    runner = it.get_signature_runner()
    errors = []

    def work(k):
        try:
            for i in range(200):
                x = np.full((2, 3), k * 1000 + i, np.float32)
                np.testing.assert_array_equal(runner(x=x)["y"], x + np.arange(3))
                # unlocked sequences interleave, but every result is some thread's valid output
                it.set_tensor(0, x)
                it.invoke()
                y = it.get_tensor(2)
                base = y - np.arange(3)
                assert np.all(base == base[0, 0]) and base[0, 0] % 1000 < 200
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_resize_from_another_thread_while_running():
    it = ours.Interpreter(model_content=add_model(), num_threads=1)
    it.allocate_tensors()
    stop = threading.Event()
    errors = []

    def resizer():
        n = 2
        while not stop.is_set():
            n = 2 + (n % 5)
            try:
                it.resize_tensor_input(0, [n, 3])
                it.allocate_tensors()
            except RuntimeError:
                pass   # a view was alive on the other thread: refused, as documented
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    t = threading.Thread(target=resizer)
    t.start()
    try:
        for _ in range(500):
            try:
                it.invoke()
                it.get_tensor(2)
            except (RuntimeError, ValueError):
                pass   # caught between a resize and its allocate_tensors()
    finally:
        stop.set()
        t.join()
    assert not errors, errors[0]
