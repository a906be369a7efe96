"""The arena planner and the plan's tensor table: placement, lifetimes, quantization arrays."""
import mmap
import os

import numpy as np
import pytest

from tflite_rt import _core, _planner, interpreter
from tflite_rt.ops._base import BUILTIN_CODES, Node, TensorInfo, scale_bounds


def placement_by_steps(items):
    """The greedy rule written the plain way: tensors indexed by the steps they are alive at."""
    offsets, total, alive = {}, 0, {}
    for tid, size, first, last in sorted(items, key=lambda x: (-x[1], x[2], x[0])):
        extent = (size + _planner.ALIGNMENT - 1) // _planner.ALIGNMENT * _planner.ALIGNMENT or _planner.ALIGNMENT
        busy = set()
        for step in range(first, last + 1):
            busy.update(alive.get(step, ()))
        offset = 0
        for lo, hi in sorted(busy):
            if offset + extent <= lo:
                break
            offset = max(offset, hi)
        for step in range(first, last + 1):
            alive.setdefault(step, []).append((offset, offset + extent))
        offsets[tid] = offset
        total = max(total, offset + extent)
    return offsets, total


def random_items(rng, n, steps, sizes):
    items = []
    for tid in rng.permutation(n * 3)[:n]:
        first = int(rng.integers(-1, steps))
        last = int(rng.integers(first, steps + 1))
        items.append((int(tid), int(rng.choice(sizes)), first, last))
    return items


@pytest.mark.parametrize("seed", range(40))
def test_greedy_offsets_follow_the_rule(seed):
    rng = np.random.default_rng(seed)
    sizes = [0, 1, 63, 64, 65, 1000, 4096] if seed % 2 else list(range(0, 300, 7))
    items = random_items(rng, int(rng.integers(1, 120)), int(rng.integers(1, 40)), sizes)
    offsets, total = _planner.greedy_offsets(items)
    assert (offsets, total) == placement_by_steps(items)
    # and no two tensors alive at one step share a byte
    extent = {tid: max(-(-size // 64) * 64, 64) for tid, size, _f, _l in items}
    for i, (a, _sa, fa, la) in enumerate(items):
        assert offsets[a] % _planner.ALIGNMENT == 0 and offsets[a] + extent[a] <= total
        for b, _sb, fb, lb in items[i + 1:]:
            if fa <= lb and fb <= la:
                assert offsets[a] + extent[a] <= offsets[b] or offsets[b] + extent[b] <= offsets[a]


def test_greedy_offsets_ties_and_empty():
    assert _planner.greedy_offsets([]) == ({}, 0)
    # equal sizes: the earlier first step, then the lower id, goes first (lower offset)
    items = [(7, 100, 0, 3), (3, 100, 0, 3), (5, 100, -1, 3)]
    assert _planner.greedy_offsets(items) == ({5: 0, 3: 128, 7: 256}, 384)
    # tensors that never meet share offset 0; a size-0 tensor still takes ALIGNMENT bytes
    assert _planner.greedy_offsets([(1, 0, 0, 0), (2, 500, 1, 2)]) == ({2: 0, 1: 0}, 512)


def test_greedy_arena_refuses_mismatched_lengths():
    with pytest.raises(ValueError):
        _core.greedy_arena([1, 2], [10], [0, 0], [1, 1], 64)


class _Spec:
    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs


class _Subgraph:
    def __init__(self, spec, nodes):
        self.spec, self.nodes = spec, nodes


def _tensor(tid, const=None, is_variable=False, subgraph=0):
    return TensorInfo(tid, tid, subgraph, "t%d" % tid, 1, (4,), (4,), None, None, 0, const,
                      is_variable, None, 0)


def test_lifetimes_span_first_to_last_use():
    t = [_tensor(i) for i in range(6)]
    t[4] = _tensor(4, const=np.zeros(4, np.float32))
    t[5] = _tensor(5, is_variable=True)
    nodes = [Node("ADD", 0, 0, 0, [t[0], t[4]], [t[1]], None, None),
             Node("ADD", 0, 1, 0, [t[1], None], [t[2]], None, None, [t[3]]),
             Node("ADD", 0, 2, 0, [t[2], t[1], t[5]], [t[3]], None, None)]
    life = _planner.lifetimes(_Subgraph(_Spec([0], [3]), nodes), t)
    # inputs and outputs outlive every step; constants and variables are not in the arena
    assert life == {0: (-1, 3), 3: (-1, 3), 1: (0, 2), 2: (1, 2)}
    assert list(life) == [0, 3, 1, 2]


def test_scale_bounds_see_nan_and_per_channel_values():
    def quantized(tid, scales, type_code=9):
        scales = np.asarray(scales, np.float32)
        return TensorInfo(tid, tid, 0, "q", type_code, (len(scales),), (len(scales),), scales,
                          np.zeros(len(scales), np.int64), 0, None, False, None, 0)

    node = Node("CONV_2D", 3, 0, 0, [], [], None, None)
    assert scale_bounds(node, quantized(0, [0.5])) == (0.5, 0.5)
    assert scale_bounds(node, quantized(1, [0.25, 2.0, 1.0])) == (0.25, 2.0)
    assert scale_bounds(node, quantized(3, [4.0, 1.0], type_code=2)) == (1.0, 4.0)
    for scales in ([1.0, np.nan, 3.0], [np.nan, 1.0], [2.0, 1.0, np.nan], [np.nan]):
        assert all(np.isnan(scale_bounds(node, quantized(2, scales))))
    # float32 values, not their double neighbours
    assert scale_bounds(node, quantized(4, [0.1, 0.3])) == (float(np.float32(0.1)), float(np.float32(0.3)))
    # scales of another dtype or layout go through numpy's reductions, with the same results
    odd = quantized(5, [3.0, 0.5, 2.0])
    for scales in (np.array([2.0, 0.5, 3.0])[::-1], np.array([3.0, 0.5, 2.0]), [3.0, 0.5, 2.0]):
        odd.scales = scales
        assert scale_bounds(node, odd) == (0.5, 3.0)
    odd.scales = np.array([3.0, np.nan])
    assert all(np.isnan(scale_bounds(node, odd)))


def test_any_nonzero_reads_int64_vectors_in_c_and_anything_else_through_numpy():
    from tflite_rt.ops._node import any_nonzero
    assert not any_nonzero(np.zeros(5, np.int64))
    assert any_nonzero(np.array([0, 0, 0, 7], np.int64))
    assert any_nonzero(np.array([-1, 0], np.int64))
    assert not any_nonzero(np.zeros(0, np.int64))
    assert any_nonzero(np.array([0, 1, 0, 0], np.int64)[::2]) is False
    assert any_nonzero(np.array([0, 0, 2], np.int32))
    assert not any_nonzero([0, 0])


def test_set_tensor_takes_quantization_arrays_of_any_form():
    plan = _core.Plan(3, 1, 1)
    data = np.zeros(64, np.uint8)
    address = _core.address(data)
    # the loader's own arrays, a list, float64 values and a strided view are all accepted
    plan.set_tensor(0, 9, (4,), address, 4, 0.5, 1, np.array([0.5], np.float32), np.array([1]))
    plan.set_tensor(1, 9, (2, 2), address, 4, 0.5, 0, [0.5, 0.25], [0, 0], 1)
    strided = np.arange(8, dtype=np.float64)[::2] + 1
    plan.set_tensor(2, 9, (4, 1), address, 4, 1.0, 0, strided, np.zeros(8, np.int64)[::2], 0)
    with pytest.raises(ValueError, match="2 scales but 1 zero points"):
        plan.set_tensor(1, 9, (2, 2), address, 4, 0.5, 0, np.ones(2, np.float32), np.zeros(1, np.int64), 1)
    with pytest.raises(TypeError):
        plan.set_tensor(1, 9, (2, 2), address, 4, 0.5, 0, np.ones(2, np.float32), None, 1)


def _float_plan(num_tensors, num_nodes):
    """A plan of num_tensors float32 [4] tensors, one subgraph from tensors 0 and 1 to the last."""
    plan = _core.Plan(num_tensors, 1, 1)
    buffers = [np.zeros(4, np.float32) for _ in range(num_tensors)]
    for i, b in enumerate(buffers):
        plan.set_tensor(i, 0, (4,), _core.address(b), 16)
    plan.set_subgraph(0, num_nodes, [0, 1], [num_tensors - 1])
    return plan, buffers


def test_add_node_converts_parameters_as_int_and_float():
    add, leaky_relu = BUILTIN_CODES["ADD"], BUILTIN_CODES["LEAKY_RELU"]
    plan, buffers = _float_plan(4, 2)
    # refused before C sees them, as int() and float() refuse them
    with pytest.raises(ValueError):
        plan.add_node(0, add, [0, 1], [2], ["x"], [])
    with pytest.raises(TypeError):
        plan.add_node(0, add, [0, 1], [2], [0, 1], [object()])
    # numpy integers and bools in ip, numpy floats in fp, as prepare functions may leave them
    plan.add_node(0, add, [0, 1], [2], [np.int64(0), True], [])
    plan.add_node(0, leaky_relu, [2], [3], [], [np.float32(0.5)])
    buffers[0][:] = [1, -2, 3, -4]
    buffers[1][:] = [1, 1, -5, 0]
    plan.invoke(0)
    assert buffers[3].tolist() == [2.0, -0.5, -1.0, -2.0]


def test_add_nodes_converts_like_add_node_and_drops_pages_after_their_node():
    from types import SimpleNamespace
    add, leaky_relu = BUILTIN_CODES["ADD"], BUILTIN_CODES["LEAKY_RELU"]
    plan, buffers = _float_plan(5, 3)
    t = [SimpleNamespace(id=i) for i in range(5)]

    def node(code, inputs, outputs, ip=(), fp=(), extra=()):
        return SimpleNamespace(code=code, inputs=inputs, extra_inputs=list(extra), outputs=outputs,
                               ip=list(ip), fp=list(fp))

    with pytest.raises(ValueError):
        plan.add_nodes(0, [node(add, [t[0], t[1]], [t[2]], ["x"])], [None])
    with pytest.raises(TypeError):
        plan.add_nodes(0, [node(add, [t[0], t[1]], [t[2]], [0, 1], [object()])], [None])
    # private anonymous memory reads back as zeros once dropped, so the drop is seen
    page = mmap.PAGESIZE
    pages = mmap.mmap(-1, 3 * page, flags=mmap.MAP_PRIVATE)
    pages[:] = b"\x01" * len(pages)
    base = _core.address(np.frombuffer(pages, np.uint8))
    # the second input of the first node comes from extra_inputs, as the planner adds them
    nodes = [node(add, [t[0]], [t[2]], [np.int64(0), True], extra=[t[1]]),
             node(leaky_relu, [t[2]], [t[3]], fp=[np.float32(0.5)]),
             node(add, [t[3], t[3]], [t[4]])]
    plan.add_nodes(0, nodes, [None, (base + page, page), None])
    assert pages[:page] == b"\x01" * page
    assert pages[page:2 * page] == bytes(page)
    assert pages[2 * page:] == b"\x01" * page
    buffers[0][:] = [1, -2, 3, -4]
    buffers[1][:] = [1, 1, -5, 0]
    plan.invoke(0)
    assert buffers[4].tolist() == [4.0, -1.0, -2.0, -4.0]


def _fc_model(path, also_added):
    """A model with a 512 KiB FULLY_CONNECTED filter; with also_added, an ADD reads it too."""
    from tflite_rt.builder import ModelBuilder
    rng = np.random.default_rng(1)
    b = ModelBuilder()
    x = b.input("x", [2, 512])
    w = b.constant("w", rng.standard_normal((256, 512)).astype(np.float32))
    y = b.tensor("y", [2, 256])
    b.op("FULLY_CONNECTED", [x, w], [y])
    b.output(y)
    if also_added:
        z = b.tensor("z", [256, 512])
        b.op("ADD", [w, w], [z])
        b.output(z)
    with open(path, "wb") as f:
        f.write(b.build())


@pytest.mark.parametrize("also_added", [False, True])
def test_packed_filters_give_back_their_file_pages_unless_something_else_reads_them(tmp_path, also_added):
    from tflite_rt import model as model_module
    from tflite_rt.interpreter import Interpreter
    path = str(tmp_path / "fc.tflite")
    _fc_model(path, also_added)
    loaded = model_module.load(model_module.read_model_file(path))
    planner = _planner.Planner(loaded, {}, 1)
    planner.plan_entry(0)
    sg = planner.subgraphs[0]
    releases = _planner._PackedPages(loaded.raw, planner).releases(sg)
    assert len(releases) == len(sg.nodes)
    if also_added:
        assert releases == [None] * len(sg.nodes)
    else:
        filter_start = _core.address(sg.nodes[0].inputs[1].const)
        start, nbytes = releases[0]
        assert start % mmap.PAGESIZE == 0 and nbytes % mmap.PAGESIZE == 0
        assert filter_start <= start and start + nbytes <= filter_start + 256 * 512 * 4
        assert nbytes >= 256 * 512 * 4 - 2 * mmap.PAGESIZE
    # the dropped pages come back from the file: results and the filter's values are unchanged
    it = Interpreter(model_path=path)
    it.allocate_tensors()
    x = np.random.default_rng(2).standard_normal((2, 512)).astype(np.float32)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    w = next(d for d in it.get_tensor_details() if d["name"] == "w")
    weights = it.get_tensor(w["index"])
    np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]), x @ weights.T,
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(weights, np.random.default_rng(1).standard_normal((256, 512)).astype(np.float32))


def test_constants_the_file_misaligns_are_copied_aligned_and_the_others_are_not():
    from types import SimpleNamespace
    from tflite_rt.ops._base import TENSOR_TYPES
    raw = np.zeros(1024, np.uint8)
    raw[:] = np.random.default_rng(3).integers(0, 256, raw.size)
    base = (-_core.address(raw)) % _planner.ALIGNMENT   # raw[base] is ALIGNMENT-aligned

    def spec(type_name, start, nbytes, shape, sparsity=None):
        return SimpleNamespace(data=raw[base + start:base + start + nbytes], type=TENSOR_TYPES[type_name],
                               shape=shape, sparsity=sparsity)

    specs = [spec("INT8", 1, 37, (37,)),                 # misaligned for a byte type too (>= 16 bytes)
             spec("FLOAT32", 64, 16, (2, 2)),            # aligned: used where it is
             SimpleNamespace(data=None, type=TENSOR_TYPES["FLOAT32"], shape=(3,), sparsity=None),
             spec("FLOAT32", 130, 24, (2, 3)),
             spec("INT32", 262, 12, (2, 2), sparsity=object()),   # sparse: its stored values, flat
             spec("INT32", 301, 0, (0,)),
             spec("INT8", 401, 5, (5,))]                 # under 16 bytes: any address will do
    values, any_sparse = _planner._const_values(specs)
    assert any_sparse
    assert values[2] is None
    for s, v in zip(specs, values):
        if s.data is None:
            continue
        dtype = np.dtype(v.dtype).newbyteorder("<")
        np.testing.assert_array_equal(v.reshape(-1), s.data.view(dtype))
        assert v.shape == (s.shape if s.sparsity is None else (len(s.data) // dtype.itemsize,))
    for i in (1, 6):
        assert np.shares_memory(values[i], raw)
    for i in (0, 3, 4):   # (an empty array's address means nothing)
        assert not np.shares_memory(values[i], raw)
        assert _core.address(values[i]) % _planner.ALIGNMENT == 0


@pytest.mark.parametrize("shape, message", [
    ((1,) * 9, "output 0 would have rank 9; at most 8 is supported"),
    ((4, -1, 2), "output 0 would have dimension -1 (must be in [0, 2**31))"),
    ((2, 1 << 31), "output 0 would have dimension 2147483648 (must be in [0, 2**31))"),
    ((1 << 20, 1 << 17, 3), "output 0 of shape [1048576, 131072, 3] is too large"),  # > 2**40 bytes
])
def test_an_output_shape_out_of_bounds_is_refused_by_name(shape, message):
    from tflite_rt.ops._base import F32, ModelError
    out = TensorInfo(id=0, index=0, subgraph=0, name="y", type=F32, shape=(1,))
    node = Node("ADD", BUILTIN_CODES["ADD"], 5, 0, [], [out], None, None)
    with pytest.raises(ModelError, match=r"^ADD \(subgraph 0, node 5\): " + __import__("re").escape(message) + "$"):
        node.set_output_shape(0, shape)
    assert out.shape == (1,)
    node.set_output_shape(0, np.array([1 << 20, 1 << 17, 2]))   # 2**40 bytes of floats: allowed
    assert out.shape == (1 << 20, 1 << 17, 2) and all(type(d) is int for d in out.shape)


def _padded_cnn():
    """PAD, CONV_2D, DEPTHWISE_CONV_2D, CONCATENATION, MEAN, FULLY_CONNECTED, SOFTMAX: ops that
    write their outputs in pieces, reusing arena memory earlier tensors held."""
    from tflite_rt.builder import ModelBuilder
    rng = np.random.default_rng(4)
    b = ModelBuilder()
    x = b.input("x", [1, 9, 9, 3])
    padded = b.tensor("padded", [1, 11, 11, 3])
    b.op("PAD", [x, b.constant("pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))], [padded])
    conv = b.tensor("conv", [1, 11, 11, 8])
    b.op("CONV_2D", [padded, b.constant("w", rng.standard_normal((8, 3, 3, 3)).astype(np.float32)),
                     b.constant("b", rng.standard_normal(8).astype(np.float32))], [conv],
         padding="SAME", stride_h=1, stride_w=1, fused_activation_function="RELU")
    dw = b.tensor("dw", [1, 6, 6, 8])
    b.op("DEPTHWISE_CONV_2D", [conv, b.constant("dw_w", rng.standard_normal((1, 3, 3, 8)).astype(np.float32)),
                               b.constant("dw_b", np.zeros(8, np.float32))], [dw],
         padding="SAME", stride_h=2, stride_w=2, depth_multiplier=1)
    joined = b.tensor("joined", [1, 6, 6, 16])
    b.op("CONCATENATION", [dw, dw], [joined], axis=3)
    pooled = b.tensor("pooled", [1, 16])
    b.op("MEAN", [joined, b.constant("axes", np.array([1, 2], np.int32))], [pooled], keep_dims=False)
    logits = b.tensor("logits", [1, 5])
    b.op("FULLY_CONNECTED", [pooled, b.constant("fc", rng.standard_normal((5, 16)).astype(np.float32)), -1],
         [logits])
    probs = b.tensor("probs", [1, 5])
    b.op("SOFTMAX", [logits], [probs], beta=1.0)
    b.output(probs, conv)
    return b.build()


@pytest.mark.parametrize("num_threads", [1, 2])
def test_no_op_reads_arena_memory_it_has_not_written(monkeypatch, num_threads):
    """The arena is not zeroed; filled with garbage instead, every output still matches."""
    from harness import assert_matches_reference
    plain = _planner._aligned_empty

    def garbage_unless_zeroed(nbytes, zeroed=True):
        buf = plain(nbytes, zeroed)
        if not zeroed:
            buf[:] = 0xA5
        return buf
    monkeypatch.setattr(_planner, "_aligned_empty", garbage_unless_zeroed)
    assert_matches_reference(_padded_cnn(), num_threads=num_threads, rtol=1e-4, atol=1e-4)
    demo = os.path.join(os.path.dirname(_planner.__file__), "demo", "demo_cnn.tflite")
    with open(demo, "rb") as f:
        assert_matches_reference(f.read(), num_threads=num_threads, rtol=1e-4, atol=1e-4)


def test_set_planned_tensors_sets_arena_tensors_and_plain_constants_and_leaves_the_rest():
    from tflite_rt.ops._base import STRING, TENSOR_TYPES
    f32, i8 = TENSOR_TYPES["FLOAT32"], TENSOR_TYPES["INT8"]

    def info(tid, type_code=f32, const=None, sparsity=None, quantized=False):
        scales = np.array([0.5], np.float32) if quantized else None
        zero_points = np.array([3], np.int64) if quantized else None
        return TensorInfo(tid, tid, 0, "t%d" % tid, type_code, (2, 2), (2, 2), scales, zero_points, 0,
                          const, False, sparsity, 0)

    constant = np.arange(4, dtype=np.float32).reshape(2, 2)
    strided = np.arange(8, dtype=np.float32).reshape(2, 4)[:, ::2]
    tensors = [info(0), info(1, i8, quantized=True), info(2, const=constant), info(3, const=strided),
               info(4, STRING, const=np.array([b"a"], object)), info(5, const=constant, sparsity=object()),
               info(6)]
    sizes = [16, 4, 16, 16, 9, 16, 16]
    arena = _planner._aligned_empty(128)
    made, constants = {}, {}
    plan = _core.Plan(len(tensors), 1, 1)
    rest = plan.set_planned_tensors(tensors, sizes, {0: 0, 1: 64}, arena, made, constants, STRING)
    assert [t.id for t in rest] == [3, 4, 5, 6]
    assert set(made) == {0, 1} and made[1].nbytes == 4 and np.shares_memory(made[1], arena[64:68])
    assert set(constants) == {2} and constants[2] is constant


def _reshape_chain():
    """ADD -> RESHAPE -> SQUEEZE -> EXPAND_DIMS -> MUL, the reshaped tensors read again later, and
    a RESHAPE of the model's input and one into its output (which keep bytes of their own)."""
    from tflite_rt.builder import ModelBuilder
    b = ModelBuilder()
    x = b.input("x", [2, 6])
    flat_in = b.tensor("flat_in", [12])
    b.op("RESHAPE", [x, b.constant("to12", np.array([12], np.int32))], [flat_in])
    a = b.tensor("a", [2, 6])
    b.op("ADD", [x, b.constant("c", np.arange(12, dtype=np.float32).reshape(2, 6))], [a])
    r = b.tensor("r", [1, 3, 4])
    b.op("RESHAPE", [a, b.constant("to134", np.array([1, 3, 4], np.int32))], [r])
    s = b.tensor("s", [3, 4])
    b.op("SQUEEZE", [r], [s], squeeze_dims=[0])
    e = b.tensor("e", [3, 1, 4])
    b.op("EXPAND_DIMS", [s, b.constant("axis", np.array(1, np.int32))], [e])
    m = b.tensor("m", [3, 1, 4])
    b.op("MUL", [e, e], [m])
    back = b.tensor("back", [2, 6])
    b.op("RESHAPE", [m, b.constant("to26", np.array([2, 6], np.int32))], [back])
    out = b.tensor("out", [2, 6])
    b.op("SUB", [back, a], [out])   # a, whose bytes r, s and e share, read after them
    flat_out = b.tensor("flat_out", [12])
    b.op("RESHAPE", [out, b.constant("to12b", np.array([12], np.int32))], [flat_out])
    b.output(flat_out, flat_in, out)
    return b.build()


@pytest.mark.parametrize("num_threads", [1, 2])
def test_shape_only_ops_share_their_input_bytes_inside_the_arena(num_threads):
    from harness import assert_matches_reference
    model = _reshape_chain()
    assert_matches_reference(model, num_threads=num_threads)

    def addresses(it):
        by_name = {d["name"]: d["index"] for d in it.get_tensor_details()}
        views = it._alloc.views
        return {name: _core.address(views.get(index)) for name, index in by_name.items()
                if views.get(index) is not None}

    it = interpreter.Interpreter(model_content=model, num_threads=num_threads)
    it.allocate_tensors()
    at = addresses(it)
    assert at["a"] == at["r"] == at["s"] == at["e"]   # one run of bytes for the chain
    assert at["back"] == at["m"]
    # the subgraph's input and outputs keep bytes of their own
    assert len({at["x"], at["flat_in"], at["out"], at["flat_out"], at["a"], at["m"]}) == 6
    # every tensor its own bytes when all are preserved
    kept = interpreter.Interpreter(model_content=model, num_threads=num_threads,
                                             experimental_preserve_all_tensors=True)
    kept.allocate_tensors()
    at = addresses(kept)
    assert len({at[name] for name in ("a", "r", "s", "e", "m", "back")}) == 6
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(2, 6)
    kept.set_tensor(kept.get_input_details()[0]["index"], x)
    kept.invoke()
    tensor = {d["name"]: d["index"] for d in kept.get_tensor_details()}
    a = x + np.arange(12, dtype=np.float32).reshape(2, 6)
    np.testing.assert_array_equal(kept.get_tensor(tensor["e"]), a.reshape(3, 1, 4))


@pytest.mark.parametrize("scales, zero_points", [
    (np.array([0.5, 2.0], np.float32), np.array([3, -1], np.int64)),
    (np.array([0.1], np.float64), np.array([7], np.int32)),
    (np.array([0.25, 1.0], ">f4"), np.array([5, 6], ">i8")),       # not native: read as Python does
    (np.arange(6, dtype=np.float32)[::2] + 0.5, np.arange(6)[::-2]),   # strided
    (np.array([3, 4], np.int64), np.array([1.75, 2.0])),            # integer scales, float zero points
    ([0.125, 1.0], [9, 1]),
    (np.zeros(0, np.float32), np.zeros(0, np.int64)),
    (None, None),
    (np.array([0.5], np.float16), np.array([200], np.uint8)),
])
def test_first_scale_and_zero_point_read_as_python_reads_them(scales, zero_points):
    """TensorInfo reads the first scale and zero point of the loader's vectors in C; any other
    value is read as `float(scales[0])` and `int(zero_points[0])` read it."""
    t = TensorInfo(id=0, index=0, subgraph=0, name="t", type=9, shape=(2,), scales=scales,
                   zero_points=zero_points)
    quantized = scales is not None and len(scales) > 0
    assert t.quantized is quantized
    assert type(t.scale) is float and t.scale == (float(scales[0]) if quantized else 0.0)
    has_zero_point = zero_points is not None and len(zero_points) > 0
    assert type(t.zero_point) is int and t.zero_point == (int(zero_points[0]) if has_zero_point else 0)


def test_a_planned_model_leaves_nothing_for_the_cyclic_collector():
    """Once planned, nodes no longer point at the planner and are not tracked: a dropped
    interpreter is freed by reference counting alone, and collector passes do not walk it."""
    import gc
    import weakref
    demo = os.path.join(os.path.dirname(_planner.__file__), "demo", "demo_cnn.tflite")
    gc.collect()
    gc.disable()
    try:
        it = interpreter.Interpreter(model_path=demo)
        it.allocate_tensors()
        nodes = [node for sg in it._alloc.planner.subgraphs for node in sg.nodes]
        assert nodes and all(node.planner is None for node in nodes)
        assert not any(gc.is_tracked(x) for node in nodes
                       for x in (node, node.inputs, node.outputs, node.ip, node.fp))
        planner = weakref.ref(it._alloc.planner)
        del it, nodes
        assert planner() is None
    finally:
        gc.enable()
