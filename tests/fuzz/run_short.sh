#!/bin/bash
# About two minutes of model fuzzing, for CI: the regression inputs; seeds (models built here,
# the shared corpus, and the models the op tests build, unless FUZZ_HARVEST=0); the plain
# mutation fuzzer on every core for FUZZ_SECONDS (default 60); then the coverage-guided
# (atheris) target for FUZZ_ATHERIS_SECONDS (default 30) when atheris is installed
# (pip install -e '.[fuzz]').
# Fails on any crash, hang or unexpected exception; findings stay in $FUZZ_OUT.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tflite_rt_fuzz.XXXXXX")}
jobs=${FUZZ_JOBS:-$(python -c "import os; print(max(1, len(os.sched_getaffinity(0))))")}
cd "$root" || exit 1
status=0

python tests/fuzz/runner.py check tests/fuzz/regressions --out "$out/regressions" --jobs "$jobs" \
  --timeout 60 --report-every 1e9 || status=1

harvest=()
[ "${FUZZ_HARVEST:-1}" = 0 ] && harvest=(--no-harvest)
python tests/fuzz/seeds.py "$out/seeds" "${harvest[@]}" || status=1
python tests/fuzz/runner.py fuzz --seeds "$out/seeds" --out "$out/plain" --jobs "$jobs" \
  --time "${FUZZ_SECONDS:-60}" --timeout 30 --seed "${FUZZ_SEED:-$RANDOM}" --report-every 30 \
  --json "$out/plain.json" || status=1

if python -c "import atheris" 2>/dev/null; then
  mkdir -p "$out/corpus" "$out/artifacts"
  cp "$out"/seeds/*.tflite "$out/corpus/"
  FUZZ_ARTIFACTS="$out/artifacts" python tests/fuzz/fuzz_atheris.py "$out/corpus" \
    -max_total_time="${FUZZ_ATHERIS_SECONDS:-30}" -timeout=30 -print_final_stats=1 2>&1 \
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
