#!/usr/bin/env bash
# Reproduces leaderboards/cpu-smollm2-135m.{md,html,png}: base, agenttuning, lumos and moat on
# SmolLM2-135M-Instruct, evaluated on the six benchmarks (by default on slices; web ones on the
# repository's fixtures), then `harness leaderboard` with the paired MOAT-vs-Lumos comparison.
#
# The trained producers are the exports in training/shipped/<method> (their manifest.json names the
# `harness train ... --preset cpu-small` command, config hash, data checksums and versions).
# Runs resume: rerunning skips finished samples; raising a limit extends a run.
#
#   AGENTS=moat,lumos bash leaderboards/cpu-smollm2-135m/run.sh     # a subset of rows
# The committed board (the paper's protocol, every row): N_GSM8K=500 N_SVAMP=1000 N_QA=229 N_QA_LUMOS=100.
#   STEP=board bash leaderboards/cpu-smollm2-135m/run.sh            # only rebuild the leaderboard
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=leaderboards/cpu-smollm2-135m
OUT=${OUT:-$HERE/runs}
AGENTS=${AGENTS:-moat,lumos,agenttuning,base}
N_MATH=${N_MATH:-96}         # GSM8K (paper: first 500) and SVAMP (paper: 1000) ...
N_GSM8K=${N_GSM8K:-$N_MATH}  # ... or each on its own
N_SVAMP=${N_SVAMP:-$N_MATH}
N_QA=${N_QA:-48}             # StrategyQA dev (229 held-out questions)
N_QA_LUMOS=${N_QA_LUMOS:-$N_QA}  # StrategyQA lumos split and HotpotQA (paper: first 100 of each)
N_WEBSHOP=${N_WEBSHOP:-10}   # fixture goals
BATCH=${BATCH:-16}
STEP=${STEP:-all}
for m in lumos agenttuning moat; do export "HARNESS_$(echo $m | tr a-z A-Z)_RUN=training/shipped/$m"; done

ev() { harness eval --agents "$AGENTS" --batch-size "$BATCH" --output-dir "$OUT" "$@"; }
if [ "$STEP" = all ] || [ "$STEP" = eval ]; then
  ev --benchmarks gsm8k --limit "$N_GSM8K"
  ev --benchmarks svamp --limit "$N_SVAMP"
  ev --benchmarks strategyqa,hotpotqa --split lumos --limit "$N_QA_LUMOS"
  ev --benchmarks strategyqa --split dev --limit "$N_QA"
  ev --benchmarks mind2web --split test_domain --data-dir tests/fixtures
  ev --benchmarks webshop --limit "$N_WEBSHOP" --config "$HERE/webshop-fixture.yaml"
fi
if [ "$STEP" = all ] || [ "$STEP" = board ]; then
  harness leaderboard --runs-dir "$OUT" --output leaderboards/cpu-smollm2-135m.md --html --png --compare moat lumos \
    --preface "$HERE/preface.md" \
    --title "MOAT vs Lumos vs AgentTuning on SmolLM2-135M-Instruct (2-core CPU, cpu-small preset)"
fi
