"""Sympy in place of Wolfram|Alpha for the maths tools (SPEC b.1, b.2).

Values travel as ``{"text": display string, "exact": srepr or None}``: the text is what the agent
sees (integers without ``.0``, non-integers as a reduced decimal, equations as ``lhs = rhs``), the
exact form is what later actions compute with, so ``R1 = 1/3`` then ``R1 * 3`` gives exactly 1.

Parsing is restricted: ``parse_expr`` with a whitelist of names (no builtins, no attribute access,
no strings, no dunder names), implicit multiplication, ``^`` as power, float literals made
rational. Expressions are parsed unevaluated and rebuilt bottom-up so that a power, ``exp``,
factorial, float literal (``1e999999999``) or ``round(x, n)`` whose result would have more than
``MAX_DIGITS`` digits is refused before it is computed (the limits live in :mod:`envs.math.limits`,
the display text in :mod:`envs.math.display`) (``9**9**9``, ``exp(exp(exp(10)))``,
``round(1/3, 10^9)``); ``gcd``/``lcm`` of many numbers are folded pairwise (sympy reads a third
argument as a polynomial generator) and equations of a degree above ``MAX_SOLVE_DEGREE`` are not
solved. The worker's wall-clock limit (see :mod:`envs.math.tools`) catches everything else.

:func:`compute` is the entry point; :func:`envs.math.tools.handle` calls it in-process or inside a
:class:`envs.sandbox.SandboxWorker`.
"""

from __future__ import annotations

import math
import re
import warnings
from tokenize import TokenError
from functools import lru_cache
from typing import Any

import sympy
from sympy.core.function import AppliedUndef
from sympy.utilities.exceptions import SymPyDeprecationWarning
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_application,
    implicit_multiplication,
    parse_expr,
    rationalize,
    split_symbols_custom,
    standard_transformations,
)

from envs.actions import VAR_RE, split_args
from envs.math import limits
from envs.math.display import format_value
from envs.math.limits import EngineError, FormulaError, check_degree, degree, fold, log_digits, magnitude

__all__ = ["EngineError", "FormulaError", "check_degree", "compute", "decode", "encode", "format_value", "split_top"]

MAX_EXPAND_DEGREE = 8
MAX_FORMULA_CHARS = 2_000


_ZERO = sympy.Integer(0)


class _round(sympy.Function):
    """``round(x)`` / ``round(x, n)``: half away from zero, evaluated for numbers only."""

    @classmethod
    def eval(cls, x: Any, n: Any = _ZERO) -> Any:
        if x.is_number and x.is_real and n.is_Integer:
            q = sympy.Rational(10) ** int(n)
            v = sympy.Abs(x) * q
            r = sympy.floor(v + sympy.Rational(1, 2)) / q
            return r if x >= 0 else -r
        return None


def _split_pred(name: str) -> bool:
    # "xy" -> x*y as in Lumos annotations; longer words stay whole (units, names).
    return len(name) == 2 and name.isalpha() and name.islower()


_TRANSFORMS = standard_transformations + (
    convert_xor,
    split_symbols_custom(_split_pred),
    implicit_multiplication,
    implicit_application,
    rationalize,
)
_NAMES: dict[str, Any] = {
    "sqrt": sympy.sqrt,
    "cbrt": sympy.cbrt,
    "root": sympy.root,
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "floor": sympy.floor,
    "ceiling": sympy.ceiling,
    "ceil": sympy.ceiling,
    "round": _round,
    "Round": _round,
    "abs": sympy.Abs,
    "Abs": sympy.Abs,
    "factorial": sympy.factorial,
    "binomial": sympy.binomial,
    "gcd": fold(sympy.gcd),
    "lcm": fold(sympy.lcm),
    "min": sympy.Min,
    "max": sympy.Max,
    "Min": sympy.Min,
    "Max": sympy.Max,
    "mod": sympy.Mod,
    "Mod": sympy.Mod,
    "pi": sympy.pi,
    "oo": sympy.oo,
}
# "E" and "e" stay symbols: word problems use capital letters as unknowns ("2E = 42"); exp(1) is e.
_CONSTANTS = {"pi", "oo"}
# Functions are parsed as inert placeholders and applied in _build, after the size guard.
_PROXIES = {name: sympy.Function(name) for name in _NAMES if name not in _CONSTANTS}
_PARSER_NAMES = {
    n: getattr(sympy, n)
    for n in (
        "Integer",
        "Float",
        "Rational",
        "Symbol",
        "Function",
        "Add",
        "Mul",
        "Pow",
        "Or",
        "And",
        "Not",
        "Lt",
        "Gt",
        "Le",
        "Ge",
        "Eq",
        "Ne",
    )
}
_GLOBALS = {"__builtins__": {}, **_PARSER_NAMES, **{n: _NAMES[n] for n in _CONSTANTS}, **_PROXIES}
_UNICODE = {
    "×": "*",
    "÷": "/",
    "−": "-",
    "–": "-",
    "—": "-",
    "·": "*",
    "√": "sqrt",
    "²": "^2",
    "³": "^3",
    "π": "pi",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
}
_FORBIDDEN = re.compile(r"__|\blambda\b|\bimport\b|[\"'`;\\{}@#]|\.\s*[A-Za-z_]|(?<![A-Za-z0-9])_")


# -- values ------------------------------------------------------------------------------------
@lru_cache(maxsize=8192)
def _from_srepr(s: str) -> Any:
    return sympy.sympify(s)  # only our own srepr strings reach this (see module docstring)


def decode(value: dict[str, Any]) -> Any:
    """The exact sympy value of a stored variable (parsing its text when it has none)."""
    if value.get("exact"):
        return _from_srepr(value["exact"])
    return compute(str(value.get("text", "")), {})


def encode(v: Any) -> dict[str, Any]:
    return {"text": format_value(v), "exact": sympy.srepr(v)}


# -- parsing and guarded evaluation ------------------------------------------------------------
def _normalise(text: str) -> str:
    for a, b in _UNICODE.items():
        text = text.replace(a, b)
    text = text.replace("$", "")
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # thousands separators
    text = re.sub(r"(?<=\d)\s*[xX]\s*(?=[\d.(])", "*", text)  # 3 x 4
    text = re.sub(r"(?<=\d)([jJ])(?![\w(])", r" \1", text)  # 4j is 4*j, not Python's imaginary 4j
    text = re.sub(r"%(?!\s*[\w(.])", "/100", text)  # 40% -> 40/100; "7 % 3" stays a modulo
    return text.strip().rstrip("=?").strip()


def _parse(text: str, funcs: set[str]) -> Any:
    if len(text) > MAX_FORMULA_CHARS:
        raise FormulaError(f"formula longer than {MAX_FORMULA_CHARS} characters")
    if not text.strip():
        raise FormulaError("empty formula")
    if _FORBIDDEN.search(text):
        raise FormulaError(f"cannot read formula {text[:80]!r} (unsupported characters or names)")
    limits.check_literals(text)
    local: dict[str, Any] = {}
    body = VAR_RE.sub(
        lambda m: f" _R{m.group(1)}" + ("" if m.end() < len(text) and text[m.end()] == "(" else " "), text
    )
    for k in VAR_RE.findall(text):
        local[f"_R{k}"] = sympy.Function(f"_R{k}") if f"R{k}" in funcs else sympy.Symbol(f"_R{k}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SymPyDeprecationWarning)  # e.g. 2(1, 2): a tuple in a product
            return parse_expr(
                body, local_dict=local, global_dict=dict(_GLOBALS), transformations=_TRANSFORMS, evaluate=False
            )
    except (
        SyntaxError,
        TypeError,
        ValueError,
        AttributeError,
        NameError,
        IndexError,
        KeyError,
        TokenError,
        SymPyDeprecationWarning,
    ) as exc:
        raise FormulaError(f"cannot read formula {text[:80]!r}: {type(exc).__name__}") from exc


def _check(func: Any, args: list[Any]) -> None:
    if func is sympy.Pow and len(args) == 2:
        base, ex = args
        if base.is_number and base.is_real and ex.is_number and ex.is_real and base not in (0, 1, -1):
            e = magnitude(ex)
            if e and e * log_digits(base) > limits.MAX_DIGITS:
                raise EngineError(f"result too large (more than {limits.MAX_DIGITS} digits)")
    elif func is sympy.exp and len(args) == 1 and args[0].is_number and args[0].is_real:
        if magnitude(args[0]) > limits.MAX_DIGITS * math.log(10):
            raise EngineError(f"exp of a number that large refused (more than {limits.MAX_DIGITS} digits)")
    elif func is _round and len(args) == 2 and args[1].is_number:
        if magnitude(args[1]) > limits.MAX_ROUND_DIGITS:
            raise EngineError(f"round to more than {limits.MAX_ROUND_DIGITS} digits refused")
    elif func in (sympy.factorial, sympy.factorial2) and args and getattr(args[0], "is_number", False):
        if args[0].is_real and args[0] > limits.MAX_FACTORIAL:
            raise EngineError(f"factorial of a number above {limits.MAX_FACTORIAL} refused")
    elif (
        func is sympy.binomial and args and getattr(args[0], "is_number", False) and args[0].is_real and args[0] > 10**5
    ):
        raise EngineError("binomial too large")


def _apply(fn_value: Any, args: list[Any], name: str) -> Any:
    """``R4(R5, R6)``: substitute the arguments for R4's free symbols in sorted-name order."""
    syms = sorted(fn_value.free_symbols, key=lambda s: s.name)
    if len(args) != len(syms):
        raise EngineError(
            f"{name} has {len(syms)} unknown(s) ({', '.join(s.name for s in syms) or 'none'}), got {len(args)} value(s)"
        )
    return fn_value.subs(dict(zip(syms, args)), simultaneous=True)


def _build(e: Any, env: dict[str, Any]) -> Any:
    if isinstance(e, sympy.Symbol) and e.name in env:
        return env[e.name]
    if isinstance(e, AppliedUndef):
        name = e.func.__name__
        args = [_build(a, env) for a in e.args]
        if name in env:
            return _apply(env[name], args, "R" + name[2:])
        real = _NAMES.get(name)
        if real is None:
            raise FormulaError(f"unknown function {name}")
        _check(real, args)
        return real(*args)
    if not e.args or isinstance(e, (sympy.Symbol, sympy.Number)):
        return e
    args = [_build(a, env) for a in e.args]
    if e.func in (sympy.Add, sympy.Mul, sympy.Pow) and not all(isinstance(a, sympy.Expr) for a in args):
        raise EngineError("cannot do arithmetic with a truth value, a tuple or an equation here")
    _check(e.func, args)
    return e.func(*args)


def _tidy(v: Any) -> Any:
    if isinstance(v, sympy.Expr) and v.free_symbols and degree(v) <= MAX_EXPAND_DEGREE:
        return sympy.expand(v)
    return v


def compute(formula: str, variables: dict[str, dict[str, Any]]) -> Any:
    """Evaluate one formula; ``lhs = rhs`` gives an equation. Variables holding equations combine
    (the operation is applied to both sides, Lumos' ``combine_eqs``)."""
    text = _normalise(formula)
    funcs = {f"R{k}" for k in re.findall(r"(?<![A-Za-z0-9_])R(\d+)\(", text)}
    sides = re.split(r"(?<![<>=!])=(?!=)", text)
    if len(sides) > 2:
        raise FormulaError("more than one '=' in a formula")
    names = list(dict.fromkeys(m.group(0) for m in VAR_RE.finditer(text)))
    missing = [n for n in names if n not in variables]
    if missing:
        raise FormulaError(f"undefined variable(s): {', '.join(missing)}")
    values = {f"_R{n[1:]}": decode(variables[n]) for n in names}
    trees = [_parse(s, funcs) for s in sides]
    try:
        eqs = {k: v for k, v in values.items() if isinstance(v, sympy.Equality)}
        if len(trees) == 1 and eqs and not (isinstance(trees[0], sympy.Symbol) and trees[0].name in values):
            lhs = _build(trees[0], {**values, **{k: v.lhs for k, v in eqs.items()}})
            rhs = _build(trees[0], {**values, **{k: v.rhs for k, v in eqs.items()}})
            return sympy.Eq(_tidy(lhs), _tidy(rhs), evaluate=False)
        built = [_tidy(_build(t, values)) for t in trees]
        if len(built) == 2:
            return sympy.Eq(built[0], built[1], evaluate=False)
        return built[0]
    except EngineError:
        raise
    except (TypeError, ValueError, AttributeError, ZeroDivisionError, RecursionError, NotImplementedError) as exc:
        raise EngineError(f"cannot compute {formula[:80]!r}: {type(exc).__name__}: {str(exc)[:120]}") from exc


def split_top(text: str) -> list[str]:
    """Top-level comma-separated parts, with thousands separators protected."""
    return [p for p in split_args(re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)) if p]
