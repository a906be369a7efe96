"""Other TFLite runtimes on the same model and inputs, for `tflite-rt bench --compare`.

Each peer is opened by `open_peer(name, ...)`, which returns a `Peer` or raises
`PeerUnavailable` with a one-line reason (not installed, cannot load the model, ...):

    litert          ai_edge_litert.interpreter (LiteRT, with its default XNNPACK delegate)
    tflite_runtime  tflite_runtime.interpreter
    onnxruntime     onnxruntime, after converting the model with tf2onnx or tflite2onnx

A peer's `invoke()` is what is timed; inputs are set once beforehand, as for tflite_rt.
"""
import importlib
import os
import tempfile

import numpy as np

PEERS = ("litert", "tflite_runtime", "onnxruntime")


class PeerUnavailable(Exception):
    """A peer runtime is not installed or cannot run this model."""


class Peer:
    name = ""
    version = None

    def invoke(self):
        raise NotImplementedError

    def outputs(self):
        """The outputs of the last invoke, in the model's output order."""
        raise NotImplementedError


class _TfliteStylePeer(Peer):
    """Any runtime with the tflite_runtime Interpreter API."""

    def __init__(self, name, module, model_path, num_threads, inputs):
        self.name = name
        try:
            mod = importlib.import_module(module)
        except Exception as e:  # ImportError, or a binary built against another numpy
            raise PeerUnavailable("%s is not importable (%s)" % (module, _first_line(e))) from None
        root = importlib.import_module(module.split(".")[0])
        self.version = getattr(root, "__version__", None)
        try:
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
            raise PeerUnavailable("%s cannot run this model: %s" % (name, _first_line(e))) from None

    def invoke(self):
        self.it.invoke()

    def outputs(self):
        return [self.it.get_tensor(i) for i in self._out]


def _convert_to_onnx(model_path):
    """ONNX bytes of a .tflite model, with the first converter that is installed."""
    errors = []
    try:
        import tf2onnx.convert
    except Exception as e:
        errors.append("tf2onnx: %s" % _first_line(e))
    else:
        proto, _ = tf2onnx.convert.from_tflite(model_path)
        return proto.SerializeToString(), "tf2onnx %s" % getattr(tf2onnx, "__version__", "")
    try:
        import tflite2onnx
    except Exception as e:
        errors.append("tflite2onnx: %s" % _first_line(e))
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
            raise PeerUnavailable("onnxruntime is not importable (%s)" % _first_line(e)) from None
        self.version = ort.__version__
        try:
            onnx_bytes, self.converter = _convert_to_onnx(model_path)
        except PeerUnavailable:
            raise
        except Exception as e:
            raise PeerUnavailable("the tflite->onnx conversion failed: %s" % _first_line(e)) from None
        try:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = num_threads
            opts.inter_op_num_threads = 1
            self.sess = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
            names = [i.name for i in self.sess.get_inputs()]
            if len(names) != len(inputs):
                raise PeerUnavailable("the converted model takes %d inputs, not %d" % (len(names), len(inputs)))
            self.feed = dict(zip(names, inputs))
            self._last = None
        except PeerUnavailable:
            raise
        except Exception as e:
            raise PeerUnavailable("onnxruntime cannot run the converted model: %s" % _first_line(e)) from None

    def invoke(self):
        self._last = self.sess.run(None, self.feed)

    def outputs(self):
        return list(self._last or [])


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


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
