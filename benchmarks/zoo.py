"""Realistic benchmark models, written with `tflite_rt.builder` (no TensorFlow needed).

MobileNetV2 1.0, MobileNetV3-Large, EfficientNet-B0 and ResNet-50 (224x224x3 images), and a
BERT-like encoder (4 layers, hidden 256, 4 heads, FFN 1024, 128 tokens). Weights are random and
seeded: He-style initial weights, then each convolution folds in the batch norm that a numpy
pass over a few random images calls for (random gamma and beta), so that activations keep a
sensible range and the nets are as stable as trained ones. Each model comes as float32 and,
except the encoder, as a full-integer int8 model laid out as the TFLite converter writes one:
int8 input and output, per-channel symmetric int8 weights, int32 biases with scale =
input_scale * weight_scale[c], per-tensor asymmetric int8 activations calibrated by running the
float model in ai-edge-litert on random inputs, and the int8 spec's fixed parameters (SOFTMAX
and LOGISTIC outputs 1/256, -128; MAX_POOL_2D and RESHAPE keep their input's).

    import zoo                                      # with benchmarks/ on sys.path
    model = zoo.build("mobilenet_v2", "int8")       # the bytes of a .tflite file
    zoo.macs("resnet50")                            # multiply-accumulates of one inference

    python benchmarks/zoo.py --out /tmp/zoo                  # writes NAME_DTYPE.tflite files
    python benchmarks/zoo.py --verify --bench                # checks and times every model

`--verify` runs each model in tflite_rt and in ai-edge-litert (default resolver with XNNPACK,
builtin kernels without it, and the reference kernels) on one random input and prints the largest
output differences (float: relative to the output's largest magnitude; int8: in units), then
the first op whose output differs from the reference kernels' at all (int8) or by more than
FLOAT_TOLERANCE (float), comparing every tensor with experimental_preserve_all_tensors.
`--bench` prints single-thread latency of both runtimes (median of 5 rounds of 10 invokes, the
runtimes alternating).
"""
import argparse
import functools
import math
import os
import statistics
import sys
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))

from tflite_rt.builder import ModelBuilder  # noqa: E402

MODELS = ["mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "resnet50", "bert_encoder"]
DTYPES = {name: ("float32", "int8") for name in MODELS}
DTYPES["bert_encoder"] = ("float32",)

CALIBRATION_SAMPLES = 3
PROBE_BATCH = 4
PROBE_SIZE = 224      # image size of the numpy pass that sets the folded batch norms
FLOAT_TOLERANCE = 1e-4  # float outputs agree within this, relative to the output's largest magnitude
# Mean of the folded batch norms' beta before an activation: with most units in their active
# range the random nets are stable (a perturbation of the input stays as small as it was, as in a
# trained net); with beta around 0 they are chaotic, and rounding differences grow layer by layer.
BETA_MEAN = 1.0
LOGIT_STD = 3.0       # spread of the classifiers' logits, so that SOFTMAX has something to say

# int8 outputs whose quantization the TFLite int8 spec fixes
_FIXED_OUTPUT = {"SOFTMAX": (1.0 / 256, -128), "LOGISTIC": (1.0 / 256, -128), "TANH": (1.0 / 128, 0)}
# int8 outputs that must share their input's scale and zero point
_SAME_AS_INPUT = {"MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE", "TRANSPOSE", "SQUEEZE", "PAD"}


# -- a graph that can be written as float32 or int8 ------------------------------------------------
class _Tensor:
    __slots__ = ("name", "shape", "kind", "value", "quant")

    def __init__(self, name, shape, kind, value=None, quant=None):
        self.name = name
        self.shape = [int(d) for d in shape]
        self.kind = kind      # "input", "act", "const" (float, quantized in int8), "int32"
        self.value = value
        self.quant = quant    # const: ("channel", axis) | ("bias", input, weight) | ("tensor",)


class Graph:
    """Ops and tensors in topological order, with float weights; `emit()` writes it.

    With `probe_size`, the graph also runs a numpy forward pass on PROBE_BATCH random images of
    that size while it is built, and each convolution folds in the batch norm its activations
    call for (per channel, or per tensor where a layer sees too few positions), with random
    gamma and beta: the weights then behave like a trained net's with its batch norms folded,
    and every activation keeps a sensible range however deep the net is."""

    def __init__(self, name, probe_size=None, seed=None):
        self.name = name
        self.rng = np.random.default_rng(zlib.crc32(name.encode()) if seed is None else seed)
        self.tensors = []
        self.ops = []          # (op name, inputs, outputs, options)
        self.inputs = []
        self.outputs = []
        self.macs = 0
        self.probe_size = probe_size
        self.values = {}       # tensor index -> numpy value of the probe pass
        self._names = set()
        self._scope = ""

    # tensors
    def _add(self, name, shape, kind, value=None, quant=None):
        name = self._scope + name
        base, k = name, 1
        while name in self._names:
            k += 1
            name = "%s_%d" % (base, k)
        self._names.add(name)
        self.tensors.append(_Tensor(name, shape, kind, value, quant))
        return len(self.tensors) - 1

    def input(self, name, shape):
        i = self._add(name, shape, "input")
        self.inputs.append(i)
        if self.probe_size:
            probe = [PROBE_BATCH, self.probe_size, self.probe_size, shape[3]]
            self.values[i] = self.rng.uniform(-1, 1, probe).astype(np.float32)
        return i

    def act(self, name, shape):
        return self._add(name, shape, "act")

    def const(self, name, value, quant=("tensor",)):
        value = np.asarray(value, dtype=np.float32)
        return self._add(name, value.shape, "const", value, quant)

    def int32(self, name, value):
        value = np.asarray(value, dtype=np.int32)
        return self._add(name, value.shape, "int32", value)

    def shape(self, i):
        return list(self.tensors[i].shape)

    def value(self, i):
        t = self.tensors[i]
        return t.value if t.kind in ("const", "int32") else self.values.get(i)

    def op(self, name, inputs, out_name, out_shape, value=None, **options):
        out = self.act(out_name, out_shape)
        self.ops.append((name, list(inputs), [out], options))
        if self.probe_size:
            if value is None:
                value = _evaluate(name, [self.value(i) for i in inputs], options)
            self.values[out] = value
        return out

    def scope(self, prefix, keep=()):
        """Names what follows prefix/...; at a block boundary, `keep` lists the tensors later
        blocks read, and the probe pass forgets every other activation."""
        self._scope = prefix + "/" if prefix else ""
        if keep:
            self.values = {i: self.values[i] for i in keep if i in self.values}

    def init_weights(self, shape, std):
        """Random weights, uniform with this standard deviation (He-style: std = sqrt(2 / fan_in))."""
        limit = np.float32(std * math.sqrt(3.0))
        return self.rng.random(shape, dtype=np.float32) * (2 * limit) - limit

    def _fold(self, x, weights, axis, linear, gamma, shift):
        """(weights, bias, probe output) with a batch norm folded in: the probe's pre-activations
        `linear(x, weights)` come out with std gamma (default ~ U(0.6, 1.4)) and mean beta ~
        N(shift, 0.2) per channel."""
        n = weights.shape[axis]
        gamma = (self.rng.uniform(0.6, 1.4, n) if gamma is None else np.full(n, gamma)).astype(np.float32)
        beta = (shift + self.rng.normal(0.0, 0.2, n)).astype(np.float32)
        if not self.probe_size:
            return weights, beta, None
        raw = linear(self.values[x], weights)
        positions = raw.size // n
        if positions >= 16:
            axes = tuple(range(raw.ndim - 1))
            mean, std = raw.mean(axis=axes), raw.std(axis=axes)
        else:   # too few positions for channel statistics (squeeze-excite, the classifier)
            mean, std = np.full(n, raw.mean()), np.full(n, raw.std())
        a = (gamma / np.maximum(std, 1e-6)).astype(np.float32)
        bias = (beta - mean * a).astype(np.float32)
        shape = [1] * weights.ndim
        shape[axis] = n
        return weights * a.reshape(shape), bias, raw * a + bias

    # layers
    def conv(self, x, cout, k, stride=1, act=None, gamma=None, shift=None, name="conv"):
        """CONV_2D (SAME padding) + bias, with RELU / RELU6 fused, or followed by HARD_SWISH or
        swish (x * LOGISTIC(x)) as the converter writes them."""
        n, h, w, cin = self.shape(x)
        oh, ow = -(-h // stride), -(-w // stride)
        weights = self.init_weights((cout, k, k, cin), math.sqrt(2.0 / (k * k * cin)))
        weights, bias, y = self._fold(x, weights, 0, lambda v, wt: _conv(v, wt, stride), gamma,
                                      _shift(shift, act))
        wt = self.const(name + "/weights", weights, ("channel", 0))
        b = self.const(name + "/bias", bias, ("bias", x, wt))
        fused = act if act in ("RELU", "RELU6") else "NONE"
        y = self.op("CONV_2D", [x, wt, b], name, [n, oh, ow, cout], value=_fused(y, fused),
                    padding="SAME", stride_w=stride, stride_h=stride, fused_activation_function=fused)
        self.macs += n * oh * ow * cout * k * k * cin
        return self.activation(y, act, name)

    def dwconv(self, x, k, stride=1, act=None, gamma=None, shift=None, name="depthwise"):
        n, h, w, c = self.shape(x)
        oh, ow = -(-h // stride), -(-w // stride)
        weights = self.init_weights((1, k, k, c), math.sqrt(2.0) / k)
        weights, bias, y = self._fold(x, weights, 3, lambda v, wt: _depthwise(v, wt, stride), gamma,
                                      _shift(shift, act))
        wt = self.const(name + "/weights", weights, ("channel", 3))
        b = self.const(name + "/bias", bias, ("bias", x, wt))
        fused = act if act in ("RELU", "RELU6") else "NONE"
        y = self.op("DEPTHWISE_CONV_2D", [x, wt, b], name, [n, oh, ow, c], value=_fused(y, fused),
                    padding="SAME", stride_w=stride, stride_h=stride, depth_multiplier=1,
                    fused_activation_function=fused)
        self.macs += n * oh * ow * c * k * k
        return self.activation(y, act, name)

    def fc(self, x, units, act=None, gamma=None, shift=None, name="fc"):
        shape = self.shape(x)
        k = shape[-1]
        weights = self.init_weights((units, k), math.sqrt((1.0 if act is None else 2.0) / k))
        weights, bias, y = self._fold(x, weights, 0, lambda v, wt: v @ wt.T, gamma,
                                      _shift(shift, act))
        if not self.probe_size:   # no batch norm to fold: a small bias
            bias = self.rng.uniform(-0.1, 0.1, units).astype(np.float32)
        wt = self.const(name + "/weights", weights, ("channel", 0))
        b = self.const(name + "/bias", bias, ("bias", x, wt))
        out_shape = shape[:-1] + [units]
        fused = act if act in ("RELU", "RELU6") else "NONE"
        y = self.op("FULLY_CONNECTED", [x, wt, b], name, out_shape, value=_fused(y, fused),
                    fused_activation_function=fused, keep_num_dims=len(shape) > 2)
        self.macs += int(np.prod(out_shape)) * k
        return self.activation(y, act, name)

    def activation(self, x, act, name):
        if act in (None, "NONE", "RELU", "RELU6"):
            return x
        if act == "HARD_SWISH":
            return self.op("HARD_SWISH", [x], name + "/hard_swish", self.shape(x))
        if act == "SWISH":
            s = self.op("LOGISTIC", [x], name + "/sigmoid", self.shape(x))
            return self.mul(x, s, name=name + "/swish")
        if act == "GELU":
            return self.op("GELU", [x], name + "/gelu", self.shape(x), approximate=False)
        raise ValueError("unknown activation %r" % act)

    def _broadcast(self, a, b):
        sa, sb = self.shape(a), self.shape(b)
        rank = max(len(sa), len(sb))
        sa, sb = [1] * (rank - len(sa)) + sa, [1] * (rank - len(sb)) + sb
        return [max(p, q) for p, q in zip(sa, sb)]

    def add(self, a, b, act="NONE", name="add"):
        return self.op("ADD", [a, b], name, self._broadcast(a, b), fused_activation_function=act)

    def sub(self, a, b, name="sub"):
        return self.op("SUB", [a, b], name, self._broadcast(a, b), fused_activation_function="NONE")

    def mul(self, a, b, act="NONE", name="mul"):
        return self.op("MUL", [a, b], name, self._broadcast(a, b), fused_activation_function=act)

    def mean(self, x, axes, keep_dims, name="mean"):
        shape = self.shape(x)
        axes = [a % len(shape) for a in axes]
        out = [1 if i in axes else d for i, d in enumerate(shape)] if keep_dims else \
            [d for i, d in enumerate(shape) if i not in axes]
        return self.op("MEAN", [x, self.int32(name + "/axes", axes)], name, out, keep_dims=keep_dims)

    def max_pool(self, x, k, stride, name="max_pool"):
        n, h, w, c = self.shape(x)
        return self.op("MAX_POOL_2D", [x], name, [n, -(-h // stride), -(-w // stride), c], padding="SAME",
                       stride_w=stride, stride_h=stride, filter_width=k, filter_height=k,
                       fused_activation_function="NONE")

    def reshape(self, x, shape, name="reshape"):
        return self.op("RESHAPE", [x, self.int32(name + "/shape", shape)], name, shape)

    def transpose(self, x, perm, name="transpose"):
        shape = self.shape(x)
        return self.op("TRANSPOSE", [x, self.int32(name + "/perm", perm)], name, [shape[p] for p in perm])

    def softmax(self, x, name="softmax"):
        return self.op("SOFTMAX", [x], name, self.shape(x), beta=1.0)

    def batch_matmul(self, a, b, adj_y=False, name="matmul"):
        sa, sb = self.shape(a), self.shape(b)
        n = sb[-2] if adj_y else sb[-1]
        out = sa[:-1] + [n]
        self.macs += int(np.prod(out)) * sa[-1]
        return self.op("BATCH_MATMUL", [a, b], name, out, adj_x=False, adj_y=adj_y)

    # writing
    def emit(self, dtype="float32", ranges=None):
        """The .tflite bytes: float32, or int8 with activation `ranges` {tensor: (min, max)}."""
        if dtype not in ("float32", "int8"):
            raise ValueError("dtype must be 'float32' or 'int8', not %r" % (dtype,))
        quantized = dtype == "int8"
        params = _activation_params(self, ranges) if quantized else {}
        weight_scales = {}
        b = ModelBuilder("tflite_rt benchmarks/zoo.py: %s %s" % (self.name, dtype))
        for i, t in enumerate(self.tensors):
            if t.kind == "int32":
                b.constant(t.name, t.value, dtype=np.int32)
            elif t.kind == "const" and not quantized:
                b.constant(t.name, t.value)
            elif t.kind == "const":
                value, q = _quantize_constant(t, params, weight_scales)
                if t.quant[0] == "channel":
                    weight_scales[i] = q["scale"]
                b.constant(t.name, value, quantization=q)
            elif not quantized:
                (b.input if t.kind == "input" else b.tensor)(t.name, t.shape)
            else:
                scale, zp = params[i]
                (b.input if t.kind == "input" else b.tensor)(t.name, t.shape, np.int8,
                                                           quantization=(scale, zp))
        for name, inputs, outputs, options in self.ops:
            b.op(name, inputs, outputs, **options)
        b.output(*self.outputs)
        b.signature("serving_default",
                    {self.tensors[i].name.split("/")[-1]: i for i in self.inputs},
                    {"output_%d" % k: i for k, i in enumerate(self.outputs)})
        return b.build()


def _shift(shift, act):
    return shift if shift is not None else (BETA_MEAN if act else 0.0)


# -- the probe pass: float reference arithmetic in numpy ------------------------------------------
def _same_pad(x, k, stride, fill=0.0):
    """x [N, H, W, C] padded as TFLite's SAME padding needs; returns (padded, out_h, out_w)."""
    _, h, w, _ = x.shape
    oh, ow = -(-h // stride), -(-w // stride)
    ph, pw = max((oh - 1) * stride + k - h, 0), max((ow - 1) * stride + k - w, 0)
    x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), constant_values=fill)
    return x, oh, ow


def _windows(x, k, stride, oh, ow):
    for i in range(k):
        for j in range(k):
            yield x[:, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride, :]


def _conv(x, w, stride):
    """CONV_2D without bias: x [N, H, W, C], w [O, K, K, C]."""
    k = w.shape[1]
    if k == 1:
        cols = x[:, ::stride, ::stride, :]
    else:
        xp, _oh, _ow = _same_pad(x, k, stride)
        cols = np.concatenate(list(_windows(xp, k, stride, _oh, _ow)), axis=-1)
    out = np.ascontiguousarray(cols).reshape(-1, cols.shape[-1]) @ w.reshape(w.shape[0], -1).T
    return out.reshape(cols.shape[:-1] + (w.shape[0],))


def _depthwise(x, w, stride):
    """DEPTHWISE_CONV_2D (multiplier 1) without bias: w [1, K, K, C]."""
    k = w.shape[1]
    xp, oh, ow = _same_pad(x, k, stride)
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]), np.float32)
    for n, win in enumerate(_windows(xp, k, stride, oh, ow)):
        out += win * w[0, n // k, n % k, :]
    return out


def _fused(x, act):
    if x is None or act == "NONE":
        return x
    return np.maximum(x, 0) if act == "RELU" else np.clip(x, 0, 6)


def _evaluate(name, args, options):
    """The float result of one op for the probe pass (the ops the CNNs use)."""
    if any(a is None for a in args):
        raise ValueError("the probe pass has no value for an input of %s" % name)
    act = options.get("fused_activation_function", "NONE")
    if name == "ADD":
        return _fused(args[0] + args[1], act)
    if name == "SUB":
        return _fused(args[0] - args[1], act)
    if name == "MUL":
        return _fused(args[0] * args[1], act)
    if name == "MEAN":
        return args[0].mean(axis=tuple(int(a) for a in args[1]), keepdims=bool(options["keep_dims"]))
    if name == "LOGISTIC":
        return 1.0 / (1.0 + np.exp(-args[0]))
    if name == "HARD_SWISH":
        return args[0] * np.clip(args[0] + 3.0, 0.0, 6.0) / 6.0
    if name == "RESHAPE":
        return args[0].reshape([args[0].shape[0]] + [int(d) for d in args[1][1:]])   # probe batch
    if name == "SOFTMAX":
        e = np.exp(args[0] - args[0].max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "MAX_POOL_2D":
        k, stride = options["filter_height"], options["stride_h"]
        xp, oh, ow = _same_pad(args[0], k, stride, fill=-np.inf)
        return functools.reduce(np.maximum, _windows(xp, k, stride, oh, ow))
    raise ValueError("the probe pass does not evaluate %s" % name)


def _asymmetric(lo, hi):
    """Per-tensor int8 (scale, zero point) covering [lo, hi] widened to include 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-8:
        hi = lo + 1e-8
    scale = (hi - lo) / 255.0
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return float(np.float32(scale)), zp


def _activation_params(g, ranges):
    """(scale, zero point) of every input and activation tensor of the int8 model."""
    params = {}
    for i in g.inputs:
        params[i] = _asymmetric(*ranges[i])
    for name, inputs, outputs, _options in g.ops:
        for o in outputs:
            if name in _FIXED_OUTPUT:
                params[o] = _FIXED_OUTPUT[name]
            elif name in _SAME_AS_INPUT:
                params[o] = params[inputs[0]]
            else:
                params[o] = _asymmetric(*ranges[o])
    return params


def _quantize_constant(t, params, weight_scales):
    """(int values, quantization) of a float constant of the int8 model."""
    kind = t.quant[0]
    if kind == "channel":      # symmetric int8 per output channel, zero point 0
        axis = t.quant[1]
        other = tuple(d for d in range(t.value.ndim) if d != axis)
        scale = np.max(np.abs(t.value), axis=other) / 127.0
        scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
        shape = [1] * t.value.ndim
        shape[axis] = -1
        q = np.clip(np.round(t.value / scale.reshape(shape)), -127, 127).astype(np.int8)
        return q, {"scale": scale, "zero_point": np.zeros(scale.size, np.int64), "quantized_dimension": axis}
    if kind == "bias":         # int32, scale = input scale * weight scale[c]
        in_scale = params[t.quant[1]][0]
        w_scale = weight_scales[t.quant[2]]
        scale = (np.float64(in_scale) * w_scale.astype(np.float64)).astype(np.float32)
        q = np.clip(np.round(t.value / scale.astype(np.float64)), -2 ** 31, 2 ** 31 - 1).astype(np.int32)
        return q, {"scale": scale, "zero_point": np.zeros(scale.size, np.int64), "quantized_dimension": 0}
    scale, zp = _asymmetric(t.value.min(), t.value.max())   # a constant operand of ADD / MUL
    q = np.clip(np.round(t.value / scale) + zp, -128, 127).astype(np.int8)
    return q, {"scale": scale, "zero_point": zp}


# -- the architectures ------------------------------------------------------------------------------
def _make_divisible(v, divisor=8):
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _classifier(g, x, name="logits"):
    g.scope("head")
    x = g.mean(x, [1, 2], keep_dims=False, name="avg_pool")
    x = g.fc(x, 1000, gamma=LOGIT_STD, name=name)
    return g.softmax(x, name="probabilities")


def mobilenet_v2(probe_size=PROBE_SIZE):
    g = Graph("mobilenet_v2", probe_size)
    x = g.input("input", [1, 224, 224, 3])
    g.scope("stem")
    x = g.conv(x, 32, 3, 2, "RELU6")
    cin, block = 32, 0
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            g.scope("block_%d" % block, keep=[x])
            stride = s if i == 0 else 1
            h = x
            if t != 1:
                h = g.conv(h, cin * t, 1, 1, "RELU6", name="expand")
            h = g.dwconv(h, 3, stride, "RELU6")
            h = g.conv(h, c, 1, 1, None, name="project")
            if stride == 1 and cin == c:
                h = g.add(x, h)
            x, cin, block = h, c, block + 1
    g.scope("top")
    x = g.conv(x, 1280, 1, 1, "RELU6")
    g.outputs.append(_classifier(g, x))
    return g


def mobilenet_v3_large(probe_size=PROBE_SIZE):
    g = Graph("mobilenet_v3_large", probe_size)
    x = g.input("input", [1, 224, 224, 3])
    g.scope("stem")
    x = g.conv(x, 16, 3, 2, "HARD_SWISH")
    cin = 16
    # kernel, expanded, out, squeeze-excite, activation, stride
    cfg = [(3, 16, 16, False, "RELU", 1), (3, 64, 24, False, "RELU", 2), (3, 72, 24, False, "RELU", 1),
           (5, 72, 40, True, "RELU", 2), (5, 120, 40, True, "RELU", 1), (5, 120, 40, True, "RELU", 1),
           (3, 240, 80, False, "HARD_SWISH", 2), (3, 200, 80, False, "HARD_SWISH", 1),
           (3, 184, 80, False, "HARD_SWISH", 1), (3, 184, 80, False, "HARD_SWISH", 1),
           (3, 480, 112, True, "HARD_SWISH", 1), (3, 672, 112, True, "HARD_SWISH", 1),
           (5, 672, 160, True, "HARD_SWISH", 2), (5, 960, 160, True, "HARD_SWISH", 1),
           (5, 960, 160, True, "HARD_SWISH", 1)]
    for block, (k, exp, out, se, act, stride) in enumerate(cfg):
        g.scope("block_%d" % block, keep=[x])
        h = x
        if exp != cin:
            h = g.conv(h, exp, 1, 1, act, name="expand")
        h = g.dwconv(h, k, stride, act)
        if se:
            s = g.mean(h, [1, 2], keep_dims=True, name="se/squeeze")
            s = g.conv(s, _make_divisible(exp * 0.25), 1, 1, "RELU", name="se/reduce")
            s = g.conv(s, exp, 1, 1, None, name="se/expand")
            # hard sigmoid as the converter writes it: relu6(x + 3) * (1/6)
            s = g.add(s, g.const("se/three", np.float32(3.0)), act="RELU6", name="se/add3")
            s = g.mul(s, g.const("se/one_sixth", np.float32(1.0 / 6.0)), name="se/hard_sigmoid")
            h = g.mul(h, s, name="se/excite")
        h = g.conv(h, out, 1, 1, None, name="project")
        if stride == 1 and cin == out:
            h = g.add(x, h)
        x, cin = h, out
    g.scope("top")
    x = g.conv(x, 960, 1, 1, "HARD_SWISH")
    g.scope("head")
    x = g.mean(x, [1, 2], keep_dims=True, name="avg_pool")
    x = g.conv(x, 1280, 1, 1, "HARD_SWISH", name="conv")
    x = g.conv(x, 1000, 1, 1, None, gamma=LOGIT_STD, name="logits")
    x = g.reshape(x, [1, 1000], name="flatten")
    g.outputs.append(g.softmax(x, name="probabilities"))
    return g


def efficientnet_b0(probe_size=PROBE_SIZE):
    g = Graph("efficientnet_b0", probe_size)
    x = g.input("input", [1, 224, 224, 3])
    g.scope("stem")
    x = g.conv(x, 32, 3, 2, "SWISH")
    block = 0
    # kernel, stride, expansion, in, out, repeats
    for k, s, e, cin0, cout, n in [(3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2),
                                   (3, 2, 6, 40, 80, 3), (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4),
                                   (3, 1, 6, 192, 320, 1)]:
        for i in range(n):
            g.scope("block_%d" % block, keep=[x])
            cin, stride = (cin0, s) if i == 0 else (cout, 1)
            h = x
            if e != 1:
                h = g.conv(h, cin * e, 1, 1, "SWISH", name="expand")
            h = g.dwconv(h, k, stride, "SWISH")
            sq = g.mean(h, [1, 2], keep_dims=True, name="se/squeeze")
            sq = g.conv(sq, max(1, int(cin * 0.25)), 1, 1, "SWISH", name="se/reduce")
            sq = g.conv(sq, cin * e, 1, 1, None, name="se/expand")
            sq = g.op("LOGISTIC", [sq], "se/sigmoid", g.shape(sq))
            h = g.mul(h, sq, name="se/excite")
            h = g.conv(h, cout, 1, 1, None, name="project")
            if stride == 1 and cin == cout:
                h = g.add(h, x)
            x, block = h, block + 1
    g.scope("top")
    x = g.conv(x, 1280, 1, 1, "SWISH")
    g.outputs.append(_classifier(g, x))
    return g


def resnet50(probe_size=PROBE_SIZE):
    g = Graph("resnet50", probe_size)
    x = g.input("input", [1, 224, 224, 3])
    g.scope("stem")
    x = g.conv(x, 64, 7, 2, "RELU")
    x = g.max_pool(x, 3, 2)
    for stage, (n, width) in enumerate([(3, 64), (4, 128), (6, 256), (3, 512)]):
        for i in range(n):
            g.scope("stage_%d/block_%d" % (stage + 1, i), keep=[x])
            stride = 2 if i == 0 and stage > 0 else 1
            h = g.conv(x, width, 1, 1, "RELU", name="conv1")
            h = g.conv(h, width, 3, stride, "RELU", name="conv2")
            # the residual sum feeds a RELU: give both halves a positive mean
            h = g.conv(h, 4 * width, 1, 1, None, shift=BETA_MEAN / 2, name="conv3")
            shortcut = g.conv(x, 4 * width, 1, stride, None, shift=BETA_MEAN / 2, name="shortcut") \
                if i == 0 else x
            x = g.add(h, shortcut, act="RELU")
    g.outputs.append(_classifier(g, x))
    return g


def bert_encoder(layers=4, tokens=128, hidden=256, heads=4, ffn=1024):
    g = Graph("bert_encoder")
    x = g.input("input", [1, tokens, hidden])
    dh = hidden // heads

    def heads_of(t, name):
        t = g.reshape(t, [1, tokens, heads, dh], name=name + "/split_heads")
        return g.transpose(t, [0, 2, 1, 3], name=name + "/heads_first")

    def layer_norm(t, name):
        # the converter's form of keras LayerNormalization
        gamma = g.const(name + "/gamma", 1.0 + g.init_weights((hidden,), 0.1))
        beta = g.const(name + "/beta", g.init_weights((hidden,), 0.1))
        mean = g.mean(t, [-1], keep_dims=True, name=name + "/mean")
        sq = g.op("SQUARED_DIFFERENCE", [t, mean], name + "/squared_difference", g.shape(t))
        var = g.mean(sq, [-1], keep_dims=True, name=name + "/variance")
        var = g.add(var, g.const(name + "/epsilon", np.float32(1e-12)), name=name + "/add_epsilon")
        inv = g.op("RSQRT", [var], name + "/rsqrt", g.shape(var))
        scale = g.mul(inv, gamma, name=name + "/scale")
        xs = g.mul(t, scale, name=name + "/mul_x")
        ms = g.mul(mean, scale, name=name + "/mul_mean")
        shift = g.sub(beta, ms, name=name + "/shift")
        return g.add(xs, shift, name=name + "/output")

    for layer in range(layers):
        g.scope("layer_%d" % layer)
        q = heads_of(g.fc(x, hidden, name="attention/query"), "attention/query")
        k = heads_of(g.fc(x, hidden, name="attention/key"), "attention/key")
        v = heads_of(g.fc(x, hidden, name="attention/value"), "attention/value")
        scores = g.batch_matmul(q, k, adj_y=True, name="attention/scores")
        scores = g.mul(scores, g.const("attention/scale", np.float32(1.0 / math.sqrt(dh))),
                       name="attention/scaled_scores")
        probs = g.softmax(scores, name="attention/probs")
        ctx = g.batch_matmul(probs, v, name="attention/context")
        ctx = g.transpose(ctx, [0, 2, 1, 3], name="attention/tokens_first")
        ctx = g.reshape(ctx, [1, tokens, hidden], name="attention/merge_heads")
        attn = g.fc(ctx, hidden, name="attention/output")
        x = layer_norm(g.add(x, attn, name="attention/residual"), "attention/layer_norm")
        h = g.fc(x, ffn, "GELU", name="ffn/intermediate")
        h = g.fc(h, hidden, name="ffn/output")
        x = layer_norm(g.add(x, h, name="ffn/residual"), "ffn/layer_norm")
    g.outputs.append(x)
    return g


_ARCHITECTURES = {"mobilenet_v2": mobilenet_v2, "mobilenet_v3_large": mobilenet_v3_large,
                  "efficientnet_b0": efficientnet_b0, "resnet50": resnet50, "bert_encoder": bert_encoder}


# -- public API ------------------------------------------------------------------------------------
def _check_name(name):
    if name not in _ARCHITECTURES:
        raise ValueError("unknown model %r (models: %s)" % (name, ", ".join(MODELS)))


@functools.lru_cache(maxsize=None)
def graph(name):
    """The model's Graph (ops, tensors, float weights); cached."""
    _check_name(name)
    g = _ARCHITECTURES[name]()
    g.values = {}   # the probe pass's activations are not needed any more
    return g


def macs(name):
    """Multiply-accumulates of one inference (convolutions, fully connected, matmuls)."""
    return graph(name).macs


def random_inputs(details, seed=0):
    """Inputs for the zoo models: images in [-1, 1], token features ~ N(0, 1); int8 inputs take
    their whole range (the same real range, through the input's scale)."""
    rng = np.random.default_rng(seed)
    values = []
    for d in details:
        shape, dtype = tuple(d["shape"]), np.dtype(d["dtype"])
        if dtype == np.int8:
            values.append(rng.integers(-128, 127, shape, endpoint=True).astype(np.int8))
        elif len(shape) == 4:
            values.append(rng.uniform(-1, 1, shape).astype(dtype))
        else:
            values.append(rng.standard_normal(shape).astype(dtype))
    return values


def calibrate(name, samples=CALIBRATION_SAMPLES, num_threads=None):
    """{tensor index: (min, max)} of every input and activation of the float model, over
    `samples` random inputs run through the reference runtime."""
    from ai_edge_litert.interpreter import Interpreter

    g = graph(name)
    it = Interpreter(model_content=build(name, "float32"), experimental_preserve_all_tensors=True,
                     num_threads=num_threads or os.cpu_count())
    it.allocate_tensors()
    watch = [i for i, t in enumerate(g.tensors) if t.kind in ("input", "act")]
    lo = {i: np.inf for i in watch}
    hi = {i: -np.inf for i in watch}
    for k in range(samples):
        for d, x in zip(it.get_input_details(), random_inputs(it.get_input_details(), seed=1000 + k)):
            it.set_tensor(d["index"], x)
        it.invoke()
        for i in watch:
            v = it.get_tensor(i)
            lo[i] = min(lo[i], float(v.min()))
            hi[i] = max(hi[i], float(v.max()))
    return {i: (lo[i], hi[i]) for i in watch}


@functools.lru_cache(maxsize=None)
def build(name, dtype="float32"):
    """The .tflite bytes of a zoo model: `name` from MODELS, dtype "float32" or "int8"."""
    _check_name(name)
    if dtype not in DTYPES[name]:
        raise ValueError("%s comes as %s, not %r" % (name, " / ".join(DTYPES[name]), dtype))
    g = graph(name)
    if dtype == "float32":
        return g.emit("float32")
    return g.emit("int8", calibrate(name))


def variants():
    """Every (name, dtype) the zoo builds."""
    return [(n, d) for n in MODELS for d in DTYPES[n]]


# -- checking and timing ---------------------------------------------------------------------------
def _run(module, model, inputs, num_threads=1, **kwargs):
    it = module.Interpreter(model_content=model, num_threads=num_threads, **kwargs)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return it


_RESOLVERS = {"litert": "AUTO", "builtin": "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "ref": "BUILTIN_REF"}


def _difference(got, ref):
    """Float: largest |difference| relative to the reference's largest magnitude; integers: units."""
    if got.shape != ref.shape or got.dtype != ref.dtype:
        raise AssertionError("output %s %s, reference %s %s" % (got.shape, got.dtype, ref.shape, ref.dtype))
    if ref.dtype.kind == "f":
        diff = float(np.max(np.abs(got.astype(np.float64) - ref), initial=0.0))
        return diff / max(float(np.max(np.abs(ref), initial=0.0)), 1e-30)
    return float(np.max(np.abs(got.astype(np.int64) - ref.astype(np.int64)), initial=0))


def compare(model, seed=0, references=("litert", "builtin", "ref")):
    """Runs `model` in tflite_rt and in ai-edge-litert on one random input. Returns
    {reference: largest output difference} (see `_difference`) and "inputs". The references:
    "litert" the default resolver (XNNPACK), "builtin" the builtin kernels without XNNPACK,
    "ref" the reference kernels (OpResolverType.BUILTIN_REF)."""
    import ai_edge_litert.interpreter as litert

    import tflite_rt.interpreter as ours

    probe = ours.Interpreter(model_content=model)
    probe.allocate_tensors()
    inputs = random_inputs(probe.get_input_details(), seed)
    got_it = _run(ours, model, inputs)
    got = [got_it.get_tensor(d["index"]) for d in got_it.get_output_details()]
    result = {"inputs": inputs}
    for label in references:
        resolver = getattr(litert.OpResolverType, _RESOLVERS[label])
        ref_it = _run(litert, model, inputs, experimental_op_resolver_type=resolver)
        ref = [ref_it.get_tensor(d["index"]) for d in ref_it.get_output_details()]
        result[label] = max(_difference(g, r) for g, r in zip(got, ref))
    return result


def first_divergence(model, inputs, tolerance=0.0, reference="ref"):
    """Runs both runtimes with experimental_preserve_all_tensors and returns (op index, op name,
    output tensor name, difference) of the first op in execution order whose output differs from
    the reference's by more than `tolerance` (see `_difference`), or None."""
    import ai_edge_litert.interpreter as litert

    import tflite_rt.interpreter as ours

    a = _run(ours, model, inputs, experimental_preserve_all_tensors=True)
    b = _run(litert, model, inputs, experimental_preserve_all_tensors=True,
             experimental_op_resolver_type=getattr(litert.OpResolverType, _RESOLVERS[reference]))
    names = {d["index"]: d["name"] for d in a.get_tensor_details()}
    for op in b._get_ops_details():
        for o in op["outputs"]:
            diff = _difference(a.get_tensor(o), b.get_tensor(o))
            if diff > tolerance:
                return op["index"], op["op_name"], names[o], diff
    return None


def latency(model, rounds=5, runs=10):
    """Single-thread (LiteRT ms, tflite_rt ms): median over `rounds` of the mean of `runs`
    invokes, the two runtimes alternating round by round (and which goes first)."""
    import ai_edge_litert.interpreter as litert

    import tflite_rt.interpreter as ours

    its = {}
    for label, module in (("litert", litert), ("ours", ours)):
        it = module.Interpreter(model_content=model, num_threads=1)
        it.allocate_tensors()
        for d, x in zip(it.get_input_details(), random_inputs(it.get_input_details())):
            it.set_tensor(d["index"], x)
        it.invoke()
        its[label] = it
    times = {"litert": [], "ours": []}
    for r in range(rounds):
        for label in (("litert", "ours") if r % 2 == 0 else ("ours", "litert")):
            it = its[label]
            t0 = time.perf_counter()
            for _ in range(runs):
                it.invoke()
            times[label].append((time.perf_counter() - t0) / runs * 1e3)
    return statistics.median(times["litert"]), statistics.median(times["ours"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="folder to write NAME_DTYPE.tflite into")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=MODELS)
    parser.add_argument("--verify", action="store_true", help="compare tflite_rt with ai-edge-litert")
    parser.add_argument("--bench", action="store_true", help="single-thread latency of both runtimes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    if not (args.out or args.verify or args.bench):
        parser.error("nothing to do: give --out, --verify and/or --bench")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    header = "%-20s %-7s %9s %9s %8s" % ("model", "dtype", "MACs", "size MiB", "build s")
    if args.verify:
        header += " %10s %10s %10s  %-22s" % ("vs litert", "vs builtin", "vs ref", "first op off ref")
    if args.bench:
        header += " %10s %10s %6s" % ("litert ms", "ours ms", "ratio")
    print(header)
    total = 0.0
    for name in args.models:
        for dtype in DTYPES[name]:
            t0 = time.perf_counter()
            model = build(name, dtype)
            elapsed = time.perf_counter() - t0
            total += elapsed
            if args.out:
                with open(os.path.join(args.out, "%s_%s.tflite" % (name, dtype)), "wb") as f:
                    f.write(model)
            line = "%-20s %-7s %8.1fM %9.2f %8.2f" % (name, dtype, macs(name) / 1e6, len(model) / 2 ** 20,
                                                     elapsed)
            if args.verify:
                r = compare(model)
                fmt = "%10.1e" if dtype == "float32" else "%10d"
                line += "".join(" " + fmt % r[k] for k in ("litert", "builtin", "ref"))
                div = first_divergence(model, r["inputs"], FLOAT_TOLERANCE if dtype == "float32" else 0)
                line += "  %-22s" % ("-" if div is None else "op %d %s (%.3g)" % (div[0], div[1], div[3]))
            if args.bench:
                ref_ms, our_ms = latency(model, args.rounds, args.runs)
                line += " %10.2f %10.2f %6.2f" % (ref_ms, our_ms, our_ms / ref_ms)
            print(line, flush=True)
    print("build time, all models: %.1f s" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
