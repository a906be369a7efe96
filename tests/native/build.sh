#!/usr/bin/env bash
# Builds the native kernel harness (tests/native/*.c + every micro-kernel family of
# csrc/kernels that has a config file), or checks that the whole C core compiles.
#
#   build.sh native  OUT   this machine's compiler (x86-64: the avx2/avx512/vnni kernels too)
#   build.sh aarch64 OUT   aarch64-linux-gnu-gcc, -static (run it under qemu-aarch64); the
#                          neon/neondot/i8mm kernels
#   build.sh core-aarch64  compile-only check of csrc/ (runtime, model, ops, isa, threadpool,
#                          kernels) for aarch64 with -Wall -Werror=implicit-function-declaration
#
# Flags mirror setup.py: everything at the baseline, each ISA's files with that ISA's flags only,
# and TR_HAVE_<ISA> defined for every file when that ISA's files are in.
set -euo pipefail
target=${1:?usage: build.sh native|aarch64|core-aarch64 [OUT]}
out=${2:-}
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

base=(-std=c11 -O2 -fno-math-errno -ffp-contract=off -Wall -Wno-unused-function -D_GNU_SOURCE -Icsrc -Icsrc/include)

case "$target" in
  native)
    cc=${CC:-cc}
    case "$(uname -m)" in
      x86_64|amd64)
        base+=(-march=x86-64)
        isas=(avx2 avx512 vnni) ;;
      aarch64|arm64) isas=(neon neondot i8mm) ;;
      *) isas=() ;;
    esac
    link=() ;;
  aarch64|core-aarch64)
    cc=${CROSS_CC:-aarch64-linux-gnu-gcc}
    isas=(neon neondot i8mm)
    link=(-static) ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac

isa_flags() {
  case "$1" in
    avx2) echo "-mavx2 -mfma -mf16c" ;;
    avx512) echo "-mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma" ;;
    vnni) echo "-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni -mfma" ;;
    neon) echo "" ;;
    neondot) echo "-march=armv8.2-a+dotprod" ;;
    i8mm) echo "-march=armv8.6-a+dotprod+i8mm" ;;
  esac
}
isa_macro() {
  case "$1" in
    avx2) echo TR_HAVE_AVX2 ;; avx512) echo TR_HAVE_AVX512 ;; vnni) echo TR_HAVE_AVX512VNNI ;;
    neon) echo TR_HAVE_NEON ;; neondot) echo TR_HAVE_NEONDOT ;; i8mm) echo TR_HAVE_I8MM ;;
  esac
}
all_isas="avx2 avx512 vnni neon neondot i8mm"
isa_of() { # the ISA suffix of a kernel file, or nothing
  local stem; stem=$(basename "$1" .c); local suf=${stem##*-}
  [[ "$stem" == *-* ]] && [[ " $all_isas " == *" $suf "* ]] && echo "$suf" || true
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$target" = core-aarch64 ]; then
  # Every C file setup.py would build for aarch64 (no Python headers needed: _core.pyx is not C).
  macros=()
  for isa in "${isas[@]}"; do ls csrc/kernels/*/*-"$isa".c >/dev/null 2>&1 && macros+=(-D"$(isa_macro "$isa")"=1); done
  jobs=$(nproc 2>/dev/null || echo 2); n=0
  for f in csrc/runtime/*.c csrc/model/*.c csrc/threadpool/*.c csrc/isa/*.c csrc/ops/*/*.c \
           csrc/reference/*.c csrc/planner/*.c csrc/kernels/*/*.c; do
    [ -f "$f" ] || continue
    isa=$(isa_of "$f")
    case " avx2 avx512 vnni " in *" $isa "*) [ -n "$isa" ] && continue ;; esac
    flags=$( [ -n "$isa" ] && isa_flags "$isa" || true )
    n=$((n + 1))
    (
      # shellcheck disable=SC2086
      if ! "$cc" "${base[@]}" -Werror=implicit-function-declaration "${macros[@]}" $flags -c "$f" \
           -o "$tmp/$n.o" 2>"$tmp/$n.err"; then
        { echo "FAIL $f"; cat "$tmp/$n.err"; } >"$tmp/$n.log"; touch "$tmp/$n.failed"
      elif [ -s "$tmp/$n.err" ]; then
        { echo "WARN $f"; cat "$tmp/$n.err"; } >"$tmp/$n.log"
      fi
    ) &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  done
  wait
  cat "$tmp"/*.log 2>/dev/null || true
  fails=$(find "$tmp" -name '*.failed' | wc -l)
  echo "core-aarch64: $n files compiled, $fails failed"
  [ "$fails" = 0 ]
  exit
fi

: "${out:?build.sh $target needs an output path}"

# Families with a config file; their header must be there too.
families=()
for cfg in csrc/kernels/*/*-config.c; do
  [ -f "$cfg" ] || continue
  fam=$(basename "$(dirname "$cfg")")
  [ -f "csrc/kernels/$fam/$fam.h" ] && families+=("$fam")
done

defs=()
for fam in "${families[@]}"; do defs+=(-DTR_TEST_$(echo "$fam" | tr a-z A-Z)=1); done
present=()
for isa in "${isas[@]}"; do
  found=0
  for fam in "${families[@]}"; do ls csrc/kernels/"$fam"/*-"$isa".c >/dev/null 2>&1 && found=1; done
  if [ $found = 1 ]; then present+=("$isa"); defs+=(-D"$(isa_macro "$isa")"=1); fi
done

jobs=$(nproc 2>/dev/null || echo 2)
objs=()
compile() { # file extra-flags...: in the background, at most $jobs at a time
  local f=$1; shift
  local o="$tmp/$(echo "$f" | tr '/' '_').o"
  objs+=("$o")
  ( "$cc" "${base[@]}" "${defs[@]}" "$@" -c "$f" -o "$o" || touch "$tmp/failed" ) &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
}
for f in tests/native/*.c csrc/isa/cpu.c csrc/model/quant.c; do compile "$f"; done
for fam in "${families[@]}"; do
  for f in csrc/kernels/"$fam"/*.c; do
    isa=$(isa_of "$f")
    if [ -z "$isa" ]; then compile "$f"
    elif [[ " ${present[*]-} " == *" $isa "* ]]; then
      # shellcheck disable=SC2046
      compile "$f" $(isa_flags "$isa")
    fi
  done
done
wait
if [ -e "$tmp/failed" ]; then echo "build.sh: compilation failed" >&2; exit 1; fi
"$cc" "${objs[@]}" "${link[@]}" -lm -lpthread -o "$out"
echo "built $out ($target; families: ${families[*]-none}; isas: ${present[*]-none})"
