"""docs/plugins.md cannot rot: its tested command blocks run literally, in order, in a fresh folder
(scaffold, install with pip --target, list, doctor NAME, the package's own test, an oracle eval, a
leaderboard), with this interpreter's bin folder first on PATH."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

DOC = REPO / "docs" / "plugins.md"
BLOCK = re.compile(r"<!-- tested -->\s*```bash\n(.*?)```", re.S)


def _tested_commands() -> list[str]:
    return [line for block in BLOCK.findall(DOC.read_text(encoding="utf-8")) for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_doc_has_the_tutorial_steps():
    joined = "\n".join(_tested_commands())
    for step in ("harness new-env", "pip install", "harness list", "harness doctor word_problems",
                 "harness eval --agents oracle", "harness leaderboard"):
        assert step in joined, step


def test_tutorial_commands_run_literally(tmp_path):
    script = "set -euo pipefail\n" + "\n".join(_tested_commands()) + "\n"
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["HARNESS_DATA_DIR"] = str(tmp_path / "no-benchmark-data")  # the plug-in ships its own
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "│ word_problems │ math" in proc.stdout
    assert "env word_problems: ok" in out and "oracle em_numeric = 1.00" in out
    assert "1 passed" in out
    table_row = next(ln for ln in proc.stdout.splitlines() if "word_problems-test" in ln)  # eval's summary table
    assert "oracle" in table_row and "em_numeric" in table_row and "1.0000" in table_row
    board = (tmp_path / "board.md").read_text(encoding="utf-8")
    extra = board.split("## Extra benchmarks (not in the paper)")[1].split("\n## ")[0]
    assert "| **oracle** |" in extra and "[100.0 (100.0–100.0)]" in extra
    assert "package word-problems 0.1.0" in extra
