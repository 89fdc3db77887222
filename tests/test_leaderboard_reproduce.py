"""`python -m leaderboards.reproduce`: sample-by-sample check of a rerun against committed runs."""

from __future__ import annotations

import json

from leaderboard_helpers import write_run

from leaderboards.reproduce import compare_runs, main


def test_identical_rerun_on_a_slice_passes(tmp_path, capsys):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", [1, 0, 1, 1, 0, 0])
    write_run(tmp_path / "new", "moat", "gsm8k", "test", [1, 0, 1])  # the first 3 ids of the reference
    [m] = compare_runs([tmp_path / "new"], [tmp_path / "ref"])
    assert (m.shared, m.identical, m.ok) == (3, 3, True)
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 0
    assert "moat/gsm8k-test: 3/3 shared samples identical" in capsys.readouterr().out


def test_a_changed_sample_fails_and_is_named(tmp_path, capsys):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", [1, 0, 1])
    write_run(tmp_path / "new", "moat", "gsm8k", "test", [1, 1, 1])
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 1
    assert "2/3 shared samples identical; differ: gsm8k-1" in capsys.readouterr().out


def test_prediction_difference_counts_even_with_equal_score(tmp_path):
    write_run(tmp_path / "ref", "lumos", "svamp", "test", [0, 0])
    path = write_run(tmp_path / "new", "lumos", "svamp", "test", [0, 0])
    lines = [json.loads(x) for x in (path / "samples.jsonl").read_text().splitlines()]
    lines[1]["prediction"] = "42"
    (path / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    [m] = compare_runs([tmp_path / "new"], [tmp_path / "ref"])
    assert m.differing == ["svamp-1"] and not m.ok


def test_nothing_to_compare_is_exit_2(tmp_path, capsys):
    write_run(tmp_path / "new", "moat", "gsm8k", "test", [1])
    (tmp_path / "ref").mkdir()
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 2
    assert "no reference run" in capsys.readouterr().out
