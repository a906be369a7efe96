"""Builds the seed corpus of the model fuzzers into a folder.

    python tests/fuzz/seeds.py OUT [--no-harvest]

Seeds are: a few models built here with tflite_rt.builder (control flow, variables, strings,
signatures, per-channel quantization), every model the op tests build (harvested while the
test suite runs, unless --no-harvest), and the shared model corpus when it is present.
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fuzzlib import ROOT, SHARED_MODELS, save_unique  # noqa: E402

from tflite_rt.builder import ModelBuilder  # noqa: E402

HARVEST_TESTS = ["tests/test_ops_elementwise.py", "tests/test_ops_movement.py", "tests/test_ops_nn.py",
                 "tests/test_ops_quant.py", "tests/test_ops_reduce.py", "tests/test_model_loading.py",
                 "tests/test_interpreter_api.py"]


def built_seeds():
    """Small models of the structures a fuzzer should start from."""
    rng = np.random.default_rng(0)
    out = []

    b = ModelBuilder()  # conv + pool + fc, int8 per channel
    q = {"scale": 0.05, "zero_point": 2}
    x = b.input("x", [1, 6, 6, 3], np.int8, quantization=q)
    w = b.constant("w", rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8),
                   quantization={"scale": [0.01, 0.02, 0.03, 0.04], "zero_point": [0, 0, 0, 0]})
    bias = b.constant("b", rng.integers(-100, 100, 4).astype(np.int32),
                      quantization={"scale": [0.0005, 0.001, 0.0015, 0.002], "zero_point": [0] * 4})
    y = b.tensor("y", [1, 6, 6, 4], np.int8, quantization={"scale": 0.1, "zero_point": -3})
    b.op("CONV_2D", [x, w, bias], [y], padding="SAME", stride_w=1, stride_h=1,
         fused_activation_function="RELU")
    p = b.tensor("p", [1, 3, 3, 4], np.int8, quantization={"scale": 0.1, "zero_point": -3})
    b.op("MAX_POOL_2D", [y], [p], padding="VALID", stride_w=2, stride_h=2, filter_width=2,
         filter_height=2)
    r = b.tensor("r", [1, 36], np.int8, quantization={"scale": 0.1, "zero_point": -3})
    b.op("RESHAPE", [p, b.constant("s", np.array([1, 36], np.int32))], [r])
    fw = b.constant("fw", rng.integers(-127, 128, (5, 36)).astype(np.int8), quantization=(0.02, 0))
    z = b.tensor("z", [1, 5], np.int8, quantization={"scale": 0.2, "zero_point": 0})
    b.op("FULLY_CONNECTED", [r, fw, -1], [z])
    sm = b.tensor("sm", [1, 5], np.int8, quantization={"scale": 1 / 256, "zero_point": -128})
    b.op("SOFTMAX", [z], [sm], beta=1.0)
    b.output(sm)
    out.append(b.build())

    b = ModelBuilder()  # WHILE counting to a limit
    cond = b.subgraph("cond")
    ci = cond.input("i", [], np.int32)
    cx = cond.input("x", [2], np.float32)
    cb = cond.tensor("c", [], np.bool_)
    cond.op("LESS", [ci, cond.constant("lim", np.array(3, np.int32))], [cb])
    cond.output(cb)
    body = b.subgraph("body")
    bi = body.input("i", [], np.int32)
    bx = body.input("x", [2], np.float32)
    bi2 = body.tensor("i2", [], np.int32)
    body.op("ADD", [bi, body.constant("one", np.array(1, np.int32))], [bi2])
    bx2 = body.tensor("x2", [2], np.float32)
    body.op("MUL", [bx, bx], [bx2])
    body.output(bi2, bx2)
    i0 = b.input("i", [], np.int32)
    x0 = b.input("x", [2], np.float32)
    i1 = b.tensor("i_out", [], np.int32)
    x1 = b.tensor("x_out", [2], np.float32)
    b.op("WHILE", [i0, x0], [i1, x1], cond_subgraph_index=cond.index, body_subgraph_index=body.index)
    b.output(i1, x1)
    out.append(b.build())

    b = ModelBuilder()  # IF and CALL_ONCE with a resource variable
    then = b.subgraph("then")
    tx = then.input("x", [3], np.float32)
    ty = then.tensor("y", [3], np.float32)
    then.op("NEG", [tx], [ty])
    then.output(ty)
    other = b.subgraph("else")
    ex = other.input("x", [3], np.float32)
    ey = other.tensor("y", [3], np.float32)
    other.op("ABS", [ex], [ey])
    other.output(ey)
    init = b.subgraph("init")
    h = init.tensor("h", [], "RESOURCE")
    init.op("VAR_HANDLE", [], [h], shared_name="v")
    init.op("ASSIGN_VARIABLE", [h, init.constant("v0", np.ones(3, np.float32))], [])
    c = b.input("c", [], np.bool_)
    x = b.input("x", [3], np.float32)
    b.op("CALL_ONCE", [], [], init_subgraph_index=init.index)
    y = b.tensor("y", [3], np.float32)
    b.op("IF", [c, x], [y], then_subgraph_index=then.index, else_subgraph_index=other.index)
    hh = b.tensor("h", [], "RESOURCE")
    b.op("VAR_HANDLE", [], [hh], shared_name="v")
    v = b.tensor("v", [3], np.float32)
    b.op("READ_VARIABLE", [hh], [v])
    s = b.tensor("s", [3], np.float32)
    b.op("ADD", [y, v], [s])
    b.output(s)
    b.signature("serving_default", {"c": c, "x": x}, {"s": s})
    out.append(b.build())

    b = ModelBuilder()  # strings, gather, slicing, padding, transposes
    x = b.input("x", [2, 3, 4], np.float32)
    g = b.tensor("g", [2, 2, 4], np.float32)
    b.op("GATHER", [x, b.constant("idx", np.array([2, 0], np.int32))], [g], axis=1)
    t = b.tensor("t", [4, 2, 2], np.float32)
    b.op("TRANSPOSE", [g, b.constant("perm", np.array([2, 0, 1], np.int32))], [t])
    pd = b.tensor("pd", [6, 4, 2], np.float32)
    b.op("PAD", [t, b.constant("pads", np.array([[1, 1], [1, 1], [0, 0]], np.int32))], [pd])
    ss = b.tensor("ss", [3, 2, 2], np.float32)
    b.op("STRIDED_SLICE", [pd, b.constant("begin", np.array([0, 0, 0], np.int32)),
                           b.constant("end", np.array([6, 4, 2], np.int32)),
                           b.constant("strides", np.array([2, 2, 1], np.int32))], [ss])
    cat = b.tensor("cat", [3, 2, 4], np.float32)
    b.op("CONCATENATION", [ss, ss], [cat], axis=2)
    m = b.tensor("m", [3, 2], np.float32)
    b.op("MEAN", [cat, b.constant("ax", np.array([2], np.int32))], [m], keep_dims=False)
    b.output(m)
    strings = b.input("names", [3], np.bytes_)
    sg = b.tensor("sg", [2], np.bytes_)
    b.op("GATHER", [strings, b.constant("sidx", np.array([2, 1], np.int32))], [sg], axis=0)
    b.output(sg)
    out.append(b.build())

    b = ModelBuilder()  # LSTM, float
    x = b.input("x", [1, 3, 4], np.float32)
    ws = [b.constant("w%d" % i, rng.standard_normal((2, 4)).astype(np.float32)) for i in range(4)]
    rs = [b.constant("r%d" % i, rng.standard_normal((2, 2)).astype(np.float32)) for i in range(4)]
    bs = [b.constant("b%d" % i, np.zeros(2, np.float32)) for i in range(4)]
    hs = b.tensor("hs", [1, 2], np.float32, is_variable=True)
    cs = b.tensor("cs", [1, 2], np.float32, is_variable=True)
    y = b.tensor("y", [1, 3, 2], np.float32)
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x] + ws + rs + [-1, -1, -1] + bs + [-1, -1, hs, cs],
         [y], fused_activation_function="TANH", time_major=False)
    b.output(y)
    out.append(b.build())
    return out


def harvest(folder):
    env = dict(os.environ, TFLITE_RT_HARVEST_DIR=os.path.abspath(folder),
               PYTHONPATH=os.pathsep.join([HERE, ROOT, os.environ.get("PYTHONPATH", "")]))
    tests = [t for t in HARVEST_TESTS if os.path.exists(os.path.join(ROOT, t))]
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "harvest_plugin",
                    "-p", "no:cacheprovider", "--no-header", "-o", "addopts="] + tests,
                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=False)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--no-harvest", action="store_true")
    ap.add_argument("--max-bytes", type=int, default=1 << 20)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for data in built_seeds():
        save_unique(args.out, data, "b_")
    if os.path.isdir(SHARED_MODELS):
        for f in sorted(os.listdir(SHARED_MODELS)):
            path = os.path.join(SHARED_MODELS, f)
            if f.endswith(".tflite") and os.path.getsize(path) <= args.max_bytes:
                shutil.copy(path, os.path.join(args.out, "s_" + f))
    if not args.no_harvest:
        harvest(args.out)
    print("%d seeds in %s" % (len([f for f in os.listdir(args.out) if f.endswith(".tflite")]), args.out))


if __name__ == "__main__":
    main()
