"""The drop-in API: same details, same errors, same behaviour as the reference interpreter."""
import threading
import time
import tracemalloc

import numpy as np
import pytest

from harness import reference_module, run_reference
from tflite_rt import interpreter as ours
from tflite_rt.builder import ModelBuilder


def add_model(shape=(2, 3), signature_shape=None, quantized=False):
    b = ModelBuilder()
    dtype = np.int8 if quantized else np.float32
    q = {"scale": 0.05, "zero_point": -3} if quantized else None
    x = b.input("x", shape, dtype, quantization=q, shape_signature=signature_shape)
    c = b.constant("c", np.ones(shape[-1], dtype), quantization=q)
    y = b.tensor("y", shape, dtype, quantization=q)
    b.op("ADD", [x, c], [y], fused_activation_function="NONE")
    b.output(y)
    b.signature("serving_default", {"x": x}, {"y": y})
    return b.build()


def heavy_model(n=512, depth=24):
    """A chain of fully connected layers: long enough to observe while it runs."""
    b = ModelBuilder()
    rng = np.random.default_rng(0)
    x = b.input("x", [n, n])
    for i in range(depth):
        w = b.constant("w%d" % i, (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32))
        y = b.tensor("h%d" % i, [n, n])
        b.op("FULLY_CONNECTED", [x, w, -1], [y])
        x = y
    b.output(x)
    return b.build()


def assert_details_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        va, vb = a[key], b[key]
        if isinstance(va, dict):
            assert_details_equal(va, vb)
        elif isinstance(va, np.ndarray):
            assert isinstance(vb, np.ndarray) and va.dtype == vb.dtype, key
            np.testing.assert_array_equal(va, vb, err_msg=key)
        else:
            assert type(va) is type(vb), (key, type(va), type(vb))
            assert va == vb, key


@pytest.mark.parametrize("quantized", [False, True])
def test_details_equal_reference(quantized):
    ref = reference_module()
    model = add_model(quantized=quantized)
    a, b = ours.Interpreter(model_content=model), ref.Interpreter(model_content=model)
    a.allocate_tensors()
    b.allocate_tensors()
    for x, y in zip(a.get_input_details() + a.get_output_details() + a.get_tensor_details(),
                    b.get_input_details() + b.get_output_details() + b.get_tensor_details()):
        assert_details_equal(x, y)
    assert a.get_signature_list() == b.get_signature_list()
    assert a.num_subgraphs() == b.num_subgraphs()
    for x, y in zip(a._get_ops_details(), b._get_ops_details()):
        assert_details_equal(x, y)


def test_invoke_and_get_tensor():
    model = add_model()
    it = ours.Interpreter(model_content=model)
    it.allocate_tensors()
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    out = it.get_tensor(it.get_output_details()[0]["index"])
    np.testing.assert_array_equal(out, x + 1)
    np.testing.assert_array_equal(out, run_reference(model, [x])[0])


def test_set_tensor_errors():
    it = ours.Interpreter(model_content=add_model())
    it.allocate_tensors()
    with pytest.raises(ValueError, match="Got value of type INT32 but expected type FLOAT32"):
        it.set_tensor(0, np.zeros((2, 3), np.int32))
    with pytest.raises(ValueError, match="Dimension mismatch"):
        it.set_tensor(0, np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="Dimension mismatch"):
        it.set_tensor(0, np.zeros((6,), np.float32))
    with pytest.raises(ValueError, match="Invalid tensor index 99"):
        it.set_tensor(99, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="Invalid tensor index"):
        it.get_tensor(-1)


def test_errors_do_not_pile_up():
    """The reference appends every earlier error to later messages; ours says only the last."""
    it = ours.Interpreter(model_content=add_model())
    with pytest.raises(ValueError) as first:
        it.resize_tensor_input(0, [3, 3], strict=True)
    with pytest.raises(ValueError) as second:
        it.resize_tensor_input(99, [3, 3])
    assert str(first.value) not in str(second.value)


def test_constructor_arguments():
    model = add_model()
    with pytest.raises(ValueError, match="must be specified"):
        ours.Interpreter()
    with pytest.raises(ValueError, match="Can't both"):
        ours.Interpreter(model_path="x.tflite", model_content=model)
    with pytest.raises(ValueError, match="type of num_threads should be int"):
        ours.Interpreter(model_content=model, num_threads=1.5)
    with pytest.raises(ValueError, match="num_threads should >= 1"):
        ours.Interpreter(model_content=model, num_threads=0)
    with pytest.raises(ValueError, match="num_threads should be <="):
        ours.Interpreter(model_content=model, num_threads=10 ** 6)
    with pytest.raises(ValueError):
        ours.Interpreter(model_path="/nonexistent/model.tflite")
    ours.Interpreter(model_content=model, num_threads=None,
                     experimental_op_resolver_type=ours.OpResolverType.BUILTIN_REF)


def test_model_path_is_mapped(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(add_model())
    it = ours.Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.set_tensor(0, np.ones((2, 3), np.float32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), 2.0)


def test_tensor_view_blocks_reallocation():
    """As in the reference: a held view blocks allocate_tensors() and invoke(); the function
    returned by tensor() may be kept and called again."""
    it = ours.Interpreter(model_content=add_model())
    it.allocate_tensors()
    view_fn = it.tensor(it.get_input_details()[0]["index"])
    view = view_fn()
    view[...] = 5.0
    with pytest.raises(RuntimeError, match="at least 1 reference to internal data"):
        it.allocate_tensors()
    with pytest.raises(RuntimeError, match="at least 1 reference to internal data"):
        it.invoke()
    del view
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), 6.0)
    view_fn()[...] = 1.0
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), 2.0)


def test_get_tensor_before_allocate_and_invoke_after_resize():
    it = ours.Interpreter(model_content=add_model(signature_shape=[-1, 3]))
    it.resize_tensor_input(0, [4, 3], strict=True)
    with pytest.raises(RuntimeError, match="not ready"):
        it.invoke()
    it.allocate_tensors()
    assert list(it.get_input_details()[0]["shape"]) == [4, 3]
    assert list(it.get_input_details()[0]["shape_signature"]) == [-1, 3]
    it.set_tensor(0, np.zeros((4, 3), np.float32))
    it.invoke()
    assert it.get_tensor(it.get_output_details()[0]["index"]).shape == (4, 3)


def test_resize_strict_refuses_fixed_dims():
    it = ours.Interpreter(model_content=add_model(signature_shape=[-1, 3]))
    with pytest.raises(ValueError, match="only allows mutating unknown dimensions"):
        it.resize_tensor_input(0, [2, 4], strict=True)
    it.resize_tensor_input(0, [5, 3], strict=True)


def test_resize_matches_reference():
    model = add_model(signature_shape=[-1, 3])
    x = np.random.default_rng(1).standard_normal((7, 3)).astype(np.float32)
    it = ours.Interpreter(model_content=model)
    it.resize_tensor_input(0, [7, 3])
    it.allocate_tensors()
    it.set_tensor(0, x)
    it.invoke()
    expected = run_reference(model, [x], input_shapes=[[7, 3]])[0]
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), expected)


def test_signature_runner():
    model = add_model(signature_shape=[-1, 3])
    it = ours.Interpreter(model_content=model)
    runner = it.get_signature_runner()
    out = runner(x=np.ones((5, 3), np.float32))
    assert list(out) == ["y"]
    np.testing.assert_array_equal(out["y"], 2.0)
    assert list(runner.get_input_details()) == ["x"]
    with pytest.raises(ValueError, match="Invalid Input name"):
        runner(z=np.ones((5, 3), np.float32))
    with pytest.raises(ValueError, match="Invalid number of inputs"):
        runner()
    with pytest.raises(ValueError, match="Invalid signature_key"):
        it.get_signature_runner("nope")


def test_load_delegate_raises_value_error(tmp_path):
    with pytest.raises(ValueError, match="Failed to load delegate"):
        ours.load_delegate(str(tmp_path / "libmissing.so"))
    with pytest.raises(ValueError, match="Failed to load delegate"):
        ours.load_delegate("libc.so.6")  # loads, but is no TFLite delegate


def test_unsupported_op_fails_at_construction():
    b = ModelBuilder()
    x = b.input("x", [4])
    y = b.tensor("y", [4])
    b.op("HASHTABLE_LOOKUP", [x, x, x], [y])
    b.output(y)
    with pytest.raises(ValueError, match="HASHTABLE_LOOKUP.*node 0"):
        ours.Interpreter(model_content=b.build())


def test_garbage_model_is_a_clear_error():
    for data in (b"", b"abc", b"\x00" * 64, bytes(range(256)) * 4, add_model()[:100]):
        with pytest.raises(ValueError):
            ours.Interpreter(model_content=data or b"\x01")


def test_invoke_releases_the_gil():
    """While one thread is inside invoke(), Python code keeps running on another."""
    it = ours.Interpreter(model_content=heavy_model(), num_threads=1)
    it.allocate_tensors()
    it.set_tensor(0, np.ones((512, 512), np.float32))
    window = []
    ticks = []

    def worker():
        window.append(time.perf_counter())
        it.invoke()
        window.append(time.perf_counter())

    thread = threading.Thread(target=worker)
    thread.start()
    while thread.is_alive():
        ticks.append(time.perf_counter())
    thread.join()
    # With the GIL held for the whole invoke, no tick could fall inside it.
    inside = sum(1 for t in ticks if window[0] < t < window[1])
    assert inside > 100, (inside, window[1] - window[0])


def test_two_interpreters_run_in_parallel_threads():
    model = heavy_model(256, 12)
    its = [ours.Interpreter(model_content=model, num_threads=1) for _ in range(2)]
    x = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    for it in its:
        it.allocate_tensors()
        it.set_tensor(0, x)
    threads = [threading.Thread(target=lambda it=it: [it.invoke() for _ in range(3)]) for it in its]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a, b = (it.get_tensor(it.get_output_details()[0]["index"]) for it in its)
    np.testing.assert_array_equal(a, b)


def test_one_interpreter_from_many_threads_is_serialised():
    it = ours.Interpreter(model_content=add_model())
    it.allocate_tensors()
    errors = []

    def worker(value):
        try:
            for _ in range(200):
                it.set_tensor(0, np.full((2, 3), value, np.float32))
                it.invoke()
                it.get_tensor(it.get_output_details()[0]["index"])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(v,)) for v in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_invoke_allocates_nothing_in_python():
    it = ours.Interpreter(model_content=heavy_model(64, 4))
    it.allocate_tensors()
    it.set_tensor(0, np.ones((64, 64), np.float32))
    it.invoke()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(200):
        it.invoke()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 4096, grown


def test_preserve_all_tensors_keeps_intermediates():
    b = ModelBuilder()
    x = b.input("x", [4])
    h = b.tensor("h", [4])
    y = b.tensor("y", [4])
    b.op("ADD", [x, x], [h])
    b.op("MUL", [h, h], [y])
    b.output(y)
    model = b.build()
    it = ours.Interpreter(model_content=model, experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    it.set_tensor(0, np.arange(4, dtype=np.float32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(h), np.arange(4) * 2.0)


def accumulator_model():
    """acc += x on every invoke; CALL_ONCE initialises acc to zeros."""
    b = ModelBuilder()
    init = b.subgraph("init")
    h0 = init.tensor("handle", [], "RESOURCE")
    init.op("VAR_HANDLE", [], [h0], shared_name="acc")
    init.op("ASSIGN_VARIABLE", [h0, init.constant("zeros", np.zeros(3, np.float32))], [])
    b.op("CALL_ONCE", [], [], init_subgraph_index=init.index)
    x = b.input("x", [3])
    handle = b.tensor("handle", [], "RESOURCE")
    b.op("VAR_HANDLE", [], [handle], shared_name="acc")
    old = b.tensor("old", [3])
    b.op("READ_VARIABLE", [handle], [old])
    new = b.tensor("new", [3])
    b.op("ADD", [old, x], [new])
    b.op("ASSIGN_VARIABLE", [handle, new], [])
    b.output(new)
    return b.build()


def test_resource_variables_accumulate_and_reset():
    it = ours.Interpreter(model_content=accumulator_model())
    it.allocate_tensors()
    out = it.get_output_details()[0]["index"]
    x = np.array([1, 2, 3], np.float32)
    it.set_tensor(0, x)
    it.invoke()
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(out), 2 * x)
    expected = run_reference(accumulator_model(), [x])[0]
    np.testing.assert_array_equal(expected, x)
    # The reference leaves resource variables alone here; ours resets them too.
    it.reset_all_variables()
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(out), x)
