"""Quiet output: no dependency progress bars or FutureWarnings unless --verbose; the eval summary table."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rich.console import Console

from conftest import REPO
from harness.records import RunResult
from harness.summary import summary_table

# Loads a checkpoint (transformers' "Loading weights" bar), then warns as a dependency and as the harness.
SCRIPT = """
import sys, warnings
from harness.quiet import quiet_libraries
quiet_libraries(verbose=sys.argv[2] == "verbose")
sys.path.insert(0, "tests")
from backends_tiny import build_tiny_checkpoint
from transformers import AutoModelForCausalLM
AutoModelForCausalLM.from_pretrained(str(build_tiny_checkpoint(__import__("pathlib").Path(sys.argv[1]))))
for module in ("transformers.modeling_utils", "peft.tuners", "harness.runner"):
    exec("import warnings; warnings.warn('deprecated in ' + __name__, FutureWarning)", {"__name__": module})
"""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    pytest.importorskip("transformers")
    out = {}
    for mode in ("quiet", "verbose"):
        ckpt = tmp_path_factory.mktemp(mode) / "ckpt"
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(ckpt), mode], cwd=REPO, capture_output=True,
                              text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(ckpt.parent)})
        assert proc.returncode == 0, proc.stderr
        out[mode] = proc.stderr
    return out


def test_quiet_hides_dependency_bars_and_future_warnings(outputs):
    err = outputs["quiet"]
    assert "Loading weights" not in err
    assert "deprecated in transformers" not in err and "deprecated in peft" not in err
    assert "deprecated in harness.runner" in err, "the harness's own warnings still show"


def test_verbose_brings_them_back(outputs):
    err = outputs["verbose"]
    assert "Loading weights" in err and "deprecated in transformers.modeling_utils" in err


def _result(agent: str, value: float, n: int, n_original: int) -> RunResult:
    return RunResult(agent=agent, benchmark="gsm8k", benchmark_version="1", split="test", n=n, n_original=n_original,
                     main_metric="em_numeric", metrics={"em_numeric": value}, stderr={"em_numeric": 0.1},
                     ci95={"em_numeric": (value - 0.1, value + 0.1)},
                     status_counts={"ok": n - 1, "invalid_action": 1, "tool_error": 0}, versions={}, config_hash="h",
                     seconds=75.4, numerics={"dtype": {"planner": {"requested": "auto", "used": "bfloat16"}},
                                             "cpu_capability": "AVX2", "bf16_native": False})


def test_summary_table_has_one_row_per_run_with_ci_statuses_and_numerics():
    console = Console(record=True, width=200)
    console.print(summary_table([_result("moat", 0.25, 16, 16), _result("lumos", 0.5, 15, 16)]))
    text = console.export_text()
    moat = next(line for line in text.splitlines() if "moat" in line)
    for cell in ("gsm8k-test", "em_numeric", "0.2500 [0.1500, 0.3500]", "16/16", "ok 15, invalid_action 1", "1:15"):
        assert cell in moat
    assert "tool_error" not in text, "zero counts are left out"
    assert "15/16" in next(line for line in text.splitlines() if "lumos" in line)
    assert "numerics: bfloat16 AVX2 (bf16 emulated)" in text, "shared numerics: one caption"
    mixed = _result("base", 0.1, 4, 4)
    mixed.numerics = {}
    console.print(summary_table([_result("moat", 0.25, 16, 16), mixed]))
    moat = next(line for line in console.export_text().splitlines() if "moat" in line)
    assert "bfloat16 AVX2 (bf16 emulated)" in moat
