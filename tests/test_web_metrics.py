"""Golden tests for the Mind2Web metrics (SPEC c.1): element hit, op F1, step SR, micro vs macro."""

from __future__ import annotations

import pytest

from envs.web.metrics import aggregate, corpus_metrics, op_f1, op_string, score_step, task_metrics


def test_op_string_and_f1_golden():
    assert op_string("CLICK", "") == "CLICK"
    assert op_string("TYPE", " Atlanta ") == "TYPE Atlanta"
    assert op_f1("CLICK", "CLICK") == 1.0
    assert op_f1("TYPE Atlanta", "TYPE Atlanta GA") == pytest.approx(2 * (1.0 * 2 / 3) / (1.0 + 2 / 3))
    assert op_f1("SELECT 6 nights", "TYPE 6 nights") == pytest.approx(2 / 3)
    assert op_f1("", "") == 1.0 and op_f1("", "CLICK") == 0.0 and op_f1("CLICK", "") == 0.0
    assert op_f1("CLICK", "TYPE x") == 0.0


def test_op_f1_case_sensitive_tokens():
    # "new york" vs "New York": only TYPE is shared; P = R = 1/3 -> F1 = 1/3
    assert op_f1("TYPE new york", "TYPE New York") == pytest.approx(1 / 3)


def test_element_hit_and_step_success():
    s = score_step("t", "8635", "CLICK", "", "CLICK", "", ["8635"])
    assert (s.element, s.op_f1, s.step) == (1.0, 1.0, 1.0)
    s = score_step("t", "1", "CLICK", "", "CLICK", "", ["8635"])
    assert (s.element, s.op_f1, s.step) == (0.0, 1.0, 0.0)
    s = score_step("t", "8635", "TYPE", "Atlanta", "TYPE", "ATLANTA", ["8635"])
    assert s.element == 1.0 and s.op_f1 == pytest.approx(0.5) and s.step == 0.0
    # no positive left after the top-k cut, or no prediction: 0 on everything
    assert score_step("t", "8635", "CLICK", "", "CLICK", "", []).op_f1 == 0.0
    assert score_step("t", None, None, None, "CLICK", "", ["8635"]).op_f1 == 0.0


def test_micro_vs_macro_and_task_sr():
    # task a: 3 steps, 2 successful; task b: 1 step, successful
    steps = [
        score_step("a", "1", "CLICK", "", "CLICK", "", ["1"]),
        score_step("a", "2", "CLICK", "", "CLICK", "", ["2"]),
        score_step("a", "9", "CLICK", "", "CLICK", "", ["3"]),
        score_step("b", "4", "TYPE", "x", "TYPE", "x", ["4"]),
    ]
    agg = aggregate(steps)
    assert agg["step_sr_micro"] == pytest.approx(3 / 4)
    assert agg["step_sr_macro"] == pytest.approx((2 / 3 + 1) / 2)
    assert agg["element_acc_micro"] == pytest.approx(3 / 4)
    assert agg["op_f1_micro"] == agg["op_f1_macro"] == 1.0
    assert agg["task_sr"] == pytest.approx(1 / 2)
    # per-task values combined by corpus_metrics (the env's aggregate) reproduce the flat definition
    per_task = [task_metrics([s for s in steps if s.task_id == t]) for t in ("a", "b")]
    corpus = corpus_metrics(per_task, top_k=50)
    for key in ("step_sr", "element_acc", "op_f1"):
        assert corpus[f"{key}_macro"] == pytest.approx(agg[f"{key}_macro"])
        assert corpus[f"{key}_micro"] == pytest.approx(agg[f"{key}_micro"])
    assert corpus["task_sr"] == pytest.approx(agg["task_sr"])
    assert [m["task_sr"] for m in per_task] == [0.0, 1.0]
