"""CLI end to end through a subprocess, with the test plug-in installed like a third-party package."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, cli_env, run_cli


def test_list_json_has_builtins_and_plugin(plugin_site):
    proc = run_cli(["list", "--json"], env=cli_env(plugin_site))
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    envs = {e["name"]: e for e in listing["envs"]}
    agents = {a["name"] for a in listing["agents"]}
    assert envs["toy_arith"]["domain"] == "math"
    assert envs["toy_arith"]["main_metric"] == "accuracy"
    assert {"name", "domain", "version", "splits", "main_metric"} <= set(envs["toy_arith"])
    assert {"toy_echo", "oracle"} <= agents


def test_list_without_plugin_has_no_plugin_entries():
    proc = run_cli(["list", "--json"], env=cli_env())
    listing = json.loads(proc.stdout)
    assert "toy_arith" not in {e["name"] for e in listing["envs"]}


def test_eval_show_and_config_file(plugin_site, tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("agents: toy_echo\nbenchmarks: toy_arith\nlimit: 5\nagent:\n  wrong_every: 2\nenv:\n  toy_arith:\n    n: 8\n")
    out = tmp_path / "runs"
    proc = run_cli(["eval", "--config", str(cfg), "--output-dir", str(out)], env=cli_env(plugin_site))
    assert proc.returncode == 0, proc.stderr
    res = json.loads((out / "toy_echo" / "toy_arith-test" / "results.json").read_text())
    # wrong_every=2 breaks ids 0, 2, 4 of the first five
    assert res["n"] == 5 and res["metrics"]["accuracy"] == pytest.approx(0.4)
    for key in ("schema_version", "agent", "benchmark", "split", "n", "main_metric", "metrics", "ci95", "versions", "config_hash"):
        assert key in res
    config = json.loads((out / "toy_echo" / "toy_arith-test" / "config.json").read_text())
    assert config["command"].startswith("harness eval --config")
    show = run_cli(["show", str(out / "toy_echo" / "toy_arith-test"), "--samples", "1"], env=cli_env(plugin_site))
    assert show.returncode == 0, show.stderr
    assert "accuracy" in show.stdout and "R1 = Add(0, 1)" in show.stdout


def test_unknown_names_get_suggestions(plugin_site, tmp_path):
    proc = run_cli(["eval", "--agents", "toy_echo", "--benchmarks", "toy_arit", "--output-dir", str(tmp_path)], env=cli_env(plugin_site))
    assert proc.returncode == 2
    assert "Did you mean 'toy_arith'" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli(["eval", "--agents", "orcale", "--benchmarks", "toy_arith", "--output-dir", str(tmp_path)], env=cli_env(plugin_site))
    assert proc.returncode == 2 and "Did you mean 'oracle'" in proc.stderr


def test_bad_config_file_is_one_clear_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("agents: oracle\nbenchmarks: gsm8k\nlimitt: 3\n")
    proc = run_cli(["eval", "--config", str(cfg)], env=cli_env())
    assert proc.returncode == 2 and "unknown option(s)" in proc.stderr and "limitt" in proc.stderr


def test_config_hash_refusal_via_cli(plugin_site, tmp_path):
    base = ["eval", "--agents", "toy_echo", "--benchmarks", "toy_arith", "--output-dir", str(tmp_path)]
    assert run_cli(base, env=cli_env(plugin_site)).returncode == 0
    proc = run_cli([*base, "--seed", "3"], env=cli_env(plugin_site))
    assert proc.returncode == 2 and "config hash" in proc.stderr


def test_sigkill_mid_run_then_rerun_completes(plugin_site, tmp_path):
    """Kill -9 while running; the rerun resumes and loses at most the batch in flight."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("agents: toy_echo\nbenchmarks: toy_arith\nbatch_size: 2\nagent:\n  delay: 0.25\nenv:\n  toy_arith:\n    n: 40\n")
    out = tmp_path / "runs"
    samples = out / "toy_echo" / "toy_arith-test" / "samples.jsonl"
    cmd = [sys.executable, "-m", "harness.cli", "eval", "--config", str(cfg), "--output-dir", str(out)]
    proc = subprocess.Popen(cmd, env=cli_env(plugin_site), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        if samples.exists() and len(samples.read_text().splitlines()) >= 6:
            break
        time.sleep(0.05)
    before = len([ln for ln in samples.read_text().splitlines() if ln.strip()])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after_kill = [json.loads(ln) for ln in samples.read_text().splitlines() if ln.strip()]
    assert before >= 6 and len(after_kill) >= before  # nothing written before the kill was lost
    assert len(after_kill) < 40, "the run finished before it was killed; raise the delay"
    rerun = subprocess.run(cmd, env=cli_env(plugin_site), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming" in rerun.stderr
    ids = [json.loads(ln)["id"] for ln in samples.read_text().splitlines() if ln.strip()]
    assert sorted(ids) == sorted(f"toy-{i}" for i in range(40))
    res = json.loads((out / "toy_echo" / "toy_arith-test" / "results.json").read_text())
    assert res["n"] == 40 and res["metrics"]["accuracy"] == 1.0


def test_console_script_installed():
    script = os.path.join(os.path.dirname(sys.executable), "harness")
    proc = subprocess.run([script, "--version"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0 and "moat-harness" in proc.stdout
