"""The `tflite-rt` command and the Python API under it: bench, inspect, run, compare, plot.

Exit codes and error lines are checked in a subprocess, as a user sees them."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tflite_rt import bench, cli
from tflite_rt.builder import ModelBuilder
from tflite_rt.inspect import format_inspect, inspect_model, op_macs
from tflite_rt.interpreter import Interpreter

DEMO = cli.DEMO_MODEL
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# demo_cnn: conv 3x3 3->16 s2, depthwise 3x3, conv 1x1 16->32, max pool, conv 3x3 32->64 s2, mean, fc 64->10
DEMO_MACS = 48 * 48 * 16 * 27 + 48 * 48 * 16 * 9 + 48 * 48 * 32 * 16 + 12 * 12 * 64 * 288 + 10 * 64


def tflite_rt(*args, env=None, timeout=120):
    """Runs `python -m tflite_rt ARGS`; returns (exit code, stdout, stderr)."""
    full_env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    p = subprocess.run([sys.executable, "-m", "tflite_rt"] + [str(a) for a in args], capture_output=True,
                       text=True, env=full_env, timeout=timeout, cwd=ROOT)
    return p.returncode, p.stdout, p.stderr


def assert_one_line_error(rc, out, err, code=None, contains=None):
    assert rc != 0 if code is None else rc == code, (rc, out, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("tflite-rt")
    if contains:
        assert contains in lines[0], lines[0]


# -- models built for the tests ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    paths = {}

    b = ModelBuilder()   # two inputs, names with ':' as converters write them
    x = b.input("serving_default_x:0", [2, 3])
    y = b.input("serving_default_y:0", [2, 3])
    z = b.tensor("sum", [2, 3])
    b.op("ADD", [x, y], [z])
    b.output(z)
    paths["add"] = d / "add.tflite"
    paths["add"].write_bytes(b.build())

    b = ModelBuilder()   # dynamic batch
    x = b.input("x", [1, 8], shape_signature=[-1, 8])
    w = b.constant("w", np.arange(32, dtype=np.float32).reshape(4, 8) / 32)
    y = b.tensor("y", [1, 4])
    b.op("FULLY_CONNECTED", [x, w, -1], [y], fused_activation_function="RELU")
    b.output(y)
    paths["fc"] = d / "fc.tflite"
    paths["fc"].write_bytes(b.build())

    b = ModelBuilder()   # an op tflite_rt has no kernel for
    x = b.input("x", [4])
    y = b.tensor("y", [4])
    b.op("MyCustomOp", [x], [y], custom_code="MyCustomOp")
    b.output(y)
    paths["custom"] = d / "custom.tflite"
    paths["custom"].write_bytes(b.build())

    b = ModelBuilder()   # conv + transpose conv with known MACs
    x = b.input("x", [1, 8, 8, 4])
    w = b.constant("w", np.ones((6, 3, 3, 4), np.float32))
    bias = b.constant("b", np.zeros(6, np.float32))
    y = b.tensor("y", [1, 8, 8, 6])
    b.op("CONV_2D", [x, w, bias], [y], padding="SAME", stride_w=1, stride_h=1)
    shape = b.constant("shape", np.array([1, 16, 16, 2], np.int32))
    tw = b.constant("tw", np.ones((2, 3, 3, 6), np.float32))
    z = b.tensor("z", [1, 16, 16, 2])
    b.op("TRANSPOSE_CONV", [shape, tw, y], [z], padding="SAME", stride_w=2, stride_h=2)
    b.output(z)
    paths["conv"] = d / "conv.tflite"
    paths["conv"].write_bytes(b.build())

    paths["garbage"] = d / "garbage.tflite"
    paths["garbage"].write_bytes(b"this is not a flatbuffer at all" * 4)
    paths["dir"] = d
    return paths


# -- bench ---------------------------------------------------------------------------------------------
def test_bench_demo_prints_every_figure():
    rc, out, err = tflite_rt("bench", "--runs", 7, "--warmup", 2)
    assert rc == 0, err
    for label in ("model", "load + allocate", "first invoke", "warm-up", "peak RSS", "arena"):
        assert any(line.startswith(label) for line in out.splitlines()), label
    assert "demo_cnn.tflite" in out
    header = next(l for l in out.splitlines() if l.startswith("latency (ms)"))
    assert header.split()[2:] == ["count", "mean", "std", "min", "median", "p90", "p99", "max"]
    row = next(l for l in out.splitlines() if l.startswith("tflite_rt")).split()
    assert int(row[1]) == 7
    mean, std, lo, median, p90, p99, hi = (float(v) for v in row[2:])
    assert 0 < lo <= median <= p90 <= p99 <= hi and lo <= mean <= hi and std >= 0
    assert "\r" not in out + err  # no progress bar when not on a terminal


def test_bench_json_schema(tmp_path):
    path = tmp_path / "out.json"
    rc, out, err = tflite_rt("bench", DEMO, "--runs", 5, "--warmup", 1, "--profile", "--json", path)
    assert rc == 0, err
    d = json.loads(path.read_text())
    assert d["schema_version"] == bench.SCHEMA_VERSION == 1
    assert d["model"]["size_bytes"] == os.path.getsize(DEMO)
    assert d["config"]["num_threads"] == 1 and d["config"]["runs"] == 5 and d["config"]["profile"] is True
    assert set(d["latency_ms"]) == set(bench.STATS) and d["latency_ms"]["count"] == 5
    assert len(d["samples_ms"]) == 5
    for key in ("load_allocate_ms", "first_invoke_ms", "total_secs"):
        assert d[key] > 0
    assert d["warmup_ms"]["count"] == 1
    assert d["peak_rss_bytes"] > 1 << 20
    assert 0 < d["arena_bytes"] <= d["arena_naive_bytes"]
    assert d["inputs"] == [{"name": "image", "index": 0, "dtype": "float32", "shape": [1, 96, 96, 3],
                            "source": "random"}]
    nodes = d["profile"]["nodes"]
    assert [n["index"] for n in nodes] == list(range(8))
    assert nodes[0]["op_name"] == "CONV_2D" and nodes[0]["kernel"] and nodes[0]["runs"] == 5
    assert sum(n["macs"] or 0 for n in nodes) == DEMO_MACS
    types = d["profile"]["op_types"]
    assert types[0]["op_name"] == "CONV_2D" and types[0]["count"] == 3
    assert abs(sum(t["percent"] for t in types) - 100) < 1e-6
    assert abs(types[-1]["cumulative_percent"] - 100) < 1e-6
    assert d["profile"]["check"]["ratio"] > 0
    assert d["compare"] is None
    assert "per op type" in out and "top 8 nodes" in out


def test_bench_json_to_stdout_is_only_json():
    rc, out, err = tflite_rt("bench", "--runs", 2, "--warmup", 0, "--json", "-")
    assert rc == 0, err
    assert json.loads(out)["latency_ms"]["count"] == 2


def test_profile_sums_to_invoke_time():
    """The per-node times, measured in the C executor, add up to the invoke time measured around
    the Python call (docs/cli.md states within 10%; the margins here allow a busy machine)."""
    r = bench.benchmark(DEMO, runs=40, warmup=3, profile=True)
    check = r.profile_check()
    assert check["sum_of_nodes_ms"] <= check["invoke_mean_ms"] * 1.02
    assert check["ratio"] > 0.75, check


def test_benchmark_api(models):
    r = bench.benchmark(str(models["fc"]), runs=3, warmup=0, inputs={"x": np.ones((3, 8), np.float64)})
    assert isinstance(r, bench.BenchmarkResult)
    assert r.latency["count"] == 3 and r.median_ms > 0
    assert r.inputs[0]["shape"] == [3, 8] and r.inputs[0]["source"] == "given"
    json.dumps(r.to_dict())
    assert "tflite_rt" in r.report()
    r = bench.benchmark(models["fc"].read_bytes(), runs=2, warmup=0, input_shapes={"x": [5, 8]})
    assert r.model is None and r.inputs[0]["shape"] == [5, 8]
    r = bench.benchmark(DEMO, runs=1, warmup=0, min_secs=0.05)
    assert r.latency["count"] > 1 and r.total_secs >= 0.05
    r = bench.benchmark(DEMO, runs=10 ** 6, warmup=0, max_secs=0.05)
    assert 1 <= r.latency["count"] < 10 ** 6
    with pytest.raises(ValueError, match="not an input"):
        bench.benchmark(DEMO, runs=1, inputs={"nope": np.zeros(3)})
    with pytest.raises(ValueError, match="runs"):
        bench.benchmark(DEMO, runs=0)


def test_random_inputs_use_each_dtype_range():
    rng = np.random.default_rng(0)
    for dtype, (lo, hi) in ((np.int8, (-127, 127)), (np.uint8, (0, 254)), (np.int32, (0, 99)),
                            (np.float32, (-0.5, 0.5))):
        x = bench.random_input((1000,), dtype, rng)
        assert x.dtype == dtype and lo <= x.min() and x.max() <= hi
    assert bench.random_input((10,), np.bool_, rng).dtype == np.bool_
    x = bench.random_input((100,), np.float32, rng, (3.0, 4.0))
    assert 3.0 <= x.min() and x.max() <= 4.0


def test_bench_input_files(models, tmp_path):
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 2, np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    np.savez(tmp_path / "ab.npz", input_0=a, **{"serving_default_y:0": b, "other": a})
    for inputs in ([tmp_path / "a.npy", tmp_path / "b.npy"],
                   ["serving_default_y:0:%s" % (tmp_path / "b.npy"), tmp_path / "a.npy"],
                   [tmp_path / "ab.npz"]):
        args = ["bench", models["add"], "--runs", 1, "--warmup", 0, "--json", "-"]
        for item in inputs:
            args += ["--input", item]
        rc, out, err = tflite_rt(*args)
        assert rc == 0, err
        assert [i["source"] for i in json.loads(out)["inputs"]] == ["given", "given"]


def test_bench_input_shape_and_range(models):
    rc, out, err = tflite_rt("bench", models["fc"], "--input-shape", "x:4,8", "--input-range", "x:1,2",
                             "--runs", 1, "--json", "-")
    assert rc == 0, err
    assert json.loads(out)["inputs"][0]["shape"] == [4, 8]
    rc, out, err = tflite_rt("bench", models["fc"], "--input-shape", "6,8", "--runs", 1, "--json", "-")
    assert rc == 0, err
    assert json.loads(out)["inputs"][0]["shape"] == [6, 8]


def test_compare_skips_missing_peers_and_compares_litert():
    r = bench.benchmark(DEMO, runs=4, warmup=1, compare=["tflite_runtime", "litert"])
    d = r.to_dict()
    assert [p["runtime"] for p in d["compare"]] == ["tflite_runtime", "litert"]
    for p in d["compare"]:
        if p["available"]:
            assert p["latency_ms"]["count"] == 4 and p["ratio_ours_to_peer"] > 0
            assert p["max_abs_diff"] is not None and p["max_abs_diff"] < 1e-3
        else:
            assert p["note"] and "\n" not in p["note"]
    text = r.report()
    for p in d["compare"]:
        assert ("skipped %s" % p["runtime"] in text) != p["available"]


def test_compare_in_cli_prints_ratio():
    pytest.importorskip("ai_edge_litert.interpreter")
    rc, out, err = tflite_rt("bench", "--runs", 3, "--warmup", 1, "--compare", "litert,tflite_runtime")
    assert rc == 0, err
    header = next(l for l in out.splitlines() if l.startswith("peer"))
    assert header.split() == ["peer", "version", "median", "ms", "ours/peer", "max", "|diff|", "load", "ms"]
    row = [l for l in out.splitlines() if l.startswith("litert ")][-1].split()   # after the latency table
    assert float(row[2]) > 0 and float(row[3]) > 0 and float(row[4]) < 1e-3


def test_max_abs_diff():
    from tflite_rt.compare import max_abs_diff

    assert max_abs_diff([np.array([1, 2], np.int8)], [np.array([1, -3], np.int8)]) == 5.0
    assert max_abs_diff([np.zeros((1, 4, 4, 2))], [np.ones((1, 2, 4, 4))]) == 1.0  # NCHW peer
    assert max_abs_diff([np.zeros(3)], [np.zeros(4)]) is None
    assert max_abs_diff([np.array([np.nan])], [np.array([np.nan])]) == 0.0


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    r = bench.benchmark(DEMO, runs=5, warmup=0, profile=True)
    from tflite_rt.plot import plot_benchmark

    out = plot_benchmark(r, str(tmp_path / "a.png"))
    assert open(out, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    plot_benchmark(json.loads(json.dumps(r.to_dict())), str(tmp_path / "b.svg"))   # from JSON
    rc, _out, err = tflite_rt("bench", "--runs", 3, "--plot", tmp_path / "c.png")
    assert rc == 0, err and (tmp_path / "c.png").stat().st_size > 1000


def test_plot_without_matplotlib(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; from tflite_rt.cli import main; "
            "sys.exit(main(['bench', '--runs', '1', '--plot', %r]))" % str(tmp_path / "x.png"))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert_one_line_error(p.returncode, p.stdout, p.stderr, 1, "pip install 'tflite_rt[plot]'")
    assert p.stdout == ""   # refused before timing anything


def test_progress_bar_falls_back_silently(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    bar = bench._Progress(True, 10, "x")
    bar.update()
    bar.close()
    assert bar.bar is None


# -- inspect ---------------------------------------------------------------------------------------------
def test_inspect_demo_text():
    rc, out, err = tflite_rt("inspect", DEMO)
    assert rc == 0, err
    assert "signature  'serving_default'" in out
    assert "image  [1,96,96,3]" in out and "probs" in out
    assert "5.16M MACs" in out and "every op has a tflite_rt kernel" in out
    assert "planned vs" in out
    op_rows = [l.split() for l in out.splitlines() if l.strip().split(" ")[0].isdigit() and "->" in l]
    assert [r[1] for r in op_rows] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "MAX_POOL_2D", "CONV_2D",
                                       "MEAN", "FULLY_CONNECTED", "SOFTMAX"]


def test_inspect_json(tmp_path):
    rc, out, err = tflite_rt("inspect", DEMO, "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["schema_version"] == 1
    assert d["totals"]["macs"] == DEMO_MACS and d["totals"]["ops"] == 8
    assert d["totals"]["weight_bytes"] > 70000
    assert d["memory"]["planned"] and 0 < d["memory"]["arena_bytes"] < d["memory"]["naive_bytes"]
    assert d["signatures"] == [{"key": "serving_default", "subgraph": 0, "inputs": {"image": 0},
                                "outputs": {"probs": 19}}]
    sg = d["subgraphs"][0]
    assert all(o["supported"] and o["kernel"] for o in sg["ops"])
    assert sg["tensors"][sg["inputs"][0]]["quantization"] is None
    rc, out, err = tflite_rt("inspect", DEMO, "--json", tmp_path / "i.json")
    assert rc == 0 and json.loads((tmp_path / "i.json").read_text()) == d
    assert "every op has a tflite_rt kernel" in out


def test_inspect_quantization_and_macs(models):
    info = inspect_model(str(models["conv"]))
    ops = info["subgraphs"][0]["ops"]
    assert ops[0]["macs"] == 8 * 8 * 6 * 3 * 3 * 4
    assert ops[1]["macs"] == 8 * 8 * 6 * 3 * 3 * 2
    assert ops[0]["weight_bytes"] == (6 * 3 * 3 * 4 + 6) * 4
    b = ModelBuilder()
    q = {"scale": [0.5, 0.25], "zero_point": [0, 0], "quantized_dimension": 0}
    x = b.input("x", [1, 3], np.int8, quantization={"scale": [0.1], "zero_point": [-3]})
    w = b.constant("w", np.ones((2, 3), np.int8), quantization=q)
    y = b.tensor("y", [1, 2], np.int8, quantization={"scale": [0.2], "zero_point": [1]})
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.output(y)
    info = inspect_model(b.build())
    t = info["subgraphs"][0]["tensors"]
    assert t[0]["quantization"]["zero_points"] == [-3]
    assert t[1]["quantization"]["scales"] == [0.5, 0.25]
    assert "scale=0.1 zp=-3" in format_inspect(info)


def test_op_macs():
    assert op_macs("CONV_2D", [(1, 8, 8, 4), (6, 3, 3, 4), (6,)], [(1, 8, 8, 6)]) == 8 * 8 * 6 * 36
    assert op_macs("DEPTHWISE_CONV_2D", [(1, 8, 8, 4), (1, 3, 3, 8), (8,)], [(1, 4, 4, 8)]) == 4 * 4 * 8 * 9
    assert op_macs("FULLY_CONNECTED", [(2, 64), (10, 64), None], [(2, 10)]) == 2 * 10 * 64
    assert op_macs("BATCH_MATMUL", [(3, 4, 5), (3, 5, 6)], [(3, 4, 6)]) == 3 * 4 * 6 * 5

    class Adj:
        adj_x = True
    assert op_macs("BATCH_MATMUL", [(3, 5, 4), (3, 5, 6)], [(3, 4, 6)], Adj()) == 3 * 4 * 6 * 5
    assert op_macs("TRANSPOSE_CONV", [(4,), (2, 3, 3, 6), (1, 8, 8, 6)], [(1, 16, 16, 2)]) == 64 * 6 * 18
    assert op_macs("ADD", [(4,), (4,)], [(4,)]) is None


def test_inspect_unsupported_op(models):
    rc, out, err = tflite_rt("inspect", models["custom"])
    assert rc == 0, err
    assert "UNSUPPORTED" in out and "MyCustomOp" in out and "not planned" in out
    rc, out, err = tflite_rt("inspect", models["custom"], "--strict")
    assert rc == cli.EXIT_STRICT and "strict" in err and "Traceback" not in err
    info = inspect_model(str(models["custom"]))
    assert info["unsupported_ops"] == [{"subgraph": 0, "index": 0, "op": "CUSTOM",
                                        "reason": "custom op 'MyCustomOp'"}]
    assert info["memory"]["planned"] is False and "MyCustomOp" in info["memory"]["plan_error"]
    rc, out, err = tflite_rt("inspect", DEMO, "--strict")
    assert rc == 0, err


# -- run ---------------------------------------------------------------------------------------------
def test_run_from_files(models, tmp_path):
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.full((2, 3), 0.5, np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    rc, out, err = tflite_rt("run", models["add"], "--input", tmp_path / "a.npy", "--input",
                             tmp_path / "b.npy", "--output", tmp_path / "out.npz")
    assert rc == 0, err
    assert "invoke:" in out and "sum" in out
    with np.load(tmp_path / "out.npz") as z:
        np.testing.assert_array_equal(z["sum"], a + b)
    rc, out, err = tflite_rt("run", DEMO, "--output", tmp_path / "probs.npy")
    assert rc == 0, err
    probs = np.load(tmp_path / "probs.npy")
    it = Interpreter(model_path=DEMO, num_threads=1)
    it.allocate_tensors()
    it.set_tensor(0, bench.random_input((1, 96, 96, 3), np.float32, np.random.default_rng(0)))
    it.invoke()
    np.testing.assert_array_equal(probs, it.get_tensor(it.get_output_details()[0]["index"]))


# -- failures: one line on stderr, a non-zero exit, no traceback -------------------------------------------
@pytest.mark.parametrize("args, code, contains", [
    (["bench", "no/such/model.tflite"], 1, "no such model file"),
    (["inspect", "no/such/model.tflite"], 1, "no such model file"),
    (["run", "no/such/model.tflite"], 1, "no such model file"),
    (["bench", "--runs", "0"], 2, "--runs"),
    (["bench", "--runs", "many"], 2, "--runs"),
    (["bench", "--threads", "-1"], 2, "--threads"),
    (["bench", "--min-secs", "soon"], 2, "--min-secs"),
    (["bench", "--frobnicate"], 2, "unrecognized arguments"),
    (["bench", "--input-shape", "image:1,x,3"], 2, "--input-shape"),
    (["bench", "--input-range", "image:5"], 2, "--input-range"),
    (["bench", "--compare", "litert,tensorflow"], 2, "tensorflow"),
    (["bench", "--input", "missing.npy"], 1, "missing.npy"),
    (["bench", "--input", "nope:missing.npy"], 1, "missing.npy"),
    (["bench", "--input-shape", "nope:1,2"], 1, "nope"),
    (["run"], 2, "model"),
    (["frob"], 2, "invalid choice"),
    ([], 2, "choose a command"),
])
def test_bad_command_lines(args, code, contains):
    assert_one_line_error(*tflite_rt(*args), code=code, contains=contains)


def test_bad_files(models, tmp_path):
    assert_one_line_error(*tflite_rt("bench", models["garbage"]), code=1)
    assert_one_line_error(*tflite_rt("inspect", models["garbage"]), code=1)
    assert_one_line_error(*tflite_rt("inspect", models["dir"]), code=1, contains="not a model file")
    assert_one_line_error(*tflite_rt("bench", models["custom"], "--runs", 1), code=1, contains="MyCustomOp")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    assert_one_line_error(*tflite_rt("run", DEMO, "--input", tmp_path / "bad.npy"), code=1,
                          contains="cannot read input file")
    np.save(tmp_path / "small.npy", np.zeros((1, 5, 5, 2), np.float32))
    assert_one_line_error(*tflite_rt("run", DEMO, "--input", tmp_path / "small.npy"), code=1)
    np.save(tmp_path / "ints.npy", np.full((1, 96, 96, 3), 1000, np.int64))
    assert_one_line_error(*tflite_rt("run", models["add"], "--input", tmp_path / "ints.npy"), code=1)
    np.savez(tmp_path / "other.npz", foo=np.zeros(3))
    assert_one_line_error(*tflite_rt("run", DEMO, "--input", tmp_path / "other.npz"), code=1,
                          contains="no array named like an input")
    assert_one_line_error(*tflite_rt("run", DEMO, "--output", tmp_path / "no" / "dir" / "out.npz"), code=1,
                          contains="cannot write")
    assert_one_line_error(*tflite_rt("bench", "--runs", 1, "--json", tmp_path / "no" / "x.json"), code=1,
                          contains="cannot write")
