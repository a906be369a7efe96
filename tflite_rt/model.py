"""Loading a `.tflite` file into checked Python structures.

`load()` reads the FlatBuffer (bounds-checked), then checks what every later stage relies on:
each tensor, buffer, opcode and subgraph index in range, buffer sizes against shape x dtype,
quantization parameters sane, no subgraph calling itself. Weights stay views into the original
bytes or the memory-mapped file.
"""
import mmap
import os

import numpy as np

from . import _flatbuffer
from ._flatbuffer import FlatBufferError
from .ops._base import BUILTIN_NAMES, MAX_RANK, NUMPY_TYPES, TYPE_NAMES, ModelError

_STRING = 5
_MAX_ELEMENTS = 1 << 40


class TensorSpec:
    __slots__ = ("index", "name", "type", "shape", "shape_signature", "buffer", "data", "scales",
                 "zero_points", "quantized_dimension", "is_variable", "sparsity", "has_rank",
                 "quantization")

    def __init__(self, **kw):
        for name in self.__slots__:
            setattr(self, name, kw.get(name))


class OperatorSpec:
    __slots__ = ("index", "opcode_index", "code", "op_name", "custom_code", "version", "inputs",
                 "outputs", "intermediates", "options", "options_type", "custom_options")

    def __init__(self, **kw):
        for name in self.__slots__:
            setattr(self, name, kw.get(name))


class SubgraphSpec:
    def __init__(self, index, name, tensors, inputs, outputs, operators):
        self.index = index
        self.name = name
        self.tensors = tensors
        self.inputs = inputs
        self.outputs = outputs
        self.operators = operators


class Model:
    def __init__(self, raw, root, subgraphs, buffers, signatures, metadata):
        self.raw = raw                  # bytes or mmap: every weight is a view into it
        self.version = int(root.version)
        self.description = root.description or ""
        self.subgraphs = subgraphs
        self.buffers = buffers
        self.signatures = signatures    # {key: {"subgraph": i, "inputs": {name: idx}, "outputs": {...}}}
        self.metadata = metadata        # {name: bytes view}


def read_model_file(path):
    """Maps a model file read-only; weights are then read in place, not copied."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise ModelError("model file %r is empty" % path)
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as e:
        raise ValueError("Could not open '%s': %s" % (path, e.strerror or e)) from None


def load(raw):
    try:
        root = _flatbuffer.read(raw)
    except FlatBufferError:
        raise
    return _Loader(raw, root).model()


class _Loader:
    def __init__(self, raw, root):
        self.raw = raw
        self.root = root
        self.view = memoryview(raw)

    def fail(self, msg, *args):
        raise ModelError("invalid model: " + (msg % args if args else msg))

    def model(self):
        root = self.root
        if root.version is not None and root.version != 3:
            self.fail("schema version %s is not supported (expected 3)", root.version)
        buffers = [self.buffer(i, b) for i, b in enumerate(root.buffers or [])]
        opcodes = [self.opcode(i, oc) for i, oc in enumerate(root.operator_codes or [])]
        raw_subgraphs = root.subgraphs or []
        if not raw_subgraphs:
            self.fail("it has no subgraphs")
        subgraphs = [self.subgraph(i, sg, buffers, opcodes, len(raw_subgraphs))
                     for i, sg in enumerate(raw_subgraphs)]
        signatures = self.signatures(root.signature_defs or [], subgraphs)
        metadata = {}
        for m in root.metadata or []:
            if m.buffer is not None and 0 <= m.buffer < len(buffers) and buffers[m.buffer] is not None:
                metadata[m.name or ""] = buffers[m.buffer]
        self.check_call_graph(subgraphs)
        return Model(self.raw, root, subgraphs, buffers, signatures, metadata)

    def buffer(self, index, buf):
        if buf.offset:  # large models keep buffers after the FlatBuffer
            start, size = int(buf.offset), int(buf.size or 0)
            if start <= 1 or size < 0 or start + size > len(self.view):
                self.fail("buffer %d points outside the file (offset %d, size %d)", index, start, size)
            return np.frombuffer(self.view, dtype=np.uint8, count=size, offset=start)
        if buf.data is None or len(buf.data) == 0:
            return None
        return buf.data

    def opcode(self, index, oc):
        code = max(int(oc.builtin_code or 0), int(oc.deprecated_builtin_code or 0))
        if code not in BUILTIN_NAMES:
            self.fail("operator code %d uses unknown builtin operator %d", index, code)
        return code, oc.custom_code, int(oc.version or 1)

    def subgraph(self, index, sg, buffers, opcodes, num_subgraphs):
        tensors = [self.tensor(index, i, t, buffers) for i, t in enumerate(sg.tensors or [])]
        where = "subgraph %d" % index

        def check_ids(ids, what, allow_absent=False):
            ids = [] if ids is None else [int(i) for i in ids]
            for i in ids:
                if not (0 <= i < len(tensors) or (allow_absent and i == -1)):
                    self.fail("%s: %s refers to tensor %d, but there are %d tensors",
                              where, what, i, len(tensors))
            return ids

        inputs = check_ids(sg.inputs, "an input")
        outputs = check_ids(sg.outputs, "an output")
        operators = []
        for i, o in enumerate(sg.operators or []):
            if o.opcode_index is None or not 0 <= o.opcode_index < len(opcodes):
                self.fail("%s, operator %d: opcode index %s out of range (%d opcodes)",
                          where, i, o.opcode_index, len(opcodes))
            code, custom, version = opcodes[o.opcode_index]
            what = "operator %d (%s)" % (i, BUILTIN_NAMES[code])
            options = o.builtin_options if o.builtin_options is not None else o.builtin_options_2
            options_type = options.type_name if options is not None else None
            operators.append(OperatorSpec(
                index=i, opcode_index=int(o.opcode_index), code=code, op_name=BUILTIN_NAMES[code],
                custom_code=custom, version=version,
                inputs=check_ids(o.inputs, what + " input", allow_absent=True),
                outputs=check_ids(o.outputs, what + " output"),
                intermediates=check_ids(o.intermediates, what + " intermediate"),
                options=options, options_type=options_type, custom_options=o.custom_options))
        return SubgraphSpec(index, sg.name or "", tensors, inputs, outputs, operators)

    def tensor(self, sg, index, t, buffers):
        where = "subgraph %d, tensor %d (%r)" % (sg, index, t.name)
        type_code = int(t.type or 0)
        if type_code not in NUMPY_TYPES:
            self.fail("%s has type %s, which tflite_rt does not support", where,
                      TYPE_NAMES.get(type_code, type_code))
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        if len(shape) > MAX_RANK:
            self.fail("%s has rank %d; at most %d is supported", where, len(shape), MAX_RANK)
        if any(d < 0 for d in shape):
            self.fail("%s has a negative dimension in its shape %s", where, list(shape))
        count = 1
        for d in shape:
            count *= d
        if count > _MAX_ELEMENTS:
            self.fail("%s has an absurd shape %s", where, list(shape))
        signature = None
        if t.shape_signature is not None:
            signature = tuple(int(d) for d in t.shape_signature)
            if len(signature) != len(shape) or any(s != -1 and s != d for s, d in zip(signature, shape)):
                self.fail("%s: shape_signature %s disagrees with shape %s", where, list(signature),
                          list(shape))
        buffer = int(t.buffer or 0)
        if not 0 <= buffer < max(len(buffers), 1):
            self.fail("%s refers to buffer %d, but there are %d buffers", where, buffer, len(buffers))
        data = buffers[buffer] if buffers else None
        if data is not None and type_code != _STRING:
            need = count * NUMPY_TYPES[type_code].itemsize
            if t.sparsity is not None:
                # a sparse constant stores only its kept values; DENSIFY checks the metadata
                if len(data) % NUMPY_TYPES[type_code].itemsize or len(data) > need:
                    self.fail("%s: its sparse buffer of %d bytes does not fit shape %s of %s", where,
                              len(data), list(shape), TYPE_NAMES[type_code])
            elif len(data) != need:
                self.fail("%s: its buffer holds %d bytes, but shape %s of %s needs %d", where,
                          len(data), list(shape), TYPE_NAMES[type_code], need)
        scales = zero_points = None
        qdim = 0
        q = t.quantization
        if q is not None and q.scale is not None and len(q.scale):
            scales = np.array(q.scale, dtype=np.float32)
            zero_points = (np.array(q.zero_point, dtype=np.int64) if q.zero_point is not None
                           else np.zeros(len(scales), np.int64))
            qdim = int(q.quantized_dimension or 0)
            if not np.all(np.isfinite(scales)) or np.any(scales < 0):
                self.fail("%s has a non-finite or negative quantization scale", where)
            if len(zero_points) != len(scales):
                self.fail("%s has %d scales but %d zero points", where, len(scales), len(zero_points))
            if len(scales) > 1:
                if not 0 <= qdim < len(shape) or shape[qdim] != len(scales):
                    self.fail("%s: %d per-channel scales do not match dimension %d of shape %s",
                              where, len(scales), qdim, list(shape))
            info = np.iinfo(NUMPY_TYPES[type_code]) if NUMPY_TYPES[type_code].kind in "iu" else None
            if info is not None and (zero_points.min() < info.min or zero_points.max() > info.max):
                self.fail("%s has a zero point outside the %s range", where, TYPE_NAMES[type_code])
        return TensorSpec(index=index, name=t.name or "", type=type_code, shape=shape,
                          shape_signature=signature, buffer=buffer, data=data, scales=scales,
                          zero_points=zero_points, quantized_dimension=qdim,
                          is_variable=bool(t.is_variable), sparsity=t.sparsity,
                          has_rank=bool(t.has_rank), quantization=q)

    def signatures(self, defs, subgraphs):
        out = {}
        for d in defs:
            key = d.signature_key or ""
            sg = int(d.subgraph_index or 0)
            if not 0 <= sg < len(subgraphs):
                self.fail("signature %r refers to subgraph %d of %d", key, sg, len(subgraphs))
            n = len(subgraphs[sg].tensors)

            def maps(items, what):
                m = {}
                for tm in items or []:
                    if tm.tensor_index is None or not 0 <= tm.tensor_index < n:
                        self.fail("signature %r: %s %r refers to tensor %s of %d", key, what, tm.name,
                                  tm.tensor_index, n)
                    m[tm.name or ""] = int(tm.tensor_index)
                return m

            out[key] = {"subgraph": sg, "inputs": maps(d.inputs, "input"),
                        "outputs": maps(d.outputs, "output")}
        return out

    def check_call_graph(self, subgraphs):
        """Subgraph references in range, and no subgraph reaching itself through calls."""
        calls = {}
        for sg in subgraphs:
            callees = set()
            for o in sg.operators:
                for field in ("then_subgraph_index", "else_subgraph_index", "cond_subgraph_index",
                              "body_subgraph_index", "init_subgraph_index", "subgraph_index",
                              "decomposition_subgraph_index", "comparator_subgraph_index",
                              "body_subgraph_index"):
                    if o.options is None or not hasattr(o.options, field):
                        continue
                    target = getattr(o.options, field)
                    if target is None:
                        continue
                    if not 0 <= target < len(subgraphs):
                        self.fail("subgraph %d, operator %d (%s): %s %d out of range (%d subgraphs)",
                                  sg.index, o.index, o.op_name, field, target, len(subgraphs))
                    callees.add(int(target))
            calls[sg.index] = callees
        state = {}

        def visit(i, path):
            if state.get(i) == 1:
                cycle = path[path.index(i):] + [i]
                self.fail("subgraphs call each other in a cycle: %s",
                          " -> ".join(str(s) for s in cycle))
            if state.get(i) == 2:
                return
            state[i] = 1
            for j in sorted(calls[i]):
                visit(j, path + [i])
            state[i] = 2

        for i in calls:
            visit(i, [])
