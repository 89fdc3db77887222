"""`python -m leaderboards.reproduce`: a rerun against committed runs, sample by sample, and by a paired
test where hardware alone made samples differ."""

from __future__ import annotations

import json

from leaderboard_helpers import ones, write_run

from leaderboards.reproduce import compare_runs, main

BF16 = {"producer": "moat", "planner": {"backend": "hf", "model": "moat:planner", "dtype": "bfloat16", "device": "cpu"}}


def _edit_config(run_dir, **changes):
    path = run_dir / "config.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


def test_identical_rerun_on_a_slice_passes(tmp_path, capsys):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", [1, 0, 1, 1, 0, 0])
    write_run(tmp_path / "new", "moat", "gsm8k", "test", [1, 0, 1])  # the first 3 ids of the reference
    [m] = compare_runs([tmp_path / "new"], [tmp_path / "ref"])
    assert (m.shared, m.identical, m.ok) == (3, 3, True)
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 0
    out = capsys.readouterr().out
    assert "moat/gsm8k-test: 3/3 shared samples identical" in out and "reproduced exactly" in out


def test_a_flipped_sample_is_named_but_agrees_within_chance(tmp_path, capsys):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", [1, 0, 1])
    write_run(tmp_path / "new", "moat", "gsm8k", "test", [1, 1, 1])
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 0
    out = capsys.readouterr().out
    assert "2/3 shared samples identical; differ: gsm8k-1" in out
    assert "agrees" in out and "em_numeric new - reference +0.3333" in out and "McNemar p = 1" in out


def test_exact_fails_on_any_differing_sample(tmp_path):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", [1, 0, 1])
    write_run(tmp_path / "new", "moat", "gsm8k", "test", [1, 1, 1])
    assert main([str(tmp_path / "new"), str(tmp_path / "ref"), "--exact"]) == 1


def test_a_difference_beyond_chance_fails(tmp_path, capsys):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", ones(12, 12))
    write_run(tmp_path / "new", "moat", "gsm8k", "test", ones(0, 12))
    [m] = compare_runs([tmp_path / "new"], [tmp_path / "ref"])
    assert m.p_value is not None and m.p_value < 0.001 and not m.ok
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 1
    assert "FAIL: the metric differs beyond chance" in capsys.readouterr().out


def test_the_threshold_is_shared_by_the_runs_compared(tmp_path):
    # 6 of 6 flips one way: McNemar p = 0.03125 < 0.05 alone, but >= 0.05 / 2 with a second run
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", ones(6, 6))
    write_run(tmp_path / "new", "moat", "gsm8k", "test", ones(0, 6))
    [alone] = compare_runs([tmp_path / "new"], [tmp_path / "ref"])
    assert not alone.ok
    write_run(tmp_path / "ref", "lumos", "gsm8k", "test", ones(3, 6))
    write_run(tmp_path / "new", "lumos", "gsm8k", "test", ones(3, 6))
    both = {m.name: m for m in compare_runs([tmp_path / "new"], [tmp_path / "ref"])}
    assert both["moat/gsm8k-test"].threshold == 0.025 and both["moat/gsm8k-test"].ok


def test_graded_metrics_are_decided_by_the_paired_ci(tmp_path):
    write_run(tmp_path / "ref", "moat", "webshop", "test", [0.5, 0.2, 0.9, 0.4])
    write_run(tmp_path / "new", "moat", "webshop", "test", [0.5, 0.3, 0.9, 0.3])
    [m] = compare_runs([tmp_path / "new"], [tmp_path / "ref"])
    assert m.p_value is None and m.ci[0] <= 0 <= m.ci[1] and m.ok
    write_run(tmp_path / "new", "moat", "webshop", "test", [0.0, 0.0, 0.1, 0.0])
    [m] = compare_runs([tmp_path / "new"], [tmp_path / "ref"])
    assert m.ci[1] < 0 and not m.ok


def test_a_different_dtype_is_a_config_discrepancy_named_by_key(tmp_path, capsys):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", [1, 0], agent_config=BF16)
    fp32 = BF16 | {"planner": BF16["planner"] | {"dtype": "float32"}}
    write_run(tmp_path / "new", "moat", "gsm8k", "test", [1, 0], agent_config=fp32)
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 1
    out = capsys.readouterr().out
    assert "FAIL: different config (agent_config.planner.dtype: 'float32' != 'bfloat16')" in out


def test_a_different_batch_size_is_a_config_discrepancy(tmp_path):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", [1, 0])
    _edit_config(write_run(tmp_path / "new", "moat", "gsm8k", "test", [1, 0]), batch_size=32)
    [m] = compare_runs([tmp_path / "new"], [tmp_path / "ref"])
    assert m.identical == 2 and not m.ok and m.config_diff == ["batch_size: 32 != 8"]


def test_prediction_difference_counts_even_with_equal_score(tmp_path):
    write_run(tmp_path / "ref", "lumos", "svamp", "test", [0, 0])
    path = write_run(tmp_path / "new", "lumos", "svamp", "test", [0, 0])
    lines = [json.loads(x) for x in (path / "samples.jsonl").read_text().splitlines()]
    lines[1]["prediction"] = "42"
    (path / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    [m] = compare_runs([tmp_path / "new"], [tmp_path / "ref"])
    assert m.differing == ["svamp-1"] and m.delta == 0.0 and m.ok
    [strict] = compare_runs([tmp_path / "new"], [tmp_path / "ref"], exact=True)
    assert not strict.ok


def test_recorded_numerics_are_printed_beside_the_verdict(tmp_path, capsys):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", [1, 0], agent_config=BF16)
    run = write_run(tmp_path / "new", "moat", "gsm8k", "test", [1, 0], agent_config=BF16)
    result = json.loads((run / "results.json").read_text())
    result["numerics"] = {"dtype": {"planner": {"requested": "auto", "used": "bfloat16", "device": "cpu"}},
                          "cpu_capability": "AVX2", "bf16_native": False, "threads": 1}
    (run / "results.json").write_text(json.dumps(result))
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 0
    out = capsys.readouterr().out
    assert "this run bfloat16 on AVX2 (bf16 emulated), 1 thread; reference bfloat16 (CPU unrecorded)" in out


def test_nothing_to_compare_is_exit_2(tmp_path, capsys):
    write_run(tmp_path / "new", "moat", "gsm8k", "test", [1])
    (tmp_path / "ref").mkdir()
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 2
    assert "no reference run" in capsys.readouterr().out


def test_no_shared_sample_is_not_called_reproduced(tmp_path, capsys):
    write_run(tmp_path / "ref", "moat", "gsm8k", "test", [1, 0])
    write_run(tmp_path / "ref", "lumos", "gsm8k", "test", [1, 0])
    write_run(tmp_path / "new", "moat", "gsm8k", "test", [1, 0])
    write_run(tmp_path / "new", "lumos", "gsm8k", "test", [1], ids=["other-0"])
    assert main([str(tmp_path / "new"), str(tmp_path / "ref")]) == 1
    assert "lumos/gsm8k-test: 0/0 shared samples identical\n  FAIL: no sample id in common" in capsys.readouterr().out
