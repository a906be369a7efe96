#!/bin/bash
# About two minutes of model fuzzing, for CI: the regression inputs; seeds (models built here,
# the shared corpus, and the models the op tests build, unless FUZZ_HARVEST=0); the plain
# mutation fuzzer, FUZZ_CASES cases on each of FUZZ_JOBS workers (at most FUZZ_SECONDS); then
# the coverage-guided (atheris) target for FUZZ_ATHERIS_RUNS inputs, the seeds included (at most
# FUZZ_ATHERIS_SECONDS) when atheris is installed (pip install -e '.[fuzz]').
# The cases are fixed by FUZZ_SEED (default 1), so that CI replays the same cases on every run
# and fails only when a change breaks one, not at random on an old bug: a fresh seed is for
# finding new bugs (FUZZ_SEED=$RANDOM). The time limits only cut a slow machine's run short.
# Fails on any crash, hang or unexpected exception; findings stay in $FUZZ_OUT.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tflite_rt_fuzz.XXXXXX")}
jobs=${FUZZ_JOBS:-2}   # each worker has its own sequence of cases: the same count, the same cases
seed=${FUZZ_SEED:-1}
cd "$root" || exit 1
status=0

python tests/fuzz/runner.py check tests/fuzz/regressions --out "$out/regressions" --jobs "$jobs" \
  --timeout 60 --report-every 1e9 || status=1

harvest=()
[ "${FUZZ_HARVEST:-1}" = 0 ] && harvest=(--no-harvest)
python tests/fuzz/seeds.py "$out/seeds" "${harvest[@]}" || status=1
python tests/fuzz/runner.py fuzz --seeds "$out/seeds" --out "$out/plain" --jobs "$jobs" \
  --count-per-worker "${FUZZ_CASES:-2500}" --time "${FUZZ_SECONDS:-120}" --timeout 30 --seed "$seed" \
  --report-every 30 --json "$out/plain.json" || status=1

if python -c "import atheris" 2>/dev/null; then
  mkdir -p "$out/corpus" "$out/artifacts"
  cp "$out"/seeds/*.tflite "$out/corpus/"
  FUZZ_ARTIFACTS="$out/artifacts" python tests/fuzz/fuzz_atheris.py "$out/corpus" \
    -seed="$seed" -runs="${FUZZ_ATHERIS_RUNS:-8000}" -max_total_time="${FUZZ_ATHERIS_SECONDS:-60}" \
    -timeout=30 -print_final_stats=1 2>&1 \
    | grep -E "^(#[0-9]+.*DONE|Done|stat::number_of_executed_units|==[0-9]+== ERROR|.*Uncaught)" \
    || true
  if ls "$out"/artifacts/crash-* "$out"/artifacts/timeout-* > /dev/null 2>&1; then
    echo "atheris findings in $out/artifacts"; status=1
  fi
else
  echo "atheris is not installed: skipping the coverage-guided run"
fi
[ $status -eq 0 ] && echo "fuzz: clean ($out)" || echo "fuzz: FINDINGS in $out"
exit $status
