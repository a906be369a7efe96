"""Other TFLite runtimes on the same model and inputs, for `tflite-rt bench --compare`.

Each peer is opened by `open_peer(name, ...)`, which returns a `Peer` or raises
`PeerUnavailable` with a one-line reason (not installed, cannot load the model, ...):

    litert          ai_edge_litert.interpreter (LiteRT, with its default XNNPACK delegate)
    tflite_runtime  tflite_runtime.interpreter
    onnxruntime     onnxruntime, after converting the model with tf2onnx or tflite2onnx

A peer's `invoke()` is what is timed; inputs are set once beforehand, as for tflite_rt.
"""
import contextlib
import importlib
import io
import os
import tempfile

import numpy as np

PEERS = ("litert", "tflite_runtime", "onnxruntime")


class PeerUnavailable(Exception):
    """A peer runtime is not installed or cannot run this model."""


class Peer:
    name = ""
    version = None
    note = None        # how the peer runs the model, when that needs saying

    def invoke(self):
        raise NotImplementedError

    def outputs(self):
        """The outputs of the last invoke, in the model's output order."""
        raise NotImplementedError


class _TfliteStylePeer(Peer):
    """Any runtime with the tflite_runtime Interpreter API."""

    def __init__(self, name, module, model_path, num_threads, inputs):
        self.name = name
        mod, noise = _quiet_import(module)
        root = importlib.import_module(module.split(".")[0])
        self.version = getattr(root, "__version__", None)
        said = io.StringIO()
        try:
            with contextlib.redirect_stderr(said):
                self.it = mod.Interpreter(model_path=model_path, num_threads=num_threads)
            details = self.it.get_input_details()
            for d, x in zip(details, inputs):
                if tuple(d["shape"]) != x.shape:
                    self.it.resize_tensor_input(d["index"], list(x.shape))
            self.it.allocate_tensors()
            for d, x in zip(self.it.get_input_details(), inputs):
                self.it.set_tensor(d["index"], x)
            self._out = [d["index"] for d in self.it.get_output_details()]
        except Exception as e:
            if "NumPy 1.x" in noise + said.getvalue():
                raise PeerUnavailable("%s %s was built for NumPy 1.x and cannot run with NumPy %s" % (
                    name, self.version or "", np.__version__)) from None
            raise PeerUnavailable("%s cannot run this model: %s" % (name, first_line(e))) from None

    def invoke(self):
        self.it.invoke()

    def outputs(self):
        return [self.it.get_tensor(i) for i in self._out]


def _quiet_import(module):
    """Imports `module`, keeping what it prints to stderr (NumPy's long warning about binaries
    built for NumPy 1.x, for one) out of the report; returns the module and that text."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stderr(buf):
            return importlib.import_module(module), buf.getvalue()
    except Exception as e:  # ImportError, or a binary built against another numpy
        raise PeerUnavailable("%s is not importable (%s)" % (module, first_line(e))) from None


def _convert_to_onnx(model_path):
    """ONNX bytes of a .tflite model, with the first converter that is installed."""
    errors = []
    try:
        import tf2onnx.convert
    except Exception as e:
        errors.append("tf2onnx: %s" % first_line(e))
    else:
        proto, _ = tf2onnx.convert.from_tflite(model_path)
        return proto.SerializeToString(), "tf2onnx %s" % getattr(tf2onnx, "__version__", "")
    try:
        import tflite2onnx
    except Exception as e:
        errors.append("tflite2onnx: %s" % first_line(e))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "model.onnx")
            tflite2onnx.convert(model_path, out)
            with open(out, "rb") as f:
                return f.read(), "tflite2onnx %s" % getattr(tflite2onnx, "__version__", "")
    raise PeerUnavailable("no tflite->onnx converter is importable (%s)" % "; ".join(errors))


class _OnnxPeer(Peer):
    name = "onnxruntime"

    def __init__(self, model_path, num_threads, inputs):
        try:
            import onnxruntime as ort
        except Exception as e:
            raise PeerUnavailable("onnxruntime is not importable (%s)" % first_line(e)) from None
        self.version = ort.__version__
        try:
            onnx_bytes, converter = _convert_to_onnx(model_path)
            self.note = "converted with %s" % converter
        except PeerUnavailable:
            raise
        except Exception as e:
            raise PeerUnavailable("the tflite->onnx conversion failed: %s" % first_line(e)) from None
        try:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = num_threads
            opts.inter_op_num_threads = 1
            self.sess = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
            specs = self.sess.get_inputs()
            if len(specs) != len(inputs):
                raise PeerUnavailable("the converted model takes %d inputs, not %d" % (
                    len(specs), len(inputs)))
            # a converter may turn NHWC tensors into NCHW: feed them transposed
            self.feed = {i.name: _to_layout(x, i.shape) for i, x in zip(specs, inputs)}
            self._last = None
        except PeerUnavailable:
            raise
        except Exception as e:
            raise PeerUnavailable("onnxruntime cannot run the converted model: %s" % first_line(e)) from None

    def invoke(self):
        self._last = self.sess.run(None, self.feed)

    def outputs(self):
        return list(self._last or [])


def _to_layout(x, onnx_shape):
    """x, or x in NCHW when the ONNX input is the NCHW form of an NHWC tensor."""
    dims = [d if isinstance(d, int) else None for d in onnx_shape or []]
    def fits(shape):
        return len(dims) == len(shape) and all(d is None or d == s for d, s in zip(dims, shape))
    if x.ndim == 4 and not fits(x.shape) and fits(np.transpose(x, (0, 3, 1, 2)).shape):
        return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))
    return x


def open_peer(name, model_path, num_threads, inputs):
    """A ready peer with `inputs` (arrays in the model's input order) set, or PeerUnavailable."""
    if model_path is None:
        raise PeerUnavailable("peers need the model as a file")
    if name == "litert":
        return _TfliteStylePeer("litert", "ai_edge_litert.interpreter", model_path, num_threads, inputs)
    if name == "tflite_runtime":
        return _TfliteStylePeer("tflite_runtime", "tflite_runtime.interpreter", model_path, num_threads,
                                inputs)
    if name == "onnxruntime":
        return _OnnxPeer(model_path, num_threads, inputs)
    raise ValueError("unknown runtime %r for --compare (choose from %s)" % (name, ", ".join(PEERS)))


def max_abs_diff(ours, theirs):
    """Largest |ours - theirs| over all outputs (compared in order), as float; None when the
    outputs cannot be compared (count, shape or dtype differ, or non-numeric outputs)."""
    if len(ours) != len(theirs):
        return None
    worst = 0.0
    for a, b in zip(ours, theirs):
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 4 and b.shape != a.shape and b.shape == np.transpose(a, (0, 3, 1, 2)).shape:
            b = np.transpose(b, (0, 2, 3, 1))   # an NCHW output of a converted model
        if a.shape != b.shape or a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
            return None
        if a.size == 0:
            continue
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        else:
            d = np.abs(a.astype(np.int64) - b.astype(np.int64))
        if d.dtype.kind == "f" and np.isnan(d).any():
            both_nan = np.isnan(a.astype(np.float64)) & np.isnan(b.astype(np.float64))
            if (np.isnan(d) & ~both_nan).any():
                return float("nan")
            d = np.where(both_nan, 0.0, d)
        worst = max(worst, float(d.max()))
    return worst


def first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
