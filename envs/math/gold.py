"""Gold Lumos trajectories from the benchmarks' own solutions (for the ``oracle`` agent and SFT data).

GSM8K: every solution line that computes something becomes one subgoal, and each computation in it
(:func:`envs.math.solution_text.steps`: calculator annotations, plain-text arithmetic, algebra
steps) one action, ``R_k = Calculator(expr)`` or ``R_k = SolveEquation(eq)``. A number in an
expression that equals an earlier stated result (and is not a number of the question) becomes that
result's variable, but only when the earlier expression really evaluates to its stated result (so a
rounded or wrong annotation does not silently change later values). The subgoal is the line with
each computation replaced by its variable (``Natalia sold R1 clips in May.``).

The converter never reads the gold answer (the ``####`` line) and never writes a bare value as an
action (a value with nothing to compute stays text): the final answer is whatever the last
computation yields. :func:`gold_leaks` checks this independently.

SVAMP: the ``Equation`` field (``( ( 3.0 + 5.0 ) * 2.0 )``) gives one action per operator,
innermost first.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from fractions import Fraction

from envs.math.solution_text import ANNOTATION, NUMBER, eval_arith, find_equation, number, steps, words_to_ops


@dataclass
class GoldTrajectory:
    subgoals: list[str]
    actions: list[str]
    """One Lumos action string per subgoal (``R1 = Calculator(48 / 2)``; actions joined by ``"; "``)."""
    results: list[str] = field(default_factory=list)
    """The stated result of each action, in order (for checks; never written into actions)."""
    inline: int = 0
    """How many actions came from unannotated text arithmetic."""


def _question_numbers(question: str) -> set[Fraction]:
    return {number(m.group()) for m in NUMBER.finditer(question)}


def _substitute(expr: str, known: list[tuple[str, Fraction]], given: set[Fraction]) -> str:
    """Numbers equal to an earlier result become its variable (the latest one not used yet in this
    expression, so ``1.5 + 1.5`` from R1 and R2 reads ``R1 + R2``); question numbers stay."""
    used: set[str] = set()

    def repl(m: re.Match[str]) -> str:
        v = number(m.group())
        if v in given:
            return m.group().replace(",", "")
        names = [n for n, value in reversed(known) if value == v]
        if not names:
            return m.group().replace(",", "")
        name = next((n for n in names if n not in used), names[0])
        used.add(name)
        return name

    return NUMBER.sub(repl, expr)


def _spaced(expr: str) -> str:
    """``48/2`` -> ``48 / 2`` (the Lumos action style), leaving unary minus alone."""
    s = re.sub(r"(?<![\d.])\.(\d)", r"0.\1", expr.replace(" ", ""))
    s = re.sub(r"\s*([-+*/])\s*", r" \1 ", s).strip()
    s = re.sub(r"(^|[(*/+-] )- ", r"\1-", s)  # unary minus stays attached
    return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", s))


def gsm8k_trajectory(question: str, answer: str) -> GoldTrajectory | None:
    """Convert one GSM8K solution. Returns None when the solution computes nothing."""
    solution = answer.split("####")[0]
    given = _question_numbers(question)
    known: list[tuple[str, Fraction]] = []  # variables whose expression equals their stated result
    subgoals, actions, results, inline, k = [], [], [], 0, 0
    seen: list[str] = []
    for raw in solution.split("\n"):
        line = words_to_ops(raw.strip())
        seen.append(line)
        text, line_actions, last = [], [], 0
        for st in steps(line):
            if st.expr:
                action = f"Calculator({_spaced(_substitute(st.expr, known, given))})"
                exact = eval_arith(st.expr) == st.stated
            elif st.solve_for and (eq := find_equation(st.solve_for, seen[:-1] + [line[: st.start]], st.stated)):
                action, exact = f"SolveEquation({_substitute(eq, known, given)})", True
            else:
                continue  # a value with nothing to compute: stays text, never an action
            k += 1
            name = f"R{k}"
            line_actions.append(f"{name} = {action}")
            if exact:
                known.append((name, st.stated))
            results.append(st.stated_text)
            inline += st.inline
            text.append(line[last : st.start])
            text.append(name)
            last = st.end
        if not line_actions:
            continue
        text.append(line[last:])
        subgoal = ANNOTATION.sub("", "".join(text))
        subgoals.append(re.sub(r"\s+", " ", subgoal).strip())
        actions.append("; ".join(line_actions))
    if not actions:
        return None
    return GoldTrajectory(subgoals, actions, results, inline)


def gold_leaks(actions: list[str], gold: str) -> bool:
    """True if an action writes the gold answer as its whole argument (e.g. ``Calculator(26)`` when
    the answer is 26): the answer must be computed, not copied."""
    try:
        g = number(gold)
    except (ValueError, ZeroDivisionError):
        return False
    for line in actions:
        for m in re.finditer(r"\(([^()]*)\)", line):
            arg = m.group(1).strip()
            if re.fullmatch(r"-?[\d,]*\.?\d+", arg) and number(arg) == g:
                return True
    return False


# -- SVAMP ---------------------------------------------------------------------------------------
_SVAMP_OPS = {
    ast.Add: ("+", "the sum of {a} and {b}"),
    ast.Sub: ("-", "{a} minus {b}"),
    ast.Mult: ("*", "the product of {a} and {b}"),
    ast.Div: ("/", "{a} divided by {b}"),
}


def _fmt_literal(value: float | int) -> str:
    f = Fraction(str(value))
    return str(f.numerator) if f.denominator == 1 else format(float(f), "g")


def svamp_trajectory(equation: str, question: str) -> GoldTrajectory:
    """One ``Calculator`` action (and subgoal) per operator of ``Equation``, innermost first."""
    tree = ast.parse(equation.strip(), mode="eval").body
    subgoals, actions = [], []

    def walk(node: ast.AST) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return _fmt_literal(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return "-" + walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _SVAMP_OPS:
            a, b = walk(node.left), walk(node.right)
            sym, words = _SVAMP_OPS[type(node.op)]
            name = f"R{len(actions) + 1}"
            actions.append(f"{name} = Calculator({a} {sym} {b})")
            subgoals.append(f"Calculate {words.format(a=a, b=b)}.")
            return name
        raise ValueError(f"unsupported SVAMP equation {equation!r}")

    walk(tree)
    if not actions:
        raise ValueError(f"SVAMP equation without an operator: {equation!r}")
    subgoals[-1] = subgoals[-1].rstrip(".") + f" to answer: {question.strip()}"
    return GoldTrajectory(subgoals, actions, [], 0)
