"""Differential testing: the same model and inputs through tflite_rt and the reference runtime."""
import numpy as np
import pytest

from tflite_rt import interpreter as ours


def reference_module():
    return pytest.importorskip("ai_edge_litert.interpreter")


def random_inputs(details, seed=0, low=-3.0, high=3.0):
    """Random inputs for each input detail, in each dtype's useful range."""
    rng = np.random.default_rng(seed)
    values = []
    for d in details:
        shape, dtype = tuple(d["shape"]), np.dtype(d["dtype"])
        if dtype == np.bool_:
            values.append(rng.integers(0, 2, shape).astype(np.bool_))
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            lo, hi = (max(info.min, -128), min(info.max, 127)) if dtype.itemsize >= 4 else (info.min, info.max)
            values.append(rng.integers(lo, hi, shape, endpoint=True).astype(dtype))
        else:
            values.append(rng.uniform(low, high, shape).astype(dtype))
    return values


def run(module, model, inputs=None, seed=0, num_threads=1, input_shapes=None, **kwargs):
    """Runs `model` (bytes) once; returns (outputs, interpreter)."""
    it = module.Interpreter(model_content=model, num_threads=num_threads, **kwargs)
    if input_shapes:
        for d, shape in zip(it.get_input_details(), input_shapes):
            if shape is not None:
                it.resize_tensor_input(d["index"], shape)
    it.allocate_tensors()
    details = it.get_input_details()
    if inputs is None:
        inputs = random_inputs(details, seed)
    for d, x in zip(details, inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()], it


def run_reference(model, inputs=None, seed=0, resolver="default", input_shapes=None):
    ref = reference_module()
    kwargs = {}
    if resolver == "ref":
        kwargs["experimental_op_resolver_type"] = ref.OpResolverType.BUILTIN_REF
    elif resolver == "builtin":
        kwargs["experimental_op_resolver_type"] = ref.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return run(ref, model, inputs, seed, input_shapes=input_shapes, **kwargs)[0]


def assert_matches_reference(model, inputs=None, seed=0, rtol=1e-5, atol=1e-5, resolver="default",
                             num_threads=1, input_shapes=None, max_int_diff=0):
    """Our outputs equal the reference runtime's: floats within rtol/atol, integers exactly
    (or within max_int_diff units)."""
    if inputs is None:
        probe = ours.Interpreter(model_content=model)
        if input_shapes:
            for d, shape in zip(probe.get_input_details(), input_shapes):
                if shape is not None:
                    probe.resize_tensor_input(d["index"], shape)
        probe.allocate_tensors()
        inputs = random_inputs(probe.get_input_details(), seed)
    expected = run_reference(model, inputs, resolver=resolver, input_shapes=input_shapes)
    got, _ = run(ours, model, inputs, num_threads=num_threads, input_shapes=input_shapes)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == e.shape, "output %d: shape %s, reference %s" % (i, g.shape, e.shape)
        assert g.dtype == e.dtype, "output %d: dtype %s, reference %s" % (i, g.dtype, e.dtype)
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg="output %d" % i)
        elif e.dtype.kind in "iu" and max_int_diff:
            diff = np.abs(g.astype(np.int64) - e.astype(np.int64))
            assert diff.max(initial=0) <= max_int_diff, "output %d differs by %d units" % (i, diff.max())
        else:
            np.testing.assert_array_equal(g, e, err_msg="output %d" % i)
    return got
