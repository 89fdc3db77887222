"""The maths executor: Lumos action strings -> sympy tools, with a per-task variable store.

Where the sympy work runs (env option ``isolation``):

* ``worker`` (default): one persistent :class:`~envs.sandbox.SandboxWorker` per environment;
  each request has a wall-clock limit (``tool_timeout``, default 5 s) after which the worker is
  killed and restarted, so ``Calculator(9**9**9)``-like inputs that slip past the size guard end
  as a ``tool_error`` instead of hanging the run;
* ``inprocess``: evaluated in this process (tests, fuzzing), with a ``SIGALRM`` timer when called
  from the main thread. The size guard of :mod:`envs.math.engine` applies in both modes.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Protocol

from envs.actions import VAR_RE, InvalidAction, ParsedAction, ToolError, VariableStore, find_variables
from envs.tool_executor import Tool, ToolExecutor
from envs.math.code import CodeTool
from envs.math.values import MathValue
from envs.sandbox import SandboxError, SandboxLimits, SandboxTimeout, SandboxWorker

log = logging.getLogger(__name__)

MULTI_OUTPUT = {"SolveEquation"}
SYMPY_TOOLS = ("Calculator", "SetEquation", "SolveEquation", "SolveInequality", "Define", "Count")


class Evaluator(Protocol):
    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


class _Alarm(BaseException):
    """Raised by SIGALRM inside an in-process evaluation (BaseException: sympy code catches Exception)."""


class InProcessEvaluator:
    def __init__(self, timeout_s: float | None = 5.0):
        from envs.math.tools import handle  # sympy import deferred until first use

        self._handle = handle
        self.timeout_s = timeout_s

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        use_alarm = bool(self.timeout_s) and threading.current_thread() is threading.main_thread()
        if not use_alarm:
            return self._handle(payload)

        def on_alarm(signum: int, frame: Any) -> None:
            raise _Alarm()

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(self.timeout_s))  # type: ignore[arg-type]
        try:
            return self._handle(payload)
        except _Alarm:
            return {"error": f"timed out after {self.timeout_s:g} s (computation cut off)", "kind": "tool_error"}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    def close(self) -> None:
        pass


class WorkerEvaluator:
    def __init__(self, timeout_s: float = 5.0, memory_mb: int = 2048, sandbox: str | None = None):
        self.timeout_s = timeout_s
        self.worker = SandboxWorker(
            "envs.math.tools:handle", SandboxLimits(timeout_s=timeout_s, cpu_s=None, memory_mb=memory_mb),
            isolation=sandbox,
        )

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.worker.call(payload)
        except SandboxTimeout:
            return {"error": f"timed out after {self.timeout_s:g} s (computation cut off)", "kind": "tool_error"}
        except SandboxError as exc:
            return {"error": f"maths sandbox: {exc}"[:300], "kind": "tool_error"}

    def close(self) -> None:
        self.worker.close()


def make_evaluator(isolation: str = "worker", timeout_s: float = 5.0, sandbox: str | None = None) -> Evaluator:
    if isolation == "worker":
        return WorkerEvaluator(timeout_s, sandbox=sandbox)
    if isolation == "inprocess":
        return InProcessEvaluator(timeout_s)
    raise ValueError(f"unknown isolation {isolation!r}; use 'worker' or 'inprocess'")


def _payload_vars(args: str, store: VariableStore) -> dict[str, dict[str, Any]]:
    out = {}
    for name in find_variables(args):
        if name in store:
            v = store[name]
            out[name] = (
                {"text": v.text, "exact": v.exact} if isinstance(v, MathValue) else {"text": str(v), "exact": None}
            )
    return out


class MathExecutor(ToolExecutor):
    """Runs the seven Lumos maths actions for one task."""

    def __init__(self, evaluator: Evaluator, code_tool: CodeTool | None = None):
        self.evaluator = evaluator
        tools = [Tool(n, self._sympy_tool(n), max_outputs=None if n in MULTI_OUTPUT else 1) for n in SYMPY_TOOLS]
        tools.append(Tool("Code", code_tool or CodeTool()))
        super().__init__(tools, passthrough=self._passthrough, prefer_output=True)

    def _call(self, op: str, args: str, store: VariableStore) -> list[MathValue]:
        reply = self.evaluator({"op": op, "arg": args, "vars": _payload_vars(args, store)})
        if "error" in reply:
            if reply.get("kind") == "invalid_action":
                raise InvalidAction(f"{op}: {reply['error']}")
            raise ToolError(f"{op}: {reply['error']}")
        return [MathValue(str(v.get("text", "")), v.get("exact")) for v in reply.get("values", [])]

    def _sympy_tool(self, op: str):  # noqa: ANN202 - a closure over op
        def run(p: ParsedAction, store: VariableStore) -> list[MathValue]:
            return self._call(op, p.args, store)

        return run

    def _passthrough(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        """``Output = R9`` copies R9; ``Output = R3 + 2`` is computed as a Calculator formula."""
        arg = p.args.strip()
        if VAR_RE.fullmatch(arg):
            return [store[arg]]
        return self._call("Calculator", arg, store)
