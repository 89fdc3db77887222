#!/usr/bin/env bash
# Wall and CPU time of the demo's eval (`make demo` minus set-up) in bfloat16 and float32, on this CPU's
# kernels and on emulated AVX2-only kernels (ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
# MKL_ENABLE_INSTRUCTIONS=AVX2).
# Needs `make setup` first. With OMP_NUM_THREADS=1 the CPU time is what the wall time is on an idle
# machine; the load average before and after says how busy this one was.
#
#   bash bench/demo_timing.sh [LIMIT] [native:bfloat16 avx2:bfloat16 native:float32 avx2:float32]
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${1:-16}; shift || true
CONFIGS=${*:-native:bfloat16 avx2:bfloat16 native:float32 avx2:float32}
OUT=${OUT:-runs/demo-timing}
export HARNESS_MOAT_RUN=training/shipped/moat HARNESS_LUMOS_RUN=training/shipped/lumos OMP_NUM_THREADS=1
if [ -z "${HARNESS_DATA_DIR:-}" ] && [ -d ../shared/benchmarks ]; then export HARNESS_DATA_DIR=$(cd ../shared/benchmarks && pwd); fi
for c in $CONFIGS; do
  iso=${c%%:*}; dtype=${c##*:}
  isa=(); [ "$iso" = avx2 ] && isa=(ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2)
  cfg=$(mktemp --suffix=.yaml); printf 'agent:\n  backend_options: {dtype: %s}\n' "$dtype" > "$cfg"
  dir=$OUT/$iso-$dtype; rm -rf "$dir"; mkdir -p "$OUT"
  load0=$(cut -d' ' -f1 /proc/loadavg)
  TIMEFORMAT="%R %U %S"
  rc=0
  t=$( { time env "${isa[@]}" .venv/bin/harness eval --agents moat,lumos --benchmarks gsm8k --limit "$LIMIT" \
        --batch-size 16 --output-dir "$dir" --config "$cfg" >"$dir.log" 2>&1; } 2>&1 ) || rc=$?
  read -r wall user sys <<<"$t"
  echo "$iso $dtype limit=$LIMIT wall=${wall}s cpu=$(awk "BEGIN{print $user + $sys}")s" \
    "load=$load0..$(cut -d' ' -f1 /proc/loadavg) rc=$rc (log: $dir.log)"
  rm -f "$cfg"
done
