"""Sharded evaluation: a stable hash partition of task ids (``--shard I/N`` or RANK/WORLD_SIZE), shards
writing their own samples files, and the run directory, ``harness show`` and the leaderboard reading the
union as one run with one identity."""

from __future__ import annotations

import json

import pytest
from training_helpers import FIXTURES

from harness.cli import main
from harness.errors import ConfigError
from harness.sharding import Shard, parse_shard, read_union, resolve_shard, select, shard_from_env, shard_of


class _T:
    def __init__(self, id_):
        self.id = id_


def test_partition_is_stable_complete_and_independent_of_order_and_limit():
    # golden: sha256("gsm8k-test-0")[:8] as a big-endian integer mod 4 (never Python's salted hash)
    import hashlib

    assert shard_of("gsm8k-test-0", 4) == int(hashlib.sha256(b"gsm8k-test-0").hexdigest()[:16], 16) % 4
    tasks = [_T(f"t{i}") for i in range(200)]
    parts = [select(tasks, Shard(i, 4)) for i in range(4)]
    ids = sorted(t.id for p in parts for t in p)
    assert ids == sorted(t.id for t in tasks)  # every task exactly once
    assert all(25 <= len(p) <= 75 for p in parts)  # roughly balanced
    for i in range(4):  # a task keeps its shard when the limit grows or the order changes
        assert {t.id for t in select(tasks[:50], Shard(i, 4))} <= {t.id for t in parts[i]}
        assert {t.id for t in select(tasks[::-1], Shard(i, 4))} == {t.id for t in parts[i]}


def test_shard_from_flag_and_launcher():
    assert parse_shard("1/4") == Shard(1, 4) and str(Shard(1, 4)) == "1/4"
    for bad in ("4/4", "1-4", "a/b", "-1/2"):
        with pytest.raises(ConfigError):
            parse_shard(bad)
    assert shard_from_env({"RANK": "3", "WORLD_SIZE": "8"}) == Shard(3, 8)
    assert shard_from_env({"WORLD_SIZE": "1", "RANK": "0"}) is None and shard_from_env({}) is None
    with pytest.raises(ConfigError, match="RANK"):
        shard_from_env({"WORLD_SIZE": "2"})
    assert resolve_shard("0/2", {"RANK": "1", "WORLD_SIZE": "4"}) == Shard(0, 2)  # the flag wins
    assert resolve_shard("0/1", {}) is None


def _eval(tmp_path, *extra):
    return main(["eval", "--agents", "oracle", "--benchmarks", "gsm8k", "--split", "train", "--limit", "12",
                 "--data-dir", str(FIXTURES), "--output-dir", str(tmp_path / "runs"), *extra])


def test_shards_write_their_own_files_and_read_as_one_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    run = tmp_path / "runs" / "oracle" / "gsm8k-train"
    assert _eval(tmp_path, "--shard", "0/3") == 0  # its own shard is complete
    first = json.loads((run / "results.json").read_text())
    mine = json.loads((run / "shard-0-of-3.json").read_text())
    assert first["n"] == mine["tasks"] == len(mine["task_ids"]) and first["n_original"] == 12
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert _eval(tmp_path) == 0  # shard 1/3 from the launcher's variables
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert _eval(tmp_path, "--shard", "2/3") == 0
    files = sorted(p.name for p in run.glob("samples*.jsonl"))
    assert files == [f"samples.shard-{i}-of-3.jsonl" for i in range(3)]
    lines = [sum(1 for _ in (run / f).open()) for f in files]
    assert sum(lines) == 12 and all(n > 0 for n in lines)
    res = json.loads((run / "results.json").read_text())
    assert res["n"] == 12 and res["metrics"]["em_numeric"] == 1.0  # the union, aggregated by the last shard
    assert len(read_union(run)) == 12
    # rerunning unsharded resumes from the union: nothing left to do
    capsys.readouterr()
    assert _eval(tmp_path) == 0
    assert "12/12 samples already done" in capsys.readouterr().err
    assert main(["show", str(run)]) == 0
    assert "12 sample(s) on disk (samples.shard-0-of-3.jsonl" in capsys.readouterr().out
    from leaderboards.collect import collect_runs

    (r,) = collect_runs([tmp_path / "runs"])
    values, reason = r.per_sample("em_numeric")
    assert reason is None and len(values) == 12


def test_mixed_identities_are_refused(tmp_path, capsys):
    assert _eval(tmp_path, "--shard", "0/2") == 0
    run = tmp_path / "runs" / "oracle" / "gsm8k-train"
    manifest = run / "shard-1-of-2.json"
    manifest.write_text(json.dumps({"shard": "1/2", "config_hash": "0000deadbeef0000", "tasks": 0, "task_ids": []}))
    capsys.readouterr()
    assert main(["show", str(run)]) == 2
    assert "mixes runs" in capsys.readouterr().err
    from leaderboards.collect import LeaderboardError, collect_runs

    (r,) = collect_runs([tmp_path / "runs"])
    with pytest.raises(LeaderboardError, match="mixes runs"):
        r.samples()


def test_parallel_flags_need_vllm(tmp_path, capsys):
    assert _eval(tmp_path, "--tensor-parallel-size", "2") == 2
    assert "--backend vllm only" in capsys.readouterr().err


def test_two_shards_at_the_same_time(tmp_path):
    """Two processes on one run directory at once: config.json, the manifests and results.json stay whole."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "harness.cli", "eval", "--agents", "oracle", "--benchmarks", "gsm8k", "--split",
           "train", "--limit", "16", "--batch-size", "2", "--data-dir", str(FIXTURES), "--output-dir",
           str(tmp_path / "runs")]
    procs = [subprocess.Popen([*cmd, "--shard", f"{i}/2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    run = tmp_path / "runs" / "oracle" / "gsm8k-train"
    assert json.loads((run / "results.json").read_text())["n"] == 16  # whichever finished last saw both shards
    assert len(read_union(run)) == 16 and not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp"))
