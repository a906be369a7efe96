"""What the model fuzzers share: seed models, a mutator that edits models through the schema,
and one execution of a model (load, allocate, set random inputs, invoke, read outputs).

An execution may end in one of the clean outcomes below. Anything else (another exception
type, or the process dying or hanging) is a finding.
"""
import glob
import hashlib
import os
import re
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tflite_rt import _flatbuffer, _schema  # noqa: E402
from tflite_rt._flatbuffer import Table, scalar_type  # noqa: E402

SHARED_MODELS = os.path.join(os.path.dirname(ROOT), "shared", "models")
CLEAN = {ValueError: "refused", RuntimeError: "runtime_error", MemoryError: "memory"}
MAX_INPUT_ELEMENTS = 1 << 22   # larger inputs are left as allocated (zeros)
MAX_ARENA_BYTES = 1 << 26      # larger plans are loaded and planned, but not run (too slow)


# ---------------------------------------------------------------------------------------------
# One execution


def random_value(shape, dtype, rng, small_ints=False):
    """Inputs that stress kernels: ordinary values most of the time, sometimes extremes
    (zeros, -1, the type's limits, NaN and infinities)."""
    dtype = np.dtype(dtype)
    shape = tuple(int(d) for d in shape)
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    mode = rng.integers(0, 4)
    if small_ints and dtype.kind in "iu":
        mode = 0
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if mode == 0:
            v = rng.integers(max(info.min, -4), min(info.max, 4), shape, endpoint=True)
        elif mode == 1:
            v = rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)
        elif mode == 2:
            picks = np.array([0, 1, info.max, info.min, info.max - 1, info.min + 1]
                             + ([-1] if info.min < 0 else []), dtype=dtype)
            v = rng.choice(picks, shape) if n else np.zeros(shape, dtype)
        else:
            v = np.zeros(shape, dtype)
        return np.asarray(v).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if dtype.kind == "f":
        v = rng.standard_normal(shape) * (3 if mode < 2 else 1e6)
        if mode == 3 and n:
            specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 3e38, -3e38, 1e-40])
            mask = rng.random(shape) < 0.3
            v = np.where(mask, rng.choice(specials, shape), v)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(v).astype(dtype)
    if dtype.kind in "OSU":
        return np.array([b"x" * int(rng.integers(0, 5)) for _ in range(n)], dtype=object).reshape(shape)
    return np.zeros(shape, dtype)


def refusal_signature(error):
    """A refusal's message with what varies between cases taken out (numbers, quoted names,
    node positions), so that refusals can be counted by kind."""
    text = str(error).splitlines()[0] if str(error) else ""
    text = re.sub(r"\(subgraph \d+, node \d+\)", "", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\b[A-Z][A-Z0-9_]+\b", "NAME", text)             # op and type names
    text = re.sub(r"\b[A-Z][A-Za-z0-9]*Options\b", "Options", text)
    text = re.sub(r"-?\b\d+(\.\d+)?(e[-+]?\d+)?\b", "N", text)
    text = re.sub(r"\[[N, ]*\]|\([N, ]*\)", "[N…]", text)
    return "%s: %s" % (type(error).__name__, " ".join(text.split())[:120])


def execute(data, seed=0, num_threads=None, module=None, small_ints=False, on_refusal=None):
    """Runs one model; returns the clean outcome's name, or raises what is a finding.
    small_ints keeps integer inputs within [-4, 4] (for models whose loops count with them);
    on_refusal, when given, is called with the clean exception."""
    if module is None:
        from tflite_rt import interpreter as module
    rng = np.random.default_rng(seed)
    try:
        threads = num_threads or int(rng.integers(1, 3))
        it = module.Interpreter(model_content=data, num_threads=threads)
        details = it.get_input_details()
        if details and rng.random() < 0.1:
            d = details[int(rng.integers(0, len(details)))]
            shape = [max(0, int(s) + int(rng.integers(-1, 2))) for s in d["shape"]]
            it.resize_tensor_input(d["index"], shape)
        it.allocate_tensors()
        arena = getattr(getattr(it, "_alloc", None), "arena", None)
        if arena is not None and arena.nbytes > MAX_ARENA_BYTES:
            return "large"
        for d in it.get_input_details():
            if np.prod(d["shape"], dtype=np.float64) > MAX_INPUT_ELEMENTS:
                continue
            it.set_tensor(d["index"], random_value(d["shape"], d["dtype"], rng, small_ints))
        for _ in range(2 if rng.random() < 0.2 else 1):
            it.invoke()
        for d in it.get_output_details():
            it.get_tensor(d["index"])
        if len(it.get_signature_list()) > 1:
            for key in it.get_signature_list():
                runner = it.get_signature_runner(key)
                args = {name: random_value(d["shape"], d["dtype"], rng, small_ints)
                        for name, d in runner.get_input_details().items()
                        if np.prod(d["shape"], dtype=np.float64) <= MAX_INPUT_ELEMENTS}
                if len(args) == len(runner.get_input_details()):
                    runner(**args)
        return "ok"
    except tuple(CLEAN) as e:
        if on_refusal is not None:
            on_refusal(e)
        for cls, name in CLEAN.items():
            if isinstance(e, cls):
                return name
        raise


# ---------------------------------------------------------------------------------------------
# Seeds


def load_seed_dir(path, max_bytes=1 << 20):
    seeds = []
    for f in sorted(glob.glob(os.path.join(path, "*.tflite"))):
        if os.path.getsize(f) <= max_bytes:
            with open(f, "rb") as fh:
                seeds.append((os.path.basename(f), fh.read()))
    return seeds


def save_unique(folder, data, prefix=""):
    os.makedirs(folder, exist_ok=True)
    name = os.path.join(folder, "%s%s.tflite" % (prefix, hashlib.sha1(data).hexdigest()[:16]))
    if not os.path.exists(name):
        with open(name + ".tmp", "wb") as f:
            f.write(data)
        os.replace(name + ".tmp", name)
    return name


# ---------------------------------------------------------------------------------------------
# The structured mutator: decode, edit fields through the schema, encode again.

_SCALAR_RANGE = {
    "bool": (0, 1), "byte": (-128, 127), "ubyte": (0, 255), "short": (-2 ** 15, 2 ** 15 - 1),
    "ushort": (0, 2 ** 16 - 1), "int": (-2 ** 31, 2 ** 31 - 1), "uint": (0, 2 ** 32 - 1),
    "long": (-2 ** 63, 2 ** 63 - 1), "ulong": (0, 2 ** 64 - 1),
}
_INTERESTING_INTS = [0, 1, -1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256,
                     1000, 4096, 65535, 65536, 2 ** 20, 2 ** 24, 2 ** 30, 2 ** 31 - 1, -2 ** 31,
                     2 ** 31, 2 ** 32 - 1, -2, -3, -8, -128, -129, 2 ** 62, -2 ** 63]
_INTERESTING_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-45, 1e-30, 1e-10, 1e10, 1e30, 3.4e38,
                       -3.4e38, float("inf"), float("-inf"), float("nan"), 1e-3, 255.0, 65536.0]
_OPTION_TABLES = [name for name in _schema.UNIONS["BuiltinOptions"][1:]]
_TYPE_CODES = sorted(_schema.ENUMS["TensorType"][1].values())


def _interesting_scalar(scalar, rng, old=None):
    if scalar in ("float", "double"):
        choice = rng.integers(0, 3)
        if choice == 0 and old is not None and np.isfinite(old):
            return float(old) * float(rng.choice([0.5, 2.0, -1.0, 1e-6, 1e6]))
        return float(rng.choice(_INTERESTING_FLOATS))
    lo, hi = _SCALAR_RANGE[scalar]
    choice = rng.integers(0, 4)
    if choice == 0 and old is not None:
        v = int(old) + int(rng.choice([-2, -1, 1, 2, 8, -8]))
    elif choice == 1:
        v = int(rng.integers(lo, hi, endpoint=True, dtype=np.uint64 if lo >= 0 else np.int64)) \
            if hi < 2 ** 63 else int(rng.integers(0, 2 ** 62))
    else:
        v = int(rng.choice(_INTERESTING_INTS))
    return int(min(max(v, lo), hi))


def _sites(obj, out, depth=0):
    """Every (table, field name, field type) in the tree, depth-first."""
    if depth > 24:
        return
    for name, ftype, _default, _dep in _schema.TABLES[obj.type_name]:
        value = getattr(obj, name, None)
        out.append((obj, name, ftype))
        if isinstance(value, Table):
            _sites(value, out, depth + 1)
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, Table):
                    _sites(v, out, depth + 1)


def _all_of(root, type_name):
    sites = []
    _sites(root, sites)
    seen, out = set(), []
    for obj, _n, _t in sites:
        if obj.type_name == type_name and id(obj) not in seen:
            seen.add(id(obj))
            out.append(obj)
    return out


def _edit_vector(values, elem, rng):
    scalar = scalar_type(elem)
    if scalar is None:  # a vector of tables or strings
        values = list(values)
        if not values:
            return values
        k = rng.integers(0, 4)
        i = int(rng.integers(0, len(values)))
        if k == 0:
            del values[i]
        elif k == 1:
            values.insert(int(rng.integers(0, len(values) + 1)), values[i])
        elif k == 2:
            j = int(rng.integers(0, len(values)))
            values[i], values[j] = values[j], values[i]
        else:
            values = values[:i]
        return values
    dtype = _flatbuffer._SCALARS[scalar][1]
    arr = np.array(values, dtype=dtype)
    k = rng.integers(0, 6)
    if k <= 2 and len(arr):
        i = int(rng.integers(0, len(arr)))
        arr[i] = _interesting_scalar(scalar, rng, arr[i])
    elif k == 3 and len(arr):
        arr = np.delete(arr, int(rng.integers(0, len(arr))))
    elif k == 4:
        arr = np.insert(arr, int(rng.integers(0, len(arr) + 1)), _interesting_scalar(scalar, rng))
    else:
        arr = arr[:int(rng.integers(0, len(arr) + 1))] if len(arr) else arr
    return arr


def _mutate_generic(root, rng):
    sites = []
    _sites(root, sites)
    obj, name, ftype = sites[int(rng.integers(0, len(sites)))]
    value = getattr(obj, name, None)
    scalar = scalar_type(ftype)
    if scalar:
        enum = _schema.ENUMS.get(ftype)
        if enum and rng.random() < 0.5:
            setattr(obj, name, int(rng.choice(list(enum[1].values()))))
        else:
            setattr(obj, name, _interesting_scalar(scalar, rng, value))
    elif ftype.startswith("[") and value is not None:
        setattr(obj, name, _edit_vector(value, ftype[1:-1], rng))
    elif ftype.startswith("union:") and value is not None and rng.random() < 0.5:
        setattr(obj, name, None)
        setattr(obj, name + "_type", 0)
    elif value is not None and rng.random() < 0.3 and ftype not in ("string",):
        setattr(obj, name, None)


def _mutate_buffer_values(root, rng):
    """Edits the values of a constant as its tensor's type: shapes, axes, paddings, indices."""
    tensors = [t for t in _all_of(root, "Tensor") if t.buffer]
    buffers = root.buffers or []
    tensors = [t for t in tensors if t.buffer < len(buffers) and buffers[t.buffer].data is not None
               and len(buffers[t.buffer].data)]
    if not tensors:
        return _mutate_generic(root, rng)
    t = tensors[int(rng.integers(0, len(tensors)))]
    buf = buffers[t.buffer]
    from tflite_rt.ops._base import NUMPY_TYPES
    dtype = NUMPY_TYPES.get(int(t.type))
    raw = np.array(buf.data, dtype=np.uint8)
    if dtype is None or dtype.kind == "O" or len(raw) % dtype.itemsize or rng.random() < 0.2:
        k = rng.integers(0, 3)
        if k == 0 and len(raw):
            raw[int(rng.integers(0, len(raw)))] = rng.integers(0, 256)
        elif k == 1:
            raw = raw[:int(rng.integers(0, len(raw) + 1))]
        else:
            raw = np.concatenate([raw, rng.integers(0, 256, int(rng.integers(1, 16))).astype(np.uint8)])
        buf.data = raw
        return
    values = raw.view(dtype.newbyteorder("<"))
    i = int(rng.integers(0, len(values)))
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        v = int(rng.choice(_INTERESTING_INTS)) if rng.random() < 0.7 else int(values[i]) + int(rng.integers(-3, 4))
        values[i] = min(max(v, info.min), info.max)
    elif dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            values[i] = rng.choice(_INTERESTING_FLOATS)
    elif dtype.kind == "b":
        raw[i] = rng.integers(0, 256)
    buf.data = raw


def _mutate_options(root, rng):
    ops = _all_of(root, "Operator")
    if not ops:
        return _mutate_generic(root, rng)
    o = ops[int(rng.integers(0, len(ops)))]
    if o.builtin_options is not None and rng.random() < 0.7:
        fields = [(n, t) for n, t, _d, _dep in _schema.TABLES[o.builtin_options.type_name]
                  if scalar_type(t)]
        if fields:
            name, ftype = fields[int(rng.integers(0, len(fields)))]
            setattr(o.builtin_options, name,
                    _interesting_scalar(scalar_type(ftype), rng, getattr(o.builtin_options, name)))
            return
    table = _OPTION_TABLES[int(rng.integers(0, len(_OPTION_TABLES)))]
    o.builtin_options = Table(table)
    o.builtin_options_type = _schema.UNIONS["BuiltinOptions"].index(table)


def _mutate_opcode(root, rng):
    from tflite_rt.ops import _base
    import tflite_rt.ops  # noqa: F401  (registers every op)
    codes = root.operator_codes or []
    if not codes:
        return _mutate_generic(root, rng)
    oc = codes[int(rng.integers(0, len(codes)))]
    names = _base.registered_names()
    code = _base.BUILTIN_CODES[names[int(rng.integers(0, len(names)))]]
    oc.builtin_code = code
    oc.deprecated_builtin_code = min(code, 127)


def _mutate_io(root, rng):
    sgs = root.subgraphs or []
    if not sgs:
        return _mutate_generic(root, rng)
    sg = sgs[int(rng.integers(0, len(sgs)))]
    n = len(sg.tensors or [])
    holders = [(o, f) for o in (sg.operators or []) for f in ("inputs", "outputs")]
    holders += [(sg, "inputs"), (sg, "outputs")]
    obj, field = holders[int(rng.integers(0, len(holders)))]
    ids = np.array(getattr(obj, field) if getattr(obj, field) is not None else [], dtype=np.int32)
    k = rng.integers(0, 4)
    if k <= 1 and len(ids):
        ids[int(rng.integers(0, len(ids)))] = int(rng.integers(-1, max(n, 1))) if rng.random() < 0.9 \
            else int(rng.choice([n, n + 1, -2, 2 ** 31 - 1]))
    elif k == 2:
        ids = np.insert(ids, int(rng.integers(0, len(ids) + 1)), int(rng.integers(-1, max(n, 1))))
    elif len(ids):
        ids = np.delete(ids, int(rng.integers(0, len(ids))))
    setattr(obj, field, ids)


def _mutate_tensor(root, rng):
    tensors = _all_of(root, "Tensor")
    if not tensors:
        return _mutate_generic(root, rng)
    t = tensors[int(rng.integers(0, len(tensors)))]
    k = rng.integers(0, 6)
    if k <= 1:
        shape = np.array(t.shape if t.shape is not None else [], dtype=np.int32)
        if len(shape) and rng.random() < 0.7:
            i = int(rng.integers(0, len(shape)))
            shape[i] = int(rng.choice([0, 1, 2, 3, -1, min(int(shape[i]) + 1, 2 ** 31 - 1), max(int(shape[i]) - 1, 0), 1 << 16, 2 ** 31 - 1]))
        elif rng.random() < 0.5:
            shape = np.insert(shape, int(rng.integers(0, len(shape) + 1)), int(rng.integers(1, 4)))
        elif len(shape):
            shape = np.delete(shape, int(rng.integers(0, len(shape))))
        t.shape = shape
        if t.shape_signature is not None and rng.random() < 0.7:
            t.shape_signature = shape.copy()
    elif k == 2:
        t.type = int(rng.choice(_TYPE_CODES))
    elif k == 3:
        t.buffer = int(rng.integers(0, max(len(root.buffers or []), 1) + 1))
    elif k == 4:
        q = t.quantization or Table("QuantizationParameters")
        nscale = int(rng.choice([1, 1, 2, 3, 4, 8]))
        j = rng.integers(0, 4)
        if j == 0 or q.scale is None:
            q.scale = np.array([abs(float(rng.choice(_INTERESTING_FLOATS))) if rng.random() < 0.3
                                else float(rng.uniform(1e-3, 1)) for _ in range(nscale)], np.float32)
            q.zero_point = np.array([int(rng.integers(-3, 4)) for _ in range(nscale)], np.int64)
        elif j == 1:
            q.zero_point = _edit_vector(q.zero_point if q.zero_point is not None else [0], "long", rng)
        elif j == 2:
            q.quantized_dimension = int(rng.choice([0, 1, 2, 3, -1, 7, 100]))
        else:
            q.scale = _edit_vector(q.scale, "float", rng)
        t.quantization = q
    else:
        t.is_variable = not bool(t.is_variable)


_STRATEGIES = [(_mutate_generic, 4), (_mutate_buffer_values, 3), (_mutate_options, 3),
               (_mutate_opcode, 1), (_mutate_io, 2), (_mutate_tensor, 4)]
_WEIGHTS = np.array([w for _s, w in _STRATEGIES], np.float64) / sum(w for _s, w in _STRATEGIES)


def mutate(data, rng, rounds=None):
    """A structurally mutated copy of `data` (bytes), or None when `data` does not decode."""
    try:
        root = _flatbuffer.read(data)
    except (ValueError, RecursionError):
        return None
    rounds = rounds or int(rng.choice([1, 1, 1, 2, 2, 3, 5]))
    try:
        for _ in range(rounds):
            strategy = _STRATEGIES[int(rng.choice(len(_STRATEGIES), p=_WEIGHTS))][0]
            strategy(root, rng)
        return _flatbuffer.write(root)
    except Exception:  # noqa: BLE001  (an edit the schema cannot hold: the caller falls back)
        return None


def havoc(data, rng):
    """Byte-level damage: flipped bytes, overwritten words, truncation."""
    buf = bytearray(data)
    if not buf:
        return bytes(buf)
    for _ in range(int(rng.integers(1, 6))):
        if not buf:
            break
        k = rng.integers(0, 4)
        pos = int(rng.integers(0, len(buf)))
        if k == 0:
            buf[pos] = int(rng.integers(0, 256))
        elif k == 1:
            buf[pos] ^= 1 << int(rng.integers(0, 8))
        elif k == 2 and pos + 4 <= len(buf):
            buf[pos:pos + 4] = int(rng.choice(_INTERESTING_INTS) & 0xFFFFFFFF).to_bytes(4, "little")
        elif len(buf) > 16 and rng.random() < 0.2:
            del buf[pos:]
    return bytes(buf)


def make_case(seeds, rng, with_origin=False):
    """A new test case from a random seed: structured edits, sometimes byte damage on top."""
    origin = int(rng.integers(0, len(seeds)))
    _name, data = seeds[origin]
    out = None
    r = rng.random()
    if r < 0.85:
        out = mutate(data, rng)
    if out is None or rng.random() < 0.1:
        out = havoc(out or data, rng)
    return (out, origin) if with_origin else out
