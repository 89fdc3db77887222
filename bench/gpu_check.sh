#!/usr/bin/env bash
# The GPU check (issue 19): on a CUDA machine that has torch, transformers, peft and accelerate but nothing
# else of this project's pins and no network, in <= 6 minutes: the tiny-preset MOAT loop on CUDA (bf16),
# `harness eval` with the hf backend on a few GSM8K fixture tasks, and the KV-reserve / shared-prefix
# attention paths against transformers' own `generate`; prints a pass/fail table (bench/gpu_check.py).
#
#   bash bench/gpu_check.sh --fetch-wheels   # here, with the package index: the wheels to carry -> .whl/
#   bash bench/gpu_check.sh                  # there (carry .whl): install the wheels + the project, run on CUDA
#   bash bench/gpu_check.sh --device cpu     # the same checks on CPU (dry run of everything but CUDA)
#
# Wheels carried (exact pins of pyproject.toml; the machine's image lacks them; 18 MB, with the tracked
# tree 59 MiB of the 64 MiB that travels, as of issue 19; --fetch-wheels recomputes it): trl and its datasets/dill/multiprocess, pydantic and its
# pydantic-core/annotated-types/typing-inspection/typing-extensions, and transformers==5.23.0 with regex (the
# image has transformers 5.17; pydantic and transformers need newer typing-extensions / regex than it may hold).
# Not carried (too big for the budget): pyarrow, which datasets 5.2 needs at >= 24; the env check prints it.
# The image already holds torch, peft, accelerate, numpy, pandas, pyarrow, rich, pyyaml, sympy, httpx,
# filelock, matplotlib, huggingface-hub, tokenizers, safetensors (bench/gpu_check.py prints the versions).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=(trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 pydantic==2.14.4 pydantic_core==2.50.5
        annotated-types==0.8.0 typing-inspection==0.4.5 typing-extensions==4.16.0 transformers==5.23.0
        regex==2026.11.19)
WHL=.whl
DEVICE=cuda
case "${1:-}" in
  --fetch-wheels)
    mkdir -p "$WHL"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$WHL" "${WHEELS[@]}"
    wheels=$(du -cb "$WHL"/*.whl | tail -1 | cut -f1)
    tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
    total=$((wheels + tree))
    echo "wheels $((wheels / 1048576)) MiB + tracked tree $((tree / 1048576)) MiB = $((total / 1048576)) MiB (limit 64 MiB)"
    ls "$WHL"
    [ "$total" -lt $((64 * 1048576)) ] || { echo "over the 64 MiB that travels"; exit 1; }
    exit 0 ;;
  --device) DEVICE="${2:?--device cuda|cpu}" ;;
  "") ;;
  *) echo "usage: bash bench/gpu_check.sh [--fetch-wheels | --device cuda|cpu]"; exit 2 ;;
esac
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
if ! "$PY" -c "import trl, pydantic; from importlib.metadata import distribution; distribution('moat-harness')" 2>/dev/null; then
  # the bare machine: the carried wheels, then this project (its entry points register the envs/agents)
  ls "$WHL"/*.whl >/dev/null 2>&1 || { echo "no wheels in $WHL: run 'bash bench/gpu_check.sh --fetch-wheels' here and carry $WHL"; exit 2; }
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHL"/*.whl
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --no-build-isolation --target /tmp/site-harness .
  export PYTHONPATH="/tmp/site-harness:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
OUTDIR="${OUT:-/tmp/gpu_check}"
mkdir -p "$OUTDIR"
# 330 s budget for the checks + installs: within the 6 minutes of a short loan
set +e
timeout 345 "$PY" bench/gpu_check.py --device "$DEVICE" --work /tmp/gpu_check_work --table "$OUTDIR/gpu_check.md" \
  2> "$OUTDIR/gpu_check.log"
rc=$?
[ "$rc" -eq 0 ] || { echo "--- rc $rc; last lines of $OUTDIR/gpu_check.log"; tail -n 25 "$OUTDIR/gpu_check.log"; }
exit "$rc"
