"""Lumos action strings: parsing, variable substitution and the per-task variable store (SPEC a.6,
a.7); the executor that runs them is :mod:`envs.tool_executor`.

Syntax::

    action   := outvars " = " Name "(" args ")"        e.g.  R1 = Calculator(15 * 8)
    outvars  := "R" k | "R" k ", " "R" k+1 ... | "Output"        R5, R6 = SolveEquation(...)
    sequence := action ("; " action)*

plus the pass-through form ``Output = R9`` / ``Output = R9 = 40`` (empty action name). Arguments are
free text that may reference earlier variables and carry labelled fields (``QUERY: ..``,
``TEXT: ..``, ``Query: ..``). Differences from Lumos, on purpose:

* actions are split on ``;`` outside parentheses and double quotes (Lumos splits on every ``"; "``),
  falling back to splitting before ``Rk = `` when the parentheses do not balance;
* variables are substituted in one pass with a boundary-aware pattern, so ``R1`` never rewrites the
  prefix of ``R10`` (the Lumos ``str.replace`` bug);
* nothing here or in :mod:`envs.tool_executor` raises for bad model output: parse errors, unknown tools, wrong arity, undefined
  variables and tool exceptions become :class:`~harness.records.ActionResult` errors.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.records import SampleStatus

log = logging.getLogger(__name__)

INVALID = SampleStatus.INVALID_ACTION.value
TOOL_ERROR = SampleStatus.TOOL_ERROR.value

VAR_RE = re.compile(r"(?<![A-Za-z0-9_])R([0-9]+)(?![0-9])")
"""An ``R<k>`` reference: ASCII digits only (``R٣``, ``R２`` are not variables), not preceded by a
word character, not followed by a digit. Only canonical names (:func:`bad_variable_name`) can be
assigned, so a non-canonical reference such as ``R01`` is always an undefined variable."""
MAX_VARIABLE_DIGITS = 6
"""``R`` + at most this many digits: longer numbers are refused before any int conversion (Python
refuses to parse integers of more than 4,300 digits)."""
_OUTVAR = r"(?:R[0-9]+|Output)"
_ASSIGN_RE = re.compile(rf"^\s*({_OUTVAR}(?:\s*,\s*{_OUTVAR})*)\s*=(?!=)\s*(.*)$", re.S)
_CALL_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_ACTION_START = re.compile(rf";\s*(?={_OUTVAR}(?:\s*,\s*{_OUTVAR})*\s*=(?!=))")
_OPEN, _CLOSE = "([{", ")]}"


class ToolError(Exception):
    """Raised by a tool for a failure of the tool itself (no solution, timeout, sandbox error)."""


class InvalidAction(Exception):
    """Raised by a tool when the call is malformed (missing argument, bad field)."""


@dataclass(frozen=True)
class ParsedAction:
    """One action of a grounder line. ``error`` is set instead of raising when it cannot parse."""

    text: str
    outputs: tuple[str, ...] = ()
    name: str = ""
    """Tool name; ``""`` for the pass-through form ``Output = R9``."""
    args: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# -- splitting and parsing ----------------------------------------------------------------------
def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def split_actions(line: str) -> list[str]:
    """Split a grounder line into action strings (non-empty, stripped).

    Separators are ``;`` at parenthesis depth 0 outside double quotes; if the line's parentheses do
    not balance, only a ``;`` that is followed by an assignment (``R3 =``, ``Output =``) splits.
    """
    line = line.strip()
    if not line:
        return []
    if not _balanced(line):
        return [p.strip() for p in _ACTION_START.split(line) if p.strip().strip(";").strip()]
    return [p for p in split_args(line, sep=";") if p]


def _matching_close(text: str, open_pos: int) -> int:
    """Index of the parenthesis closing ``text[open_pos]``, or -1 (quotes are not special here:
    apostrophes are common in free text)."""
    depth = 0
    for i in range(open_pos, len(text)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def parse_action(text: str) -> ParsedAction:
    """Parse one action string (see the module docstring for the accepted forms)."""
    raw = text
    text = text.strip().rstrip(";").strip()
    if not text:
        return ParsedAction(raw, error="empty action")
    m = _ASSIGN_RE.match(text)
    if not m:
        return ParsedAction(raw, error="expected '<R k> = Tool(arguments)'")
    outputs = tuple(v.strip() for v in m.group(1).split(","))
    bad = next((b for b in map(bad_variable_name, outputs) if b), None)
    if bad:
        return ParsedAction(raw, outputs, error=bad)
    if len(set(outputs)) != len(outputs):
        return ParsedAction(raw, outputs, error="an output variable is repeated")
    rest = m.group(2).strip()
    call = _CALL_RE.match(rest)
    if not call:
        if not rest:
            return ParsedAction(raw, outputs, error="nothing after '='")
        # Pass-through: "Output = R9" or "Output = R9 = 40" (the annotated result is dropped).
        value = rest.rsplit(" = ", 1)[0].strip() if " = " in rest else rest
        return ParsedAction(raw, outputs, "", value)
    name = call.group(1)
    open_pos = call.end() - 1
    close = _matching_close(rest, open_pos)
    tail = rest[close + 1 :].strip() if close >= 0 else None
    if close >= 0 and (not tail or tail.startswith("=")):
        args = rest[open_pos + 1 : close]  # a trailing "= result" is an annotation, ignored
    else:
        # Unbalanced inside the call: take everything up to the last ')' (as Lumos does).
        last = rest.rfind(")")
        if last <= open_pos:
            return ParsedAction(raw, outputs, name, error=f"unbalanced parentheses in {name}(...)")
        args = rest[open_pos + 1 : last]
        after = rest[last + 1 :].strip()
        if after and not after.startswith("="):
            return ParsedAction(raw, outputs, name, error=f"unexpected text after {name}(...): {after[:40]!r}")
    return ParsedAction(raw, outputs, name, args.strip())


def bad_variable_name(name: str) -> str | None:
    """Why ``name`` cannot be assigned (``None`` when it can): ``R`` + a canonical ASCII number
    (no leading zero, at most :data:`MAX_VARIABLE_DIGITS` digits) or ``Output``. ``R01`` would
    otherwise be stored beside ``R1`` and confuse "the highest-numbered variable"."""
    if name == "Output":
        return None
    digits = name[1:]
    if len(digits) > MAX_VARIABLE_DIGITS:
        return f"variable name {name[:12]}... is too long (at most R + {MAX_VARIABLE_DIGITS} digits)"
    if len(digits) > 1 and digits[0] == "0":
        return f"variable {name} has a leading zero; write R{digits.lstrip('0') or '0'}"
    return None


def parse_actions(line: str) -> list[ParsedAction]:
    return [parse_action(a) for a in split_actions(line)]


# -- arguments ----------------------------------------------------------------------------------
def split_args(args: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside brackets and (balanced) double quotes; items stripped."""
    quotes_ok = args.count('"') % 2 == 0
    items, buf, depth, in_quote = [], [], 0, False
    for ch in args:
        if ch == '"' and quotes_ok:
            in_quote = not in_quote
        elif not in_quote:
            if ch in _OPEN:
                depth += 1
            elif ch in _CLOSE:
                depth = max(0, depth - 1)
            elif ch == sep and depth == 0:
                items.append("".join(buf).strip())
                buf = []
                continue
        buf.append(ch)
    items.append("".join(buf).strip())
    if items == [""]:
        return []
    return items


def unquote(text: str) -> str:
    """Strip one pair of matching surrounding quotes."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


@dataclass
class Arguments:
    positional: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


def parse_fields(args: str, keys: Iterable[str]) -> Arguments:
    """Split ``args`` into positional items and labelled fields such as ``QUERY: ..``.

    Labels are matched case-insensitively at the start or after a top-level comma, and reported
    under the spelling given in ``keys``. A field's value runs to the next label, so it may contain
    commas (``TEXT: Atlanta, GA``). Text before the first label is split on top-level commas.
    """
    keys = list(keys)
    if not keys:
        return Arguments(positional=[unquote(a) for a in split_args(args)])
    canon = {k.lower(): k for k in keys}
    label = re.compile(r"(?:^|,)\s*(" + "|".join(re.escape(k) for k in keys) + r")\s*:", re.I)
    # Only labels at bracket depth 0 count.
    depth_at = []
    depth = 0
    for ch in args:
        depth_at.append(depth)
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
    hits = [m for m in label.finditer(args) if depth_at[m.start()] == 0]
    head = args[: hits[0].start()] if hits else args
    out = Arguments(positional=[unquote(a) for a in split_args(head)])
    for i, m in enumerate(hits):
        end = hits[i + 1].start() if i + 1 < len(hits) else len(args)
        out.fields[canon[m.group(1).lower()]] = unquote(args[m.end() : end].strip().rstrip(",").strip())
    return out


# -- variables ----------------------------------------------------------------------------------
def find_variables(text: str) -> list[str]:
    """``R<k>`` references in order of first appearance, without duplicates."""
    return list(dict.fromkeys(m.group(0) for m in VAR_RE.finditer(text)))


def undefined_variables(text: str, store: VariableStore) -> list[str]:
    return [v for v in find_variables(text) if v not in store]


@dataclass
class Substitution:
    text: str
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing


def substitute(
    text: str, store: VariableStore | Mapping[str, Any], render: Callable[[str, Any], str] | None = None
) -> Substitution:
    """Replace every ``R<k>`` by ``render(name, value)`` (default ``str(value)``) in one pass.

    Unknown variables are left in place and listed in ``missing``: the caller reports them.
    """
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(0)
        if name not in store:
            if name not in missing:
                missing.append(name)
            return name
        value = store[name]
        return render(name, value) if render else str(value)

    return Substitution(VAR_RE.sub(repl, text), missing)


class VariableStore:
    """Values of ``R1, R2, ..`` and ``Output`` for one task (any objects; ``str()`` renders them)."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._values[name] = value

    def __len__(self) -> int:
        return len(self._values)

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def items(self) -> list[tuple[str, Any]]:
        return list(self._values.items())

    def highest(self) -> str | None:
        """Name of the highest-numbered ``R`` variable."""
        names = [n for n in self._values if VAR_RE.fullmatch(n)]
        # canonical names (see bad_variable_name): longer is larger, equal lengths compare as text
        return max(names, key=lambda n: (len(n), n)) if names else None

    def final(self, prefer_output: bool = True) -> Any | None:
        """The prediction: ``Output`` if set (one-pass), else the highest-numbered ``R``."""
        if prefer_output and "Output" in self._values:
            return self._values["Output"]
        name = self.highest()
        return self._values[name] if name else None
