#!/bin/bash
# Builds the C core with AddressSanitizer + UndefinedBehaviorSanitizer in a copy of the tree and
# runs the test suite there (then the fuzz regressions and, optionally, a short fuzz run).
#
#   tools/sanitize.sh                  # whole suite
#   tools/sanitize.sh tests/test_untrusted.py -k quant     # any pytest arguments
#   SANITIZE_FUZZ_SECONDS=120 tools/sanitize.sh            # also fuzz for two minutes
#
# SANITIZE_TREE (default $TMPDIR/tflite_rt_sanitize) is where the copy is built; an unchanged
# copy is not rebuilt. Any sanitizer report fails the run: reports go to $SANITIZE_TREE/reports/.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tree=${SANITIZE_TREE:-${TMPDIR:-/tmp}/tflite_rt_sanitize}
jobs=${SANITIZE_JOBS:-2}

asan=$(gcc -print-file-name=libasan.so)
[ -f "$asan" ] || { echo "sanitize: gcc has no libasan.so (install gcc's libasan package)"; exit 1; }
mkdir -p "$tree"
(cd "$root" && tar --exclude=.git --exclude='*.so' --exclude=./build --exclude='*.egg-info' -cf - .) \
  | (cd "$tree" && tar -xf -)
cd "$tree" || exit 1
echo "sanitize: building in $tree"
# No variable tracking: with -g on the sanitizers' large instrumented kernels it takes GCC many
# minutes per file, and sanitizer reports need only line numbers.
export CFLAGS="${CFLAGS:-} -fno-var-tracking -fno-var-tracking-assignments"
if ! TFLITE_RT_SANITIZE=1 python setup.py build_ext --inplace --parallel "$jobs" > build.log 2>&1; then
  grep -E "error" -A3 build.log | head -40
  echo "sanitize: BUILD FAILED (see $tree/build.log)"; exit 1
fi

reports="$tree/reports"
rm -rf "$reports"; mkdir -p "$reports"
# libstdc++ too: C++ extensions in the same process (the reference runtime, matplotlib) throw
# exceptions, which ASan can only intercept if libstdc++ is loaded when it starts.
export LD_PRELOAD="$asan $(gcc -print-file-name=libstdc++.so)"
# Python itself leaks by design, so leak checking is off; huge allocations become MemoryError.
# An ASan error stops the process (its report goes to reports/asan.PID); UBSan reports go to
# stderr and the run goes on, so every C-level stderr line is kept (pytest --capture=sys leaves
# file descriptor 2 alone) and searched at the end.
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:log_path=$reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0"
export PYTHONPATH="$tree"
# the copy is not beside shared/: point the corpus tests at the checkout's corpus
[ -z "${TFLITE_RT_CORPUS:-}" ] && [ -d "$root/../shared/models" ] && export TFLITE_RT_CORPUS="$root/../shared/models"

status=0
args=("$@")
# Not tests/test_native_arm.py: it builds and runs aarch64 binaries under qemu, none of them this
# sanitized build (and qemu and the cross compiler would run with ASan preloaded); the plain
# test run covers it.
[ ${#args[@]} -eq 0 ] && args=(tests -q -p no:cacheprovider --ignore=tests/test_native_arm.py)
echo "sanitize: pytest ${args[*]}"
python -m pytest --capture=sys "${args[@]}" 2> "$reports/stderr-pytest.log" || status=1

echo "sanitize: fuzz regressions"
python tests/fuzz/runner.py check tests/fuzz/regressions --out "$tree/fuzz-regressions" --jobs "$jobs" \
  --timeout 120 --report-every 1e9 || status=1

if [ -n "${SANITIZE_FUZZ_SECONDS:-}" ]; then
  echo "sanitize: fuzzing for ${SANITIZE_FUZZ_SECONDS}s"
  python tests/fuzz/seeds.py "$tree/fuzz-seeds" --no-harvest > /dev/null
  python tests/fuzz/runner.py fuzz --seeds "$tree/fuzz-seeds" --out "$tree/fuzz-out" --jobs "$jobs" \
    --time "$SANITIZE_FUZZ_SECONDS" --timeout 60 --report-every 60 || status=1
fi

if ls "$reports"/asan.* > /dev/null 2>&1 || grep -q "runtime error:" "$reports"/stderr-*.log; then
  echo "sanitize: SANITIZER REPORTS:"
  for f in "$reports"/asan.*; do [ -f "$f" ] && { echo "== $f"; head -40 "$f"; }; done
  grep -h -A4 "runtime error:" "$reports"/stderr-*.log | head -100
  status=1
fi
[ $status -eq 0 ] && echo "sanitize: clean" || echo "sanitize: FAILED"
exit $status
