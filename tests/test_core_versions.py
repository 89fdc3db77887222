"""Dirty-checkout detection ignores evaluation outputs (extending a committed run) but not code."""

from __future__ import annotations

from harness.versions import code_changes, collect_versions


def test_run_directory_files_are_not_code_changes(tmp_path):
    run = tmp_path / "leaderboards" / "x" / "runs" / "moat" / "gsm8k-test"
    run.mkdir(parents=True)
    for name in ("samples.jsonl", "results.json", "config.json"):
        (run / name).write_text("{}")
    model = tmp_path / "training" / "shipped" / "moat"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")  # a checkpoint's config: no samples.jsonl beside it
    changed = [
        "leaderboards/x/runs/moat/gsm8k-test/samples.jsonl",
        "leaderboards/x/runs/moat/gsm8k-test/results.json",
        "leaderboards/x/runs/moat/gsm8k-test/config.json",
        "training/shipped/moat/config.json",
        "agents/backends/hf.py",
        "leaderboards/x/runs/moat/gsm8k-test/notes.md",
    ]
    assert code_changes(changed, tmp_path) == [
        "training/shipped/moat/config.json", "agents/backends/hf.py", "leaderboards/x/runs/moat/gsm8k-test/notes.md"]


def test_a_sharded_run_directory_files_are_not_code_changes(tmp_path):
    run = tmp_path / "runs" / "moat" / "gsm8k-test"
    run.mkdir(parents=True)
    for name in ("samples.shard-0-of-2.jsonl", "shard-0-of-2.json", "results.json", "config.json"):
        (run / name).write_text("{}")
    changed = [f"runs/moat/gsm8k-test/{n}" for n in ("samples.shard-0-of-2.jsonl", "shard-0-of-2.json",
                                                     "results.json", "config.json", "shard-notes.json")]
    assert code_changes(changed, tmp_path) == ["runs/moat/gsm8k-test/shard-notes.json"]
    assert code_changes(["elsewhere/shard-0-of-2.json"], tmp_path) == ["elsewhere/shard-0-of-2.json"]


def test_a_deleted_run_file_is_a_change(tmp_path):
    assert code_changes(["runs/a/results.json"], tmp_path) == ["runs/a/results.json"]


def test_versions_name_the_dirty_paths_only_when_dirty():
    v = collect_versions()
    assert v["harness_git"].endswith("-dirty") == ("harness_dirty_paths" in v)
