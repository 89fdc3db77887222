"""Shared parts of the maths environments: tools, executor sessions, scoring.

Environment options (``--config`` file, ``env: {gsm8k: {...}}``):

* ``isolation``: ``worker`` (default; sympy runs in a sandboxed worker process with a per-call time
  limit) or ``inprocess`` (faster start, for tests);
* ``tool_timeout``: seconds per maths tool call (default 5);
* ``code_model`` / ``code_backend``: the local LLM that writes Python for ``Code`` (default: none;
  ``Code`` then runs its argument only when it already is Python);
* ``sandbox``: ``auto`` (default: bubblewrap where it runs, else the audit guard with a warning),
  ``bwrap`` or ``guard`` (:mod:`envs.sandbox_bwrap`); the option holds the resolved kind afterwards.
* ``line_budget_s`` / ``max_actions``: bounds on one grounder line (:class:`envs.tool_executor.LineLimits`).

Options that differ from these defaults enter the run identity (``Environment.identity_options``).

Scoring follows Lumos (SPEC c): the prediction is ``Output`` if set, else the highest-numbered
``R`` variable; a trajectory whose status is not ``ok`` (an action failed, the round budget ran
out) scores 0, as Lumos drops an example whose execution fails (``allenai/lumos: eval/gsm/run_eval.py`` and
``eval/svamp/run_eval.py``: a failed action sets ``results = None`` and the example is never compared,
while the accuracy divides by ``len(test_data)``). The QA environments follow the same protocol
(:mod:`envs.qa.base`, option ``failed_trajectories``).
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from harness.data import checksum_files, require
from harness.environment import Environment, Executor
from harness.options import EnvOption
from harness.records import SampleStatus, Task, ToolSpec, Trajectory

from envs.math.code import CodeTool
from envs.math.executor import Evaluator, MathExecutor, make_evaluator
from envs.tool_executor import LINE_OPTIONS, line_limits
from envs.math.scoring import em_numeric, em_strict
from envs.sandbox import isolation_note, resolve_isolation

SUBSTITUTE_NOTE = (
    "maths tools run on sympy (Wolfram|Alpha in Lumos/MOAT) and Code runs locally; numbers are not "
    "directly comparable with the paper"
)


class MathEnvironment(Environment):
    domain: ClassVar[str] = "math"
    main_metric: ClassVar[str] = "em_numeric"
    mode: ClassVar[str] = "one-pass"
    paper_n: ClassVar[dict[str, int]] = {}
    """Default number of tasks per split (the paper's evaluation subset); ``limit`` overrides."""
    options_spec: ClassVar[dict[str, EnvOption] | None] = {
        "isolation": EnvOption(str, "how sympy runs", choices=("worker", "inprocess"), default="worker"),
        "tool_timeout": EnvOption(float, "seconds per maths tool call", default=5.0),
        "code_model": EnvOption(str, "model writing Python for Code"),
        "code_backend": EnvOption(str, "backend of code_model", default="hf"),
        "sandbox": EnvOption(str, "what isolates model-written code (holds the kind that ran)",
                             choices=("auto", "bwrap", "guard"), default="bwrap"),
        **LINE_OPTIONS,
    }

    def __init__(self, data_dir: Any = None, **options: Any) -> None:
        super().__init__(data_dir, **options)
        self.isolation = str(options.get("isolation", "worker"))
        self.tool_timeout = float(options.get("tool_timeout", 5.0))
        self.code_model = options.get("code_model")
        self.code_backend = str(options.get("code_backend", "hf"))
        self.limits = line_limits(options)
        if self.isolation not in ("worker", "inprocess"):
            raise ValueError(f"{self.name}: isolation must be 'worker' or 'inprocess', got {self.isolation!r}")
        self.sandbox = resolve_isolation(options.get("sandbox"))
        self.options["sandbox"] = self.sandbox  # the kind that runs, for the run identity
        self._evaluator: Evaluator | None = None
        self._code_tool: CodeTool | None = None
        self._lock = threading.Lock()

    # -- data -------------------------------------------------------------------------------
    def _path(self, split: str) -> Any:
        if split not in self.splits:
            raise ValueError(f"{self.name} has no split {split!r}; choose from {', '.join(self.splits)}")
        f = next(f for f in self.data_files() if f.path.endswith(self.split_file(split)))
        path = self.data_path(f)  # inside the plug-in's package when f.package is set
        return path if path.exists() else require(self.data_dir, f.path)

    def split_file(self, split: str) -> str:
        """File name (the end of a ``data_files()`` path) holding ``split``."""
        raise NotImplementedError

    def split_path(self, split: str) -> Any:
        """The file of ``split`` on this machine (one clear error when it is absent)."""
        return self._path(split)

    def _count(self, split: str, limit: int | None) -> int | None:
        return limit if limit is not None else self.paper_n.get(split)

    def data_checksum(self, split: str) -> str | None:
        try:
            return checksum_files([self._path(split)])
        except (FileNotFoundError, ValueError):
            return None

    def notes(self, split: str) -> list[str]:
        return [SUBSTITUTE_NOTE, isolation_note(self.sandbox, formulas_inprocess=self.isolation == "inprocess")]

    # -- tools ------------------------------------------------------------------------------
    def tools(self) -> list[ToolSpec]:
        from envs.math.tools import TOOL_SPECS

        return [t.model_copy() for t in TOOL_SPECS]

    def session(self, task: Task) -> Executor:
        with self._lock:
            if self._evaluator is None:
                self._evaluator = make_evaluator(self.isolation, self.tool_timeout, sandbox=self.sandbox)
            if self._code_tool is None:
                self._code_tool = CodeTool(self.code_model, self.code_backend, isolation=self.sandbox)
        ex = MathExecutor(self._evaluator, self._code_tool)
        ex.limits = self.limits
        return ex

    # -- scoring ----------------------------------------------------------------------------
    def score(self, task: Task, trajectory: Trajectory) -> dict[str, float]:
        if trajectory.status != SampleStatus.OK:
            return {"em_numeric": 0.0, "em_strict": 0.0}
        pred = trajectory.final_answer
        return {"em_numeric": em_numeric(pred, task.gold), "em_strict": em_strict(pred, task.gold)}

    def close(self) -> None:
        with self._lock:
            if self._evaluator is not None:
                self._evaluator.close()
                self._evaluator = None
            if self._code_tool is not None:
                self._code_tool.close()
                self._code_tool = None
