"""Fuzzing: >= 10,000 random and mutated action strings through the parser and the executors,
with zero uncaught exceptions and only well-formed observations.

The bulk runs the sympy tools in-process (with the size guard and a SIGALRM limit) and a stub
``Code`` tool; a handful of strings go through the real sandboxed worker and the real ``Code``.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from action_fuzz_corpus import MemoEvaluator, StubCode, check, corpus, generic_executor
from envs.actions import VariableStore, parse_actions, parse_fields, split_actions, substitute
from envs.math.code import CodeTool
from envs.math.executor import InProcessEvaluator, MathExecutor, WorkerEvaluator
from envs.math.values import MathValue

N = 10_000


def test_fuzz_ten_thousand_strings_in_process():
    lines = corpus(N)
    assert len(lines) >= 10_000
    evaluator = MemoEvaluator(timeout_s=0.5)
    start = time.perf_counter()
    math_ex, web_ex = MathExecutor(evaluator, StubCode()), generic_executor()
    ok = errors = 0
    for k, line in enumerate(lines):
        if k % 5 == 0:  # fresh stores now and then, as per task
            math_ex, web_ex = MathExecutor(evaluator, StubCode()), generic_executor()
        split_actions(line)
        parse_actions(line)
        for ex in (math_ex, web_ex):
            res = ex.execute(line)
            check(res, line)
            ok += sum(r.ok for r in res)
            errors += sum(not r.ok for r in res)
            ans = ex.final_answer()
            assert ans is None or isinstance(ans, str)
    assert ok > 1000 and errors > 1000  # the corpus exercises both paths
    assert len(evaluator.memo) > 1000  # distinct sympy requests (about 1,800 with this seed)
    assert time.perf_counter() - start < 120


def test_fuzz_a_handful_through_the_real_sandboxes():
    lines = corpus(40, seed=99)[::4] + [
        "R1 = Calculator(9**9**9)",
        "R1 = Code(sum(range(10)))",
        "R9 = Code(while True: pass)",
    ]
    evaluator = WorkerEvaluator(timeout_s=3.0)
    try:
        ex = MathExecutor(evaluator, CodeTool())
        for line in lines:
            check(ex.execute(line), line)
        assert ex.execute("R50 = Code(sum(range(10)))")[0].result == "45"
        assert ex.execute("R51 = Calculator(2 + 2)")[0].result == "4"
    finally:
        evaluator.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_hypothesis_parser_and_substitution_never_raise(text):
    store = VariableStore()
    store["R1"] = MathValue("5", "Integer(5)")
    for p in parse_actions(text):
        assert p.ok or p.error
    substitute(text, store)
    parse_fields(text, ["QUERY", "TEXT"])
    check(generic_executor().execute(text), text)


@pytest.mark.parametrize(
    "line", ["R1 = Calculator(" + "(" * 300 + "1" + ")" * 300 + ")", "R1 = Calculator(" + "1+" * 3000 + "1)"]
)
def test_deep_and_long_formulas_are_observations(line):
    res = MathExecutor(InProcessEvaluator(timeout_s=2.0), StubCode()).execute(line)
    check(res, line)
