"""End to end: real ``harness eval`` runs (installed toy plug-in; the maths environments when they are
available) turned into a leaderboard by the ``harness leaderboard`` command in a subprocess."""

from __future__ import annotations

import json

import pytest
from conftest import cli_env, run_cli


def _eval(args: list[str], env: dict[str, str], cwd) -> None:
    proc = run_cli(["eval", *args], env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_leaderboard_from_real_toy_runs(plugin_site, tmp_path):
    env = cli_env(plugin_site)
    runs = tmp_path / "runs"
    cfg = tmp_path / "wrong.yaml"
    cfg.write_text("agent:\n  wrong_every: 3\nenv:\n  toy_arith:\n    n: 30\n")
    good = tmp_path / "good.yaml"
    good.write_text("env:\n  toy_arith:\n    n: 30\n")
    _eval(["--agents", "oracle", "--benchmarks", "toy_arith", "--output-dir", str(runs), "--config", str(good)], env, tmp_path)
    _eval(["--agents", "toy_echo", "--benchmarks", "toy_arith", "--output-dir", str(runs), "--config", str(cfg)], env, tmp_path)

    out = tmp_path / "board" / "toy.md"
    proc = run_cli(["leaderboard", "--runs", str(runs), "--out", str(out), "--html", "--png",
                    "--compare", "oracle", "toy_echo"], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = out.read_text()
    # toy_echo errs on ids 0, 3, ..., 27 (10 of 30): 66.7; oracle replays gold: 100.
    assert "[66.7 (" in md and "](../runs/toy_echo/toy_arith-test/results.json)" in md
    assert "[100.0 (100.0–100.0)](../runs/oracle/toy_arith-test/results.json)" in md
    # exact McNemar: 10 discordant pairs all favouring oracle -> 2 / 2^10
    assert "| toy_arith-test | 30 | 100.0 | 66.7 | +33.3 (" in md and f"10 / 0, p = {2 / 1024:.4g} |" in md
    res = json.loads((runs / "toy_echo" / "toy_arith-test" / "results.json").read_text())
    assert res["n"] == 30 and res["metrics"]["accuracy"] == pytest.approx(20 / 30)
    assert out.with_suffix(".html").exists() and out.with_suffix(".png").stat().st_size > 10_000


def test_leaderboard_from_real_maths_runs(data_dir, tmp_path):
    """GSM8K/SVAMP oracle runs on real data fill Table 2 cells (skips until the maths envs land)."""
    from harness.registry import ENVS, PluginLoadError

    for name in ("gsm8k", "svamp"):
        try:
            ENVS.get(name)
        except (KeyError, PluginLoadError) as exc:
            pytest.skip(f"environment {name} not available yet: {exc}")
    env = cli_env(HARNESS_DATA_DIR=str(data_dir))
    runs = tmp_path / "runs"
    _eval(["--agents", "oracle", "--benchmarks", "gsm8k,svamp", "--limit", "20", "--output-dir", str(runs)], env, tmp_path)
    proc = run_cli(["leaderboard", "--runs", str(runs)], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| **oracle** |"))
    assert "oracle/gsm8k-test/results.json" in row and "/svamp-" in row
    assert "*not run*" in row and "*incomplete*" in row  # Mind2Web etc. were not run
    assert "GSM8K: 20 tasks (paper: 500" in proc.stdout
