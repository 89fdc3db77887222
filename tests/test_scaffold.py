"""``harness new-env``: bad input is one line; each domain's package passes its own test at once
(the maths one also runs in tests/test_plugins_doc.py through the tutorial)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import cli_env, run_cli
from harness.scaffold import ScaffoldError, scaffold


@pytest.mark.parametrize("name", ["My-Bench", "1bench", "x", "has space"])
def test_bad_names_are_refused(name, tmp_path):
    with pytest.raises(ScaffoldError, match="lower-case Python identifier"):
        scaffold(name, "math", tmp_path / "out")


def test_cli_errors_are_one_line(tmp_path):
    proc = run_cli(["new-env", "ok_name", "--domain", "chemistry", "--out", str(tmp_path / "a")], env=cli_env())
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "math, qa, web" in proc.stderr
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("mine")
    proc = run_cli(["new-env", "ok_name", "--domain", "math", "--out", str(tmp_path / "b")], env=cli_env())
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert (tmp_path / "b" / "keep.txt").read_text() == "mine"


def test_math_package_layout_and_entry_point(tmp_path):
    files = {p.relative_to(tmp_path / "pkg").as_posix() for p in scaffold("my_bench", "math", tmp_path / "pkg")}
    assert {"pyproject.toml", "my_bench/env.py", "my_bench/data/test.jsonl", "my_bench/data/exemplars.jsonl",
            "tests/test_my_bench.py"} <= files
    pyproject = (tmp_path / "pkg" / "pyproject.toml").read_text()
    assert 'my_bench = "my_bench.env:MyBench"' in pyproject and '"moat-harness>=0.1"' in pyproject
    assert 'my_bench = ["data/*.jsonl"]' in pyproject


@pytest.mark.slow
@pytest.mark.parametrize("domain", ["web", "qa"])
def test_web_and_qa_packages_pass_their_own_test(domain, tmp_path):
    """Loads the MiniLM ranker (web) and the default reader model (qa): tens of seconds each."""
    scaffold(f"my_{domain}", domain, tmp_path / "pkg")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                          cwd=tmp_path / "pkg", capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
