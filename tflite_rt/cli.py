"""The `tflite-rt` command: `bench`, `inspect` and `run`.

Every failure is one line on stderr and a non-zero exit, never a traceback."""
import argparse
import json
import os
import sys
import time

import numpy as np

DEMO_MODEL = os.path.join(os.path.dirname(__file__), "demo", "demo_cnn.tflite")


class CliError(Exception):
    pass


def _interpreter(path, threads, profile=False):
    from .interpreter import Interpreter

    if not os.path.isfile(path):
        raise CliError("no such model file: %s" % path)
    return Interpreter(model_path=path, num_threads=threads, profile=profile)


def _parse_shapes(items):
    shapes = {}
    for item in items or []:
        name, _, dims = item.rpartition(":")
        try:
            shapes[name] = [int(d) for d in dims.split(",") if d]
        except ValueError:
            raise CliError("bad --input-shape %r: expected name:1,224,224,3" % item) from None
    return shapes


def _random_input(detail, rng):
    shape, dtype = tuple(detail["shape"]), np.dtype(detail["dtype"])
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -128), min(info.max, 127), shape, endpoint=True).astype(dtype)
    return rng.uniform(-1.0, 1.0, shape).astype(dtype)


def _load_inputs(it, files):
    """--input x.npy (in input order) or name:x.npy."""
    details = it.get_input_details()
    by_name = {d["name"]: d for d in details}
    values = {}
    for i, item in enumerate(files or []):
        name, sep, path = item.partition(":") if ":" in item and not os.path.exists(item) else ("", "", item)
        detail = by_name.get(name) if sep else (details[i] if i < len(details) else None)
        if detail is None:
            raise CliError("--input %r does not name an input of the model" % item)
        try:
            values[detail["index"]] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise CliError("cannot read input file %s: %s" % (path, e)) from None
    return values


def bench(args):
    from .bench import benchmark

    path = args.model or DEMO_MODEL
    result = benchmark(path, num_threads=args.threads, runs=args.runs, warmup=args.warmup,
                       min_secs=args.min_secs, max_secs=args.max_secs,
                       input_shapes=_parse_shapes(args.input_shape), input_files=args.input,
                       profile=args.profile)
    print(result.report())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result.to_dict(), f, indent=1)
    return 0


def inspect(args):
    from .inspect import inspect_model

    info = inspect_model(args.model)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        print(info["text"])
    return 1 if args.strict and info["unsupported_ops"] else 0


def run(args):
    it = _interpreter(args.model, args.threads)
    it.allocate_tensors()
    values = _load_inputs(it, args.input)
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        x = values.get(d["index"])
        it.set_tensor(d["index"], x if x is not None else _random_input(d, rng))
    t0 = time.perf_counter()
    it.invoke()
    ms = (time.perf_counter() - t0) * 1e3
    outputs = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
    if args.output:
        np.savez(args.output, **outputs)
    for name, value in outputs.items():
        print("%s: %s %s" % (name, value.dtype, list(value.shape)))
    print("invoke: %.3f ms" % ms)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tflite-rt", description="tflite_rt: run, time and inspect TFLite models")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("bench", help="time a model (the bundled demo model if none is given)")
    p.add_argument("model", nargs="?")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--min-secs", type=float, default=0.0)
    p.add_argument("--max-secs", type=float, default=60.0)
    p.add_argument("--input-shape", action="append", metavar="NAME:D1,D2,...")
    p.add_argument("--input", action="append", metavar="FILE.npy|NAME:FILE.npy")
    p.add_argument("--profile", action="store_true", help="time every op inside the executor")
    p.add_argument("--json", metavar="OUT.json")
    p.set_defaults(fn=bench)

    p = sub.add_parser("inspect", help="show a model's graph, tensors and kernels")
    p.add_argument("model")
    p.add_argument("--json", action="store_true")
    p.add_argument("--strict", action="store_true", help="exit 1 if any op is unsupported")
    p.set_defaults(fn=inspect)

    p = sub.add_parser("run", help="one inference from .npy files")
    p.add_argument("model")
    p.add_argument("--input", action="append", metavar="FILE.npy|NAME:FILE.npy")
    p.add_argument("--output", metavar="OUT.npz")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(fn=run)

    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.fn(args)
    except (CliError, ValueError, RuntimeError, OSError) as e:
        print("tflite-rt %s: error: %s" % (args.command, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
