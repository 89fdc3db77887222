"""Golden tests of the Table-2 model on synthetic runs written with the real record models."""

from __future__ import annotations

import json

import pytest
from leaderboard_helpers import ones, write_run

from leaderboards import table as table_mod
from leaderboards.collect import LeaderboardError, collect_runs
from leaderboards.table import ColumnMismatchError, base_model_of, build_leaderboard

SMOL = {"producer": "moat", "planner": "/cache/models/SmolLM2-135M-Instruct", "grounder": "/cache/models/SmolLM2-135M-Instruct"}
HELD_IN = (("gsm8k", "test"), ("mind2web", "test"), ("strategyqa", "lumos"))
HELD_OUT = (("svamp", "test"), ("webshop", "test"), ("hotpotqa", "test"))


@pytest.fixture(autouse=True)
def _no_registry(monkeypatch):
    """Column splits must not depend on which environment plug-ins happen to be installed."""
    monkeypatch.setattr(table_mod, "_registry_default_split", lambda benchmark: None)


def full_row(root, agent, ks, ns=(50, 10, 10, 60, 10, 10), **kw):
    for (bench, split), k, n in zip(HELD_IN + HELD_OUT, ks, ns):
        write_run(root, agent, bench, split, ones(k, n), **kw)


def board_of(root, **kw):
    return build_leaderboard(collect_runs([root]), **kw)


def test_averages_are_means_of_the_three_cells(tmp_path):
    full_row(tmp_path, "lumos", (10, 5, 6, 30, 2, 3), agent_config=SMOL)
    row = board_of(tmp_path).row("lumos")
    assert [row.cells[b].value for b, _ in HELD_IN] == [20.0, 50.0, 60.0]
    assert row.averages["held_in"].status == "ok"
    assert row.averages["held_in"].value == pytest.approx((20 + 50 + 60) / 3)
    assert row.averages["held_out"].value == pytest.approx((50 + 20 + 30) / 3)
    lo, hi = row.averages["held_in"].ci
    assert lo < row.averages["held_in"].value < hi
    assert row.base_model == "SmolLM2-135M-Instruct"


def test_average_ci_by_hand(tmp_path):
    # held-in cells: [0, 1], [1, 1, 1], [1] -> mean of means (m1 + 1 + 1) / 3 with m1 in {0, .5, 1}
    # w.p. 1/4, 1/2, 1/4: values {66.7, 83.3, 100}; 95% CI = (66.7, 100).
    write_run(tmp_path, "a", "gsm8k", "test", [0, 1])
    write_run(tmp_path, "a", "mind2web", "test", [1, 1, 1])
    write_run(tmp_path, "a", "strategyqa", "lumos", [1])
    avg = board_of(tmp_path).row("a").averages["held_in"]
    assert avg.value == pytest.approx(250 / 3)
    assert avg.ci == (pytest.approx(200 / 3), pytest.approx(100.0))


def test_missing_cells_say_not_run_and_averages_are_incomplete(tmp_path):
    write_run(tmp_path, "base", "gsm8k", "test", ones(3, 10))
    write_run(tmp_path, "base", "svamp", "test", ones(3, 10))
    write_run(tmp_path, "base", "webshop", "test", ones(3, 10))
    write_run(tmp_path, "base", "hotpotqa", "test", ones(3, 10))
    row = board_of(tmp_path).row("base")
    assert row.cells["mind2web"].status == "not_run" and row.cells["mind2web"].value is None
    held_in = row.averages["held_in"]
    assert held_in.status == "incomplete" and held_in.value is None
    assert held_in.missing == ["Mind2Web", "StrategyQA"]
    assert row.averages["held_out"].status == "ok" and row.averages["held_out"].value == pytest.approx(30.0)


def test_unfinished_run_is_not_averaged(tmp_path):
    write_run(tmp_path, "m", "gsm8k", "test", ones(3, 10))
    write_run(tmp_path, "m", "mind2web", "test", ones(3, 10))
    write_run(tmp_path, "m", "strategyqa", "lumos", ones(3, 4), finished=False)
    board = board_of(tmp_path)
    row = board.row("m")
    assert row.cells["strategyqa"].status == "unfinished" and row.cells["strategyqa"].n == 4
    assert row.averages["held_in"].status == "incomplete" and row.averages["held_in"].missing == ["StrategyQA"]
    assert any("run unfinished" in d for d in board.deviations)


def test_partial_run_is_flagged(tmp_path):
    write_run(tmp_path, "m", "gsm8k", "test", ones(3, 10), n_original=12)
    board = board_of(tmp_path)
    assert board.row("m").cells["gsm8k"].partial
    assert any("only 10 of 12 samples finished" in d for d in board.deviations)


def test_refuses_different_benchmark_versions_in_one_column(tmp_path):
    write_run(tmp_path, "lumos", "gsm8k", "test", ones(3, 10), version="1")
    write_run(tmp_path, "moat", "gsm8k", "test", ones(4, 10), version="2")
    with pytest.raises(ColumnMismatchError, match=r"different benchmark versions in the GSM8K column") as exc:
        board_of(tmp_path)
    assert "lumos: '1'" in str(exc.value) and "moat: '2'" in str(exc.value)


def test_refuses_different_data_checksums_in_one_column(tmp_path):
    write_run(tmp_path, "lumos", "svamp", "test", ones(3, 10), checksum="sha256:aaa")
    write_run(tmp_path, "moat", "svamp", "test", ones(4, 10), checksum="sha256:bbb")
    with pytest.raises(ColumnMismatchError, match="different data checksums in the SVAMP column"):
        board_of(tmp_path)
    # leaving one row out resolves it
    assert board_of(tmp_path, agents=["moat"]).row("moat").cells["svamp"].value == 40.0


def test_different_versions_in_different_columns_are_fine(tmp_path):
    write_run(tmp_path, "lumos", "gsm8k", "test", ones(3, 10), version="1")
    write_run(tmp_path, "lumos", "svamp", "test", ones(3, 10), version="7")
    board = board_of(tmp_path)
    assert board.column_info("gsm8k").benchmark_version == "1"
    assert board.column_info("svamp").benchmark_version == "7"


def test_refuses_disagreeing_main_metrics_unless_chosen(tmp_path):
    extra = {"em_strict": ones(2, 10)}
    write_run(tmp_path, "a", "gsm8k", "test", ones(3, 10), main_metric="em_numeric", extra_metrics=extra)
    write_run(tmp_path, "b", "gsm8k", "test", ones(3, 10), main_metric="em_strict")
    with pytest.raises(ColumnMismatchError, match="disagree on the main metric"):
        board_of(tmp_path)
    board = board_of(tmp_path, metrics={"gsm8k": "em_strict"})
    assert board.row("a").cells["gsm8k"].value == 20.0
    with pytest.raises(ColumnMismatchError, match="metric 'f1' missing"):
        board_of(tmp_path, metrics={"gsm8k": "f1"})


def test_strategyqa_uses_lumos_split_by_default_and_says_it_overlaps_train(tmp_path):
    write_run(tmp_path, "a", "strategyqa", "lumos", ones(6, 10))
    write_run(tmp_path, "a", "strategyqa", "dev", ones(9, 10))
    board = board_of(tmp_path)
    assert board.column_info("strategyqa").split == "lumos"
    assert board.row("a").cells["strategyqa"].value == 60.0
    assert any("public StrategyQA train questions" in d for d in board.deviations)
    assert [(r.benchmark, r.split) for r in board.other_runs] == [("strategyqa", "dev")]

    dev = board_of(tmp_path, splits={"strategyqa": "dev"})
    assert dev.row("a").cells["strategyqa"].value == 90.0
    assert any("uses split 'dev', not the paper's 'lumos'" in d for d in dev.deviations)
    assert not any("StrategyQA train questions" in d for d in dev.deviations)


def test_ambiguous_split_needs_a_choice(tmp_path):
    write_run(tmp_path, "a", "webshop", "test", ones(1, 2))
    write_run(tmp_path, "a", "webshop", "fixture", ones(1, 2))
    with pytest.raises(LeaderboardError, match="--split webshop=SPLIT"):
        board_of(tmp_path)
    assert board_of(tmp_path, splits={"webshop": "fixture"}).column_info("webshop").split == "fixture"
    with pytest.raises(LeaderboardError, match="unknown columns: webshp"):
        board_of(tmp_path, splits={"webshp": "x"})


def test_two_roots_with_the_same_run_are_refused(tmp_path):
    write_run(tmp_path / "r1", "a", "gsm8k", "test", ones(1, 2))
    write_run(tmp_path / "r2", "a", "gsm8k", "test", ones(2, 2))
    with pytest.raises(LeaderboardError, match="two runs of agent 'a' on gsm8k-test"):
        collect_runs([tmp_path / "r1", tmp_path / "r2"])
    with pytest.raises(LeaderboardError, match="does not exist"):
        collect_runs([tmp_path / "nope"])


def test_config_and_results_must_agree(tmp_path):
    run_dir = write_run(tmp_path, "a", "gsm8k", "test", ones(1, 2))
    res = json.loads((run_dir / "results.json").read_text())
    res["benchmark_version"] = "9"
    (run_dir / "results.json").write_text(json.dumps(res))
    with pytest.raises(LeaderboardError, match="config.json and results.json disagree"):
        collect_runs([tmp_path])


def test_non_run_config_files_are_skipped(tmp_path):
    (tmp_path / "ckpt" / "model").mkdir(parents=True)
    (tmp_path / "ckpt" / "model" / "config.json").write_text('{"model_type": "llama"}')
    write_run(tmp_path, "a", "gsm8k", "test", ones(1, 2))
    assert [r.agent for r in collect_runs([tmp_path])] == ["a"]


def test_samples_that_do_not_reproduce_results_give_no_ci(tmp_path):
    run_dir = write_run(tmp_path, "a", "gsm8k", "test", ones(3, 10))
    write_run(tmp_path, "a", "mind2web", "test", ones(3, 10))
    write_run(tmp_path, "a", "strategyqa", "lumos", ones(3, 10))
    with open(run_dir / "samples.jsonl", "a") as f:  # an extra sample from a later, longer run
        f.write((run_dir / "samples.jsonl").read_text().splitlines()[0].replace('"gsm8k-0"', '"gsm8k-99"') + "\n")
    avg = board_of(tmp_path).row("a").averages["held_in"]
    assert avg.status == "ok" and avg.value == pytest.approx(30.0)
    assert avg.ci is None and "11 readable samples but results.json has n=10" in avg.ci_note


def test_deviations_list_model_critic_and_subsets(tmp_path):
    cfg = SMOL | {"critic": {"model": "Qwen2.5-0.5B-Instruct"}, "deviations": ["grounder trained 1 epoch"]}
    write_run(tmp_path, "moat", "gsm8k", "test", ones(3, 50), agent_config=cfg, notes=["sympy replaces Wolfram|Alpha"])
    write_run(tmp_path, "oracle", "gsm8k", "test", ones(50, 50), agent_config={"producer": "oracle"},
              harness_git="def456-dirty")
    board = board_of(tmp_path)
    text = "\n".join(board.deviations)
    assert "Base model SmolLM2-135M-Instruct (moat)" in text
    assert "No model (scripted agent): oracle" in text
    assert "Critic Qwen2.5-0.5B-Instruct (moat); the paper's default critic is DeepSeek-R1-Distill-Qwen-32B" in text
    assert "GSM8K: 50 tasks (paper: 500, first 500 of the test set) for moat, oracle." in text
    assert "GSM8K: sympy replaces Wolfram|Alpha" in text
    assert "moat: grounder trained 1 epoch" in text
    assert "Runs come from 2 harness commits: abc123, def456." in text
    assert "Made from a checkout of def456-dirty with uncommitted changes (-dirty): oracle/gsm8k-test." in text
    assert [r.agent for r in board.measured] == ["moat", "oracle"]  # paper order: producers first


def test_a_dirty_run_names_what_was_changed(tmp_path):
    run = write_run(tmp_path, "b", "gsm8k", "test", [1], harness_git="abc123-dirty")
    res = json.loads((run / "results.json").read_text())
    res["versions"]["harness_dirty_paths"] = "agents/backends/hf.py"
    (run / "results.json").write_text(json.dumps(res))
    text = "\n".join(board_of(tmp_path).deviations)
    assert ("Made from a checkout of abc123-dirty with uncommitted changes (-dirty): b/gsm8k-test; "
            "changed: agents/backends/hf.py.") in text


def test_the_same_commit_clean_and_dirty_is_one_commit(tmp_path):
    write_run(tmp_path, "a", "gsm8k", "test", [1], harness_git="abc123")
    write_run(tmp_path, "b", "gsm8k", "test", [1], harness_git="abc123-dirty")
    text = "\n".join(board_of(tmp_path).deviations)
    assert "harness commits" not in text
    assert "Made from a checkout of abc123-dirty with uncommitted changes (-dirty): b/gsm8k-test." in text


def test_a_run_extended_by_several_commits_says_so(tmp_path):
    write_run(tmp_path, "a", "gsm8k", "test", ones(2, 6), harness_git="b" * 40,
              sample_commits={"unrecorded": 3, "a" * 40: 2, "b" * 40: 1})
    write_run(tmp_path, "b", "gsm8k", "test", ones(2, 6))
    text = "\n".join(board_of(tmp_path).deviations)
    assert f"a/gsm8k-test: samples from several harness commits: {'a' * 12} (2), {'b' * 12} (1), unrecorded (3)." in text
    assert "b/gsm8k-test: samples from several" not in text


def test_no_deviations_without_measured_rows(tmp_path):
    board = board_of(tmp_path)
    assert board.measured == [] and board.deviations == []
    assert len(board.reported) == 10 and len(board.ablations) == 6
    assert board_of(tmp_path, include_reported=False).reported == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"base_model": "meta-llama/Llama-2-7b-hf"}, "Llama-2-7b-hf"),
        ({"planner": "a/M1", "grounder": "a/M1"}, "M1"),
        ({"planner": {"model": "x/P"}, "grounder": {"model": "x/G"}}, "P / G"),
        ({"producer": "oracle"}, "-"),
    ],
)
def test_base_model_of(config, expected):
    assert base_model_of(config) == expected


def test_environment_default_split_decides_when_several_exist(tmp_path, monkeypatch):
    monkeypatch.setattr(table_mod, "_registry_default_split", lambda benchmark: {"webshop": "test"}.get(benchmark))
    write_run(tmp_path, "a", "webshop", "test", [0.5, 1.0])
    write_run(tmp_path, "a", "webshop", "fixture", [0.25, 0.25])
    board = board_of(tmp_path)
    assert board.column_info("webshop").split == "test"
    assert board.row("a").cells["webshop"].value == pytest.approx(75.0)
    assert [(r.benchmark, r.split) for r in board.other_runs] == [("webshop", "fixture")]


def test_fixture_cells_are_marked_and_never_averaged(tmp_path):
    """A run whose environment notes say FIXTURE is shown (marked) but keeps its group's average incomplete."""
    from leaderboards.render import render_markdown

    full_row(tmp_path, "moat", (10, 5, 6, 30, 2, 3))
    write_run(tmp_path, "moat", "mind2web", "test", ones(5, 10), notes=["FIXTURE data (tests/fixtures/mind2web): not a benchmark number"])
    board = board_of(tmp_path)
    row = board.row("moat")
    assert row.cells["mind2web"].fixture and not row.cells["gsm8k"].fixture
    assert row.averages["held_in"].status == "incomplete"
    assert row.averages["held_in"].missing == ["Mind2Web benchmark data (fixture only)"]
    assert row.averages["held_out"].status == "ok"
    md = render_markdown(board, "t")
    assert "‡fixture" in md and "‡ measured on the repository's hand-written fixture data" in md


def test_base_model_of_trained_and_single_agent_configs(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text(json.dumps(
        {"config": {"config": {"base_model": "default", "preset": "cpu-small", "full_finetune": False}}}))
    trained = {"producer": "lumos", "planner": {"model": "lumos:planner"}, "train_run": str(tmp_path / "run")}
    assert base_model_of(trained).startswith("SmolLM2-135M-Instruct") and base_model_of(trained).endswith("+ cpu-small LoRA")
    assert base_model_of({"producer": "agenttuning", "agent": {"model": "/m/Llama-2-7b"}}) == "Llama-2-7b"
    gone = trained | {"train_run": str(tmp_path / "missing")}
    assert base_model_of(gone) == "lumos:planner"  # the run is not here: the label, not a guess
