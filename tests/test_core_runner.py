"""Runner: records on disk, resume, config-hash refusal, torn lines, agent failures."""

from __future__ import annotations

import json

import pytest

from harness.records import RunResult, SampleRecord, SampleStatus, Trajectory
from harness.runner import ConfigMismatchError, evaluate, read_samples, run_dir_for


def _lines(path):
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def test_run_writes_config_samples_results(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    env = ToyArith(n=10)
    res = evaluate(env, ToyEchoAgent(wrong_every=5), "toy_echo", "test", tmp_path, batch_size=3, seed=1)
    root = run_dir_for(tmp_path, "toy_echo", "toy_arith", "test")
    assert {p.name for p in root.iterdir()} == {"config.json", "samples.jsonl", "results.json"}
    samples = _lines(root / "samples.jsonl")
    assert [s["id"] for s in samples] == [f"toy-{i}" for i in range(10)]
    # ids 0 and 5 are answered wrong on purpose
    assert res.n == 10 and res.metrics["accuracy"] == pytest.approx(0.8)
    lo, hi = res.ci95["accuracy"]
    assert lo <= 0.8 <= hi and hi - lo > 0
    disk = RunResult.model_validate_json((root / "results.json").read_text())
    assert disk.config_hash == json.loads((root / "config.json").read_text())["config_hash"]
    assert disk.main_metric == "accuracy" and disk.status_counts["ok"] == 10
    assert {"harness_git", "python", "torch"} <= set(disk.versions)


def test_resume_skips_finished_ids(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    env = ToyArith(n=9)
    evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path, limit=4, batch_size=2)

    seen: list[str] = []

    class Spy(ToyEchoAgent):
        def run(self, tasks, env):
            seen.extend(t.id for t in tasks)
            return super().run(tasks, env)

    res = evaluate(env, Spy(), "toy_echo", "test", tmp_path, batch_size=2)
    assert seen == [f"toy-{i}" for i in range(4, 9)]
    assert res.n == 9 and res.metrics["accuracy"] == 1.0
    ids = [s["id"] for s in _lines(run_dir_for(tmp_path, "toy_echo", "toy_arith", "test") / "samples.jsonl")]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 9


def test_different_config_hash_is_refused(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    env = ToyArith(n=3)
    evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path)
    with pytest.raises(ConfigMismatchError, match="config hash"):
        evaluate(env, ToyEchoAgent(wrong_every=2), "toy_echo", "test", tmp_path)
    with pytest.raises(ConfigMismatchError):
        evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path, seed=7)
    # transport options (batch size, limit) do not change identity
    evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path, batch_size=1, limit=2)


def test_torn_last_line_is_dropped_and_rerun(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    env = ToyArith(n=4)
    evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path)
    samples = run_dir_for(tmp_path, "toy_echo", "toy_arith", "test") / "samples.jsonl"
    lines = samples.read_text().splitlines(keepends=True)
    samples.write_text("".join(lines[:2]) + lines[2][:40])  # a kill mid-write
    assert [r.id for r in read_samples(samples)] == ["toy-0", "toy-1"]
    assert samples.read_text().endswith("\n")
    res = evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path)
    assert res.n == 4 and len(_lines(samples)) == 4


def test_failing_batch_is_run_task_by_task_and_the_crash_is_recorded(tmp_path, toy_plugin_in_process):
    """A batch that raises is run task by task: its other task is recorded as usual, the crashing
    one as harness_error with the error text, and a rerun executes nothing again (no crash loop)."""
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    env = ToyArith(n=6)
    seen: list[list[str]] = []

    class Flaky(ToyEchoAgent):
        def run(self, tasks, env):
            seen.append([t.id for t in tasks])
            if any(t.id == "toy-3" for t in tasks):
                raise RuntimeError("backend died")
            return super().run(tasks, env)

    res = evaluate(env, Flaky(), "toy_echo", "test", tmp_path, batch_size=2)
    assert seen == [["toy-0", "toy-1"], ["toy-2", "toy-3"], ["toy-2"], ["toy-3"], ["toy-4", "toy-5"]]
    assert res.n == 6 and res.status_counts["harness_error"] == 1 and res.metrics["accuracy"] == 5 / 6
    rec = {r.id: r for r in read_samples(run_dir_for(tmp_path, "toy_echo", "toy_arith", "test") / "samples.jsonl")}
    assert rec["toy-3"].status == SampleStatus.HARNESS_ERROR and rec["toy-3"].metrics == {"accuracy": 0.0}
    assert "RuntimeError: backend died" in rec["toy-3"].trajectory.error
    assert rec["toy-2"].status == SampleStatus.OK
    seen.clear()
    res = evaluate(env, Flaky(), "toy_echo", "test", tmp_path, batch_size=2)
    assert seen == [] and res.n == 6


def test_trajectory_status_counts(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    env = ToyArith(n=2)

    class Bad(ToyEchoAgent):
        def run(self, tasks, env):
            return [Trajectory(status=SampleStatus.MAX_ROUNDS, error="budget") for _ in tasks]

    res = evaluate(env, Bad(), "bad", "test", tmp_path)
    assert res.status_counts["max_rounds"] == 2 and res.metrics["accuracy"] == 0.0
    rec = read_samples(run_dir_for(tmp_path, "bad", "toy_arith", "test") / "samples.jsonl")[0]
    assert isinstance(rec, SampleRecord) and rec.trajectory.error == "budget"


def test_duplicate_task_ids_rejected(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process

    class Dup(ToyArith):
        def load(self, split, limit=None):
            t = super().load(split, limit)
            return t + t[:1]

    with pytest.raises(ValueError, match="duplicate task ids"):
        evaluate(Dup(n=3), ToyEchoAgent(), "toy_echo", "test", tmp_path)


def test_single_sample_run_round_trips_nan_stderr(tmp_path, toy_plugin_in_process):
    """One sample has no stderr: stored as JSON null (strict JSON), read back as NaN."""
    import math

    ToyArith, ToyEchoAgent = toy_plugin_in_process
    evaluate(ToyArith(n=3), ToyEchoAgent(), "toy_echo", "test", tmp_path, limit=1)
    path = run_dir_for(tmp_path, "toy_echo", "toy_arith", "test") / "results.json"
    raw = json.loads(path.read_text())
    assert raw["stderr"]["accuracy"] is None
    back = RunResult.model_validate_json(path.read_text())
    assert math.isnan(back.stderr["accuracy"]) and back.metrics["accuracy"] == 1.0


def test_each_sample_names_its_commit_and_an_extended_run_counts_both(tmp_path, toy_plugin_in_process, monkeypatch):
    import harness.runner as runner

    ToyArith, ToyEchoAgent = toy_plugin_in_process
    env = ToyArith(n=6)
    monkeypatch.setattr(runner, "collect_versions", lambda: {"harness_git": "a" * 40, "python": "3"})
    evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path, limit=4, batch_size=2)
    monkeypatch.setattr(runner, "collect_versions", lambda: {"harness_git": "b" * 40 + "-dirty", "python": "3"})
    res = evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path, batch_size=2)
    samples = read_samples(run_dir_for(tmp_path, "toy_echo", "toy_arith", "test") / "samples.jsonl")
    assert [s.harness_git[0] for s in samples] == ["a"] * 4 + ["b"] * 2
    assert res.sample_commits == {"a" * 40: 4, "b" * 40 + "-dirty": 2}
    assert res.versions["harness_git"] == "b" * 40 + "-dirty", "versions: the session that last extended the run"


def test_samples_from_before_schema_1_1_count_as_unrecorded(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    env = ToyArith(n=4)
    evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path, limit=2, batch_size=2)
    path = run_dir_for(tmp_path, "toy_echo", "toy_arith", "test") / "samples.jsonl"
    old = [{k: v for k, v in s.items() if k != "harness_git"} | {"schema_version": "1.0"} for s in _lines(path)]
    path.write_text("".join(json.dumps(s) + "\n" for s in old))
    res = evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path, batch_size=2)
    assert res.sample_commits.get("unrecorded") == 2 and sum(res.sample_commits.values()) == 4
