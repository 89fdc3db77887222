"""The Lumos maths tools on sympy: Calculator, SetEquation, SolveEquation, SolveInequality, Define,
Count (``Code`` runs model-written Python, see :mod:`envs.math.code`).

Each tool takes the raw argument text and the referenced variables (``{"R1": {"text", "exact"}}``)
and returns a list of values, one per output variable. :func:`handle` wraps them in the
JSON-only request/response used by :class:`envs.sandbox.SandboxWorker`.

Semantics (SPEC b.1/b.2, with the Harness choices):

* ``Calculator(f)``: exact evaluation; ``lhs = rhs`` gives an equation; ``R4(R5, R6)`` substitutes
  values for R4's unknowns in sorted-name order; a variable holding an equation inside an
  arithmetic expression applies the operation to both sides; trailing ``, a = 1`` parts are
  substitutions (Lumos' ``", where"``).
* ``SetEquation(eq)``: the equation (with ``, a = 1`` substitutions).
* ``SolveEquation(eqs)``: comma-separated equations (or stored ones); unknowns = the free symbols
  in sorted-name order unless listed as bare symbols; values assigned to the outputs in that order.
  With one unknown and several roots, the outputs get the roots (real first, then positive first).
  Without any unknown it just evaluates (``SolveEquation(R2 + R4)``).
* ``SolveInequality(ineqs)``: ``reduce_inequalities``; rendered as ``x > 3``, ``2 <= x < 5``.
* ``Define(x)``: identity on the text (variables substituted); the exact value when it parses.
* ``Count(list)``: number of comma-separated items; ``a, b, ..., z`` counts an arithmetic sequence
  as ``(z - a)/(b - a) + 1``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

import sympy

from envs.actions import VAR_RE
from envs.math import limits
from envs.math.engine import EngineError, FormulaError, check_degree, compute, encode, format_value, split_top
from harness.records import ToolSpec

log = logging.getLogger(__name__)

Vars = dict[str, dict[str, Any]]

# SPEC a.4, maths row: exact order and wording (the grounder prompt is rendered from these).
TOOL_SPECS: list[ToolSpec] = [
    ToolSpec(name="Calculator", signature="Calculator(formula)", description="Calculate the input formula"),
    ToolSpec(name="SetEquation", signature="SetEquation(equation)", description="Set up an equation to be solved"),
    ToolSpec(name="SolveEquation", signature="SolveEquation(equation)", description="Solve the previous set equation"),
    ToolSpec(name="Count", signature="Count(list)", description="Count the number of elements in the given list"),
    ToolSpec(
        name="SolveInequality", signature="SolveInequality(inequality)", description="Solve the previous set inequality"
    ),
    ToolSpec(
        name="Code",
        signature="Code(pseudo_code)",
        description="Generate a Python function that corresponds to the pseudo code",
    ),
    ToolSpec(
        name="Define", signature="Define(variable/number)", description="Define a variable or a number for latter usage"
    ),
]


def _where(parts: list[str], value: Any, variables: Vars) -> Any:
    """Apply ``a = 1`` substitutions given after the main formula."""
    subs = {}
    for part in parts:
        eq = compute(part, variables)
        if not isinstance(eq, sympy.Equality) or not isinstance(eq.lhs, sympy.Symbol):
            raise FormulaError(f"expected 'name = value' after the formula, got {part[:60]!r}")
        subs[eq.lhs] = eq.rhs
    return value.subs(subs) if subs else value


def calculator(arg: str, variables: Vars) -> list[Any]:
    parts = split_top(arg)
    if not parts:
        raise FormulaError("empty formula")
    return [_where(parts[1:], compute(parts[0], variables), variables)]


def set_equation(arg: str, variables: Vars) -> list[Any]:
    return calculator(arg, variables)


def _rank(sol: dict[Any, Any]) -> tuple[int, int]:
    vals = list(sol.values())
    real = all(v.is_real for v in vals)
    positive = all(v.is_positive for v in vals)
    return (0 if real else 1, 0 if positive else 1)


def solve_equation(arg: str, variables: Vars) -> list[Any]:
    eqs, unknowns, plain = [], [], []
    for part in split_top(arg):
        v = compute(part, variables)
        if isinstance(v, sympy.Symbol):
            unknowns.append(v)
        elif isinstance(v, sympy.Equality):
            eqs.append(v)
        elif isinstance(v, sympy.Expr) and v.free_symbols:
            eqs.append(sympy.Eq(v, 0))
        else:
            plain.append(v)
    if not eqs:
        if plain:
            return plain
        raise FormulaError("no equation to solve")
    syms = unknowns or sorted(set().union(*(e.free_symbols for e in eqs)), key=lambda s: s.name)
    if not syms:
        truth = all(bool(sympy.simplify(e.lhs - e.rhs) == 0) for e in eqs)
        return [sympy.true if truth else sympy.false]
    for e in eqs:
        check_degree(e.lhs - e.rhs)
    try:
        sols = sympy.solve(eqs, syms, dict=True)
    except (NotImplementedError, ValueError, TypeError) as exc:
        raise EngineError(f"cannot solve: {exc}"[:200]) from exc
    if not sols:
        raise EngineError("no solution")
    sols = sorted(sols, key=_rank)
    if len(syms) == 1:
        return [s.get(syms[0], syms[0]) for s in sols]
    return [sols[0].get(s, s) for s in syms]


_REL = re.compile(r"(<=|>=|<|>|!=)")


def _interval_text(sym: sympy.Symbol, iv: Any) -> str:
    if isinstance(iv, sympy.Union):
        return " or ".join(_interval_text(sym, a) for a in iv.args)
    if isinstance(iv, sympy.FiniteSet):
        return " or ".join(f"{sym} = {format_value(a)}" for a in iv.args)
    if isinstance(iv, sympy.Interval):
        lo, hi = iv.start, iv.end
        if lo == -sympy.oo and hi == sympy.oo:
            return f"{sym} is any real number"
        if lo == -sympy.oo:
            return f"{sym} {'<' if iv.right_open else '<='} {format_value(hi)}"
        if hi == sympy.oo:
            return f"{sym} {'>' if iv.left_open else '>='} {format_value(lo)}"
        return (
            f"{format_value(lo)} {'<' if iv.left_open else '<='} {sym} "
            f"{'<' if iv.right_open else '<='} {format_value(hi)}"
        )
    if iv is sympy.S.EmptySet:
        raise EngineError("no solution")
    return format_value(iv)


def solve_inequality(arg: str, variables: Vars) -> list[Any]:
    rels = []
    for part in split_top(arg):
        pieces = _REL.split(part)
        if len(pieces) < 3:
            v = compute(part, variables)
            if isinstance(v, sympy.Equality):
                rels.append(v)
                continue
            raise FormulaError(f"no inequality in {part[:60]!r}")
        for i in range(0, len(pieces) - 2, 2):  # a < x < b -> a < x, x < b
            lhs, op, rhs = pieces[i], pieces[i + 1], pieces[i + 2]
            left, right = calculator(lhs, variables)[0], calculator(rhs, variables)[0]
            rels.append(sympy.Rel(left, right, op))
    syms = sorted(set().union(*(getattr(r, "free_symbols", set()) for r in rels)), key=lambda s: s.name)
    if not syms:
        return [sympy.true if all(bool(r) for r in rels) else sympy.false]
    for r in rels:
        check_degree(r.lhs - r.rhs, "inequality")
    try:
        if len(syms) == 1:
            sol = sympy.reduce_inequalities(rels, syms[0])
            text = _interval_text(syms[0], sol.as_set()) if sol not in (sympy.true, sympy.false) else str(sol)
        else:
            sol = sympy.reduce_inequalities(rels, syms)
            text = str(sol).replace("&", "and").replace("|", "or")
    except (NotImplementedError, ValueError, TypeError, AttributeError) as exc:
        raise EngineError(f"cannot solve the inequality: {exc}"[:200]) from exc
    return [{"text": text, "exact": None}]


def _render(arg: str, variables: Vars) -> str:
    return VAR_RE.sub(lambda m: str(variables[m.group(0)]["text"]) if m.group(0) in variables else m.group(0), arg)


def define(arg: str, variables: Vars) -> list[Any]:
    text = _render(arg, variables).strip()
    try:
        exact = sympy.srepr(calculator(arg, variables)[0])
    except EngineError:
        exact = None
    return [{"text": text, "exact": exact}]


def count(arg: str, variables: Vars) -> list[Any]:
    text = _render(arg, variables).strip()
    if len(text) >= 2 and text[0] + text[-1] in ("[]", "()", "{}"):
        text = text[1:-1]
    items = [i for i in split_top(text) if i]
    if any(i in ("...", "…") for i in items):
        values = [i for i in items if i not in ("...", "…")]
        if len(values) < 3:
            raise FormulaError("an arithmetic sequence needs 'a, b, ..., z'")
        first, second, last = (calculator(v, {})[0] for v in (values[0], values[1], values[-1]))
        step = second - first
        if step == 0:
            raise EngineError("the sequence does not change")
        return [sympy.simplify((last - first) / step + 1)]
    return [sympy.Integer(len(items))]


OPS: dict[str, Callable[[str, Vars], list[Any]]] = {
    "Calculator": calculator,
    "SetEquation": set_equation,
    "SolveEquation": solve_equation,
    "SolveInequality": solve_inequality,
    "Define": define,
    "Count": count,
}


def handle(payload: dict[str, Any]) -> dict[str, Any]:
    """JSON in, JSON out; errors are values: ``{"values": [...]}`` or ``{"error", "kind"}``."""
    op = payload.get("op")
    fn = OPS.get(str(op))
    limits.MAX_DIGITS = int(payload.get("max_digits") or limits.DEFAULT_MAX_DIGITS)
    if fn is None:
        return {"error": f"unknown maths operation {op!r}", "kind": "invalid_action"}
    try:
        raw = fn(str(payload.get("arg", "")), payload.get("vars") or {})
        return {"values": [v if isinstance(v, dict) else encode(v) for v in raw]}
    except EngineError as exc:
        return {"error": str(exc), "kind": exc.kind}
    except RecursionError:
        return {"error": "expression too deeply nested", "kind": "tool_error"}
    except Exception as exc:  # noqa: BLE001 - sympy raises many types; every one is a tool error
        log.debug("maths tool %s failed", op, exc_info=True)
        return {"error": f"{type(exc).__name__}: {exc}"[:300], "kind": "tool_error"}
