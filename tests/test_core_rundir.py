"""Run directories: one writer at a time, a full disk as one line (and a rerun that repairs), env
options in the run identity through one mechanism, a refused resume that names what differs."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, cli_env
from harness.errors import UserError
from harness.records import RunConfig
from harness.rundir import DiskFullError, RunDirLock, RunLockedError, identity_diff
from harness.runner import ConfigMismatchError, config_hash, evaluate, read_samples, run_dir_for

HOLD_LOCK = """
import sys
from harness.rundir import RunDirLock
lock = RunDirLock(sys.argv[1]).acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def test_second_process_on_the_same_run_dir_is_refused(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    root = run_dir_for(tmp_path, "toy_echo", "toy_arith", "test")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(root)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match="another harness process") as err:
            evaluate(ToyArith(n=3), ToyEchoAgent(), "toy_echo", "test", tmp_path)
        assert isinstance(err.value, UserError) and "\n" not in str(err.value)
        assert not (root / "samples.jsonl").exists()  # nothing touched while refused
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    res = evaluate(ToyArith(n=3), ToyEchoAgent(), "toy_echo", "test", tmp_path)  # the lock died with its holder
    assert res.n == 3
    assert sorted(p.name for p in root.iterdir()) == ["config.json", "results.json", "samples.jsonl"]


def test_two_cli_processes_on_one_directory_write_no_duplicates(plugin_site, tmp_path):
    """The reproduction: the same command twice at once. One runs, the other stops with one line."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("agents: toy_echo\nbenchmarks: toy_arith\nbatch_size: 2\n"
                   "agent:\n  delay: 0.4\nenv:\n  toy_arith:\n    n: 12\n")
    cmd = [sys.executable, "-m", "harness.cli", "eval", "--config", str(cfg), "--output-dir", str(tmp_path / "runs")]
    procs = [subprocess.Popen(cmd, env=cli_env(plugin_site), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    samples = tmp_path / "runs" / "toy_echo" / "toy_arith-test" / "samples.jsonl"
    ids = [json.loads(ln)["id"] for ln in samples.read_text().splitlines() if ln.strip()]
    assert sorted(ids) == sorted(f"toy-{i}" for i in range(12))  # every task once
    if codes == [0, 2]:  # they overlapped (the usual case): the loser printed one clear line
        err = next(e for p, (_, e) in zip(procs, outs) if p.returncode == 2)
        assert "being written by another harness process" in err and "Traceback" not in err
        assert len([ln for ln in err.splitlines() if "error" in ln]) == 1
    else:  # the second started after the first had finished: it resumed and ran nothing
        assert codes == [0, 0]


def test_disk_full_is_one_clear_error_and_the_rerun_repairs(tmp_path, toy_plugin_in_process, monkeypatch):
    import harness.rundir as rundir

    ToyArith, ToyEchoAgent = toy_plugin_in_process
    real_write, calls = rundir.os.write, []

    def full_after_two(fd, data):
        calls.append(1)
        if len(calls) <= 2:
            return real_write(fd, data)
        real_write(fd, bytes(data[:25]))  # a torn line, as a full disk leaves it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rundir.os, "write", full_after_two)
    with pytest.raises(DiskFullError, match="no space left on the device while writing") as err:
        evaluate(ToyArith(n=8), ToyEchoAgent(), "toy_echo", "test", tmp_path, batch_size=2)
    assert isinstance(err.value, UserError) and "\n" not in str(err.value)
    monkeypatch.setattr(rundir.os, "write", real_write)
    res = evaluate(ToyArith(n=8), ToyEchoAgent(), "toy_echo", "test", tmp_path, batch_size=2)
    ids = [r.id for r in read_samples(run_dir_for(tmp_path, "toy_echo", "toy_arith", "test") / "samples.jsonl")]
    assert res.n == 8 and sorted(ids) == sorted(f"toy-{i}" for i in range(8))


def test_refused_resume_names_the_fields_that_differ(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    evaluate(ToyArith(n=2), ToyEchoAgent(), "toy_echo", "test", tmp_path)
    with pytest.raises(ConfigMismatchError) as err:
        evaluate(ToyArith(n=2), ToyEchoAgent(wrong_every=3), "toy_echo", "test", tmp_path, seed=4)
    msg = str(err.value)
    assert "agent_config.wrong_every (0 -> 3)" in msg and "seed (0 -> 4)" in msg and "\n" not in msg


def test_identity_diff_is_dotted_and_names_absent_fields():
    old = {"a": 1, "agent_config": {"planner": {"model": "x"}}}
    new = {"a": 1, "agent_config": {"planner": {"model": "y"}}, "env_options": {"tool_timeout": 1}}
    assert identity_diff(old, new) == ["agent_config.planner.model ('x' -> 'y')",
                                       "env_options ('<absent>' -> {'tool_timeout': 1})"]


def _ran_elsewhere(env) -> dict:
    """The sandbox kind enters the identity only where bubblewrap could not run (the fallback guard)."""
    kind = getattr(env, "sandbox", "bwrap")
    return {} if kind == "bwrap" else {"sandbox": kind}


def _math_env(**options):
    from envs.math.gsm8k import GSM8K

    return GSM8K(**options)


def test_env_options_enter_the_identity_only_when_not_default():
    env = _math_env()
    assert env.identity_options() == _ran_elsewhere(env)
    assert env.resolved_options()["tool_timeout"] == 5.0 and env.resolved_options()["max_actions"] == 100
    env = _math_env(isolation="inprocess", tool_timeout=2, code_model="m", max_actions=7, tool_timeout_note="x")
    assert env.identity_options() == {"isolation": "inprocess", "tool_timeout": 2, "code_model": "m", "max_actions": 7,
                                      **_ran_elsewhere(env)}
    explicit = _math_env(tool_timeout=5, isolation="worker")  # explicit defaults
    assert explicit.identity_options() == _ran_elsewhere(explicit)


@pytest.mark.parametrize("name", ["gsm8k", "svamp", "hotpotqa", "strategyqa", "mind2web", "webshop"])
def test_every_builtin_env_declares_line_limits_and_defaults_hash_as_before(name):
    from harness.registry import get_env

    cls = get_env(name)
    assert {"line_budget_s", "max_actions"} <= set(cls.identity_option_defaults())
    env = cls()
    assert env.identity_options() == _ran_elsewhere(env)
    assert cls(line_budget_s=9).identity_options() == {"line_budget_s": 9, **_ran_elsewhere(env)}
    with pytest.raises(ValueError, match="max_actions"):
        cls(max_actions=0)


def test_default_env_options_keep_the_identity_of_runs_made_before_them():
    base = dict(agent="a", agent_config={"p": 1}, benchmark="gsm8k", benchmark_version="1", split="test", seed=0)
    before = RunConfig(**base)
    assert config_hash(before) == config_hash(RunConfig(**base, env_options={}, env_settings={"tool_timeout": 5.0}))
    assert config_hash(before) != config_hash(RunConfig(**base, env_options={"tool_timeout": 1.0}))


def test_committed_leaderboard_runs_still_hash_to_their_stamp():
    files = sorted((REPO / "leaderboards").glob("*/runs/*/*/config.json"))
    assert files
    for f in files:
        raw = json.loads(f.read_text())
        assert config_hash(RunConfig.model_validate(raw)) == raw["config_hash"], f


def test_math_options_change_refuses_resume_naming_the_option(tmp_path, monkeypatch):
    """A partial maths run resumed with another tool time-out is refused, naming the option."""
    from agents.producers.oracle import OracleAgent
    from harness.records import Task

    class Tiny(type(_math_env())):
        def load(self, split, limit=None):
            return [Task(id="m0", question="1+1?", gold="2", gold_plan=["add"],
                         gold_actions=["R1 = Calculator(1 + 1)"])]

        def data_checksum(self, split):
            return "fixed"

    evaluate(Tiny(isolation="inprocess"), OracleAgent(), "oracle", "test", tmp_path)
    with pytest.raises(ConfigMismatchError, match=r"env_options.tool_timeout \('<absent>' -> 2\)"):
        evaluate(Tiny(isolation="inprocess", tool_timeout=2), OracleAgent(), "oracle", "test", tmp_path)
    conf = json.loads((run_dir_for(tmp_path, "oracle", "gsm8k", "test") / "config.json").read_text())
    assert conf["env_options"] == {"isolation": "inprocess"} and conf["env_settings"]["tool_timeout"] == 5.0


def test_lock_is_reentrant_free_and_released(tmp_path):
    lock = RunDirLock(tmp_path / "r").acquire()
    with pytest.raises(RunLockedError):
        RunDirLock(tmp_path / "r").acquire()  # flock is per open file: even this process is refused
    lock.release()
    with RunDirLock(tmp_path / "r"):
        pass
    assert Path(tmp_path / "r").is_dir()
