"""Timing a model from Python: `benchmark(model, ...)` returns a `BenchmarkResult`.

    from tflite_rt.bench import benchmark
    r = benchmark("model.tflite", num_threads=2, runs=100, profile=True, compare=["litert"])
    print(r.latency["median"], r.report())
    json.dump(r.to_dict(), f)          # the schema is in docs/cli.md

Inputs are random in each dtype's sensible range unless given: `inputs` is a list of arrays
in input order, or a dict keyed by input name or position. An input whose given array has
another shape is resized to it.
"""
import os
import platform
import sys
import time

import numpy as np

from . import __version__
from .inspect import human_bytes, human_count, op_macs, table

SCHEMA_VERSION = 1
STATS = ("count", "mean", "std", "min", "median", "p90", "p99", "max")


# -- inputs ----------------------------------------------------------------------------------------
def default_range(dtype):
    """(low, high) of the random values for an input dtype, inclusive for integers; the same
    choices as TFLite's benchmark_model."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return 0, 1
    if dtype == np.uint8:
        return 0, 254
    if dtype == np.int8:
        return -127, 127
    if dtype.kind in "iu":
        return 0, 99
    return -0.5, 0.5


def random_input(shape, dtype, rng, value_range=None):
    dtype = np.dtype(dtype)
    low, high = value_range if value_range is not None else default_range(dtype)
    shape = tuple(int(d) for d in shape)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if dtype.kind in "iu":
        return rng.integers(int(low), int(high), shape, endpoint=True).astype(dtype)
    if dtype.kind == "f":
        return rng.uniform(low, high, shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.uniform(low, high, shape) + 1j * rng.uniform(low, high, shape)).astype(dtype)
    if dtype == np.object_:
        return np.array([b"tflite_rt"] * int(np.prod(shape)), dtype=object).reshape(shape)
    raise ValueError("cannot make random values of type %s" % dtype)


def _coerce(x, detail):
    """`x` as the input's dtype: floats convert among themselves, integers when every value fits."""
    want = np.dtype(detail["dtype"])
    x = np.asarray(x)
    if x.dtype == want or want == np.object_:
        return x
    name = detail["name"]
    if want.kind == "f" and x.dtype.kind in "fiu":
        return x.astype(want)
    if want.kind in "iu" and x.dtype.kind in "iub":
        info = np.iinfo(want)
        if x.size == 0 or (x.min() >= info.min and x.max() <= info.max):
            return x.astype(want)
        raise ValueError("input %r: values of %s do not fit %s" % (name, x.dtype, want))
    if want == np.bool_ and x.dtype.kind in "biu":
        return x.astype(np.bool_)
    raise ValueError("input %r is %s but the model expects %s" % (name, x.dtype, want))


def resolve_inputs(details, inputs):
    """{position: array} from a list of arrays (input order) or a dict keyed by input name or
    position; raises ValueError naming what does not match."""
    if inputs is None:
        return {}
    by_name = {d["name"]: k for k, d in enumerate(details)}
    items = enumerate(inputs) if isinstance(inputs, (list, tuple)) else inputs.items()
    out = {}
    for key, value in items:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if not 0 <= key < len(details):
                raise ValueError("input %d given, but the model has %d input(s)" % (key, len(details)))
            pos = int(key)
        elif key in by_name:
            pos = by_name[key]
        else:
            raise ValueError("%r is not an input of the model (inputs: %s)" % (
                key, ", ".join(d["name"] for d in details)))
        out[pos] = _coerce(value, details[pos])
    return out


def prepare_inputs(it, inputs=None, input_shapes=None, input_ranges=None, seed=0):
    """Resizes and allocates `it`, then sets every input (given, or random); returns the arrays
    set, in input order, and where each came from ('given' or 'random')."""
    details = it.get_input_details()
    by_name = {d["name"]: d for d in details}
    for name, shape in (input_shapes or {}).items():
        if name not in by_name:
            raise ValueError("--input-shape names %r, which is not an input (inputs: %s)" % (
                name, ", ".join(by_name)))
        it.resize_tensor_input(by_name[name]["index"], list(shape))
    given = resolve_inputs(details, inputs)
    for pos, x in given.items():
        if tuple(details[pos]["shape"]) != x.shape and details[pos]["name"] not in (input_shapes or {}):
            it.resize_tensor_input(details[pos]["index"], list(x.shape))
    it.allocate_tensors()
    details = it.get_input_details()
    ranges = input_ranges or {}
    for name in ranges:
        if name not in by_name:
            raise ValueError("--input-range names %r, which is not an input" % name)
    rng = np.random.default_rng(seed)
    arrays, sources = [], []
    for pos, d in enumerate(details):
        x = given.get(pos)
        if x is not None and x.shape != tuple(d["shape"]):
            raise ValueError("input %r has shape %s, the model expects %s" % (
                d["name"], list(x.shape), list(d["shape"])))
        if x is None:
            x = random_input(d["shape"], d["dtype"], rng, ranges.get(d["name"]))
        it.set_tensor(d["index"], x)
        arrays.append(x)
        sources.append("given" if pos in given else "random")
    return arrays, sources


# -- statistics ------------------------------------------------------------------------------------
def latency_stats(times_ms):
    t = np.asarray(times_ms, dtype=np.float64)
    if t.size == 0:
        return dict({k: None for k in STATS}, count=0)
    return {"count": int(t.size), "mean": float(t.mean()), "std": float(t.std()), "min": float(t.min()),
            "median": float(np.median(t)), "p90": float(np.percentile(t, 90)),
            "p99": float(np.percentile(t, 99)), "max": float(t.max())}


def op_type_summary(nodes):
    """Per op type: count, ms per invoke, % of the profiled total and cumulative %, largest first."""
    total = sum(n["mean_ms"] for n in nodes) or 1.0
    groups = {}
    for n in nodes:
        g = groups.setdefault(n["op_name"], {"op_name": n["op_name"], "count": 0, "ms": 0.0})
        g["count"] += 1
        g["ms"] += n["mean_ms"]
    rows, cum = [], 0.0
    for g in sorted(groups.values(), key=lambda g: -g["ms"]):
        pct = 100.0 * g["ms"] / total
        cum += pct
        rows.append(dict(g, percent=pct, cumulative_percent=cum))
    return rows


class _Progress:
    """A tqdm bar on stderr when asked for and tqdm is installed; silent otherwise."""

    def __init__(self, enabled, total, desc):
        self.bar = None
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        import shutil

        width = min(shutil.get_terminal_size((80, 24)).columns, 100)  # 80 when the size is unknown
        self.bar = tqdm(total=total, desc=desc, unit="run", leave=False, file=sys.stderr, ncols=width,
                        mininterval=0.1)

    def update(self, n=1):
        if self.bar is not None:
            if self.bar.n + n > self.bar.total:
                self.bar.total = self.bar.n + n
            self.bar.update(n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def progress_wanted():
    """The CLI's default: a bar only when both stdout and stderr are terminals."""
    return sys.stdout.isatty() and sys.stderr.isatty()


# -- the result --------------------------------------------------------------------------------------
class PeerResult:
    """Another runtime timed in the same rounds: `available` False means it was skipped (`note`)."""

    def __init__(self, runtime, available, note=None, version=None, load_ms=None, first_invoke_ms=None,
                 times_ms=(), max_abs_diff=None):
        self.runtime = runtime
        self.available = available
        self.note = note
        self.version = version
        self.load_ms = load_ms
        self.first_invoke_ms = first_invoke_ms
        self.times_ms = np.asarray(times_ms, dtype=np.float64)
        self.max_abs_diff = max_abs_diff

    @property
    def latency(self):
        return latency_stats(self.times_ms)

    def to_dict(self, our_median):
        lat = self.latency
        ratio = (our_median / lat["median"]) if self.available and lat["median"] else None
        return {"runtime": self.runtime, "available": self.available, "note": self.note,
                "version": self.version, "load_allocate_ms": self.load_ms,
                "first_invoke_ms": self.first_invoke_ms, "latency_ms": lat,
                "samples_ms": [float(v) for v in self.times_ms],
                "ratio_ours_to_peer": ratio, "max_abs_diff": self.max_abs_diff}


class BenchmarkResult:
    """Every figure of one benchmark; `to_dict()` is the JSON of `tflite-rt bench --json`."""

    def __init__(self, **kw):
        self.model = kw["model"]                 # path, or None for bytes
        self.model_bytes = kw["model_bytes"]
        self.num_threads = kw["num_threads"]
        self.config = kw["config"]
        self.inputs = kw["inputs"]               # [{name, index, dtype, shape, source}]
        self.load_ms = kw["load_ms"]
        self.first_invoke_ms = kw["first_invoke_ms"]
        self.warmup_ms = np.asarray(kw["warmup_ms"], dtype=np.float64)
        self.times_ms = np.asarray(kw["times_ms"], dtype=np.float64)
        self.total_secs = kw["total_secs"]
        self.peak_rss_bytes = kw["peak_rss_bytes"]
        self.arena_bytes = kw["arena_bytes"]
        self.arena_naive_bytes = kw["arena_naive_bytes"]
        self.profile = kw.get("profile")         # per-node records (subgraph 0), or None
        self.peers = kw.get("peers") or []       # [PeerResult]

    @property
    def latency(self):
        """count, mean, std, min, median, p90, p99, max (ms) of the timed runs."""
        return latency_stats(self.times_ms)

    @property
    def median_ms(self):
        return self.latency["median"]

    def stat(self, name):
        return self.latency[name]

    def op_types(self):
        return op_type_summary(self.profile) if self.profile else []

    def profile_check(self):
        """The per-node times summed against the mean invoke time measured around invoke()."""
        if not self.profile:
            return None
        total = sum(n["mean_ms"] for n in self.profile)
        mean = self.latency["mean"]
        return {"sum_of_nodes_ms": total, "invoke_mean_ms": mean,
                "ratio": total / mean if mean else None}

    def to_dict(self):
        lat = self.latency
        profile = None
        if self.profile:
            total = sum(n["mean_ms"] for n in self.profile) or 1.0
            profile = {"nodes": [dict(n, percent=100.0 * n["mean_ms"] / total) for n in self.profile],
                       "op_types": self.op_types(), "check": self.profile_check()}
        warm = latency_stats(self.warmup_ms)
        return {
            "schema_version": SCHEMA_VERSION,
            "tflite_rt_version": __version__,
            "model": {"path": self.model, "size_bytes": self.model_bytes},
            "config": dict(self.config),
            "machine": {"platform": platform.platform(), "machine": platform.machine(),
                        "python": platform.python_version(), "numpy": np.__version__,
                        "cpu_count": os.cpu_count()},
            "inputs": self.inputs,
            "load_allocate_ms": self.load_ms,
            "first_invoke_ms": self.first_invoke_ms,
            "warmup_ms": {"count": warm["count"], "mean": warm["mean"]},
            "latency_ms": lat,
            "samples_ms": [float(v) for v in self.times_ms],
            "total_secs": self.total_secs,
            "peak_rss_bytes": self.peak_rss_bytes,
            "arena_bytes": self.arena_bytes,
            "arena_naive_bytes": self.arena_naive_bytes,
            "profile": profile,
            "compare": [p.to_dict(lat["median"]) for p in self.peers] if self.peers else None,
        }

    # -- text --------------------------------------------------------------------------------------
    def report(self, top=10):
        d = self.to_dict()
        lat = d["latency_ms"]
        ins = "; ".join("%s %s %s (%s)" % (i["name"], i["shape"], i["dtype"], i["source"])
                        for i in self.inputs)
        out = [
            "model            %s (%s)" % (self.model or "<bytes>", human_bytes(self.model_bytes)),
            "inputs           %s" % (ins or "none"),
            "threads          %d" % self.num_threads,
            "load + allocate  %.3f ms" % self.load_ms,
            "first invoke     %.3f ms" % self.first_invoke_ms,
            "warm-up          %d run(s)%s" % (d["warmup_ms"]["count"], "" if not d["warmup_ms"]["count"]
                                               else ", mean %.3f ms" % d["warmup_ms"]["mean"]),
            "timed            %d run(s) in %.2f s" % (lat["count"], self.total_secs),
            "peak RSS         %s" % human_bytes(self.peak_rss_bytes),
            "arena            %s planned (naive sum %s)" % (human_bytes(self.arena_bytes),
                                                            human_bytes(self.arena_naive_bytes)),
            "",
            latency_table([("tflite_rt", lat)] + [(p["runtime"], p["latency_ms"]) for p in d["compare"] or []
                                                 if p["available"]]),
        ]
        if d["compare"]:
            out += ["", compare_table(d["compare"])]
        if d["profile"]:
            out += ["", profile_report(d["profile"], top=top)]
        return "\n".join(out)


def _ms(v):
    return "-" if v is None else "%.3f" % v


def latency_table(rows):
    headers = ["latency (ms)"] + list(STATS)
    body = [[name] + [str(lat["count"])] + [_ms(lat[k]) for k in STATS[1:]] for name, lat in rows]
    return table(headers, body, ["l"] + ["r"] * len(STATS))


def compare_table(peers):
    body, notes = [], []
    for p in peers:
        if not p["available"]:
            notes.append("skipped %s: %s" % (p["runtime"], p["note"]))
            continue
        if p["note"]:
            notes.append("%s: %s" % (p["runtime"], p["note"]))
        diff = p["max_abs_diff"]
        body.append([p["runtime"], p["version"] or "?", _ms(p["latency_ms"]["median"]),
                     "-" if p["ratio_ours_to_peer"] is None else "%.2f" % p["ratio_ours_to_peer"],
                     "n/a" if diff is None else "%.3g" % diff, _ms(p["load_allocate_ms"])])
    text = [table(["peer", "version", "median ms", "ours/peer", "max |diff|", "load ms"], body,
                  ["l", "l", "r", "r", "r", "r"])] if body else []
    return "\n".join(text + notes)


def profile_report(profile, top=10):
    """Run-order table, top-N nodes and the per-op-type summary of a to_dict()['profile']."""
    nodes = profile["nodes"]
    rows = [[n["index"], n["op_name"], n["kernel"], "x".join(str(v) for v in n["output_shape"]) or "-",
             human_count(n["macs"]), "%.4f" % n["mean_ms"], "%.1f" % n["percent"]] for n in nodes]
    out = ["per-node time in run order (ms per invoke)",
           table(["node", "op", "kernel", "output", "MACs", "ms", "%"], rows,
                 ["r", "l", "l", "l", "r", "r", "r"])]
    ranked = sorted(nodes, key=lambda n: -n["mean_ms"])[:top]
    cum, rows = 0.0, []
    for n in ranked:
        cum += n["percent"]
        gmacs = "-" if not n["macs"] or not n["mean_ms"] else "%.2f" % (n["macs"] / n["mean_ms"] / 1e6)
        rows.append([n["index"], n["op_name"], "%.4f" % n["mean_ms"], "%.1f" % n["percent"], "%.1f" % cum,
                     gmacs])
    out += ["", "top %d nodes" % len(ranked),
            table(["node", "op", "ms", "%", "cum %", "GMAC/s"], rows, ["r", "l", "r", "r", "r", "r"])]
    rows = [[g["op_name"], g["count"], "%.4f" % g["ms"], "%.1f" % g["percent"],
             "%.1f" % g["cumulative_percent"]] for g in profile["op_types"]]
    out += ["", "per op type", table(["op", "count", "ms", "%", "cum %"], rows, ["l", "r", "r", "r", "r"])]
    c = profile["check"]
    if c and c["ratio"] is not None:
        out += ["", "sum of node times %.4f ms = %.1f%% of the mean invoke time %.4f ms" % (
            c["sum_of_nodes_ms"], 100.0 * c["ratio"], c["invoke_mean_ms"])]
    return "\n".join(out)


# -- running -------------------------------------------------------------------------------------------
def peak_rss_bytes():
    try:
        import resource
    except ImportError:
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def benchmark(model, num_threads=1, runs=50, warmup=5, min_secs=0.0, max_secs=60.0, input_shapes=None,
              inputs=None, input_ranges=None, profile=False, compare=(), seed=0, progress=False):
    """Times `model` (a path or the bytes of a .tflite file) and returns a BenchmarkResult.

    runs / min_secs: time at least `runs` invokes and for at least `min_secs`, stopping at
    `max_secs` whatever the count. input_shapes: {name: shape} to resize inputs to.
    inputs: arrays (list in input order, or dict by name or position); the rest are random
    (input_ranges: {name: (low, high)}). profile: per-node times from the C executor.
    compare: runtime names from tflite_rt.compare.PEERS, timed in the same rounds.
    progress: a tqdm bar on stderr (when tqdm is installed)."""
    from . import compare as _compare
    from .interpreter import Interpreter

    if runs < 1:
        raise ValueError("runs must be >= 1, got %d" % runs)
    if warmup < 0:
        raise ValueError("warmup must be >= 0, got %d" % warmup)
    if min_secs < 0 or max_secs <= 0:
        raise ValueError("min_secs must be >= 0 and max_secs > 0")
    for name in compare or ():
        if name not in _compare.PEERS:
            raise ValueError("unknown runtime %r to compare with (choose from %s)" % (
                name, ", ".join(_compare.PEERS)))
    if isinstance(model, (bytes, bytearray, memoryview)):
        path, kwargs, size = None, {"model_content": bytes(model)}, len(model)
    else:
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise ValueError("no such model file: %s" % path)
        kwargs, size = {"model_path": path}, os.path.getsize(path)

    t0 = time.perf_counter()
    it = Interpreter(num_threads=num_threads, profile=profile, **kwargs)
    arrays, sources = prepare_inputs(it, inputs, input_shapes, input_ranges, seed)
    load_ms = (time.perf_counter() - t0) * 1e3
    first_ms = _timed(it.invoke)

    runners = [("tflite_rt", it.invoke)]
    peers = []
    for name in compare or ():
        try:
            t0 = time.perf_counter()
            peer = _compare.open_peer(name, path, num_threads, arrays)
            peer_load = (time.perf_counter() - t0) * 1e3
        except _compare.PeerUnavailable as e:
            peers.append(PeerResult(name, False, note=str(e)))
            continue
        try:
            peer_first = _timed(peer.invoke)
        except Exception as e:
            peers.append(PeerResult(name, False, version=peer.version,
                                    note="%s failed to run the model: %s" % (name, _compare.first_line(e))))
            continue
        result = PeerResult(name, True, note=peer.note, version=peer.version, load_ms=peer_load,
                            first_invoke_ms=peer_first)
        result.peer, result.samples = peer, []
        peers.append(result)
        runners.append((name, peer.invoke))
    live = [p for p in peers if p.available]

    warm = []
    for _ in range(warmup):
        warm.append(_timed(it.invoke))
        for p in live:
            p.peer.invoke()
    if profile:
        it._alloc.plan.set_profiling(True)   # restarts the per-node counters

    bar = _Progress(progress, runs, "bench")
    times = []
    start = time.perf_counter()
    try:
        rounds = 0
        while True:
            elapsed = time.perf_counter() - start
            if rounds and ((rounds >= runs and elapsed >= min_secs) or elapsed >= max_secs):
                break
            # alternate the order of the runtimes from one round to the next
            order = runners[rounds % len(runners):] + runners[:rounds % len(runners)]
            for name, fn in order:
                ms = _timed(fn)
                if name == "tflite_rt":
                    times.append(ms)
                else:
                    next(p for p in live if p.runtime == name).samples.append(ms)
            rounds += 1
            bar.update()
    finally:
        bar.close()
    total_secs = time.perf_counter() - start

    nodes = _profile_nodes(it) if profile else None
    ours = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    for p in live:
        p.times_ms = np.asarray(p.samples, dtype=np.float64)
        p.max_abs_diff = _compare.max_abs_diff(ours, p.peer.outputs())
        del p.peer, p.samples

    config = {"num_threads": num_threads, "runs": runs, "warmup": warmup, "min_secs": min_secs,
              "max_secs": max_secs, "seed": seed, "profile": bool(profile),
              "compare": list(compare or ()),
              "input_shapes": {k: [int(v) for v in s] for k, s in (input_shapes or {}).items()}}
    details = it.get_input_details()
    return BenchmarkResult(
        model=path, model_bytes=size, num_threads=num_threads, config=config,
        inputs=[{"name": d["name"], "index": int(d["index"]), "dtype": np.dtype(d["dtype"]).name,
                 "shape": [int(v) for v in d["shape"]], "source": s} for d, s in zip(details, sources)],
        load_ms=load_ms, first_invoke_ms=first_ms, warmup_ms=warm, times_ms=times, total_secs=total_secs,
        peak_rss_bytes=peak_rss_bytes(), arena_bytes=int(it._alloc.arena.nbytes),
        arena_naive_bytes=int(it._alloc.arena_naive_bytes), profile=nodes, peers=peers)


def _profile_nodes(it):
    """get_profile() of subgraph 0 with each node's MACs added."""
    records = it.get_profile()
    sg = it._alloc.planner.subgraphs[0]
    for rec, node in zip(records, sg.nodes):
        ins = [tuple(t.shape) if t is not None else None for t in node.inputs]
        outs = [tuple(t.shape) for t in node.outputs]
        rec["macs"] = op_macs(node.name, ins, outs, node.options)
    return records
