"""The plain model fuzzer: random structured mutations of seed models, each case run in a worker
process watched by this one, so that a crash or a hang is caught and its input kept.

    python tests/fuzz/runner.py fuzz --seeds DIR --out OUT [--jobs 2] [--time 120 | --execs N]
    python tests/fuzz/runner.py check DIR_OR_FILES...     # run models as they are, no mutation
    python tests/fuzz/runner.py minimize FILE --out MIN.tflite

A worker runs cases back to back and announces each before running it; the parent treats a
worker that dies mid-case as a crash and one that does not finish a case within --timeout
seconds as a hang. Findings go under OUT/: crashes/, hangs/ (hangs_while/ for models whose
WHILE loops may legitimately run for as long as their inputs say), errors/ (an exception other
than ValueError / RuntimeError / MemoryError), each case as NAME_s<seed>.tflite with a .log.
A case's seed decides its random inputs, so `check` replays it exactly.
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fuzzlib  # noqa: E402

MAX_REFUSAL_KINDS = 5000   # distinct refusal messages counted per outcome
WORKER_CASES = 20000   # a worker restarts after this many cases, to bound any slow growth


# ---------------------------------------------------------------------------------------------
# The worker


def _limit_memory(limit_mb):
    if not limit_mb or "asan" in os.environ.get("LD_PRELOAD", ""):
        return
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))


def _has_while(data):
    try:
        from tflite_rt import _flatbuffer
        root = _flatbuffer.read(data)
        codes = {int(max(oc.builtin_code or 0, oc.deprecated_builtin_code or 0))
                 for oc in root.operator_codes or []}
        return 119 in codes  # WHILE
    except Exception:  # noqa: BLE001
        return False


def worker(args):
    import faulthandler
    faulthandler.enable()
    faulthandler.register(signal.SIGUSR1)
    _limit_memory(args.memory_mb)
    import warnings
    import numpy as np
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    out = sys.stdout
    current = args.current
    if args.replay:
        cases = [(path, seed_of(path)) for path in args.replay]
        for k, (path, seed) in enumerate(cases):
            with open(path, "rb") as f:
                data = f.read()
            run_one(out, current, k, data, seed, path, _has_while(data))
        return
    seeds = []
    for d in args.seeds:
        seeds += fuzzlib.load_seed_dir(d, args.max_seed_bytes)
    if not seeds:
        sys.exit("no seeds in %s" % args.seeds)
    loops = {}
    k = args.start
    end = args.start + WORKER_CASES
    while k < end and (args.count is None or k < args.start + args.count):
        rng = np.random.default_rng([args.base_seed, k])
        data, origin = fuzzlib.make_case(seeds, rng, with_origin=True)
        if origin not in loops:
            loops[origin] = _has_while(seeds[origin][1])
        run_one(out, current, k, data, k, None, loops[origin] or _has_while(data))
        k += 1
    out.write("R %d\n" % k)
    out.flush()


def run_one(out, current, k, data, seed, path, small_ints):
    if path is None:
        with open(current + ".tmp", "wb") as f:
            f.write(data)
        os.replace(current + ".tmp", current)
    out.write("B %d %d %s\n" % (k, seed, path or current))
    out.flush()
    refusal = []
    try:
        outcome = fuzzlib.execute(data, seed=seed, small_ints=small_ints, on_refusal=refusal.append)
        if refusal:
            outcome += " " + fuzzlib.refusal_signature(refusal[0])
    except Exception as e:  # noqa: BLE001  (a finding: report it and go on)
        sys.stderr.write("case %d (seed %d):\n%s\n" % (k, seed, traceback.format_exc()))
        sys.stderr.flush()
        frame = traceback.extract_tb(e.__traceback__)[-1]
        outcome = "error:%s@%s:%d" % (type(e).__name__, os.path.basename(frame.filename), frame.lineno)
        # the worker goes on to the next case at once: keep this one's bytes where the parent
        # will look for them
        kept = "%s.error-%d" % (current, k)
        with open(kept, "wb") as f:
            f.write(data)
        outcome += " " + kept
    out.write("E %d %s\n" % (k, outcome))
    out.flush()


def seed_of(path):
    m = re.search(r"_s(\d+)\.tflite$", path)
    return int(m.group(1)) if m else 0


# ---------------------------------------------------------------------------------------------
# The parent


class Worker:
    def __init__(self, parent, wid, start, replay=None):
        self.parent, self.wid = parent, wid
        self.current = os.path.join(parent.work, "current-%d.tflite" % wid)
        self.log = os.path.join(parent.work, "worker-%d.log" % wid)
        self.pending = replay
        self.start(start, replay)

    def start(self, start, replay=None):
        a = self.parent.args
        cmd = [sys.executable, os.path.abspath(__file__), "worker", "--current", self.current,
               "--start", str(start), "--base-seed", str(a.seed), "--memory-mb", str(a.memory_mb),
               "--max-seed-bytes", str(a.max_seed_bytes)]
        for d in a.seeds or []:
            cmd += ["--seeds", d]
        if a.count_per_worker is not None:
            cmd += ["--count", str(a.count_per_worker)]
        if replay:
            cmd += ["--replay"] + replay
        self.errlog = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.errlog,
                                     start_new_session=True)
        self.buf = b""
        self.open_case = None   # (k, seed, path, started)
        self.next_start = start

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.errlog.close()


class Parent:
    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.work = os.path.join(self.out, "work")
        os.makedirs(self.work, exist_ok=True)
        self.counts = {}
        self.execs = 0
        self.saved = {}
        self.signatures = {}
        self.refusals = {}   # outcome -> refusal signature -> count

    def record(self, kind, w, k, seed, path, note=""):
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.saved.get(kind, 0) >= self.args.max_saved:
            return
        self.saved[kind] = self.saved.get(kind, 0) + 1
        folder = os.path.join(self.out, kind)
        os.makedirs(folder, exist_ok=True)
        with open(path, "rb") as f:
            data = f.read()
        name = fuzzlib.save_unique(folder, data, "")[:-len(".tflite")]
        final = "%s_s%d.tflite" % (name, seed)
        os.replace(name + ".tflite", final)
        w.errlog.flush()
        with open(w.log, "rb") as f:
            log = f.read()[-20000:]
        with open(final[:-len(".tflite")] + ".log", "wb") as f:
            f.write(("%s at case %d (seed %d) %s\n" % (kind, k, seed, note)).encode() + log)
        print("[fuzz] %s: %s" % (kind, final), flush=True)

    def run(self, replay=None):
        a = self.args
        deadline = time.time() + a.time if a.time else None
        workers = []
        if replay:
            chunks = [replay[i::a.jobs] for i in range(a.jobs)]
            workers = [Worker(self, i, 0, chunk) for i, chunk in enumerate(chunks) if chunk]
        else:
            stride = 1 << 40
            workers = [Worker(self, i, a.start + i * stride) for i in range(a.jobs)]
        last_report = time.time()
        stop = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.append(1))
        while workers and not stop:
            now = time.time()
            if deadline and now > deadline or (a.execs and self.execs >= a.execs):
                break
            fds = {w.proc.stdout.fileno(): w for w in workers}
            try:
                ready, _, _ = select.select(list(fds), [], [], 0.5)
            except InterruptedError:
                continue
            for fd in ready:
                w = fds[fd]
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.finished(w, workers, replay)
                    continue
                w.buf += chunk
                *lines, w.buf = w.buf.split(b"\n")
                for line in lines:
                    self.line(w, line.decode())
            now = time.time()
            for w in list(workers):
                if w.open_case and now - w.open_case[3] > a.timeout:
                    k, seed, path, _t = w.open_case
                    try:
                        os.kill(w.proc.pid, signal.SIGUSR1)   # the worker prints its stack
                        time.sleep(0.5)
                    except ProcessLookupError:
                        pass
                    kind = "hangs_while" if _has_while(open(path, "rb").read()) else "hangs"
                    self.record(kind, w, k, seed, path, "(no result after %gs)" % a.timeout)
                    w.kill()
                    self.restart(w, workers, k + 1, replay)
            if now - last_report > a.report_every:
                last_report = now
                self.report(final=False)
        for w in workers:
            w.kill()
        self.triage_hangs()
        self.sanitizer_reports()
        return self.report(final=True)

    def sanitizer_reports(self):
        """Sanitizer reports that did not stop a worker (UBSan goes on after one): counted as
        findings, and kept in OUT/sanitizer.log."""
        found = []
        for f in sorted(os.listdir(self.work)):
            if f.startswith("worker-") and f.endswith(".log"):
                with open(os.path.join(self.work, f), "rb") as fh:
                    lines = fh.read().decode("utf-8", "replace").splitlines()
                for i, line in enumerate(lines):
                    if "runtime error:" in line or "ERROR: AddressSanitizer" in line:
                        found.append("\n".join(lines[i:i + 6]))
        if found:
            self.counts["sanitizer"] = len(found)
            with open(os.path.join(self.out, "sanitizer.log"), "w") as f:
                f.write("\n\n".join(found) + "\n")
            print("[fuzz] %d sanitizer reports: %s" % (len(found), os.path.join(self.out, "sanitizer.log")))

    def triage_hangs(self):
        """A case that timed out while the machine was busy may only be slow: run each saved
        one alone with a longer limit, and move those that finish to slow/."""
        folder = os.path.join(self.out, "hangs")
        if not os.path.isdir(folder):
            return
        for f in sorted(os.listdir(folder)):
            if not f.endswith(".tflite"):
                continue
            path = os.path.join(folder, f)
            with open(path, "rb") as fh:
                data = fh.read()
            if still_fails(data, seed_of(path), self.args.timeout * 6) != "hang":
                slow = os.path.join(self.out, "slow")
                os.makedirs(slow, exist_ok=True)
                for ext in (".tflite", ".log"):
                    src = path[:-len(".tflite")] + ext
                    if os.path.exists(src):
                        os.replace(src, os.path.join(slow, os.path.basename(src)))
                self.counts["hangs"] -= 1
                self.counts["slow"] = self.counts.get("slow", 0) + 1

    def line(self, w, line):
        parts = line.split(" ", 3)
        if parts[0] == "B":
            w.open_case = (int(parts[1]), int(parts[2]), parts[3], time.time())
        elif parts[0] == "E":
            k, outcome = int(parts[1]), parts[2]
            self.execs += 1
            if outcome.startswith("error:"):
                kept = parts[3] if len(parts) > 3 else w.open_case[2]
                self.signatures[outcome] = self.signatures.get(outcome, 0) + 1
                if self.signatures[outcome] <= 3:
                    self.record("errors", w, k, w.open_case[1], kept, outcome)
                else:
                    self.counts["errors"] = self.counts.get("errors", 0) + 1
                if kept != w.open_case[2] and os.path.exists(kept):
                    os.remove(kept)
            else:
                self.counts[outcome] = self.counts.get(outcome, 0) + 1
                if len(parts) > 3:
                    kinds = self.refusals.setdefault(outcome, {})
                    if parts[3] in kinds or len(kinds) < MAX_REFUSAL_KINDS:
                        kinds[parts[3]] = kinds.get(parts[3], 0) + 1
            w.open_case = None
            w.next_start = k + 1
        elif parts[0] == "R":
            w.next_start = int(parts[1])

    def finished(self, w, workers, replay):
        code = w.proc.wait()
        if w.open_case:
            k, seed, path, _t = w.open_case
            self.execs += 1
            self.record("crashes", w, k, seed, path, "(worker exit status %d)" % code)
            w.kill()
            self.restart(w, workers, k + 1, replay)
            return
        w.kill()
        if code != 0:
            print("[fuzz] worker %d failed (status %d); see %s" % (w.wid, code, w.log), flush=True)
            w.failures = getattr(w, "failures", 0) + 1
            if w.failures > 5 or replay:
                workers.remove(w)
                return
            w.next_start += 1
        if replay or (self.args.count_per_worker is not None):
            workers.remove(w)
            return
        w.start(w.next_start)

    def restart(self, w, workers, start, replay):
        if replay:
            rest = w.pending[start:]
            if not rest:
                workers.remove(w)
                return
            w.pending = rest
            w.start(0, rest)
        else:
            w.start(start)

    def report(self, final):
        summary = {"execs": self.execs, "outcomes": dict(sorted(self.counts.items())),
                   "error_signatures": dict(sorted(self.signatures.items()))}
        print("[fuzz] %s%s" % ("final " if final else "", json.dumps(summary)), flush=True)
        if final and self.args.json:
            refusals = {kind: dict(sorted(sigs.items(), key=lambda kv: -kv[1]))
                        for kind, sigs in sorted(self.refusals.items())}
            with open(self.args.json, "w") as f:
                json.dump(dict(summary, refusals=refusals), f, indent=1)
        return summary


# ---------------------------------------------------------------------------------------------
# Minimizing a crashing case: drop operators, then subgraph outputs, while it still crashes.


def still_fails(data, seed, timeout):
    with open("/tmp/_tflite_rt_min_%d.tflite" % os.getpid(), "wb") as f:
        f.write(data)
    code = ("import sys; sys.path.insert(0, %r); import fuzzlib, runner; "
            "d = open(sys.argv[1], 'rb').read(); "
            "fuzzlib.execute(d, seed=%d, small_ints=runner._has_while(d))" % (HERE, seed))
    try:
        p = subprocess.run([sys.executable, "-c", code, f.name], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hang"
    if p.returncode == 0:
        return None
    if b"Traceback" in p.stderr and b"Sanitizer" not in p.stderr and b"runtime error" not in p.stderr:
        return "error"
    return "crash"   # a signal, or a sanitizer's exit


def minimize(path, out, timeout):
    from tflite_rt import _flatbuffer
    seed = seed_of(path)
    with open(path, "rb") as f:
        data = f.read()
    kind = still_fails(data, seed, timeout)
    if not kind:
        print("%s does not fail" % path)
        return data
    root = _flatbuffer.read(data)
    changed = True
    while changed:
        changed = False
        for sg in root.subgraphs or []:
            for field in ("operators", "outputs", "inputs"):
                items = list(getattr(sg, field) if getattr(sg, field) is not None else [])
                i = len(items) - 1
                while i >= 0:
                    trial = items[:i] + items[i + 1:]
                    setattr(sg, field, trial)
                    candidate = _flatbuffer.write(root)
                    if still_fails(candidate, seed, timeout) == kind:
                        items, data, changed = trial, candidate, True
                    else:
                        setattr(sg, field, items)
                    i -= 1
    with open(out, "wb") as f:
        f.write(data)
    print("%s: %s, minimized to %d bytes in %s" % (path, kind, len(data), out))
    return data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["fuzz", "check", "minimize", "worker"])
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--seeds", action="append")
    ap.add_argument("--out", default="fuzz-out")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--time", type=float, default=0, help="stop after this many seconds")
    ap.add_argument("--execs", type=int, default=0, help="stop after this many executions")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before a case is a hang")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--memory-mb", type=int, default=4096)
    ap.add_argument("--max-seed-bytes", type=int, default=1 << 20)
    ap.add_argument("--max-saved", type=int, default=100)
    ap.add_argument("--report-every", type=float, default=60)
    ap.add_argument("--json")
    # worker-only
    ap.add_argument("--current")
    ap.add_argument("--base-seed", type=int, default=1)
    ap.add_argument("--count", type=int)
    ap.add_argument("--count-per-worker", type=int)
    ap.add_argument("--replay", nargs="*")
    args = ap.parse_args(argv)
    if args.mode == "worker":
        args.seeds = args.seeds or []
        return worker(args)
    if args.mode == "minimize":
        for p in args.paths:
            minimize(p, args.out if len(args.paths) == 1 else p + ".min", args.timeout)
        return 0
    parent = Parent(args)
    if args.mode == "check":
        files = []
        for p in args.paths:
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".tflite")) \
                if os.path.isdir(p) else [p]
        summary = parent.run(replay=[os.path.abspath(f) for f in files])
    else:
        if not args.seeds:
            ap.error("fuzz needs --seeds")
        summary = parent.run()
    bad = sum(v for k, v in summary["outcomes"].items() if k in ("crashes", "hangs", "errors", "sanitizer"))
    if not bad:
        shutil.rmtree(parent.work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
