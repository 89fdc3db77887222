"""GSM8K/SVAMP answer extraction and exact match (SPEC c).

* ``em_numeric`` (headline): both sides read as numbers after removing ``$``, thousands commas and
  trailing units (``18 dollars``, ``50%``); equal **exactly** as rationals (``12.0`` == ``12``,
  ``3/4`` == ``0.75``, but ``1450001`` != ``1450000`` and ``0.3333333`` != ``1/3``). No tolerance:
  a relative one accepts wrong answers on large golds (SPEC c). Text that is not a number scores 0.
* ``em_strict`` (Lumos' string comparison): equal strings after canonical formatting only:
  whitespace stripped, thousands commas removed, and a plain decimal number written canonically
  (``12.0`` -> ``12``, ``0.50`` -> ``0.5``). ``$12``, ``12 dollars`` and ``3/4`` vs ``0.75`` differ.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_VALUE = re.compile(
    rf"^(?P<num>{_NUM})(?:\s*/\s*(?P<den>{_NUM}))?(?:\s*%|\s+[A-Za-z][A-Za-z .'/²³-]*|\s*/\s*[A-Za-z][\w .-]*)?$"
)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d)")


def gsm8k_gold(answer_field: str) -> str:
    """The gold of a GSM8K ``answer`` field: text after ``####``, stripped, commas between digits
    removed (as Lumos does)."""
    gold = answer_field.split("####")[-1].strip()
    return _THOUSANDS.sub("", gold)


def _clean(text: str) -> str:
    text = str(text).strip().replace("−", "-").replace("\u2009", "").replace("\u00a0", " ")
    text = _THOUSANDS.sub("", text)
    text = re.sub(r"^([-+]?)\s*\$\s*", r"\1", text)  # $18, -$5
    text = text.rstrip(" .;")
    return text.strip()


def parse_number(text: str | float | int | None) -> Fraction | None:
    """The number ``text`` states, or None. Accepts ``1,000``, ``$18``, ``-3``, ``.5``, ``12.0``,
    ``3/4``, ``18 dollars``, ``50%`` (read as 50)."""
    if text is None:
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return Fraction(text) if math.isfinite(text) else None
    m = _VALUE.match(_clean(text))
    if not m:
        return None
    try:
        num = Fraction(m.group("num"))
        if m.group("den"):
            den = Fraction(m.group("den"))
            if den == 0:
                return None
            num /= den
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return num


def numbers_equal(a: Fraction, b: Fraction) -> bool:
    """Exact equality of the two rationals (decimal strings parse exactly into ``Fraction``)."""
    return a == b


def em_numeric(prediction: str | None, gold: str | float | int | None) -> float:
    p, g = parse_number(prediction), parse_number(gold)
    if p is None or g is None:
        return 0.0
    return float(numbers_equal(p, g))


def canonical(text: str | None) -> str:
    """Canonical string form for ``em_strict``."""
    if text is None:
        return ""
    s = _THOUSANDS.sub("", str(text).strip())
    if re.fullmatch(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)", s):
        try:
            d = Decimal(s)
        except InvalidOperation:
            return s
        if d == d.to_integral_value():
            return str(int(d))
        return format(d.normalize(), "f")
    return s


def em_strict(prediction: str | None, gold: str | float | int | None) -> float:
    if prediction is None or gold is None:
        return 0.0
    p = canonical(prediction)
    return float(bool(p) and p == canonical(str(gold)))
