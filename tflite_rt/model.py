"""Loading a `.tflite` file into checked Python structures.

`load()` reads the FlatBuffer (bounds-checked), then checks what every later stage relies on,
so that nothing malformed reaches C:

* every tensor, buffer, opcode and subgraph index in range;
* constant buffers exactly as large as shape x dtype needs (strings: a well-formed string table);
* shapes of rank <= MAX_RANK with non-negative dimensions and a bounded element count;
* quantization: finite, positive scales, one per channel along an existing dimension, and zero
  points within the tensor type's range;
* each tensor written by at most one operator, never before an operator reads it, and never a
  constant, a subgraph input or a variable; subgraph inputs distinct and not constant;
* options of the table the op expects, with finite floats;
* subgraph calls (WHILE, IF, CALL_ONCE, ...) in range, without cycles, at most
  MAX_CALL_DEPTH deep.

The per-tensor and per-operator checks run compiled (`_loadspecs`, over a lean read that leaves
shapes, tensor indices, scales and zero points in the buffer); when those are unsure of anything,
the model is read again in full and the Python checks here decide and name the fault, so both
paths accept the same models and refuse the rest with the same message.

Each refusal is a `ModelError` (a ValueError) naming the subgraph, operator or tensor. Per-op
checks (axes, strides, counts, dtypes) belong to each op's prepare (tflite_rt/ops/). Weights
stay views into the original bytes or the memory-mapped file.
"""
import contextlib
import functools
import gc
import math
import mmap
import os

import numpy as np

from . import _flatbuffer, _loadspecs, _schema
from ._loadspecs import OperatorSpec, TensorSpec  # noqa: F401  (the spec types live there)
from .builder import options_table_for
from .ops._base import BUILTIN_NAMES, MAX_RANK, NUMPY_TYPES, TYPE_NAMES, ModelError

_STRING = 5
_MAX_ELEMENTS = 1 << 40
MAX_CALL_DEPTH = 32   # subgraphs calling subgraphs: each level is a nested call in the executor
_INT32 = (-(1 << 31), (1 << 31) - 1)
_TINY_F32 = float(np.finfo(np.float32).tiny)
_FEW = 16   # up to this many scales or zero points, Python checks them faster than numpy
# type code -> the zero points its tensors may have
_ZERO_POINT_RANGE = {
    code: ((max(_INT32[0], int(np.iinfo(dt).min)), min(_INT32[1], int(np.iinfo(dt).max)))
           if dt.kind in "iu" else _INT32)
    for code, dt in NUMPY_TYPES.items()}
# options fields that name subgraphs (a list field names several)
_SUBGRAPH_FIELDS = ("then_subgraph_index", "else_subgraph_index", "cond_subgraph_index",
                    "body_subgraph_index", "init_subgraph_index", "subgraph", "subgraph_index",
                    "decomposition_subgraph_index", "comparator_subgraph_index",
                    "update_computation_subgraph_index", "branch_subgraph_indices")
_loadspecs.configure(
    {code: (dt.itemsize, dt.kind in "iu", _ZERO_POINT_RANGE[code])
     for code, dt in NUMPY_TYPES.items()},
    MAX_RANK, _MAX_ELEMENTS, _TINY_F32, _STRING)
_loadspecs.use_slots(*([f[0] for f in _schema.TABLES[name]]
                       for name in ("Tensor", "Operator", "QuantizationParameters", "Buffer")))


def _quantization_all_valid(tensors):
    """Whether every tensor's quantization passes `_Loader.quantization`, checked for all the
    tensors of a subgraph at once: a few numpy reductions instead of a few per tensor. When it
    says no, the tensors are checked one by one, so the error is the one that path names."""
    float_scales, integer_scales, zero_points, lows, highs, counts = [], [], [], [], [], []
    for t in tensors:
        q = t.quantization
        if q is None or q.scale is None or not len(q.scale):
            continue
        dtype = NUMPY_TYPES.get(t.type or 0)
        if dtype is None:
            return False
        n = len(q.scale)
        qdim = q.quantized_dimension or 0
        if qdim < 0 or (q.zero_point is not None and len(q.zero_point) != n):
            return False
        if n > 1 and (t.shape is None or qdim >= len(t.shape) or t.shape[qdim] != n):
            return False
        (integer_scales if dtype.kind in "iu" else float_scales).append(q.scale)
        if q.zero_point is not None:
            lo, hi = _ZERO_POINT_RANGE[t.type or 0]
            zero_points.append(q.zero_point)
            lows.append(lo)
            highs.append(hi)
            counts.append(n)
    # minimum and maximum propagate NaN, so these see every non-finite scale
    for parts, least in ((float_scales, 0.0), (integer_scales, _TINY_F32)):
        if parts:
            scales = np.concatenate(parts)
            if not (float(np.minimum.reduce(scales)) >= least
                    and math.isfinite(float(np.maximum.reduce(scales)))):
                return False
    if zero_points:
        values = np.concatenate(zero_points).astype(np.int64)
        if (np.any(values < np.repeat(np.array(lows, np.int64), counts))
                or np.any(values > np.repeat(np.array(highs, np.int64), counts))):
            return False
    return True


class _Where:
    """Names a tensor in a message, formatted only when a check fails."""

    __slots__ = ("sg", "index", "name")

    def __init__(self, sg, index, name):
        self.sg, self.index, self.name = sg, index, name

    def __str__(self):
        return "subgraph %d, tensor %d (%r)" % (self.sg, self.index, self.name)


@functools.lru_cache(maxsize=None)
def _expected_options(code):
    """The name of the options table builtin `code` takes, or None if it takes none."""
    expected = options_table_for(BUILTIN_NAMES[code])
    return expected[1] if expected is not None else None


@functools.lru_cache(maxsize=None)
def _float_fields(table):
    """[(field name, is a vector)] of an options table's floating-point fields."""
    return [(name, ftype == "[float]") for name, ftype, _default, _dep in _schema.TABLES[table]
            if ftype in ("float", "double", "[float]")]


@functools.lru_cache(maxsize=None)
def _subgraph_fields(table):
    """The fields of an options table that name subgraphs (most tables have none)."""
    names = {name for name, _ftype, _default, _dep in _schema.TABLES[table]}
    return tuple(field for field in _SUBGRAPH_FIELDS if field in names)


# the options tables that name subgraphs (those of WHILE, IF, CALL_ONCE, ...)
_CALLING_TABLES = frozenset(name for name in _schema.TABLES if _subgraph_fields(name))


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


@contextlib.contextmanager
def paused_gc():
    """Loading makes thousands of objects and no cycles: the cyclic collector, which would run
    many times over them (and over everything else the process holds), waits until the end."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load(raw):
    """Reads and checks a model (bytes or mmap); raises a ValueError naming what is wrong."""
    with paused_gc():
        # First lean, with the compiled checks; anything they are unsure of (or a malformed
        # file) is read again in full and checked in Python, which names the fault.
        try:
            return _Loader(raw, _flatbuffer.read(raw, lean=True), lean=True).model()
        except (_Unsure, _flatbuffer.FlatBufferError):
            pass
        return _Loader(raw, _flatbuffer.read(raw)).model()


class _Unsure(Exception):
    """The compiled checks of a lean read refused something: the Python checks must look."""


class _Loader:
    def __init__(self, raw, root, lean=False):
        self.raw = raw
        self.root = root
        self.lean = lean  # tensors, operators and buffers are LeanTables, checked by _loadspecs
        self.view = memoryview(raw)

    def fail(self, msg, *args):
        raise ModelError("invalid model: " + (msg % args if args else msg))

    def model(self):
        root = self.root
        if root.version is not None and root.version != 3:
            self.fail("schema version %s is not supported (expected 3)", root.version)
        if self.lean:   # buffers past the FlatBuffer (offsets) are checked on the full read
            buffers = _loadspecs.inline_buffers(root.buffers or [])
            if buffers is None:
                raise _Unsure()
        else:
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
        for sg in subgraphs:
            if not _loadspecs.dataflow_ok(sg.inputs, sg.operators, sg.tensors):
                self.check_dataflow(sg)
        self.check_call_graph(subgraphs)
        return Model(self.raw, root, subgraphs, buffers, signatures, metadata)

    def buffer(self, index, buf):
        if buf.offset:  # large models keep buffers after the FlatBuffer
            start, size = int(buf.offset), int(buf.size or 0)
            if start <= 1 or size < 0 or start + size > len(self.view):
                self.fail("buffer %d points outside the file (offset %d, size %d)", index, start, size)
            if size == 0:
                return None
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
        raw_tensors = sg.tensors or []
        if self.lean:
            tensors = _loadspecs.tensor_specs(raw_tensors, buffers, self.raw)
            if tensors is None:
                raise _Unsure()
        else:
            quantization_ok = _quantization_all_valid(raw_tensors)
            tensors = [self.tensor(index, i, t, buffers, quantization_ok)
                       for i, t in enumerate(raw_tensors)]
        where = "subgraph %d" % index

        def check_ids(ids, what, allow_absent=False):
            if ids is None:
                return []
            ids = ids.tolist() if isinstance(ids, np.ndarray) else [int(i) for i in ids]
            if ids and (min(ids) < (-1 if allow_absent else 0) or max(ids) >= len(tensors)):
                for i in ids:
                    if not (0 <= i < len(tensors) or (allow_absent and i == -1)):
                        self.fail("%s: %s refers to tensor %d, but there are %d tensors",
                                  where, what, i, len(tensors))
            return ids

        inputs = check_ids(sg.inputs, "an input")
        outputs = check_ids(sg.outputs, "an output")
        if self.lean:
            operators = _loadspecs.operator_specs(sg.operators or [], self.raw, opcodes, len(tensors),
                                                  BUILTIN_NAMES, _expected_options, _float_fields)
            if operators is None:
                raise _Unsure()
            return SubgraphSpec(index, sg.name or "", tensors, inputs, outputs, operators)
        operators = []
        for i, o in enumerate(sg.operators or []):
            if o.opcode_index is None or not 0 <= o.opcode_index < len(opcodes):
                self.fail("%s, operator %d: opcode index %s out of range (%d opcodes)",
                          where, i, o.opcode_index, len(opcodes))
            code, custom, version = opcodes[o.opcode_index]
            what = "operator %d (%s)" % (i, BUILTIN_NAMES[code])
            options = o.builtin_options if o.builtin_options is not None else o.builtin_options_2
            options_type = options.type_name if options is not None else None
            if options is not None:
                self.check_options(what, where, code, options)
            operators.append(OperatorSpec(
                index=i, opcode_index=int(o.opcode_index), code=code, op_name=BUILTIN_NAMES[code],
                custom_code=custom, version=version,
                inputs=tuple(check_ids(o.inputs, what + " input", allow_absent=True)),
                outputs=tuple(check_ids(o.outputs, what + " output")),
                intermediates=tuple(check_ids(o.intermediates, what + " intermediate")),
                options=options, options_type=options_type, custom_options=o.custom_options))
        return SubgraphSpec(index, sg.name or "", tensors, inputs, outputs, operators)

    def tensor(self, sg, index, t, buffers, quantization_ok=False):
        # Plain Python ints and floats here: a numpy reduction per tensor costs more than the rest
        # of the checks together.
        where = _Where(sg, index, t.name)
        type_code = int(t.type or 0)
        if type_code not in NUMPY_TYPES:
            self.fail("%s has type %s, which tflite_rt does not support", where,
                      TYPE_NAMES.get(type_code, type_code))
        shape = tuple(t.shape.tolist()) if t.shape is not None else ()
        if len(shape) > MAX_RANK:
            self.fail("%s has rank %d; at most %d is supported", where, len(shape),
                      MAX_RANK)
        count = 1
        for d in shape:
            if d < 0:
                self.fail("%s has a negative dimension in its shape %s", where,
                          list(shape))
            count *= d
        if count > _MAX_ELEMENTS:
            self.fail("%s has an absurd shape %s", where, list(shape))
        signature = None
        if t.shape_signature is not None:
            signature = tuple(t.shape_signature.tolist())
            if len(signature) != len(shape) or any(s != -1 and s != d for s, d in zip(signature, shape)):
                self.fail("%s: shape_signature %s disagrees with shape %s", where,
                          list(signature), list(shape))
        buffer = int(t.buffer or 0)
        if not 0 <= buffer < max(len(buffers), 1):
            self.fail("%s refers to buffer %d, but there are %d buffers", where, buffer,
                      len(buffers))
        data = buffers[buffer] if buffers else None
        if t.external_buffer:
            self.fail("%s uses external buffer %d; external buffers are not supported",
                      where, int(t.external_buffer))
        if data is not None:
            self.check_data(where, t, type_code, data, shape, count, buffer)
        scales = zero_points = None
        qdim = 0
        q = t.quantization
        if q is not None and q.scale is not None and len(q.scale):
            if quantization_ok:
                scales = np.array(q.scale, dtype=np.float32)
                zero_points = (np.array(q.zero_point, dtype=np.int64) if q.zero_point is not None
                               else np.zeros(len(scales), np.int64))
                qdim = int(q.quantized_dimension or 0)
            else:
                scales, zero_points, qdim = self.quantization(where, q, type_code, shape)
        return TensorSpec(index=index, name=t.name or "", type=type_code, shape=shape,
                          shape_signature=signature, buffer=buffer, data=data, scales=scales,
                          zero_points=zero_points, quantized_dimension=qdim,
                          is_variable=bool(t.is_variable), sparsity=t.sparsity,
                          has_rank=bool(t.has_rank))

    def check_data(self, where, t, type_code, data, shape, count, buffer):
        if t.is_variable:
            self.fail("%s is a variable but holds constant data (buffer %d)", where, buffer)
        if type_code == _STRING:
            self.check_strings(where, data, count)
            return
        itemsize = NUMPY_TYPES[type_code].itemsize
        need = count * itemsize
        if t.sparsity is not None:
            # a sparse constant stores only its kept values; DENSIFY checks the metadata
            if len(data) % itemsize or len(data) > need:
                self.fail("%s: its sparse buffer of %d bytes does not fit shape %s of %s", where,
                          len(data), list(shape), TYPE_NAMES[type_code])
        elif len(data) != need:
            self.fail("%s: its buffer holds %d bytes, but shape %s of %s needs %d", where,
                      len(data), list(shape), TYPE_NAMES[type_code], need)

    def quantization(self, where, q, type_code, shape):
        """(scales, zero points, quantized dimension) of a tensor, checked."""
        scales = np.array(q.scale, dtype=np.float32)
        zero_points = (np.array(q.zero_point, dtype=np.int64) if q.zero_point is not None
                       else np.zeros(len(scales), np.int64))
        qdim = int(q.quantized_dimension or 0)
        integer = NUMPY_TYPES[type_code].kind in "iu"
        if len(scales) <= _FEW:
            values = scales.tolist()
            if not all(math.isfinite(v) and v >= 0 for v in values):
                self.fail("%s has a non-finite or negative quantization scale", where)
            smallest = min(values)
        else:
            # min and max propagate NaN, so two reductions see every non-finite scale
            smallest, largest = float(np.minimum.reduce(scales)), float(np.maximum.reduce(scales))
            if not (smallest >= 0 and math.isfinite(largest)):
                self.fail("%s has a non-finite or negative quantization scale", where)
        if integer and smallest < _TINY_F32:
            self.fail("%s has a zero or subnormal quantization scale (%g)", where, smallest)
        if len(zero_points) != len(scales):
            self.fail("%s has %d scales but %d zero points", where, len(scales), len(zero_points))
        if qdim < 0:
            self.fail("%s has a negative quantized dimension %d", where, qdim)
        if len(scales) > 1:
            if not 0 <= qdim < len(shape) or shape[qdim] != len(scales):
                self.fail("%s: %d per-channel scales do not match dimension %d of shape %s",
                          where, len(scales), qdim, list(shape))
        lo, hi = _ZERO_POINT_RANGE[type_code]
        if len(zero_points) <= _FEW:
            values = zero_points.tolist()
            zp_lo, zp_hi = min(values), max(values)
        else:
            zp_lo, zp_hi = int(np.minimum.reduce(zero_points)), int(np.maximum.reduce(zero_points))
        if zp_lo < lo or zp_hi > hi:
            self.fail("%s has a zero point outside the range [%d, %d] of %s", where, lo, hi,
                      TYPE_NAMES[type_code])
        return scales, zero_points, qdim

    def check_strings(self, where, data, count):
        """A constant string tensor: count, count + 1 offsets, then the bytes they delimit."""
        raw = np.asarray(data, dtype=np.uint8)
        if len(raw) < 8:
            self.fail("%s: its string buffer of %d bytes is too short", where, len(raw))
        n = int(raw[:4].view("<i4")[0])
        if n != count or len(raw) < 4 * (n + 2):
            self.fail("%s: its string buffer holds %d strings in %d bytes; the shape needs %d",
                      where, n, len(raw), count)
        offsets = raw[4:4 * (n + 2)].view("<i4").astype(np.int64)
        if offsets[0] != 4 * (n + 2) or offsets[-1] != len(raw) or np.any(np.diff(offsets) < 0):
            self.fail("%s: its string buffer has offsets out of order or outside its %d bytes",
                      where, len(raw))

    def check_options(self, what, where, code, options):
        """Options of the table the op expects, with finite floats and sane vectors."""
        expected = _expected_options(code)
        if expected is not None and expected != options.type_name:
            self.fail("%s, %s: its options are a %s, expected %s", where, what, options.type_name,
                      expected)
        for name, vector in _float_fields(options.type_name):
            value = getattr(options, name, None)
            if value is None:
                continue
            finite = (bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64)))) if vector
                      else math.isfinite(value))
            if not finite:
                self.fail("%s, %s: option %s is not finite", where, what, name)

    def check_dataflow(self, sg):
        """Operators in an order that runs: every tensor written once at most, after nothing
        read it, and never into a constant, a variable or an input of the subgraph."""
        where = "subgraph %d" % sg.index
        tensors = sg.tensors
        inputs = set()
        for i in sg.inputs:
            t = tensors[i]
            if i in inputs:
                self.fail("%s lists tensor %d (%r) twice among its inputs", where, i, t.name)
            inputs.add(i)
            if t.data is not None:
                self.fail("%s: input tensor %d (%r) holds constant data", where, i, t.name)
        writer = {}
        read_by = {}
        for o in sg.operators:
            for i in o.inputs:
                if i >= 0:
                    read_by.setdefault(i, o.index)
            for i in o.outputs:
                t = tensors[i]
                if (i in writer or t.data is not None or t.is_variable or i in inputs
                        or i in read_by):
                    self.check_output(where, o, i, t, writer, inputs, read_by)
                writer[i] = o.index

    def check_output(self, where, o, i, t, writer, inputs, read_by):
        """Fails for the first rule output tensor i of operator o breaks."""
        what = "%s, operator %d (%s): output tensor %d (%r)" % (where, o.index, o.op_name, i, t.name)
        if i in writer:
            self.fail("%s is also written by operator %d", what, writer[i])
        if t.data is not None:
            self.fail("%s is a constant", what)
        if t.is_variable:
            self.fail("%s is a variable tensor", what)
        if i in inputs:
            self.fail("%s is an input of the subgraph", what)
        self.fail("%s is read by operator %d before it is written", what, read_by[i])

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
        """Subgraph references in range, no subgraph reaching itself through calls, and calls
        nested at most MAX_CALL_DEPTH deep."""
        calls = {}
        for sg in subgraphs:
            callees = []
            for o in _loadspecs.calling_operators(sg.operators, _CALLING_TABLES):
                for field in _subgraph_fields(o.options_type):
                    value = getattr(o.options, field, None)
                    if value is None:
                        continue
                    for target in np.atleast_1d(np.asarray(value, dtype=np.int64)).tolist():
                        if not 0 <= target < len(subgraphs):
                            self.fail("subgraph %d, operator %d (%s): %s %d out of range (%d subgraphs)",
                                      sg.index, o.index, o.op_name, field, target, len(subgraphs))
                        if target not in callees:
                            callees.append(int(target))
            calls[sg.index] = sorted(callees)
        # Depth-first, without recursion: state 1 = on the current path, 2 = done; height = the
        # longest chain of calls below a subgraph.
        state, height = {}, {}
        for root in calls:
            if state.get(root):
                continue
            path, stack = [root], [iter(calls[root])]
            state[root] = 1
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    done = path.pop()
                    stack.pop()
                    state[done] = 2
                    height[done] = 1 + max((height[c] for c in calls[done]), default=0)
                    if height[done] > MAX_CALL_DEPTH:
                        self.fail("subgraph %d nests subgraph calls %d deep; at most %d is supported",
                                  done, height[done], MAX_CALL_DEPTH)
                    continue
                if state.get(nxt) == 1:
                    cycle = path[path.index(nxt):] + [nxt]
                    self.fail("subgraphs call each other in a cycle: %s",
                              " -> ".join(str(i) for i in cycle))
                if state.get(nxt) == 2:
                    continue
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(calls[nxt]))
