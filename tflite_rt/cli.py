"""The `tflite-rt` command: `bench`, `inspect` and `run` (see docs/cli.md).

Every failure is one line on stderr and a non-zero exit, never a traceback:
0 success, 1 a bad model, file or run, 2 a bad command line, 3 `inspect --strict` found ops
tflite_rt cannot run, 130 interrupted.
"""
import argparse
import json
import os
import sys

import numpy as np

DEMO_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo", "demo_cnn.tflite")
EXIT_ERROR, EXIT_USAGE, EXIT_STRICT = 1, 2, 3


class CliError(Exception):
    """A problem with a file or model named on the command line, reported as one line."""

    exit_code = EXIT_ERROR


class UsageError(CliError):
    """A flag whose value makes no sense."""

    exit_code = EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_USAGE, "%s: error: %s (see %s --help)\n" % (self.prog, message, self.prog))


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % text)
    return value


def _count(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer >= 0, got %r" % text) from None
    if value < 0:
        raise argparse.ArgumentTypeError("expected an integer >= 0, got %r" % text)
    return value


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected seconds, got %r" % text) from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("expected seconds >= 0, got %r" % text)
    return value


# -- reading the command line's files and specs ----------------------------------------------------
def _model_path(path):
    if not os.path.exists(path):
        raise CliError("no such model file: %s" % path)
    if not os.path.isfile(path):
        raise CliError("not a model file: %s" % path)
    return path


def _split_named(item):
    """'name:value' -> (name, value); names may hold ':' themselves (serving_default_x:0:v)."""
    name, sep, value = item.rpartition(":")
    return (name, value) if sep and name else (None, item)


def parse_shapes(items):
    """--input-shape name:1,224,224,3 (the name may be left out for a one-input model)."""
    shapes = {}
    for item in items or []:
        name, dims = _split_named(item)
        try:
            shape = [int(d) for d in dims.split(",") if d.strip()]
        except ValueError:
            raise UsageError("bad --input-shape %r: expected name:1,224,224,3" % item) from None
        if any(d < 0 for d in shape):
            raise UsageError("bad --input-shape %r: dimensions must be >= 0" % item)
        shapes[name] = shape
    return shapes


def parse_ranges(items):
    """--input-range name:low,high"""
    ranges = {}
    for item in items or []:
        name, text = _split_named(item)
        parts = text.split(",")
        try:
            low, high = (float(p) for p in parts) if len(parts) == 2 else (None, None)
        except ValueError:
            low = high = None
        if name is None or low is None or not low <= high:
            raise UsageError("bad --input-range %r: expected name:low,high with low <= high" % item)
        ranges[name] = (low, high)
    return ranges


def _load_array_file(path):
    if not os.path.isfile(path):
        raise CliError("no such input file: %s" % path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise CliError("cannot read input file %s: %s" % (path, str(e).strip().splitlines()[0]
                                                          if str(e).strip() else type(e).__name__)) from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            return {k: data[k] for k in data.files}
    return data


def read_inputs(items, input_names):
    """--input x.npy (positional, in input order), name:x.npy, or all.npz. From a .npz, the arrays
    named like an input (or input_<i> / arr_<i> for the i-th input) are used, the rest ignored.
    Returns a dict by name or position."""
    values, position = {}, 0
    for item in items or []:
        name, path = (None, item) if os.path.exists(item) else _split_named(item)
        data = _load_array_file(path)
        if isinstance(data, dict):
            if name is not None:
                if len(data) != 1:
                    raise CliError("--input %s: %s holds %d arrays; give the .npz alone to map "
                                   "its keys to inputs" % (item, path, len(data)))
                values[name] = next(iter(data.values()))
                continue
            used = 0
            for key, array in data.items():
                if key in input_names:
                    values[key] = array
                    used += 1
                    continue
                for prefix in ("input_", "arr_"):
                    if key.startswith(prefix) and key[len(prefix):].isdigit():
                        values[int(key[len(prefix):])] = array
                        used += 1
                        break
            if not used:
                raise CliError("%s has no array named like an input (its keys: %s; the inputs: %s)" % (
                    path, ", ".join(data) or "none", ", ".join(input_names)))
        elif name is not None:
            values[name] = data
        else:
            values[position] = data
            position += 1
    return values


def _npz_keys(details):
    keys, seen = [], set()
    for k, d in enumerate(details):
        name = d["name"] or "output_%d" % k
        if name in seen:
            name = "output_%d" % k
        seen.add(name)
        keys.append(name)
    return keys


def _check_plot_available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CliError("--plot needs matplotlib: pip install 'tflite_rt[plot]'") from None


def dumps(value, indent=1, _level=0):
    """JSON with objects one key a line, and lists of plain values (shapes, samples) on one line."""
    pad, inner = " " * (indent * _level), " " * (indent * (_level + 1))
    if isinstance(value, dict) and value:
        items = ["%s%s: %s" % (inner, json.dumps(str(k)), dumps(v, indent, _level + 1))
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in value):
        items = [inner + dumps(v, indent, _level + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False, default=_json_default)


def _write_json(data, dest):
    text = dumps(data)
    if dest == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        with open(dest, "w") as f:
            f.write(text + "\n")
    except OSError as e:
        raise CliError("cannot write %s: %s" % (dest, e.strerror or e)) from None


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError("not JSON serializable: %r" % type(value).__name__)


def _fix_nan(value):
    """JSON has no NaN: such figures become null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _fix_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fix_nan(v) for v in value]
    return value


def _input_names(model_path):
    from . import model as _model

    sg = _model.load(_model.read_model_file(model_path)).subgraphs[0]
    return [sg.tensors[i].name for i in sg.inputs]


def _shapes_for_model(shapes, names):
    """An unnamed --input-shape goes to the only input of the model."""
    if None not in shapes:
        return shapes
    if len(names) != 1:
        raise UsageError("--input-shape without a name needs a model with one input; this one has "
                         "%d (%s)" % (len(names), ", ".join(names)))
    shapes[names[0]] = shapes.pop(None)
    return shapes


# -- subcommands --------------------------------------------------------------------------------------
def cmd_bench(args):
    from .bench import benchmark, progress_wanted
    from .compare import PEERS

    path = _model_path(args.model) if args.model else DEMO_MODEL
    if args.plot:
        _check_plot_available()
    compare = [c.strip() for c in (args.compare or "").split(",") if c.strip()]
    for c in compare:
        if c not in PEERS:
            raise UsageError("unknown runtime %r for --compare (choose from %s)" % (c, ",".join(PEERS)))
    names = _input_names(path)
    shapes = _shapes_for_model(parse_shapes(args.input_shape), names)
    result = benchmark(path, num_threads=args.threads, runs=args.runs, warmup=args.warmup,
                       min_secs=args.min_secs, max_secs=args.max_secs, input_shapes=shapes,
                       inputs=read_inputs(args.input, names), input_ranges=parse_ranges(args.input_range),
                       profile=args.profile, compare=compare, seed=args.seed,
                       progress=not args.no_progress and progress_wanted())
    if args.json != "-":
        print(result.report(top=args.top))
    if args.json:
        _write_json(_fix_nan(result.to_dict()), args.json)
    if args.plot:
        from .plot import plot_benchmark

        plot_benchmark(result, args.plot)
        if args.json != "-":
            print("\nplot written to %s" % args.plot)
    return 0


def cmd_inspect(args):
    from .inspect import format_inspect, inspect_model

    info = inspect_model(_model_path(args.model))
    if args.json:
        _write_json(info, args.json)
    if args.json != "-":
        print(format_inspect(info, max_ops=args.max_ops))
    if args.strict and (info["unsupported_ops"] or not info["memory"]["planned"]):
        what = ("%d unsupported op(s)" % len(info["unsupported_ops"]) if info["unsupported_ops"]
                else "it cannot be planned: %s" % info["memory"]["plan_error"])
        print("tflite-rt inspect: strict: %s" % what, file=sys.stderr)
        return EXIT_STRICT
    return 0


def cmd_run(args):
    import time

    from .bench import prepare_inputs
    from .interpreter import Interpreter

    path = _model_path(args.model)
    names = _input_names(path)
    shapes = _shapes_for_model(parse_shapes(args.input_shape), names)
    it = Interpreter(model_path=path, num_threads=args.threads)
    _, sources = prepare_inputs(it, read_inputs(args.input, names), shapes, parse_ranges(args.input_range),
                                args.seed)
    t0 = time.perf_counter()
    it.invoke()
    ms = (time.perf_counter() - t0) * 1e3
    details = it.get_output_details()
    outputs = [it.get_tensor(d["index"]) for d in details]
    if args.output:
        keys = _npz_keys(details)
        try:
            if args.output.endswith(".npy"):
                if len(outputs) != 1:
                    raise CliError("--output %s: the model has %d outputs; use a .npz file" % (
                        args.output, len(outputs)))
                np.save(args.output, outputs[0], allow_pickle=False)
            else:
                np.savez(args.output, **dict(zip(keys, outputs)))
        except OSError as e:
            raise CliError("cannot write %s: %s" % (args.output, e.strerror or e)) from None
    from .inspect import table

    rows = []
    for d, x in zip(it.get_input_details(), sources):
        shape = [int(v) for v in d["shape"]]
        rows.append(["input", d["name"], np.dtype(d["dtype"]).name, shape, x, "", "", ""])
    for d, x in zip(details, outputs):
        stats = ["", "", ""]
        if x.dtype.kind in "biuf" and x.size:
            v = x.astype(np.float64)
            stats = ["%.6g" % v.min(), "%.6g" % v.max(), "%.6g" % v.mean()]
        dtype = x.dtype.name if x.dtype != object else "string"
        rows.append(["output", d["name"], dtype, list(x.shape), ""] + stats)
    print(table(["", "name", "dtype", "shape", "source", "min", "max", "mean"], rows,
                ["l", "l", "l", "l", "l", "r", "r", "r"]))
    print("invoke: %.3f ms" % ms)
    if args.output:
        print("outputs written to %s" % args.output)
    return 0


def _add_input_args(p):
    p.add_argument("--input", action="append", metavar="FILE",
                   help="an input from a .npy file: FILE (in input order), NAME:FILE, or a .npz "
                        "whose keys are input names (or input_0, input_1, ...); repeatable")
    p.add_argument("--input-shape", action="append", metavar="NAME:D1,D2,...",
                   help="resize an input before allocating (NAME may be left out for a one-input "
                        "model); repeatable")
    p.add_argument("--input-range", action="append", metavar="NAME:LOW,HIGH",
                   help="the range of an input's random values; repeatable")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--threads", type=_positive_int, default=1, help="number of threads (default 1)")


def build_parser():
    parser = _Parser(prog="tflite-rt", description="tflite_rt: time, inspect and run TFLite models")
    from . import __version__
    parser.add_argument("--version", action="version", version="tflite_rt %s" % __version__)
    sub = parser.add_subparsers(dest="command", metavar="{bench,inspect,run}")

    p = sub.add_parser("bench", help="time a model (the bundled demo model if none is given)",
                       description="Time a model: load, first invoke, warm-up, then timed runs.")
    p.add_argument("model", nargs="?", help="a .tflite file (default: the bundled demo model)")
    _add_input_args(p)
    p.add_argument("--runs", type=_positive_int, default=50, help="timed runs, at least (default 50)")
    p.add_argument("--warmup", type=_count, default=5, help="untimed runs first (default 5)")
    p.add_argument("--min-secs", type=_seconds, default=0.0, help="keep timing for at least this long")
    p.add_argument("--max-secs", type=_seconds, default=60.0, help="stop timing after this long (default 60)")
    p.add_argument("--profile", action="store_true", help="time every op inside the C executor")
    p.add_argument("--top", type=_positive_int, default=10, help="nodes in the top-N table (default 10)")
    p.add_argument("--compare", metavar="RUNTIMES",
                   help="comma-separated runtimes to time alongside: litert,tflite_runtime,onnxruntime")
    p.add_argument("--json", metavar="OUT.json", help="write every figure as JSON ('-': stdout, no report)")
    p.add_argument("--plot", metavar="OUT.png", help="latency and per-op-type charts (needs matplotlib)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("inspect", help="show a model's graph, tensors, MACs and kernels",
                       description="Describe a model and how tflite_rt would run it.")
    p.add_argument("model", help="a .tflite file")
    p.add_argument("--json", nargs="?", const="-", metavar="OUT.json",
                   help="write the description as JSON (to stdout, instead of the text, if no file)")
    p.add_argument("--strict", action="store_true",
                   help="exit 3 if any op is unsupported or the model cannot be planned")
    p.add_argument("--max-ops", type=_positive_int, metavar="N", help="list at most N ops per subgraph")
    p.set_defaults(fn=cmd_inspect)

    p = sub.add_parser("run", help="one inference from .npy files",
                       description="Run one inference; inputs not given are random.")
    p.add_argument("model", help="a .tflite file")
    _add_input_args(p)
    p.add_argument("--output", metavar="OUT.npz",
                   help="save the outputs, keyed by output name (.npy for a one-output model)")
    p.set_defaults(fn=cmd_run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        print("tflite-rt: error: choose a command: bench, inspect or run (see tflite-rt --help)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.fn(args)
    except CliError as e:
        print("tflite-rt %s: error: %s" % (args.command, e), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("tflite-rt %s: interrupted" % args.command, file=sys.stderr)
        return 130
    except Exception as e:  # one line, never a traceback: see the module docstring
        text = str(e).strip()
        if isinstance(e, KeyError) and e.args:
            text = str(e.args[0])
        message = text.splitlines()[0] if text else type(e).__name__
        print("tflite-rt %s: error: %s" % (args.command, message), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
