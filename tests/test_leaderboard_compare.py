"""Paired comparison between two rows, against hand-computed deltas, CIs and McNemar p-values."""

from __future__ import annotations

import pytest
from leaderboard_helpers import ones, write_run

from leaderboards import table as table_mod
from leaderboards.collect import LeaderboardError, collect_runs
from leaderboards.compare import compare_rows
from leaderboards.table import build_leaderboard


@pytest.fixture(autouse=True)
def _no_registry(monkeypatch):
    monkeypatch.setattr(table_mod, "_registry_default_split", lambda benchmark: None)


def board_of(root):
    return build_leaderboard(collect_runs([root]))


def by_label(cmp):
    return {r.label: r for r in cmp.cells + cmp.averages}


def test_mcnemar_and_delta_on_shared_ids(tmp_path):
    # 20 shared items: both right on 5, moat only on 6, lumos only on 1, both wrong on 8.
    moat = [1] * 5 + [1] * 6 + [0] * 1 + [0] * 8
    lumos = [1] * 5 + [0] * 6 + [1] * 1 + [0] * 8
    write_run(tmp_path, "moat", "gsm8k", "test", moat)
    write_run(tmp_path, "lumos", "gsm8k", "test", lumos)
    r = by_label(compare_rows(board_of(tmp_path), "moat", "lumos"))["GSM8K"]
    assert r.n_shared == 20 and r.mean_a == pytest.approx(55.0) and r.mean_b == pytest.approx(30.0)
    assert r.delta == pytest.approx(25.0)
    # exact McNemar: 2 * P[Bin(7, 1/2) <= 1] = 2 * (1 + 7) / 128 = 0.125
    assert r.mcnemar == (6, 1, pytest.approx(0.125))
    assert r.ci[0] < 25.0 < r.ci[1]


def test_paired_ci_by_hand_and_only_shared_ids(tmp_path):
    # shared ids s0..s3: a = [1, 1, 0, 0], b = [0, 1, 0, 0] -> diffs [1, 0, 0, 0];
    # bootstrap mean k/4, k ~ Bin(4, 1/4): 95% CI (0, 75) points (see test_stats).
    write_run(tmp_path, "a", "svamp", "test", [1, 1, 0, 0, 1, 1], ids=["s0", "s1", "s2", "s3", "a4", "a5"])
    write_run(tmp_path, "b", "svamp", "test", [0, 1, 0, 0, 0], ids=["s0", "s1", "s2", "s3", "b9"])
    r = by_label(compare_rows(board_of(tmp_path), "a", "b"))["SVAMP"]
    assert (r.n_shared, r.n_a, r.n_b) == (4, 6, 5)
    assert r.delta == pytest.approx(25.0)
    assert r.ci == (pytest.approx(0.0), pytest.approx(75.0))
    assert r.mcnemar == (1, 0, pytest.approx(1.0))


def test_continuous_metric_gets_no_mcnemar(tmp_path):
    write_run(tmp_path, "a", "webshop", "test", [0.5, 1.0, 0.25])
    write_run(tmp_path, "b", "webshop", "test", [0.25, 0.75, 0.0])
    r = by_label(compare_rows(board_of(tmp_path), "a", "b"))["WebShop"]
    assert r.mcnemar is None
    assert r.delta == pytest.approx(25.0) and r.ci == (pytest.approx(25.0), pytest.approx(25.0))


def test_group_average_uses_stratified_paired_bootstrap(tmp_path):
    # constant per-sample differences: +10 points on GSM8K... by construction of 0/1 data, use
    # a = b on two columns and a - b = 1 on every item of the third: delta = (0 + 0 + 100) / 3.
    for bench, split in (("gsm8k", "test"), ("mind2web", "test")):
        write_run(tmp_path, "a", bench, split, ones(2, 4))
        write_run(tmp_path, "b", bench, split, ones(2, 4))
    write_run(tmp_path, "a", "strategyqa", "lumos", ones(3, 3))
    write_run(tmp_path, "b", "strategyqa", "lumos", ones(0, 3))
    cmp = compare_rows(board_of(tmp_path), "a", "b")
    avg = by_label(cmp)["Held-in Avg."]
    assert avg.delta == pytest.approx(100 / 3)
    assert avg.ci == (pytest.approx(100 / 3), pytest.approx(100 / 3))
    assert avg.mean_a == pytest.approx((50 + 50 + 100) / 3) and avg.mean_b == pytest.approx(100 / 3)
    # only what either row ran is compared (issue 18): no held-out column, no held-out average
    assert "Held-out Avg." not in by_label(cmp) and "SVAMP" not in by_label(cmp)


def test_uncomparable_cells_say_why(tmp_path):
    write_run(tmp_path, "a", "gsm8k", "test", ones(1, 2), ids=["x", "y"])
    write_run(tmp_path, "b", "gsm8k", "test", ones(1, 2), ids=["p", "q"])
    write_run(tmp_path, "a", "hotpotqa", "test", ones(1, 2))
    cmp = by_label(compare_rows(board_of(tmp_path), "a", "b"))
    assert cmp["GSM8K"].reason == "no shared sample ids"
    assert cmp["HotpotQA"].reason == "not run by both rows"


def test_other_benchmarks_are_compared_too(tmp_path):
    write_run(tmp_path, "a", "toy_arith", "test", ones(4, 4))
    write_run(tmp_path, "b", "toy_arith", "test", ones(0, 4))
    r = by_label(compare_rows(board_of(tmp_path), "a", "b"))["toy_arith-test"]
    assert r.delta == pytest.approx(100.0) and r.mcnemar == (4, 0, pytest.approx(0.125))


def test_compare_needs_two_known_rows(tmp_path):
    write_run(tmp_path, "a", "gsm8k", "test", ones(1, 2))
    board = board_of(tmp_path)
    with pytest.raises(LeaderboardError, match="no runs of 'zz'"):
        compare_rows(board, "a", "zz")
    with pytest.raises(LeaderboardError, match="two different rows"):
        compare_rows(board, "a", "a")


def test_fixture_columns_are_labelled_and_the_benchmark_mean_excludes_them(tmp_path):
    fx = ["FIXTURE catalogue (30 products): not a benchmark number"]
    for agent, g, s in (("moat", [1, 1, 0, 0], [1, 0]), ("lumos", [1, 0, 0, 0], [0, 0])):
        write_run(tmp_path, agent, "gsm8k", "test", g)
        write_run(tmp_path, agent, "svamp", "test", s)
        write_run(tmp_path, agent, "webshop", "test", [1, 1], notes=fx)
    cmp = compare_rows(board_of(tmp_path), "moat", "lumos", resamples=300)
    labels = by_label(cmp)
    assert "WebShop ‡fixture" in labels and "WebShop" not in labels
    assert labels["Held-out Avg."].reason == "WebShop only on fixture data"
    mean = labels["Mean of the benchmark columns both ran (no fixtures): GSM8K, SVAMP"]
    # unweighted mean of columns: moat (50 + 50) / 2 = 50, lumos (25 + 0) / 2 = 12.5
    assert mean.mean_a == pytest.approx(50.0) and mean.mean_b == pytest.approx(12.5)
    assert mean.delta == pytest.approx(37.5) and mean.n_shared == 6


def test_compare_lists_only_columns_either_row_ran(tmp_path):
    write_run(tmp_path, "a", "gsm8k", "test", ones(2, 4))
    write_run(tmp_path, "a", "svamp", "test", ones(2, 4))
    write_run(tmp_path, "b", "gsm8k", "test", ones(1, 4))
    labels = list(by_label(compare_rows(board_of(tmp_path), "a", "b")))
    assert labels[:2] == ["GSM8K", "SVAMP"]  # SVAMP: run by a only, still listed (with its reason)
    assert not {"Mind2Web", "StrategyQA", "WebShop", "HotpotQA"} & set(labels)


def test_plugin_only_rows_compare_without_paper_columns(tmp_path):
    write_run(tmp_path, "a", "my_bench", "test", ones(3, 4))
    write_run(tmp_path, "b", "my_bench", "test", ones(1, 4))
    cmp = compare_rows(board_of(tmp_path), "a", "b")
    assert [c.label for c in cmp.cells] == ["my_bench-test"]
    assert [a.label for a in cmp.averages] == ["Mean of the benchmark columns both ran (no fixtures): my_bench"]
