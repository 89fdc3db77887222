"""Size limits of the maths engine: what a formula may ask for before it is computed.

A model can write ``9**9**9``, ``round(1/3, 10^9)`` or ``x^1000 + x + 1 = 0``; each would run into the
tool's time limit (or exhaust memory) if sympy were allowed to start. These checks refuse them from
the sizes of the arguments alone, before any work (:func:`envs.math.engine.compute` calls them while
it rebuilds an expression bottom-up).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any


class EngineError(Exception):
    """A computation failed (tool_error)."""

    kind = "tool_error"


class FormulaError(EngineError):
    """The formula text cannot be read (invalid_action)."""

    kind = "invalid_action"


DEFAULT_MAX_DIGITS = 4_000
"""Below Python's 4,300-digit limit for int -> str conversion."""
MAX_DIGITS = DEFAULT_MAX_DIGITS
"""The size guard in force (``handle`` sets it per request; a test may raise it to reach the
worker's time limit)."""
MAX_FACTORIAL = 5_000
MAX_ROUND_DIGITS = 1_000
"""``round(x, n)`` with ``|n|`` above this is refused (it computes ``10**n``)."""
MAX_SOLVE_DEGREE = 12
"""Polynomial equations (and inequalities) of a higher degree are refused, not solved:
``x^1000 + x + 1 = 0`` would run into the time limit."""

_FLOAT_LITERAL = re.compile(r"(?<![A-Za-z_])(?:\d+\.?\d*|\.\d+)[eE]([+-]?\d+)")


def check_literals(text: str) -> None:
    """Refuse a float literal whose exponent would make ``rationalize`` build a huge ``10**e``."""
    for m in _FLOAT_LITERAL.finditer(text):
        if len(m.group(1)) > 6 or abs(int(m.group(1))) > MAX_DIGITS:
            raise EngineError(f"number {m.group(0)[:20]} too large or too small (more than {MAX_DIGITS} digits)")


def fold(fn: Any) -> Any:
    """``gcd``/``lcm`` of any number of arguments, two at a time."""

    def folded(*args: Any) -> Any:
        if not args:
            raise FormulaError("gcd/lcm need at least one argument")
        if len(args) > 500:
            raise EngineError("gcd/lcm of more than 500 numbers refused")
        return functools.reduce(fn, args)

    return folded


def digits(x: Any) -> float:
    """log10 of the magnitude of a rational (numerator or denominator, whichever is bigger)."""
    return max(int(x.p).bit_length(), int(x.q).bit_length()) * math.log10(2)


def magnitude(x: Any) -> float:
    """``|x|`` as a float for a real number (``inf`` when it overflows or cannot be evaluated)."""
    try:
        return abs(float(x))
    except (OverflowError, TypeError, ValueError):
        return math.inf


def log_digits(base: Any) -> float:
    """Digits per unit of exponent of ``base ** e``: exact for rationals, from a float otherwise."""
    if base.is_Rational:
        return digits(base)
    m = magnitude(base)
    if m == 0:
        return 0.0
    return abs(math.log10(m)) if math.isfinite(m) else math.inf


def degree(e: Any) -> float:
    if e.is_Add:
        return max(degree(a) for a in e.args)
    if e.is_Mul:
        return sum(degree(a) for a in e.args)
    if e.is_Pow:
        return degree(e.base) * float(e.exp) if e.exp.is_Integer and e.exp > 0 else math.inf
    return 1 if e.is_Symbol else (0 if e.is_number else math.inf)


def check_degree(expr: Any, what: str = "equation") -> None:
    """Refuse to solve a polynomial of a degree above :data:`MAX_SOLVE_DEGREE`."""
    d = degree(expr)
    if math.isfinite(d) and d > MAX_SOLVE_DEGREE:
        raise EngineError(f"{what} of degree {d:g} refused (at most {MAX_SOLVE_DEGREE})")
