"""`tflite-rt inspect`: what a model holds and how tflite_rt would run it."""
import numpy as np

from . import _core, model as _model
from .ops import registered
from .ops._base import TYPE_NAMES


def inspect_model(path):
    m = _model.load(_model.read_model_file(path))
    lines = ["model %s: schema v%d, %d subgraph(s), %d buffer(s)" % (path, m.version, len(m.subgraphs),
                                                                   len(m.buffers))]
    unsupported = []
    subgraphs = []
    weight_bytes = sum(len(b) for b in m.buffers if b is not None)
    for sg in m.subgraphs:
        lines.append("")
        lines.append("subgraph %d %r: %d tensors, %d ops" % (sg.index, sg.name, len(sg.tensors), len(sg.operators)))
        for kind, ids in (("input", sg.inputs), ("output", sg.outputs)):
            for i in ids:
                t = sg.tensors[i]
                q = "" if t.scales is None else "  scale=%s zero_point=%s" % (
                    np.array2string(t.scales[:4], precision=6), t.zero_points[:4].tolist())
                lines.append("  %-6s %3d %-40s %-8s %s%s" % (kind, i, t.name[:40], TYPE_NAMES[t.type], list(t.shape), q))
        ops = []
        for o in sg.operators:
            ok = registered(o.op_name) is not None and _core.builtin_supported(o.code)
            if not ok:
                unsupported.append({"subgraph": sg.index, "index": o.index, "op": o.op_name})
            kernel = _core.kernel_name(o.code) if ok else "UNSUPPORTED"
            ops.append({"index": o.index, "op": o.op_name, "inputs": o.inputs, "outputs": o.outputs,
                        "kernel": kernel})
            lines.append("  op %3d %-28s in=%s out=%s  [%s]" % (o.index, o.op_name, o.inputs, o.outputs, kernel))
        subgraphs.append({"index": sg.index, "name": sg.name, "inputs": sg.inputs, "outputs": sg.outputs,
                          "ops": ops})
    lines.append("")
    lines.append("weights: %d bytes" % weight_bytes)
    if unsupported:
        lines.append("unsupported ops: " + ", ".join("%s (subgraph %d, op %d)" % (u["op"], u["subgraph"], u["index"])
                                                     for u in unsupported))
    return {"model": path, "subgraphs": subgraphs, "weight_bytes": weight_bytes,
            "unsupported_ops": unsupported, "text": "\n".join(lines)}
