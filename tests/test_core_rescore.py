"""``harness rescore``: metrics recomputed from stored samples, identity re-stamped, nothing else touched."""

from __future__ import annotations

import json

import pytest

from harness.records import RunConfig
from harness.rescore import RescoreError, rescore_run
from harness.runner import config_hash, evaluate, run_dir_for
from leaderboards.collect import load_run


def _versioned(ToyArith, version, strict_ids=()):
    class Rescored(ToyArith):
        """Version 2 scores some samples differently and adds a corpus-level metric."""

        def score(self, task, trajectory):
            out = super().score(task, trajectory)
            if task.id in strict_ids:
                out["accuracy"] = 0.0
            return out | {"hits": out["accuracy"]}

        def aggregate(self, per_sample):
            base = super().aggregate(per_sample)
            return base | {"hit_share": sum(m["hits"] for m in per_sample) / len(per_sample)}

    Rescored.version = version
    return Rescored


def test_rescore_rewrites_metrics_identity_and_record(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    evaluate(ToyArith(n=6), ToyEchoAgent(), "toy_echo", "test", tmp_path, seed=2)
    root = run_dir_for(tmp_path, "toy_echo", "toy_arith", "test")
    before = (root / "samples.jsonl").read_text().splitlines()
    env = _versioned(ToyArith, "2", strict_ids=("toy-1", "toy-4"))(n=6)
    report = rescore_run(env, root)
    assert report.samples_changed == 6  # every sample gains "hits"; two also lose accuracy
    changes = {c.metric: (c.old, c.new) for c in report.changes}
    assert changes["accuracy"] == (1.0, pytest.approx(4 / 6)) and changes["hit_share"] == (None, pytest.approx(4 / 6))
    after = [json.loads(line) for line in (root / "samples.jsonl").read_text().splitlines()]
    old = [json.loads(line) for line in before]
    for o, n in zip(old, after):  # only the metrics differ
        assert {k: v for k, v in o.items() if k != "metrics"} == {k: v for k, v in n.items() if k != "metrics"}
    raw = json.loads((root / "config.json").read_text())
    assert raw["benchmark_version"] == "2" and raw["config_hash"] == config_hash(RunConfig.model_validate(raw))
    assert raw["rescored"][0]["from_version"] == "1" and raw["rescored"][0]["samples_changed"] == 6
    run = load_run(root)  # config and results agree, and samples reproduce results.json
    assert run.result.benchmark_version == "2" and run.result.config_hash == raw["config_hash"]
    assert run.result.metrics["accuracy"] == pytest.approx(4 / 6)
    values, reason = run.per_sample("accuracy")
    assert reason is None and sum(values.values()) == 4
    assert run.per_sample("hit_share") == (None, "'hit_share' is a corpus-level metric of toy_arith (no per-sample values)")
    assert "rescored from stored samples" in run.result.notes[-1]
    # a fresh eval with the new version resumes into the re-stamped run (same identity)
    res = evaluate(env, ToyEchoAgent(), "toy_echo", "test", tmp_path, seed=2)
    assert res.n == 6 and res.metrics["accuracy"] == pytest.approx(4 / 6)
    # already at the version: left alone
    assert rescore_run(env, root).skipped


def test_unchanged_samples_keep_their_bytes(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    evaluate(ToyArith(n=3), ToyEchoAgent(), "toy_echo", "test", tmp_path)
    root = run_dir_for(tmp_path, "toy_echo", "toy_arith", "test")
    before = (root / "samples.jsonl").read_bytes()
    env = ToyArith(n=3)
    env.version = "1b"
    assert rescore_run(env, root).samples_changed == 0
    assert (root / "samples.jsonl").read_bytes() == before


def test_rescore_refuses_other_data(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process
    evaluate(ToyArith(n=3), ToyEchoAgent(), "toy_echo", "test", tmp_path)
    root = run_dir_for(tmp_path, "toy_echo", "toy_arith", "test")
    env = _versioned(ToyArith, "2")(n=3)
    env.data_checksum = lambda split: "something-else"
    with pytest.raises(RescoreError, match="data checksum"):
        rescore_run(env, root, dry_run=True)
    with pytest.raises(RescoreError, match="not a finished run"):
        rescore_run(env, tmp_path)


def test_cli_rescores_and_bad_input_is_one_line(tmp_path, plugin_site):
    from conftest import cli_env, run_cli

    env = cli_env(plugin_site)
    out = tmp_path / "runs"
    r = run_cli(["eval", "--agents", "toy_echo", "--benchmarks", "toy_arith", "--output-dir", str(out)], env=env)
    assert r.returncode == 0, r.stderr
    r = run_cli(["rescore", str(out), "--dry-run"], env=env)
    assert r.returncode == 0 and "skipped (already at version 1)" in r.stdout
    r = run_cli(["rescore", str(tmp_path / "nothing")], env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no run directories" in r.stderr
    bad = out / "toy_echo" / "toy_arith-test" / "config.json"
    bad.write_text("{not json")
    r = run_cli(["rescore", str(out)], env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not a harness run config" in r.stderr


def test_resume_after_a_version_bump_names_rescore(tmp_path, toy_plugin_in_process):
    from harness.runner import ConfigMismatchError

    ToyArith, ToyEchoAgent = toy_plugin_in_process
    evaluate(ToyArith(n=2), ToyEchoAgent(), "toy_echo", "test", tmp_path)
    with pytest.raises(ConfigMismatchError, match="harness rescore"):
        evaluate(_versioned(ToyArith, "2")(n=2), ToyEchoAgent(), "toy_echo", "test", tmp_path)
