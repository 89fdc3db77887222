"""Benchmarks outside Table 2 (plug-ins) as first-class leaderboard columns (issue 18)."""

from __future__ import annotations

import json

import pytest
from leaderboard_helpers import ones, write_run

from harness.cli import main
from leaderboards.collect import LeaderboardError, collect_runs
from leaderboards.render import render_markdown
from leaderboards.render_html import render_html
from leaderboards.table import EXTRA_GROUP, ColumnMismatchError, build_leaderboard


def _board(root, **kw):
    return build_leaderboard(collect_runs([root]), include_reported=False, resamples=200, **kw)


def _with_package(run_dir, dist="my-bench", version="0.2.0"):
    res = json.loads((run_dir / "results.json").read_text())
    res["packages"] = {"benchmark": {"distribution": dist, "version": version}}
    (run_dir / "results.json").write_text(json.dumps(res))


def test_plugin_benchmark_is_a_column_with_version_checksum_and_notes(tmp_path):
    run = write_run(tmp_path, "a", "my_bench", "test", ones(3, 4), version="0.2.0", checksum="c0ffee",
                    notes=["toy data written by the author"])
    _with_package(run)
    write_run(tmp_path, "b", "my_bench", "test", ones(1, 4), version="0.2.0", checksum="c0ffee")
    board = _board(tmp_path)
    info = board.column_info("my_bench")
    assert info.column.group == EXTRA_GROUP and info.split == "test" and info.metric == "accuracy"
    assert info.benchmark_version == "0.2.0" and info.data_checksum == "c0ffee"
    assert board.other_runs == []
    assert board.row("a").cells["my_bench"].value == pytest.approx(75.0)
    md = render_markdown(board, "t")
    section = md.split("## Extra benchmarks (not in the paper)")[1].split("\n## ")[0]
    assert "| **a** |" in section and "[75.0 (" in section and "my_bench-test" in section
    assert "my_bench-test: metric accuracy, version 0.2.0, data checksum c0ffee, package my-bench 0.2.0" in section
    assert "my_bench-test: toy data written by the author" in section
    table2 = md.split("## Table 2 layout")[1].split("\n## ")[0]
    assert "**a**" not in table2  # a plug-in-only row is not six "not run" cells
    assert "| my_bench-test | my_bench | test | accuracy | 0.2.0 | c0ffee | - (not in the paper) |" in md
    assert "toy data written by the author" not in md.split("## Deviations from the paper")[1].split("\n## ")[0]
    assert "Extra benchmarks (not in the paper)" in render_html(board, "t")


def test_metric_and_split_apply_to_any_benchmark(tmp_path):
    write_run(tmp_path, "a", "my_bench", "test", ones(3, 4), extra_metrics={"f1": [0.5] * 4})
    write_run(tmp_path, "a", "my_bench", "dev", ones(1, 4))
    with pytest.raises(LeaderboardError, match="--split my_bench=SPLIT"):
        _board(tmp_path)
    board = _board(tmp_path, splits={"my_bench": "test"}, metrics={"my_bench": "f1"})
    assert board.row("a").cells["my_bench"].value == pytest.approx(50.0)
    assert [(r.benchmark, r.split) for r in board.other_runs] == [("my_bench", "dev")]
    with pytest.raises(LeaderboardError, match="unknown columns: nothing_here"):
        _board(tmp_path, metrics={"nothing_here": "f1"})


def test_extra_column_refuses_mixed_versions(tmp_path):
    write_run(tmp_path, "a", "my_bench", "test", ones(1, 2), version="1")
    write_run(tmp_path, "b", "my_bench", "test", ones(1, 2), version="2")
    with pytest.raises(ColumnMismatchError, match="different benchmark versions"):
        _board(tmp_path)


def test_compare_table_printed_once_and_only_run_columns(tmp_path, capsys):
    write_run(tmp_path, "a", "my_bench", "test", ones(3, 4))
    write_run(tmp_path, "b", "my_bench", "test", ones(1, 4))
    assert main(["leaderboard", "--runs", str(tmp_path), "--no-reported", "--resamples", "100",
                 "--compare", "a", "b"]) == 0
    out, err = capsys.readouterr()
    assert (out + err).count("## Paired comparison: a vs b") == 1
    assert "shared ids" not in err  # not also on stderr
    cmp = out.split("## Paired comparison: a vs b")[1].split("\n## ")[0]
    assert "my_bench-test" in cmp
    assert not any(t in cmp for t in ("GSM8K", "Mind2Web", "StrategyQA", "SVAMP", "WebShop", "HotpotQA"))
