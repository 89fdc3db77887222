"""The generic Lumos action executor: parse a grounder line (:mod:`envs.actions`), dispatch each
action to its :class:`Tool`, keep the task's :class:`~envs.actions.VariableStore`, and turn every
failure (parse error, unknown tool, wrong arity, undefined variable, tool exception) into an
:class:`~harness.records.ActionResult` error instead of raising (SPEC a.6, a.7). Each environment's
executor (maths, QA, Mind2Web, WebShop) is a :class:`ToolExecutor` with its own tools.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from envs.actions import (
    INVALID,
    TOOL_ERROR,
    VAR_RE,
    InvalidAction,
    ParsedAction,
    ToolError,
    VariableStore,
    parse_action,
    split_actions,
    substitute,
    undefined_variables,
)
from harness.environment import Executor
from harness.options import EnvOption
from harness.records import ActionResult

log = logging.getLogger(__name__)

ToolFn = Callable[[ParsedAction, VariableStore], Sequence[Any]]


@dataclass(frozen=True)
class LineLimits:
    """Bounds on one grounder line: after ``max_actions`` actions, or once ``budget_s`` seconds
    have been spent on the line, the rest of the line is one error observation instead of being
    executed (a model can write a 1 MB line of 50k actions, or six slow ones). A tool call already
    running is bounded by its own time limit, so a line ends within ``budget_s`` plus one tool
    limit. Defaults sit far above what real lines need (the committed runs' longest line has 42
    actions), so they change nothing for them."""

    budget_s: float = 120.0
    max_actions: int = 100


LINE_OPTIONS: dict[str, EnvOption] = {
    "line_budget_s": EnvOption(float, "seconds for one grounder line", default=LineLimits.budget_s),
    "max_actions": EnvOption(int, "actions executed per grounder line", default=LineLimits.max_actions),
}
"""The environment options (``env: {NAME: {line_budget_s: .., max_actions: ..}}``) behind
:class:`LineLimits`; every built-in environment declares them (``options_spec``), so they enter
its identity when not default."""


def line_limits(options: Mapping[str, Any]) -> LineLimits:
    """:class:`LineLimits` from environment options; a non-positive or non-numeric value is refused."""
    try:
        budget = float(options.get("line_budget_s", LineLimits.budget_s))
        cap = int(options.get("max_actions", LineLimits.max_actions))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"line_budget_s must be a number of seconds and max_actions an integer ({exc})") from None
    if not (budget > 0 and math.isfinite(budget)) or cap < 1:
        raise ValueError(f"line_budget_s must be > 0 and max_actions >= 1, got {budget} and {cap}")
    return LineLimits(budget, cap)


def over_limit(limits: LineLimits, done: int, spent_s: float) -> str | None:
    """Why no further action of a line may run after ``done`` actions and ``spent_s`` seconds."""
    if done >= limits.max_actions:
        return f"at most {limits.max_actions} actions per line"
    if spent_s > limits.budget_s:
        return f"the line's time budget of {limits.budget_s:g} s was used up"
    return None


def rest_of_line(pieces: Sequence[str], reason: str) -> ActionResult:
    """The one observation standing for the actions of a line that were not executed."""
    text = "; ".join(pieces)
    shown = text if len(text) <= 200 else text[:200] + f"... ({len(text)} characters)"
    kind = INVALID if reason.startswith("at most") else TOOL_ERROR
    return ActionResult(action=shown, error=f"{len(pieces)} more action(s) not executed: {reason}", error_kind=kind)


@dataclass(frozen=True)
class Tool:
    """An executable action. ``run`` returns one value per output variable (extra values are
    ignored); it raises :class:`ToolError` / :class:`InvalidAction` for failures."""

    name: str
    run: ToolFn
    max_outputs: int | None = 1
    """How many output variables one call may assign (``None`` = any)."""
    needs_args: bool = True
    check_variables: bool = True
    """Refuse the call when its arguments reference an undefined ``R<k>`` (an ``invalid_action``)."""


class ToolExecutor(Executor):
    """Parses a grounder line and dispatches each action to its :class:`Tool`.

    Undefined variables are checked before the tool runs (an ``invalid_action``). The pass-through
    form ``Output = R9`` goes to ``passthrough`` (default: copy a single variable, otherwise the
    substituted text).
    """

    def __init__(self, tools: Iterable[Tool], passthrough: ToolFn | None = None, prefer_output: bool = True,
                 limits: LineLimits | None = None):
        self.tools = {t.name: t for t in tools}
        self.store = VariableStore()
        self.passthrough = passthrough or _default_passthrough
        self.prefer_output = prefer_output
        self.limits = limits or LineLimits()
        self.clock: Callable[[], float] = time.monotonic
        """Where line budgets read the time (a test can substitute a fake clock)."""

    def execute(self, actions: str) -> list[ActionResult]:
        try:
            pieces = split_actions(actions if isinstance(actions, str) else str(actions))
        except Exception as exc:  # noqa: BLE001 - the parser must never take a run down
            log.exception("action parser failed")
            return [ActionResult(action=str(actions)[:1000], error=f"cannot parse actions: {exc}", error_kind=INVALID)]
        if not pieces:
            return [ActionResult(action=str(actions)[:1000], error="no action found", error_kind=INVALID)]
        start, out = self.clock(), []
        for k, piece in enumerate(pieces):
            reason = over_limit(self.limits, k, self.clock() - start)
            if reason:
                out.append(rest_of_line(pieces[k:], reason))
                break
            out.append(self.execute_one(parse_action(piece)))
        return out

    def execute_one(self, p: ParsedAction) -> ActionResult:
        res = ActionResult(action=p.text.strip(), tool=p.name or None, outputs=list(p.outputs))
        if not p.ok:
            return _fail(res, p.error or "invalid action", INVALID)
        if p.name:
            tool = self.tools.get(p.name)
            if tool is None:
                hint = difflib.get_close_matches(p.name, self.tools, n=1)
                extra = f"; did you mean {hint[0]}?" if hint else f"; available: {', '.join(self.tools)}"
                return _fail(res, f"unknown action '{p.name}'{extra}", INVALID)
            if tool.max_outputs is not None and len(p.outputs) > tool.max_outputs:
                return _fail(res, f"{p.name} assigns {tool.max_outputs} variable(s), got {len(p.outputs)}", INVALID)
            if tool.needs_args and not p.args.strip():
                return _fail(res, f"{p.name}() needs an argument", INVALID)
            fn: ToolFn = tool.run
            check = tool.check_variables
        else:
            cut = _cut_off_tool(p.args, self.tools)
            if cut:
                return _fail(res, f"{cut} without '(arguments)' (output cut off?)", INVALID)
            fn, check = self.passthrough, True
        missing = undefined_variables(p.args, self.store) if check else []
        if missing:
            names = ", ".join(m if len(m) <= 16 else m[:12] + "..." for m in missing[:10])
            return _fail(res, f"undefined variable(s): {names}", INVALID)
        try:
            values = list(fn(p, self.store))
        except InvalidAction as exc:
            return _fail(res, str(exc) or "invalid action", INVALID)
        except ToolError as exc:
            return _fail(res, str(exc) or "tool failed", TOOL_ERROR)
        except Exception as exc:  # noqa: BLE001 - a tool bug becomes an observation, not a crash
            log.debug("tool %s raised", p.name, exc_info=True)
            return _fail(res, f"{type(exc).__name__}: {exc}"[:500], TOOL_ERROR)
        if len(values) < len(p.outputs):
            return _fail(
                res,
                f"{p.name or 'action'} produced {len(values)} value(s) for {len(p.outputs)} variable(s)",
                TOOL_ERROR,
            )
        for name, value in zip(p.outputs, values):
            self.store[name] = value
        res.result = ", ".join(str(v) for v in values[: len(p.outputs)])
        return res

    def final_answer(self) -> str | None:
        value = self.store.final(self.prefer_output)
        return None if value is None else str(value)


def _fail(res: ActionResult, message: str, kind: str) -> ActionResult:
    res.error = message
    res.error_kind = kind
    return res


def _cut_off_tool(value: str, tools: Mapping[str, Any]) -> str | None:
    """The tool a pass-through value names when it is a tool name (or a 4+ letter prefix of one)
    with no call: ``R20 = Calculator`` is a grounder line cut off at the token limit, not a value."""
    word = value.strip()
    if not re.fullmatch(r"[A-Za-z_]\w*", word):
        return None
    if word in tools:
        return word
    prefixed = [t for t in tools if len(word) >= 4 and t.startswith(word)]
    return prefixed[0] if prefixed else None


def _default_passthrough(p: ParsedAction, store: VariableStore) -> list[Any]:
    name = p.args.strip()
    if VAR_RE.fullmatch(name):
        return [store[name]]
    return [substitute(p.args, store).text]
