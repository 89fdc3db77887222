"""Reading the computations out of a GSM8K solution line (used by :mod:`envs.math.gold`).

A *step* is one computation with its stated result: a calculator annotation ``<<48/2=24>>`` (or,
when the annotation only repeats a value, ``<<6=6>>``, the arithmetic written before it), plain-text
arithmetic without an annotation (``$40 − $4 = $36``, ``7 minus 6 equals 1``), or an algebra step
``x = 11`` whose equation (``4x = 44``) appears earlier in the solution. Units (``3 crafts *
$12/craft``) and ``$`` are dropped; mixed numbers (``1 1/2``) are read as sums.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

ANNOTATION = re.compile(r"<<([^<>]*)>>")
NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d+)*(?:\.\d+)?(?!\w)|(?<![\w.\d])\.\d+")
_VALUE = r"-?(?:\d+\s+\d+/\d+|\d+/\d+|\d+(?:,\d+)*(?:\.\d+)?|\.\d+)"
_RESULT = re.compile(rf"^\s*\$?\s*({_VALUE})(?![\d/])")
_TOKEN = re.compile(
    r"(?P<num>\d+\s+\d+/\d+(?![\d.])|\d+(?:,\d+)*(?:\.\d+)?|\.\d+)"
    r"|(?P<unit>/\s*[A-Za-z]+)"
    r"|(?P<op>[-+*/×÷−–()]|x(?![A-Za-z]))"
    r"|(?P<word>[A-Za-z']+)"
    r"|(?P<skip>[\s$%])"
    r"|(?P<stop>.)"
)
_OP_NAMES = {"×": "*", "x": "*", "÷": "/", "−": "-", "–": "-"}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_WORD_OPS = [
    (re.compile(r"(?<=\d)\s+plus\s+(?=[$\d.])"), " + "),
    (re.compile(r"(?<=\d)\s+minus\s+(?=[$\d.])"), " - "),
    (re.compile(r"(?<=\d)\s+(?:times|multiplied by)\s+(?=[$\d.])"), " * "),
    (re.compile(r"(?<=\d)\s+divided by\s+(?=[$\d.])"), " / "),
    (re.compile(r"(?<=\d)\s+(?:equals|is equal to)\s+(?=[$\d.<])"), " = "),
]
MAX_UNIT_WORDS = 3


def eval_arith(expr: str) -> Fraction | None:
    """Exact value of a plain arithmetic expression (numbers, + - * /, parentheses), else None."""
    try:
        tree = ast.parse(expr.replace(",", ""), mode="eval")
    except SyntaxError:
        return None

    def ev(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            return _ARITH[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError("not plain arithmetic")

    try:
        return ev(tree)
    except (ValueError, ZeroDivisionError, TypeError):
        return None


def number(text: str) -> Fraction:
    """``1,000`` / ``2.5`` / ``3/4`` / ``1 1/2`` -> Fraction (ValueError otherwise)."""
    text = text.replace(",", "").strip()
    mixed = re.fullmatch(r"(-?)(\d+)\s+(\d+)/(\d+)", text)
    if mixed:
        v = int(mixed.group(2)) + Fraction(int(mixed.group(3)), int(mixed.group(4)))
        return -v if mixed.group(1) else v
    return Fraction(text)


def _num_expr(tok: str) -> str:
    """A number token as arithmetic: ``1 1/2`` -> ``1.5`` (``2 1/3`` -> ``(7/3)``)."""
    tok = tok.replace(",", "")
    if not re.fullmatch(r"\d+\s+\d+/\d+", tok):
        return tok
    v = number(tok)
    d = v.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        return format(Decimal(v.numerator) / Decimal(v.denominator), "f")
    return f"({v.numerator}/{v.denominator})"


def words_to_ops(line: str) -> str:
    """``7 minus 6 equals 1`` -> ``7 - 6 = 1`` (only between numbers)."""
    for pat, rep in _WORD_OPS:
        line = pat.sub(rep, line)
    return line


def _units_ok(toks: list[tuple[str, str, int]]) -> bool:
    """Words may only be units: right after a number (or another unit word, at most
    ``MAX_UNIT_WORDS`` in a row) and followed by an operator, ``)``, ``/unit`` or the end."""
    run = 0
    sig = [t for t in toks if t[0] != "skip"]
    for i, (kind, tok, _) in enumerate(sig):
        if kind != "word":
            run = 0
            continue
        prev = sig[i - 1][0] if i else None
        if prev not in ("num", "word") or len(tok) == 1:  # one letter: an unknown (2W), not a unit
            return False
        run += 1
        if run > MAX_UNIT_WORDS:
            return False
        nxt = next((t for t in sig[i + 1 :] if t[0] != "word"), None)
        if nxt is not None and not (nxt[0] == "unit" or (nxt[0] == "op" and nxt[1] != "(")):
            return False
    return True


def expression_before(text: str) -> tuple[int, str] | None:
    """The arithmetic written at the end of ``text`` as (start offset, expression): the longest
    token suffix (after the last punctuation) that reads as arithmetic with an operator."""
    toks = [(m.lastgroup or "", m.group(), m.start()) for m in _TOKEN.finditer(text)]
    stops = [i for i, t in enumerate(toks) if t[0] == "stop"]
    toks = toks[stops[-1] + 1 :] if stops else toks
    for i, (kind, tok, start) in enumerate(toks):
        if not (kind == "num" or (kind == "op" and tok in "(-−–")):
            continue
        if not _units_ok(toks[i:]):
            continue
        parts: list[str] = []
        for k, t, _ in toks[i:]:
            if k == "num":
                if parts and (parts[-1] == ")" or parts[-1][-1].isdigit()):
                    parts = []  # two numbers in a row: not one expression
                    break
                parts.append(_num_expr(t))
            elif k == "op":
                t = _OP_NAMES.get(t, t)
                if t == "(" and parts and (parts[-1] == ")" or parts[-1][-1].isdigit()):
                    parts.append("*")  # 8(26) -> 8 * (26)
                parts.append(t)
        expr = " ".join(parts)
        if re.search(r"[\d)]\s*[-+*/]\s*[-\d(.]", expr) and eval_arith(expr) is not None:
            return start, expr
    return None


@dataclass
class Step:
    start: int
    end: int
    """Span of the step's text in the line (replaced by its variable in the subgoal)."""
    expr: str
    """Arithmetic to compute; empty when there is nothing to compute (see ``solve_for``)."""
    stated: Fraction
    stated_text: str
    inline: bool
    solve_for: str | None = None
    """``x = 11``: the letter whose value an earlier equation of the solution gives."""


def _inside_annotation(line: str, pos: int) -> bool:
    return any(a.start() <= pos < a.end() for a in ANNOTATION.finditer(line))


def _value_only(before: str, eq: re.Match[str] | None) -> tuple[int | None, str, str | None]:
    """For ``... = <<v=v>>v``: (start, expression written before '=', or the letter of ``x =``)."""
    if not eq:
        return None, "", None
    found = expression_before(before[: eq.start()])
    if found:
        return found[0], found[1], None
    letter = re.search(r"(?<![\w*/.])([A-Za-z])\s*$", before[: eq.start()])
    return (letter.start(), "", letter.group(1)) if letter else (eq.start(), "", None)


def steps(line: str) -> list[Step]:
    """The computations of one solution line, in text order."""
    out = []
    for m in ANNOTATION.finditer(line):
        if "=" not in m.group(1):
            continue
        expr, res = (x.strip() for x in m.group(1).rsplit("=", 1))
        try:
            stated = number(res)
        except (ValueError, ZeroDivisionError):
            continue
        after = _RESULT.match(line[m.end() :])
        end = m.end() + (after.end() if after else 0)
        before = line[: m.start()]
        eq = re.search(r"=\s*\$?\s*$", before)
        found = expression_before(before[: eq.start()]) if eq else None
        start = found[0] if found else (eq.start() if eq else m.start())
        solve_for = None
        if found and _close(eval_arith(found[1]), stated) and _mentions(expr, stated):
            expr = found[1]  # a trivial annotation such as <<30*1=30>>: the written arithmetic is the computation
        elif not re.search(r"[-+*/]", expr.lstrip("-")):  # value-only annotation such as <<6=6>>
            vstart, expr, solve_for = _value_only(before, eq)
            start = vstart if vstart is not None else start
        out.append(Step(start, end, expr, stated, res, inline=False, solve_for=solve_for))
    for m in re.finditer(r"(?<![<>=!])=(?!=)", line):  # plain-text "a op b = c" and "x = 5"
        if any(s.start <= m.start() < s.end for s in out) or _inside_annotation(line, m.start()):
            continue
        res = _RESULT.match(line[m.end() :])
        if not res or line[m.end() :].lstrip(" $").startswith("<<"):
            continue
        found = expression_before(line[: m.start()])
        letter = None if found else re.search(r"(?<![\w*/.])([A-Za-z])\s*$", line[: m.start()])
        if not found and not letter:
            continue
        start = found[0] if found else letter.start()  # type: ignore[union-attr]
        if any(s.start < m.start() and start < s.end for s in out):
            continue  # overlaps an annotated step
        try:
            stated = number(res.group(1))
        except (ValueError, ZeroDivisionError):
            continue
        if found and not _close(eval_arith(found[1]), stated):
            continue  # the text is not this computation (algebra, a unit conversion, a typo)
        out.append(
            Step(
                start,
                m.end() + res.end(),
                found[1] if found else "",
                stated,
                res.group(1),
                inline=True,
                solve_for=None if found else letter.group(1),
            )
        )  # type: ignore[union-attr]
    return sorted(out, key=lambda s: s.start)


def _mentions(expr: str, value: Fraction) -> bool:
    return any(number(m.group()) == value for m in NUMBER.finditer(expr))


def _close(value: Fraction | None, stated: Fraction) -> bool:
    """Equal up to the rounding a solution writes (2 decimals, or 1%)."""
    return value is not None and abs(value - stated) <= max(Fraction(1, 200), abs(stated) / 100)


def _linear_at(side: str, letter: str, value: int) -> Fraction | None:
    side = re.sub(rf"(?<=[\d)]){letter}", f"*{letter}", side.replace(" ", ""))
    side = re.sub(rf"{letter}(?=[\d(])", f"{letter}*", side)
    side = re.sub(r"(?<=\d)\(", "*(", side)
    return eval_arith(side.replace(letter, f"({value})"))


def find_equation(letter: str, lines: list[str], stated: Fraction) -> str | None:
    """The latest equation in ``lines`` in the one unknown ``letter`` (``4x+12=56``, ``$450=15*x``)
    that is linear and solved by the value the solution states; written for ``SolveEquation``."""
    side = rf"[\d\s.+\-*/(){letter}]*[\d{letter})]"
    pat = re.compile(rf"(?<![A-Za-z])({side})\s*=\s*({side})(?![A-Za-z\d])")
    for line in reversed(lines):
        clean = re.sub(r"(?<=\d),(?=\d{3})", "", ANNOTATION.sub("", line).replace("$", ""))
        for m in reversed(list(pat.finditer(clean))):
            lhs, rhs = (x.strip() for x in m.groups())
            if letter not in lhs + rhs or not re.search(r"\d", lhs + rhs):
                continue
            vals = [_linear_at(s, letter, v) for v in (0, 1) for s in (lhs, rhs)]
            if any(v is None for v in vals):
                continue
            f0, f1 = vals[0] - vals[1], vals[2] - vals[3]  # type: ignore[operator]
            if f1 != f0 and -f0 / (f1 - f0) == stated:
                return f"{lhs} = {rhs}"
    return None
