"""The drop-in interpreter: the classes, methods, detail dicts and errors of
`tflite_runtime.interpreter` / `ai_edge_litert.interpreter`. No math happens here: the model is
checked and planned by `_planner`, and `invoke()` is one call into C with the GIL released."""
import ctypes
import enum
import os
import sys
import threading
import warnings

import numpy as np

from . import _env, _planner, model as _model
from .builder import encode_strings
from .ops._base import MAX_RANK, NUMPY_TYPES, TYPE_NAMES

__all__ = ["Interpreter", "SignatureRunner", "Delegate", "load_delegate", "OpResolverType",
           "InterpreterWithCustomOps"]


class OpResolverType(enum.Enum):
    """Accepted for compatibility. tflite_rt has one set of kernels, whose integer results equal
    TFLite's reference kernels, so every resolver type gives the same results."""

    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


class Delegate:
    """A TFLite external delegate library, loaded with `load_delegate`.

    The library is loaded and its plugin entry points are checked. Graph partitions are not yet
    handed to external delegates: a model given one runs on tflite_rt's CPU kernels, with a
    warning, which is the documented fallback when a delegate's hardware is absent."""

    def __init__(self, library, options=None):
        self._library_path = library
        self._options = dict(options or {})
        try:
            self._library = ctypes.CDLL(library)
        except OSError as e:
            raise ValueError("Failed to load delegate from %s\n%s" % (library, e)) from None
        if not hasattr(self._library, "tflite_plugin_create_delegate"):
            raise ValueError("Failed to load delegate from %s\n%s does not export "
                             "tflite_plugin_create_delegate" % (library, library))

    def _get_native_delegate_pointer(self):
        return None


def load_delegate(library, options=None):
    """Loads a TFLite external delegate; raises ValueError (never OSError) when it cannot."""
    if not isinstance(library, (str, os.PathLike)):
        raise ValueError("Failed to load delegate from %r: expected a library path" % (library,))
    return Delegate(os.fspath(library), options)


def _detail(info, subgraph_tensor):
    """The details dict of one tensor, exactly as the reference builds it."""
    t = subgraph_tensor
    if info.quantized:
        scales = np.asarray(info.scales, dtype=np.float32)
        zero_points = np.asarray(info.zero_points, dtype=np.int32)
        quantization = (float(scales[0]), int(zero_points[0])) if len(scales) == 1 else (0.0, 0)
    else:
        scales = np.zeros(0, np.float32)
        zero_points = np.zeros(0, np.int32)
        quantization = (0.0, 0)
    return {
        "name": t.name,
        "index": t.index,
        "shape": np.asarray(info.shape, dtype=np.int32),
        "shape_signature": np.asarray(
            t.shape_signature if t.shape_signature is not None else info.shape, dtype=np.int32),
        "dtype": NUMPY_TYPES[t.type].type if t.type != 5 else np.bytes_,
        "quantization": quantization,
        "quantization_parameters": {
            "scales": scales,
            "zero_points": zero_points,
            "quantized_dimension": int(t.quantized_dimension or 0),
            "block_size": 0,
        },
        "sparsity_parameters": _sparsity_dict(t.sparsity),
    }


def _sparsity_dict(sparsity):
    if sparsity is None:
        return {}
    out = {}
    if sparsity.traversal_order is not None:
        out["traversal_order"] = np.asarray(sparsity.traversal_order, dtype=np.int32)
    if sparsity.block_map is not None:
        out["block_map"] = np.asarray(sparsity.block_map, dtype=np.int32)
    dims = []
    for dm in sparsity.dim_metadata or []:
        if dm.format == 0:
            dims.append({"format": 0, "dense_size": int(dm.dense_size or 0)})
        else:
            def values(v):
                return np.asarray(v.values, dtype=np.int32) if v is not None and v.values is not None else None
            dims.append({"format": 1, "array_segments": values(dm.array_segments),
                         "array_indices": values(dm.array_indices)})
    out["dim_metadata"] = dims
    return out


class Interpreter:
    """Runs a TFLite model. See the module docstring; the arguments are the reference's.

    num_threads: None uses every core available to the process; 1 runs on the calling thread.
    profile: when True, the executor times every node (see `get_profile()`).
    """

    def __init__(self, model_path=None, model_content=None, experimental_delegates=None,
                 num_threads=None, experimental_op_resolver_type=OpResolverType.AUTO,
                 experimental_preserve_all_tensors=False,
                 experimental_disable_delegate_clustering=False,
                 experimental_default_delegate_latest_features=False,
                 experimental_compress_quantization_zero_points=False,
                 experimental_disable_delegate_node_fusion=False,
                 experimental_force_delegate_node_profiling=False, profile=False):
        if not isinstance(experimental_op_resolver_type, OpResolverType):
            raise ValueError("Unrecognized passed in op resolver type: {}".format(
                experimental_op_resolver_type))
        if num_threads is not None:
            if not isinstance(num_threads, int) or isinstance(num_threads, bool):
                raise ValueError("type of num_threads should be int")
            if num_threads < 1:
                raise ValueError("num_threads should >= 1")
            if num_threads > _env.MAX_THREADS:
                raise ValueError("num_threads should be <= %d" % _env.MAX_THREADS)
        self._num_threads = num_threads or _env.default_num_threads()
        if model_path and not model_content:
            raw = _model.read_model_file(os.fspath(model_path))
        elif model_content and not model_path:
            if not isinstance(model_content, (bytes, bytearray, memoryview)):
                raise ValueError("model_content must be bytes, got %s" % type(model_content).__name__)
            raw = bytes(model_content)
        elif not model_content and not model_path:
            raise ValueError("`model_path` or `model_content` must be specified.")
        else:
            raise ValueError("Can't both provide `model_path` and `model_content`")
        self._lock = threading.RLock()
        self._model = _model.load(raw)
        self._preserve_all = bool(experimental_preserve_all_tensors)
        self._profile = bool(profile)
        self._delegates = list(experimental_delegates or [])
        if self._delegates:
            warnings.warn("tflite_rt runs this model on its CPU kernels: external delegates are "
                          "loaded but not applied", RuntimeWarning, stacklevel=2)
        self._variables = _planner.Variables()
        self._input_shapes = {}
        self._alloc = None
        self._ready = False
        self._allocated = False   # as in the reference, data needs allocate_tensors() first
        self._view_baseline = 0
        self._entries = sorted({0} | {s["subgraph"] for s in self._model.signatures.values()})
        # Planning here checks the whole model, so a bad one fails at construction.
        self._plan()
        self._signature_defs = self.get_signature_list()

    # -- planning --------------------------------------------------------------------------
    def _plan(self):
        self._alloc = _planner.allocate(self._model, self._input_shapes, self._num_threads,
                                        self._preserve_all, self._variables, self._entries)
        if self._profile:
            self._alloc.plan.set_profiling(True)
        self._ready = True
        self._view_baseline = sys.getrefcount(self._arena_owner())

    def _arena_owner(self):
        arena = self._alloc.arena
        return arena.base if arena.base is not None else arena

    def _ensure_safe(self):
        if self._alloc is not None and sys.getrefcount(self._arena_owner()) > self._view_baseline:
            raise RuntimeError(
                "There is at least 1 reference to internal data in the interpreter in the form "
                "of a numpy array or slice. Be sure to only hold the function returned from "
                "tensor() if you are using raw data access.")

    def allocate_tensors(self):
        with self._lock:
            self._ensure_safe()
            if not self._ready:
                self._plan()
            self._allocated = True

    # -- introspection ---------------------------------------------------------------------
    def _subgraph(self, subgraph_index):
        n = len(self._model.subgraphs)
        if not isinstance(subgraph_index, (int, np.integer)) or not 0 <= subgraph_index < n:
            raise ValueError("subgraph_index is out of range: %s for the model, which has %d "
                             "subgraphs." % (subgraph_index, n))
        return self._model.subgraphs[int(subgraph_index)]

    def _info(self, tensor_index, subgraph_index=0):
        sg = self._subgraph(subgraph_index)
        if not isinstance(tensor_index, (int, np.integer)) or isinstance(tensor_index, bool):
            raise ValueError("Invalid tensor index %r: expected an int" % (tensor_index,))
        n = len(sg.tensors)
        if not 0 <= tensor_index < n:
            raise ValueError("Invalid tensor index %d exceeds max tensor index %d" % (tensor_index, n))
        return self._alloc.planner.by_subgraph[sg.index][int(tensor_index)], sg.tensors[int(tensor_index)]

    def _get_tensor_details(self, tensor_index, subgraph_index):
        info, spec = self._info(tensor_index, subgraph_index)
        return _detail(info, spec)

    def get_tensor_details(self, subgraph_index=0):
        sg = self._subgraph(subgraph_index)
        return [self._get_tensor_details(i, sg.index) for i in range(len(sg.tensors))]

    def get_input_details(self):
        return [self._get_tensor_details(i, 0) for i in self._model.subgraphs[0].inputs]

    def get_output_details(self):
        return [self._get_tensor_details(i, 0) for i in self._model.subgraphs[0].outputs]

    def num_subgraphs(self):
        return len(self._model.subgraphs)

    def _get_op_details(self, op_index):
        sg = self._model.subgraphs[0]
        op = sg.operators[op_index]

        def types(ids):
            return [NUMPY_TYPES[sg.tensors[i].type].type for i in ids if i != -1]

        outputs = list(op.outputs)
        if op.op_name == "WHILE":
            # Like the reference, report as absent (-1) a loop output that nothing reads and
            # that the body passes through unchanged.
            body = self._model.subgraphs[int(op.options.body_subgraph_index)]
            used = set(sg.outputs)
            for other in sg.operators:
                used.update(other.inputs)
            outputs = [-1 if i not in used and k < len(body.inputs) and k < len(body.outputs)
                       and body.inputs[k] == body.outputs[k] else i for k, i in enumerate(outputs)]
        return {"index": int(op_index), "op_name": op.op_name,
                "inputs": np.asarray(op.inputs, dtype=np.int32),
                "outputs": np.asarray(outputs, dtype=np.int32),
                "operand_types": types(op.inputs), "result_types": types(outputs)}

    def _get_ops_details(self):
        return [self._get_op_details(i) for i in range(len(self._model.subgraphs[0].operators))]

    def get_signature_list(self):
        return {key: {"inputs": list(s["inputs"]), "outputs": list(s["outputs"])}
                for key, s in self._model.signatures.items()}

    def _get_full_signature_list(self):
        return {key: {"inputs": dict(s["inputs"]), "outputs": dict(s["outputs"])}
                for key, s in self._model.signatures.items()}

    def get_signature_runner(self, signature_key=None):
        if signature_key is None:
            if len(self._signature_defs) != 1:
                raise ValueError(
                    "SignatureDef signature_key is None and model has {0} Signatures. None is "
                    "only allowed when the model has 1 SignatureDef".format(len(self._signature_defs)))
            signature_key = next(iter(self._signature_defs))
        return SignatureRunner(interpreter=self, signature_key=signature_key)

    # -- data ------------------------------------------------------------------------------
    def _bytes_of(self, info):
        if not self._ready or not self._allocated:
            raise ValueError("Tensor data is null. Run allocate_tensors() first")
        view = self._alloc.views.get(info.id)
        if view is None:
            raise ValueError("Tensor data is null: tensor %d (%r) is not used by any planned "
                             "subgraph" % (info.index, info.name))
        return view

    def set_tensor(self, tensor_index, value, subgraph_index=0):
        with self._lock:
            info, spec = self._info(tensor_index, subgraph_index)
            if not self._ready or not self._allocated:
                raise ValueError("Cannot set tensor: Tensor is unallocated. Try calling "
                                 "allocate_tensors() first")
            self._set(info, spec, value)

    def _set(self, info, spec, value):
        dtype = NUMPY_TYPES[info.type]
        if info.type == 5:
            self._set_strings(info, value)
            return
        value = np.asarray(value)
        if value.dtype != dtype:
            raise ValueError("Cannot set tensor: Got value of type %s but expected type %s for "
                             "input %d, name: %s" % (_type_name(value.dtype), TYPE_NAMES[info.type],
                                                     info.index, info.name))
        if value.ndim != len(info.shape):
            raise ValueError("Cannot set tensor: Dimension mismatch. Got %d but expected %d for "
                             "input %d." % (value.ndim, len(info.shape), info.index))
        for i, (got, want) in enumerate(zip(value.shape, info.shape)):
            if got != want:
                raise ValueError("Cannot set tensor: Dimension mismatch. Got %d but expected %d for "
                                 "dimension %d of input %d." % (got, want, i, info.index))
        if info.const is not None:
            raise ValueError("Cannot set tensor %d (%r): it is a constant of the model" %
                             (info.index, info.name))
        view = self._bytes_of(info)
        view.view(dtype).reshape(info.shape)[...] = value

    def _set_strings(self, info, value):
        value = np.asarray(value, dtype=object)
        if value.shape != tuple(info.shape):
            raise ValueError("Cannot set tensor: Dimension mismatch. Got %s but expected %s for "
                             "input %d." % (list(value.shape), list(info.shape), info.index))
        if not self._ready or not self._allocated:
            raise ValueError("Tensor data is null. Run allocate_tensors() first")
        items = [v if isinstance(v, (bytes, str)) else str(v) for v in value.reshape(-1)]
        self._alloc.set_string_bytes(info.id, encode_strings(items))

    def get_tensor(self, tensor_index, subgraph_index=0):
        with self._lock:
            info, _spec = self._info(tensor_index, subgraph_index)
            if info.type == 5:
                return _decode_strings(self._bytes_of(info), info.shape)
            return np.array(self._bytes_of(info).view(NUMPY_TYPES[info.type]).reshape(info.shape))

    def tensor(self, tensor_index):
        """A function returning a zero-copy numpy view of the tensor's current buffer. Do not
        hold the view across allocate_tensors() (which then raises RuntimeError)."""
        self._info(tensor_index, 0)

        def view():
            info, _spec = self._info(tensor_index, 0)   # the current plan's, after any resize
            return self._bytes_of(info).view(NUMPY_TYPES[info.type]).reshape(info.shape)
        return view

    def resize_tensor_input(self, input_index, tensor_size, strict=False):
        with self._lock:
            self._ensure_safe()
            self._resize(0, input_index, tensor_size, strict)

    def _resize(self, subgraph, input_index, tensor_size, strict):
        sg = self._model.subgraphs[subgraph]
        info, spec = self._info(input_index, subgraph)
        if int(input_index) not in sg.inputs:
            raise ValueError("Tensor %d (%r) is not an input of subgraph %d" % (
                input_index, spec.name, subgraph))
        shape = np.asarray(tensor_size)
        if shape.ndim != 1 or (shape.size and shape.dtype.kind not in "iu"):
            raise ValueError("tensor_size must be a list of integers, got %r" % (tensor_size,))
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise ValueError("Cannot resize tensor %d to %s: dimensions must be >= 0" % (
                input_index, list(shape)))
        if len(shape) > MAX_RANK or any(d >= 1 << 31 for d in shape):
            raise ValueError("Cannot resize tensor %d to %s: at most %d dimensions, each below "
                             "2**31" % (input_index, list(shape), MAX_RANK))
        if strict:
            sig = spec.shape_signature if spec.shape_signature is not None else spec.shape
            if len(sig) != len(shape) or any(s != -1 and s != d for s, d in zip(sig, shape)):
                raise ValueError(
                    "Attempting to resize tensor %d (shape signature %s) to %s. "
                    "ResizeInputTensorStrict only allows mutating unknown dimensions identified "
                    "by -1." % (input_index, list(sig), list(shape)))
        if shape != info.shape:
            self._input_shapes[(subgraph, int(input_index))] = shape
            self._ready = False

    def invoke(self):
        self._invoke(0)

    def _invoke(self, subgraph):
        with self._lock:
            if not self._ready or not self._allocated:
                raise RuntimeError("Invoke called on model that is not ready: call "
                                   "allocate_tensors() first, and after resize_tensor_input()")
            self._ensure_safe()
            try:
                self._alloc.plan.invoke(subgraph)
            except RuntimeError as e:
                raise RuntimeError(str(e)) from None

    def reset_all_variables(self):
        """Resets variable tensors and resource variables (the reference forgets the latter)."""
        with self._lock:
            self._variables.reset()

    # -- profiling -------------------------------------------------------------------------
    def get_profile(self, subgraph_index=0):
        """Per-node timings measured inside the C executor, in run order, since the last
        allocation or `_alloc.plan.set_profiling(True)`: one dict per node with `index`,
        `op_name`, `kernel` (the C kernel that ran it), `output_shape`, `total_ns`, `runs` and
        `mean_ms`. A control-flow node's time includes the subgraphs it calls."""
        if not self._profile:
            raise ValueError("profiling is off: create the Interpreter with profile=True")
        from . import _core

        with self._lock:
            sg = self._alloc.planner.subgraphs[self._subgraph(subgraph_index).index]
            times = self._alloc.plan.node_times(sg.index, len(sg.nodes))
        records = []
        for n, (ns, runs) in zip(sg.nodes, times):
            kernel = _core.kernel_name(n.code) or n.name
            if n.kernel:
                kernel = "%s (%s)" % (kernel, n.kernel)
            records.append({"index": n.index, "subgraph": sg.index, "op_name": n.name, "kernel": kernel,
                            "output_shape": [int(d) for d in n.outputs[0].shape] if n.outputs else [],
                            "total_ns": int(ns), "runs": int(runs),
                            "mean_ms": ns / runs / 1e6 if runs else 0.0})
        return records


class InterpreterWithCustomOps(Interpreter):
    """Accepted for compatibility: custom op registerers are C++ symbols of TFLite, which
    tflite_rt cannot use, so passing any raises ValueError."""

    def __init__(self, custom_op_registerers=None, **kwargs):
        if custom_op_registerers:
            raise ValueError("tflite_rt does not load TFLite custom op registerers")
        super().__init__(**kwargs)


class SignatureRunner:
    """Runs one SignatureDef: call it with the signature's input names as keyword arguments."""

    def __init__(self, interpreter=None, signature_key=None):
        if not interpreter:
            raise ValueError("None interpreter provided.")
        if not signature_key:
            raise ValueError("None signature_key provided.")
        self._interpreter = interpreter
        self._signature_key = signature_key
        signature_defs = interpreter._get_full_signature_list()
        if signature_key not in signature_defs:
            raise ValueError('Invalid signature_key provided: "%s".' % signature_key)
        self._signature_def = signature_defs[signature_key]
        self._inputs = self._signature_def["inputs"]
        self._outputs = self._signature_def["outputs"].items()
        self._subgraph_index = interpreter._model.signatures[signature_key]["subgraph"]

    def __call__(self, **kwargs):
        it = self._interpreter
        if len(kwargs) != len(self._inputs):
            raise ValueError("Invalid number of inputs provided for running a SignatureDef, "
                             "expected %s vs provided %s" % (len(self._inputs), len(kwargs)))
        for name in kwargs:
            if name not in self._inputs:
                raise ValueError("Invalid Input name (%s) for SignatureDef" % name)
        with it._lock:
            for name, value in kwargs.items():
                it._ensure_safe()
                it._resize(self._subgraph_index, self._inputs[name], np.shape(value), False)
            it.allocate_tensors()
            for name, value in kwargs.items():
                info, spec = it._info(self._inputs[name], self._subgraph_index)
                it._set(info, spec, value)
            it._invoke(self._subgraph_index)
            return {name: it.get_tensor(index, self._subgraph_index) for name, index in self._outputs}

    def get_input_details(self):
        return {name: self._interpreter._get_tensor_details(i, self._subgraph_index)
                for name, i in self._inputs.items()}

    def get_output_details(self):
        return {name: self._interpreter._get_tensor_details(i, self._subgraph_index)
                for name, i in self._outputs}


def _type_name(dtype):
    for code, np_dtype in NUMPY_TYPES.items():
        if np_dtype == dtype:
            return TYPE_NAMES[code]
    return str(dtype).upper()


def _decode_strings(raw, shape):
    raw = bytes(raw)
    if len(raw) < 4:
        return np.zeros(shape, dtype=object)
    count = int(np.frombuffer(raw, "<i4", 1)[0])
    offsets = np.frombuffer(raw, "<i4", count + 1, 4)
    return np.array([raw[offsets[i]:offsets[i + 1]] for i in range(count)], dtype=object).reshape(shape)

