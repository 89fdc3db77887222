"""Display text of maths values: what the agent reads back as an observation (``0.75``, ``x = 5``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sympy

from envs.math.limits import EngineError


def _decimal(r: sympy.Rational) -> str:
    p, q = int(r.p), int(r.q)
    two = (q & -q).bit_length() - 1
    rest = q >> two
    five = 0
    while rest % 5 == 0:
        rest //= 5
        five += 1
    if rest == 1 and max(two, five) <= 15:
        s = format(Decimal(p) / Decimal(q), "f")
        return s.rstrip("0").rstrip(".") if "." in s else s
    return _float_text(sympy.Float(r, 20))


def _float_text(f: Any) -> str:
    import mpmath

    s = mpmath.nstr(mpmath.mpf(f), 12, strip_zeros=True, min_fixed=-6, max_fixed=30)
    return s[:-2] if s.endswith(".0") else s


def format_value(v: Any) -> str:
    """Display text: ``12``, ``0.75``, ``0.333333333333``, ``2*p/5``, ``x^2 + 1``, ``x = 5``."""
    if isinstance(v, bool) or v is sympy.true or v is sympy.false:
        return "True" if bool(v) else "False"
    if isinstance(v, sympy.Equality):
        return f"{format_value(v.lhs)} = {format_value(v.rhs)}"
    if isinstance(v, sympy.Expr):
        if v.has(sympy.zoo) or v.has(sympy.nan):
            raise EngineError("division by zero or undefined result")
        if v.is_Integer:
            return str(int(v))
        if v.is_Rational:
            return _decimal(v)
        if v.is_number:
            n = v.evalf(20)
            if n.is_real:
                return _float_text(n)
            re_, im = n.as_real_imag()
            return f"{_float_text(re_)} + {_float_text(im)}*I"
    return str(v).replace("**", "^")
