"""The reproductions of issue 15's "runs that die" and "time" classes, each a fast observation now:
non-canonical variable names, per-line action caps and time budgets, the maths size guards, and
QA's batched Calculator evaluated once."""

from __future__ import annotations

import pytest
from fake_clock import FakeClock
from qa_helpers import FakeBackend, make_toolbox

from envs.actions import VariableStore, parse_action
from envs.math.executor import InProcessEvaluator, MathExecutor
from envs.qa.executor import QAExecutor, execute_batch
from envs.tool_executor import LineLimits, line_limits
from harness.records import Task


def math_ex(**limits) -> MathExecutor:
    ex = MathExecutor(InProcessEvaluator(timeout_s=5.0))
    if limits:
        ex.limits = LineLimits(**limits)
    return ex


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("R01 = Calculator(7)", "leading zero; write R1"),
        ("R007 = Calculator(7)", "leading zero; write R7"),
        ("R٣ = Calculator(7)", "expected '<R k> = Tool(arguments)'"),
        ("R２ = Calculator(7)", "expected '<R k> = Tool(arguments)'"),
        ("R" + "9" * 5000 + " = Calculator(7)", "too long"),
        ("R1, R02 = SolveEquation(x = 1)", "leading zero"),
    ],
)
def test_non_canonical_variable_names_are_error_observations(line, message):
    ex = math_ex()
    (res,) = ex.execute(line)
    assert res.error_kind == "invalid_action" and message in res.error
    assert len(res.error) < 300
    assert ex.final_answer() is None  # and final_answer() does not raise


def test_references_to_non_canonical_names_are_undefined_and_final_answer_survives():
    ex = math_ex()
    ex.execute("R1 = Calculator(7)")
    (res,) = ex.execute("R2 = Calculator(R01 + 1)")
    assert res.error_kind == "invalid_action" and "R01" in res.error
    (res,) = ex.execute("R3 = Calculator(R" + "9" * 5000 + " + 1)")
    assert res.error_kind == "invalid_action" and "undefined" in res.error and len(res.error) < 200
    assert ex.final_answer() == "7"
    assert parse_action("R0 = Calculator(1)").ok  # "0" is canonical


def test_highest_variable_never_converts_digits():
    store = VariableStore()
    for name in ("R9", "R10", "R2"):
        store[name] = name
    assert store.highest() == "R10"
    store["R01"] = "x"  # only reachable by writing the store directly; still no KeyError
    store["R" + "9" * 5000] = "big"
    assert store.highest() == "R" + "9" * 5000 and store.final(prefer_output=False) == "big"


def test_action_cap_makes_the_rest_of_a_huge_line_one_observation():
    line = "; ".join(f"R{i} = Define({i})" for i in range(1, 52_001))  # the 1 MB reproduction's shape
    ex = math_ex(max_actions=20)
    res = ex.execute(line)
    assert len(res) == 21 and all(r.ok for r in res[:20])
    assert res[-1].error_kind == "invalid_action" and "51980 more action(s) not executed" in res[-1].error
    assert "at most 20 actions per line" in res[-1].error and len(res[-1].action) < 300


def test_default_action_cap_is_applied():
    ex = MathExecutor(InProcessEvaluator(timeout_s=5.0))
    res = ex.execute("; ".join(f"R{i} = Define({i})" for i in range(1, 151)))
    assert len(res) == 101 and res[-1].error.startswith("50 more action(s)")


def test_time_budget_ends_the_line_with_one_observation():
    ex = math_ex(budget_s=10.0, max_actions=100)
    ex.clock = FakeClock(step=4.0)  # every action "takes" 4 s
    res = ex.execute("; ".join(f"R{i} = Calculator({i} + 1)" for i in range(1, 9)))
    # readings: start 4; before action k at 8, 12, 16: spent 4, 8, 12 -> the third check stops it
    assert [r.ok for r in res] == [True, True, False]
    assert res[-1].error_kind == "tool_error" and "time budget of 10 s" in res[-1].error
    assert "6 more action(s)" in res[-1].error


def test_qa_batch_applies_the_same_limits():
    tb = make_toolbox(FakeBackend(lambda p: " x"))
    limits = LineLimits(budget_s=100.0, max_actions=2)
    exs = [QAExecutor(Task(id=str(i), question="q?"), tb, limits=limits) for i in range(2)]
    lines = ["R1 = KnowledgeQuery(Ed Wood); R2 = KnowledgeQuery(Ed Wood); R3 = KnowledgeQuery(Ed Wood)",
             "R1 = KnowledgeQuery(Ed Wood)"]
    batched = execute_batch(exs, lines, tb)
    seq = [QAExecutor(Task(id=str(i), question="q?"), tb, limits=limits).execute(line) for i, line in enumerate(lines)]
    assert [[r.model_dump() for r in rs] for rs in batched] == [[r.model_dump() for r in rs] for rs in seq]
    assert len(batched[0]) == 3 and "1 more action(s)" in batched[0][-1].error and len(batched[1]) == 1


def test_line_limit_options_are_validated():
    assert line_limits({}) == LineLimits()
    assert line_limits({"line_budget_s": "30", "max_actions": 5}) == LineLimits(30.0, 5)
    for bad in ({"max_actions": 0}, {"line_budget_s": -1}, {"line_budget_s": "soon"}, {"line_budget_s": float("inf")}):
        with pytest.raises(ValueError):
            line_limits(bad)


@pytest.mark.parametrize(
    ("op", "arg", "message"),
    [
        ("Calculator", "round(pi, 10^6)", "round to more than"),
        ("Calculator", "1e999999999", "too large or too small"),
        ("Calculator", "1e-999999999", "too large or too small"),
        ("Calculator", "round(1/3, 10^9)", "round to more than"),
        ("Calculator", "round(2.5, -10^9)", "round to more than"),
        ("Calculator", "exp(exp(exp(10)))", "exp of a number that large"),
        ("Calculator", "pi^(10^9)", "too large"),
        ("SolveEquation", "x^1000 + x + 1 = 0", "degree 1000 refused"),
        ("SolveEquation", "(x + 1)^40 = 2", "degree 40 refused"),
        ("SolveInequality", "x^1000 > 2", "degree 1000 refused"),
    ],
)
def test_size_guards_refuse_before_computing(op, arg, message):
    from envs.math.tools import handle

    reply = handle({"op": op, "arg": arg, "vars": {}})  # no time limit at all: a guard must answer
    assert reply.get("kind") == "tool_error" and message in reply["error"], reply


def test_lcm_of_many_numbers_is_folded_and_correct():
    import math

    from envs.math.tools import handle

    reply = handle({"op": "Calculator", "arg": "lcm(" + ", ".join(map(str, range(2, 400))) + ")", "vars": {}})
    assert reply["values"][0]["text"] == str(math.lcm(*range(2, 400)))
    assert handle({"op": "Calculator", "arg": "gcd(12, 18, 24)", "vars": {}})["values"][0]["text"] == "6"


@pytest.mark.parametrize(("arg", "text"), [("round(3.14159, 2)", "3.14"), ("1.5e-3 * 2", "0.003"),
                                           ("round(1/3, 1000) * 3", "1"), ("exp(0)", "1"), ("2^3000 / 2^2999", "2")])
def test_guards_leave_ordinary_formulas_alone(arg, text):
    from envs.math.tools import handle

    assert handle({"op": "Calculator", "arg": arg, "vars": {}})["values"][0]["text"] == text


def test_six_slow_rounds_in_one_line_are_quick_now():
    """The 202-character reproduction line took 35-40 s; each action is refused by the guard."""
    line = "; ".join(f"R{i} = Calculator(round(pi, 10^6))" for i in range(1, 7))
    res = math_ex().execute(line)
    assert len(res) == 6 and all("round to more than" in (r.error or "") for r in res)


def test_qa_batch_evaluates_a_failing_sympy_calculator_once():
    calls: list[str] = []

    def calc(formula: str) -> str:
        calls.append(formula)
        raise ValueError("not arithmetic")  # (or a time-out): the LLM calculator takes over

    tb = make_toolbox(FakeBackend(lambda p: " yes"), calculator=calc)
    exs = [QAExecutor(Task(id=str(i), question="q?"), tb) for i in range(2)]
    for ex in exs:
        ex.store["R1"] = "Question: a?; Answer: three"
    out = execute_batch(exs, ["R2 = Calculator(R1 > 2)", "R2 = Calculator(R1 < 2)"], tb)
    assert all(r[0].ok for r in out)
    assert sorted(calls) == ["three < 2", "three > 2"]  # once each, not once per pass
    assert all(not ex._calculated for ex in exs)


def test_default_limits_leave_real_lines_alone():
    res = math_ex().execute("R1 = Calculator(48/2); R2 = Calculator(48 + R1); Output = Calculator(R2 * 1.5)")
    assert [r.result for r in res] == ["24", "72", "108"]
