"""The sympy maths tools through the executor (in-process), with golden values."""

from __future__ import annotations

import pytest

pytest.importorskip("sympy")

from envs.math.executor import InProcessEvaluator, MathExecutor  # noqa: E402
from envs.math.tools import TOOL_SPECS, handle  # noqa: E402


@pytest.fixture()
def ex() -> MathExecutor:
    return MathExecutor(InProcessEvaluator(timeout_s=5))


def run(ex: MathExecutor, line: str) -> list[str | None]:
    return [r.result if r.ok else f"ERR[{r.error_kind}] {r.error}" for r in ex.execute(line)]


def test_tool_specs_match_spec_a4_exactly():
    assert [t.name for t in TOOL_SPECS] == [
        "Calculator",
        "SetEquation",
        "SolveEquation",
        "Count",
        "SolveInequality",
        "Code",
        "Define",
    ]
    rendered = "; ".join(f"{t.signature}: {t.description}" for t in TOOL_SPECS) + "."
    assert rendered == (
        "Calculator(formula): Calculate the input formula; SetEquation(equation): Set up an equation to be "
        "solved; SolveEquation(equation): Solve the previous set equation; Count(list): Count the number of "
        "elements in the given list; SolveInequality(inequality): Solve the previous set inequality; "
        "Code(pseudo_code): Generate a Python function that corresponds to the pseudo code; "
        "Define(variable/number): Define a variable or a number for latter usage."
    )


def test_calculator_exact_chain_and_formatting(ex):
    assert run(ex, "R1 = Calculator(48/2); R2 = Calculator(48 + R1)") == ["24", "72"]
    assert run(ex, "R3 = Calculator(12/60); R4 = Calculator(R3 * 50)") == ["0.2", "10"]
    # exact rationals: a third times three is exactly one
    assert run(ex, "R5 = Calculator(1/3); R6 = Calculator(R5 * 3)") == ["0.333333333333", "1"]
    assert run(ex, "R7 = Calculator(0.1 + 0.2)") == ["0.3"]
    assert run(ex, "R8 = Calculator(1,000 * $2 + 12.50)") == ["2012.5"]
    assert run(ex, "R9 = Calculator(3 x 4)") == ["12"]
    assert run(ex, "R10 = Calculator(40% * 50)") == ["20"]
    assert run(ex, "R11 = Calculator(2^10)") == ["1024"]
    assert run(ex, "R12 = Calculator(-7 - 3)") == ["-10"]


def test_r1_does_not_rewrite_r10(ex):
    for k in range(1, 11):
        ex.execute(f"R{k} = Calculator({k})")
    assert run(ex, "R11 = Calculator(R10 - R1)") == ["9"]


def test_lumos_incontext_example_1(ex):
    # allenai/lumos data/incontext.py, maths example 1 (answer 123/40)
    line = (
        "R1 = Calculator((x-y) - (x+y)); R2 = Calculator((x+y) + 2*R1); R3 = Calculator((x+y) + 3*R1); "
        "R4 = Calculator((x+y) + 4*R1); R5, R6 = SolveEquation(R2=xy, R3=x/y); Output = Calculator(R4(R5, R6))"
    )
    assert run(ex, line) == ["-2*y", "x - 3*y", "x - 5*y", "x - 7*y", "-1.125, -0.6", "3.075"]
    assert ex.final_answer() == "3.075"


def test_lumos_incontext_example_3_define_solve_code(ex):
    line = (
        "R1 = Define(n-2); R2 = Define(n); R3 = Define(n+2); R4 = Calculator(R1^2); R5 = Calculator(R2^2); "
        "R6 = Calculator(R3^2); R8 = SolveEquation(R4 + R5 + R6 = 12296); R9 = Code(If R8 > 0, R8, -R8); "
        "R10 = Calculator(R1(R9)); R11 = Calculator(R2(R9)); R12 = Calculator(R3(R9)); "
        "R13 = Calculator(R10 * R11 * R12); Output = Calculator(R13 / 8)"
    )
    out = run(ex, line)
    assert out[:3] == ["n-2", "n", "n+2"]
    assert out[3] == "n^2 - 4*n + 4"
    assert out[6] == "64"  # the positive root comes first
    assert out[7:] == ["64", "62", "64", "66", "261888", "32736"]


def test_percent_equation_example(ex):
    line = (
        "R1 = Define(p); R2 = Calculator(40% * p); R3 = Calculator(p + 600); R4 = Calculator(25% * R3); "
        "R5 = SolveEquation(R2 = R4)"
    )
    assert run(ex, line)[-1] == "1000"


def test_equation_combination_applies_operation_to_both_sides(ex):
    assert run(ex, "R1 = SetEquation(2x + 3 = 7); R2 = Calculator(R1 * 2); R3 = SolveEquation(R2)") == [
        "2*x + 3 = 7",
        "4*x + 6 = 14",
        "2",
    ]


def test_solve_equation_variants(ex):
    assert run(ex, "R1 = SolveEquation(4x = 44)") == ["11"]
    assert run(ex, "R2, R3 = SolveEquation(x + y = 10, x - y = 2)") == ["6, 4"]
    assert run(ex, "R4, R5 = SolveEquation(x^2 = 9)") == ["3, -3"]
    assert run(ex, "R6 = SolveEquation(R4 + 2)") == ["5"]  # nothing to solve: evaluated
    assert run(ex, "R7 = SolveEquation(x = x + 1)")[0].startswith("ERR[tool_error]")
    assert run(ex, "R8 = SetEquation(a*x = 10, a = 2); R9 = SolveEquation(R8)") == ["2*x = 10", "5"]


def test_solve_inequality_count_define(ex):
    assert run(ex, "R1 = SolveInequality(2x + 3 > 7)") == ["x > 2"]
    assert run(ex, "R2 = SolveInequality(1 < x + 1 <= 5)") == ["0 < x <= 4"]
    assert run(ex, "R3 = Count(2^0, 2^1, 2^2, 2^3)") == ["4"]
    assert run(ex, "R4 = Count(1, 3, ..., 99)") == ["50"]
    assert run(ex, "R5 = Count([a, b, c])") == ["3"]
    assert run(ex, "R6 = Define(5); R7 = Calculator(R6 + 1)") == ["5", "6"]


def test_output_passthrough(ex):
    assert run(ex, "R1 = Calculator(6 * 7); Output = R1") == ["42", "42"]
    assert run(ex, "Output = R1 + 1") == ["43"]
    assert ex.final_answer() == "43"


@pytest.mark.parametrize(
    "line, kind, fragment",
    [
        ("R1 = Calculator(9**9**9)", "tool_error", "too large"),
        ("R1 = Calculator(9^9^9)", "tool_error", "too large"),
        ("R1 = Calculator(factorial(100000))", "tool_error", "factorial"),
        ("R1 = Calculator(10/0)", "tool_error", "division by zero"),
        ("R1 = Calculator(__import__('os').system('x'))", "invalid_action", "cannot read formula"),
        ("R1 = Calculator(().__class__)", "invalid_action", "cannot read formula"),
        ("R1 = Calculator(2 +* 3)", "invalid_action", "cannot read formula"),
        ("R1 = Calculator(R4 + 1)", "invalid_action", "undefined variable"),
        ("R1 = Calculator(1 = 2 = 3)", "invalid_action", "more than one"),
        ("R1, R2 = Calculator(1)", "invalid_action", "assigns 1"),
        ("R1 = Calculate(1)", "invalid_action", "did you mean Calculator"),
        ("R1 = SolveInequality(x + 1)", "invalid_action", "no inequality"),
        ("R1 = Code(add the numbers)", "invalid_action", "code model"),
    ],
)
def test_errors(ex, line, kind, fragment):
    r = ex.execute(line)[0]
    assert r.error_kind == kind, r.error
    assert fragment in r.error


def test_handle_never_raises_on_bad_payload():
    assert handle({"op": "Nope"})["kind"] == "invalid_action"
    assert "error" in handle({"op": "Calculator", "arg": None})
    assert "error" in handle(
        {"op": "Calculator", "arg": "R1", "vars": {"R1": {"text": "not a number ((", "exact": None}}}
    )


def test_in_process_alarm_cuts_off_long_computation():
    ex = MathExecutor(InProcessEvaluator(timeout_s=0.5))
    r = ex.execute("R1 = Calculator(9**9**9)")[0]
    assert r.error_kind == "tool_error"  # refused by the size guard before any time passes
    slow = InProcessEvaluator(timeout_s=0.3)
    reply = slow({"op": "Calculator", "arg": "9**9**9", "vars": {}, "max_digits": 10**12})
    assert "timed out" in reply["error"]
