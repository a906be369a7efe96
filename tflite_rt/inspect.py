"""`tflite-rt inspect`: what a model holds and how tflite_rt would run it.

    from tflite_rt.inspect import inspect_model, format_inspect
    info = inspect_model("model.tflite")      # a JSON-ready dict (see docs/cli.md)
    print(format_inspect(info))

A model that loads but cannot be planned (an unsupported op, a bad shape) is still described:
the planning error is reported in `info["memory"]["plan_error"]` and every op tflite_rt has no
kernel for is listed in `info["unsupported_ops"]`.
"""
import os

from . import _core, _planner, model as _model
from .ops import registered
from .ops._base import TYPE_NAMES

SCHEMA_VERSION = 1


# -- multiply-accumulates ----------------------------------------------------------------------
def _prod(dims):
    n = 1
    for d in dims:
        n *= int(d)
    return n


def op_macs(op_name, in_shapes, out_shapes, options=None):
    """Multiply-accumulates of one op from its tensor shapes, or None for ops not counted.

    in_shapes / out_shapes: one shape (a tuple) per tensor, None for an absent optional input."""
    def shape(i, shapes=in_shapes):
        return shapes[i] if i < len(shapes) and shapes[i] is not None else None

    out = shape(0, out_shapes)
    if out is None:
        return None
    if op_name == "CONV_2D":              # filter [Cout, KH, KW, Cin / groups]
        w = shape(1)
        return _prod(out) * _prod(w[1:]) if w is not None and len(w) == 4 else None
    if op_name == "DEPTHWISE_CONV_2D":    # filter [1, KH, KW, Cout]
        w = shape(1)
        return _prod(out) * w[1] * w[2] if w is not None and len(w) == 4 else None
    if op_name == "CONV_3D":              # filter [KD, KH, KW, Cin, Cout]
        w = shape(1)
        return _prod(out) * _prod(w[:4]) if w is not None and len(w) == 5 else None
    if op_name == "CONV_3D_TRANSPOSE":    # filter [KD, KH, KW, Cout, Cin], input is 2
        w, x = shape(1), shape(2)
        return _prod(x) * _prod(w[:4]) if w is not None and x is not None and len(w) == 5 else None
    if op_name == "TRANSPOSE_CONV":       # output_shape, filter [Cout, KH, KW, Cin], input
        w, x = shape(1), shape(2)
        return _prod(x) * _prod(w[:3]) if w is not None and x is not None and len(w) == 4 else None
    if op_name == "FULLY_CONNECTED":      # weights [units, K]
        w = shape(1)
        return _prod(out) * w[-1] if w is not None and len(w) == 2 else None
    if op_name == "BATCH_MATMUL":         # lhs [..., M, K] (or [..., K, M] with adj_x)
        a = shape(0)
        if a is None or len(a) < 2:
            return None
        adj_x = bool(getattr(options, "adj_x", False)) if options is not None else False
        return _prod(out) * (a[-2] if adj_x else a[-1])
    if op_name in ("LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM",
                   "UNIDIRECTIONAL_SEQUENCE_RNN", "RNN", "SVDF"):
        # every step multiplies each (batch) row by every 2-D weight matrix it holds
        x = shape(0)
        if x is None or len(x) < 2:
            return None
        rows = _prod(x[:-1])
        mats = [s for s in in_shapes[1:] if s is not None and len(s) == 2 and _prod(s) > 0]
        return rows * sum(_prod(s) for s in mats) if mats else None
    return None


# -- model description --------------------------------------------------------------------------
def _dtype_name(type_code):
    return TYPE_NAMES.get(type_code, str(type_code)).lower()


def _quantization(spec):
    if spec.scales is None or not len(spec.scales):
        return None
    return {"scales": [float(s) for s in spec.scales],
            "zero_points": [int(z) for z in spec.zero_points],
            "quantized_dimension": int(spec.quantized_dimension or 0)}


def _tensor(spec, shape):
    return {"index": spec.index, "name": spec.name, "dtype": _dtype_name(spec.type),
            "shape": [int(d) for d in shape],
            "shape_signature": [int(d) for d in (spec.shape_signature if spec.shape_signature is not None
                                                 else spec.shape)],
            "quantization": _quantization(spec), "const": spec.data is not None}


def _const_bytes(spec):
    return 0 if spec.data is None else int(len(spec.data))


def _unsupported_reason(op):
    if op.op_name == "CUSTOM" or op.custom_code is not None:
        return "custom op %r" % (op.custom_code or "")
    if registered(op.op_name) is None or not _core.builtin_supported(op.code):
        return "no kernel for %s" % op.op_name
    return None


def _plan(m):
    entries = sorted({0} | {s["subgraph"] for s in m.signatures.values()})
    try:
        return _planner.allocate(m, {}, 1, False, _planner.Variables(), entries), None
    except (ValueError, RuntimeError, _core.CoreError) as e:
        return None, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def inspect_model(model):
    """Describes a model. `model`: a path, or the bytes of a .tflite file."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        path, raw = None, bytes(model)
    else:
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise ValueError("no such model file: %s" % path)
        raw = _model.read_model_file(path)
    m = _model.load(raw)
    alloc, plan_error = _plan(m)
    planned = {}
    if alloc is not None:
        for psg in alloc.planner.subgraphs:
            if psg.planned:
                planned[psg.index] = {n.index: n for n in psg.nodes}

    def shape_of(sg_index, t):
        if alloc is not None and planned.get(sg_index) is not None:
            return tuple(alloc.planner.by_subgraph[sg_index][t].shape)
        return tuple(m.subgraphs[sg_index].tensors[t].shape)

    unsupported, subgraphs = [], []
    const_buffers = {}
    for sg in m.subgraphs:
        ops = []
        for op in sg.operators:
            reason = _unsupported_reason(op)
            if reason:
                unsupported.append({"subgraph": sg.index, "index": op.index, "op": op.op_name,
                                    "reason": reason})
            node = planned.get(sg.index, {}).get(op.index)
            kernel = None
            if reason is None:
                kernel = _core.kernel_name(op.code)
                if node is not None and node.kernel:
                    kernel = "%s (%s)" % (kernel, node.kernel)
            in_shapes = [shape_of(sg.index, i) if i >= 0 else None for i in op.inputs]
            out_shapes = [shape_of(sg.index, i) for i in op.outputs]
            weights = 0
            for i in op.inputs:
                if i >= 0 and sg.tensors[i].data is not None:
                    weights += _const_bytes(sg.tensors[i])
                    const_buffers[sg.tensors[i].buffer] = _const_bytes(sg.tensors[i])
            ops.append({"index": op.index, "op": op.op_name, "version": op.version,
                        "custom_code": op.custom_code, "inputs": list(op.inputs),
                        "outputs": list(op.outputs), "kernel": kernel, "supported": reason is None,
                        "macs": op_macs(op.op_name, in_shapes, out_shapes, op.options),
                        "weight_bytes": weights})
        tensors = [_tensor(t, shape_of(sg.index, t.index)) for t in sg.tensors]
        subgraphs.append({
            "index": sg.index, "name": sg.name, "planned": sg.index in planned,
            "inputs": list(sg.inputs), "outputs": list(sg.outputs), "tensors": tensors, "ops": ops,
            "macs": sum(o["macs"] or 0 for o in ops)})

    memory = {"planned": alloc is not None, "plan_error": plan_error, "arena_bytes": None,
              "naive_bytes": None}
    if alloc is not None:
        memory["arena_bytes"] = int(alloc.arena.nbytes)
        memory["naive_bytes"] = int(alloc.arena_naive_bytes)
    size = len(raw)
    return {
        "schema_version": SCHEMA_VERSION,
        "model": {"path": path, "size_bytes": size, "tflite_schema_version": m.version,
                  "description": m.description, "num_buffers": len(m.buffers),
                  "metadata": sorted(m.metadata)},
        "signatures": [{"key": k, "subgraph": s["subgraph"], "inputs": dict(s["inputs"]),
                        "outputs": dict(s["outputs"])} for k, s in m.signatures.items()],
        "subgraphs": subgraphs,
        "totals": {"ops": sum(len(s["ops"]) for s in subgraphs),
                   "macs": sum(s["macs"] for s in subgraphs),
                   "weight_bytes": sum(const_buffers.values()),
                   "tensors": sum(len(s["tensors"]) for s in subgraphs)},
        "memory": memory,
        "unsupported_ops": unsupported,
    }


# -- text ------------------------------------------------------------------------------------------
def human_bytes(n):
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def human_count(n):
    if n is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return "%.2f%s" % (n / scale, unit)
    return str(int(n))


def _shape_text(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def _quant_text(q, limit=3):
    if q is None:
        return ""
    s, z = q["scales"], q["zero_points"]
    if len(s) == 1:
        return "scale=%.6g zp=%d" % (s[0], z[0])
    return "per-channel(dim %d, %d): scale=%s.. zp=%s.." % (
        q["quantized_dimension"], len(s), ",".join("%.3g" % v for v in s[:limit]),
        ",".join(str(v) for v in z[:limit]))


def short_name(name, limit=32):
    """A converter's fused tensor name ('a/b/Relu6;a/b/add_1;...') cut to its first part and to
    `limit` characters, keeping the end, which tells the most."""
    name = name.split(";")[0]
    return name if len(name) <= limit else "..." + name[-(limit - 3):]


def _tensor_text(t):
    text = "%s%s %s" % (short_name(t["name"]) or "#%d" % t["index"], _shape_text(t["shape"]), t["dtype"])
    return text + (" const" if t["const"] else "")


def table(headers, rows, align=None):
    """Plain-text table: columns padded to their widest cell; 'r' columns right-aligned."""
    align = align or ["l"] * len(headers)
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for k, r in enumerate(cells):
        parts = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(r, widths, align)]
        lines.append("  ".join(parts).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_inspect(info, max_ops=None):
    """The human-readable report of `inspect_model`'s dict."""
    mi = info["model"]
    out = ["model      %s" % (mi["path"] or "<bytes>"),
           "size       %s, TFLite schema v%d, %d subgraph(s), %d buffer(s)%s" % (
               human_bytes(mi["size_bytes"]), mi["tflite_schema_version"], len(info["subgraphs"]),
               mi["num_buffers"], (", metadata: " + ", ".join(mi["metadata"])) if mi["metadata"] else "")]
    if mi["description"]:
        out.append("producer   %s" % mi["description"])
    for sig in info["signatures"]:
        out.append("signature  %r -> subgraph %d: inputs %s, outputs %s" % (
            sig["key"], sig["subgraph"], ", ".join(sorted(sig["inputs"])), ", ".join(sorted(sig["outputs"]))))
    for sg in info["subgraphs"]:
        tensors = {t["index"]: t for t in sg["tensors"]}
        out.append("")
        out.append("subgraph %d%s: %d tensors, %d ops, %s MACs%s" % (
            sg["index"], " %r" % sg["name"] if sg["name"] else "", len(sg["tensors"]), len(sg["ops"]),
            human_count(sg["macs"]), "" if sg["planned"] else " (not planned)"))
        rows = []
        for kind, ids in (("input", sg["inputs"]), ("output", sg["outputs"])):
            for i in ids:
                t = tensors[i]
                sig = "" if t["shape_signature"] == t["shape"] else (
                    " sig=" + _shape_text(t["shape_signature"]))
                rows.append([kind, i, short_name(t["name"], 60), _shape_text(t["shape"]) + sig, t["dtype"],
                             _quant_text(t["quantization"])])
        if rows:
            out.append(_indent(table(["", "tensor", "name", "shape", "dtype", "quantization"], rows,
                                     ["l", "r", "l", "l", "l", "l"])))
        out.append("")
        rows = []
        ops = sg["ops"] if max_ops is None else sg["ops"][:max_ops]
        for o in ops:
            ins = ", ".join(_tensor_text(tensors[i]) for i in o["inputs"] if i >= 0)
            outs = ", ".join(_tensor_text(tensors[i]) for i in o["outputs"])
            name = o["op"] + (":" + o["custom_code"] if o["custom_code"] else "")
            rows.append([o["index"], name, o["kernel"] or "UNSUPPORTED", human_count(o["macs"]),
                         human_bytes(o["weight_bytes"]) if o["weight_bytes"] else "-",
                         "%s -> %s" % (ins, outs)])
        out.append(_indent(table(["#", "op", "kernel", "MACs", "weights", "tensors (inputs -> outputs)"],
                                 rows, ["r", "l", "l", "r", "r", "l"])))
        if max_ops is not None and len(sg["ops"]) > max_ops:
            out.append("  ... %d more op(s)" % (len(sg["ops"]) - max_ops))
    tot, mem = info["totals"], info["memory"]
    out.append("")
    out.append("total      %d ops, %s MACs, %s of weights" % (tot["ops"], human_count(tot["macs"]),
                                                           human_bytes(tot["weight_bytes"])))
    if mem["planned"]:
        naive, arena = mem["naive_bytes"], mem["arena_bytes"]
        if naive and arena < naive:
            saved = " (%.0f%% saved)" % (100.0 * (1 - arena / float(naive)))
        else:
            saved = " (no saving: every tensor starts on a 64-byte boundary)"
        out.append("arena      %s planned vs %s naive sum of activations%s" % (
            human_bytes(arena), human_bytes(naive), saved))
    else:
        out.append("arena      not planned: %s" % mem["plan_error"])
    if info["unsupported_ops"]:
        out.append("UNSUPPORTED: %d op(s) tflite_rt has no kernel for:" % len(info["unsupported_ops"]))
        for u in info["unsupported_ops"]:
            out.append("  subgraph %d op %d: %s (%s)" % (u["subgraph"], u["index"], u["op"], u["reason"]))
    else:
        out.append("supported  every op has a tflite_rt kernel")
    return "\n".join(out)


def _indent(text, n=2):
    return "\n".join(" " * n + line if line else line for line in text.splitlines())


__all__ = ["inspect_model", "format_inspect", "op_macs", "SCHEMA_VERSION"]
