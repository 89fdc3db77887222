"""The ``Code(pseudo_code)`` tool: pseudo-code -> Python -> sandboxed run (SPEC b.2).

With a code model (env option ``code_model``), a local LLM writes ``def solution():`` for the
pseudo-code and the function runs in :func:`envs.sandbox.run_python`. Without one, the argument
itself is run when it already is Python (an expression, or statements that set ``result``), and
the Lumos idiom ``If cond, a, b`` is read as ``a if cond else b``; anything else is an error
observation saying a code model is needed.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import warnings
from decimal import Decimal, InvalidOperation
from collections.abc import Callable
from typing import Any

from envs.actions import InvalidAction, ParsedAction, ToolError, VariableStore, split_args, substitute
from envs.math.values import MathValue
from envs.sandbox import SandboxLimits, run_python

log = logging.getLogger(__name__)

PROMPT = (
    "Write a Python function solution() that takes no arguments, follows the pseudo code below and "
    "returns its result. Use only the standard library. Reply with the code only.\n\n"
    "Pseudo code: {pseudo_code}\n\n```python\ndef solution():\n"
)


def _plain_number(text: str) -> str:
    """``64.0`` -> ``64``; other text unchanged (the maths store's display convention)."""
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        return text
    if not d.is_finite():
        return text
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def lumos_if(text: str) -> str | None:
    """``If R8 > 0, R8, -R8`` -> ``(R8) if (R8 > 0) else (-R8)``; None for other text."""
    parts = split_args(text)
    if len(parts) == 3 and re.match(r"(?i)^if\s+", parts[0]):
        cond = re.sub(r"(?i)^if\s+", "", parts[0])
        return f"({parts[1]}) if ({cond}) else ({parts[2]})"
    return None


def _is_python(code: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        try:
            compile(code, "<code>", "eval")
            return True
        except (SyntaxError, ValueError):
            pass
        try:
            compile(code, "<code>", "exec")
        except (SyntaxError, ValueError):
            return False
    return re.search(r"(?m)^\s*result\s*=", code) is not None


class CodeTool:
    """Callable as an :class:`envs.tool_executor.Tool` ``run`` function; :meth:`run_text` is the plain
    ``pseudo_code -> str`` form (used by the QA environments through :func:`make_code_tool`).

    The code model is either a model id/path loaded lazily with ``agents.backends.load_backend``
    (``code_model``/``backend``) or an existing backend given by ``backend_factory``.
    """

    def __init__(
        self,
        code_model: str | None = None,
        backend: str = "hf",
        limits: SandboxLimits | None = None,
        max_new_tokens: int = 256,
        backend_factory: Callable[[], Any] | None = None,
        isolation: str | None = None,
    ):
        self.code_model = code_model
        self.backend_name = backend
        self.backend_factory = backend_factory
        self.limits = limits or SandboxLimits(timeout_s=10.0, cpu_s=10, memory_mb=1024)
        self.max_new_tokens = max_new_tokens
        self.isolation = isolation
        """``auto``/``bwrap``/``guard`` for :func:`envs.sandbox.run_python` (None: its default)."""
        self._backend: Any = None
        self._lock = threading.Lock()

    @property
    def has_model(self) -> bool:
        return bool(self.code_model) or self.backend_factory is not None

    # -- code writing -----------------------------------------------------------------------
    def _load_backend(self) -> Any:
        with self._lock:
            if self._backend is not None:
                return self._backend
            try:
                if self.backend_factory is not None:
                    self._backend = self.backend_factory()
                else:
                    backends = importlib.import_module("agents.backends")
                    load = getattr(backends, "load_backend", None)
                    if load is None:
                        raise ToolError("Code: agents.backends.load_backend is not available in this install")
                    model = None if self.code_model == "default" else self.code_model  # the backend's default
                    self._backend = load(self.backend_name, model)
            except ToolError:
                raise
            except Exception as exc:  # noqa: BLE001 - a missing model is an observation, not a crash
                raise ToolError(f"Code: cannot load the code model: {exc}"[:300]) from exc
            if self._backend is None:
                raise ToolError("Code: no code model is available")
            return self._backend

    def write(self, pseudo_code: str) -> str:
        """Ask the code model for ``solution()``; returns runnable code that sets ``result``."""
        from agents.backends.base import GenerationParams

        backend = self._load_backend()
        params = GenerationParams(n=1, temperature=0.0, max_new_tokens=self.max_new_tokens, stop=("```",))
        try:
            out = backend.generate([PROMPT.format(pseudo_code=pseudo_code)], params)[0][0]
        except Exception as exc:  # noqa: BLE001 - a backend failure is a tool error, not a crash
            raise ToolError(f"Code: the code model failed: {exc}"[:300]) from exc
        return "def solution():\n" + out.rstrip() + "\n\nresult = solution()\n"

    def close(self) -> None:
        """Free a code model this tool loaded itself (a factory's backend belongs to its owner)."""
        with self._lock:
            if self._backend is not None and self.backend_factory is None and hasattr(self._backend, "close"):
                self._backend.close()
            self._backend = None

    # -- the tool ---------------------------------------------------------------------------
    def __call__(self, p: ParsedAction, store: VariableStore) -> list[Any]:
        return [MathValue(self.run_text(substitute(p.args, store).text), None)]

    def run_text(self, pseudo_code: str) -> str:
        """Run one pseudo-code; returns the result text or raises ToolError/InvalidAction."""
        pseudo = pseudo_code.strip()
        if not pseudo:
            raise InvalidAction("Code needs pseudo code")
        if self.has_model:
            code = self.write(pseudo)
        else:
            code = lumos_if(pseudo) or pseudo
            if not _is_python(code):
                raise InvalidAction(
                    "Code: the pseudo code is not runnable Python and no code model is configured "
                    "(set the environment option code_model)"
                )
        res = run_python(code, self.limits, isolation=self.isolation)
        if res.timed_out:
            raise ToolError(f"Code: {res.error}")
        if not res.ok:
            raise ToolError(f"Code: {(res.error or 'failed').splitlines()[-1][:300]}")
        if not res.has_value:
            raise ToolError("Code: the code produced no result (define `result` or write an expression)")
        return _plain_number(res.value or "")


def make_code_tool(backend_factory: Callable[[], Any] | None = None, **kwargs: Any) -> Callable[[str], str]:
    """``pseudo_code -> result text`` (raising ToolError/InvalidAction), writing code with the
    backend ``backend_factory()`` returns (called on first use), or running Python directly when
    no factory is given."""
    return CodeTool(backend_factory=backend_factory, **kwargs).run_text
