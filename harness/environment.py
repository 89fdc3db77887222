"""The environment contract: tasks, tools, an executor per task, and scoring.

A benchmark plug-in subclasses :class:`Environment` and registers the class under the entry-point
group ``harness.envs``. Modules defining environments must stay cheap to import (no torch, no model
loading at import time): ``harness list`` imports every one of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from harness.data import DataFile, locate, resolve_data_dir
from harness.exemplars import Exemplar
from harness.options import EnvOption
from harness.records import ActionResult, Task, ToolSpec, Trajectory


class Executor(ABC):
    """Runs grounded actions for one task and keeps its variable store (R1, R2, ...).

    ``execute`` never raises for bad model output: malformed text, unknown tools, wrong arity,
    undefined variables and tool exceptions all come back as :class:`ActionResult` with ``error``.
    """

    @abstractmethod
    def execute(self, actions: str) -> list[ActionResult]:
        """Execute one grounder output (one or more actions separated by ``; ``)."""

    @abstractmethod
    def final_answer(self) -> str | None:
        """The prediction after the trajectory ends (e.g. the highest-numbered R variable)."""

    def close(self) -> None:
        """Release per-task resources (browser sessions, temp dirs)."""


class Environment(ABC):
    """A benchmark: knows its tasks, its tools and how to score a trajectory."""

    name: ClassVar[str]
    domain: ClassVar[str]
    """``math`` | ``qa`` | ``web`` (or a plug-in's own domain)."""
    version: ClassVar[str]
    """Bump when scoring or data handling changes; leaderboards refuse to mix versions."""
    splits: ClassVar[tuple[str, ...]]
    default_split: ClassVar[str]
    main_metric: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]] = ()
    """Every metric ``score()`` returns (``main_metric`` among them); empty = only ``main_metric``
    is promised. Checked when the plug-in is loaded and by ``harness doctor NAME``."""
    description: ClassVar[str] = ""
    mode: ClassVar[str] = "one-pass"
    """Lumos formulation used for this benchmark: ``one-pass`` or ``iterative``."""
    max_rounds: ClassVar[int] = 10
    """Plan/ground round budget for iterative agents."""
    options_spec: ClassVar[dict[str, EnvOption] | None] = None
    """Options the ``env:`` section may hold (:mod:`harness.options`); ``None`` = undeclared, passed unchecked."""

    @classmethod
    def identity_option_defaults(cls) -> dict[str, Any]:
        """Every declared option that changes behaviour (``EnvOption.identity``), with its default."""
        return {k: o.default for k, o in (cls.options_spec or {}).items() if o.identity}

    def __init__(self, data_dir: str | Path | None = None, **options: Any) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self.options = options

    # -- identity ---------------------------------------------------------------------------
    def resolved_options(self) -> dict[str, Any]:
        """Each option of :meth:`identity_option_defaults` with the value in force (the one given,
        else the default); recorded in ``config.json`` as ``env_settings``. Override to report
        normalised values (e.g. ``"true"`` given for a boolean)."""
        given = getattr(self, "options", {}) or {}
        return {k: given.get(k, d) for k, d in self.identity_option_defaults().items()}

    def identity_options(self) -> dict[str, Any]:
        """The options of :meth:`resolved_options` that differ from their default: the runner hashes
        them into the run identity (``env_options``), so a run resumed with another tool time-out,
        reader or line budget is refused. Defaults are left out so that adding an option (with the
        old behaviour as its default) does not orphan existing runs; changing a default's behaviour
        is a :attr:`version` bump."""
        defaults = self.identity_option_defaults()
        return {k: v for k, v in self.resolved_options().items() if k not in defaults or v != defaults[k]}

    # -- tasks and data ---------------------------------------------------------------------
    @abstractmethod
    def load(self, split: str, limit: int | None = None) -> list[Task]:
        """Tasks of ``split`` in file order (the first ``limit`` of them when given)."""

    def data_files(self) -> list[DataFile]:
        """Files this environment reads, for ``harness data list|verify|download``."""
        return []

    def data_checksum(self, split: str) -> str | None:
        """A checksum of the data a split is read from; recorded in every run."""
        return None

    def notes(self, split: str) -> list[str]:
        """Protocol remarks printed beside this split's numbers (deviations, overlaps)."""
        return []

    def data_path(self, file: DataFile) -> Path:
        """Where ``file`` is on this machine: inside its Python package when ``file.package`` is
        set (data shipped with a plug-in), else under the data dir."""
        return locate(self.data_dir, file)

    def exemplars(self) -> list[Exemplar] | None:
        """Solved examples for few-shot prompting, in Lumos annotation form. ``None`` (the
        default) = the harness's own hand-written set for this env's name or domain, when it has
        one; a plug-in with its own tools or domain returns its own."""
        return None

    # -- tools and execution ----------------------------------------------------------------
    @abstractmethod
    def tools(self) -> list[ToolSpec]:
        """The grounder's available action list, in prompt order."""

    @abstractmethod
    def session(self, task: Task) -> Executor:
        """A fresh executor (variable store, tool state) for one task."""

    def execute_batch(self, executors: list[Executor], lines: list[str]) -> list[list[ActionResult]]:
        """Execute one grounder output per task. Agents that advance tasks in lock-step call this
        so environments whose tools call a model (the QA reader) can batch those calls; the
        results must equal ``[e.execute(line) for e, line in zip(executors, lines)]``."""
        return [e.execute(line) for e, line in zip(executors, lines)]

    def final_answers(self, executors: list[Executor]) -> list[str | None]:
        """Batched ``final_answer()`` of many tasks (same contract as :meth:`execute_batch`)."""
        return [e.final_answer() for e in executors]

    # -- scoring ----------------------------------------------------------------------------
    @abstractmethod
    def score(self, task: Task, trajectory: Trajectory) -> dict[str, float]:
        """Per-sample metrics; must contain ``main_metric``. Combined over samples by :meth:`aggregate`."""

    def aggregate(self, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Corpus-level metrics of a run from its stored per-sample metrics (one dict per sample).

        The runner calls this every time it writes ``results.json``, always on the samples read back
        from ``samples.jsonl`` (so extending a run or changing ``--limit`` never mixes weights), and
        bootstraps it over tasks for the CI of any metric that is not a per-sample mean. Default: the
        mean of each metric present in every sample. Override for corpus-level statistics (e.g.
        Mind2Web's micro averages = summed per-task step counts / summed steps); a returned name that
        is also a per-sample metric should be that metric's mean."""
        from harness.stats import mean_metrics

        return mean_metrics(per_sample)

    # -- lifecycle --------------------------------------------------------------------------
    def self_check(self) -> list[str]:
        """Problems that would stop this environment from running (empty list = healthy)."""
        problems = []
        for f in self.data_files():
            if f.required and not self.data_path(f).exists():
                problems.append(f"missing data file {self.data_path(f)}")
        return problems

    def close(self) -> None:
        """Stop servers or other shared resources."""

    @classmethod
    def info(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "domain": cls.domain,
            "version": cls.version,
            "splits": list(cls.splits),
            "default_split": cls.default_split,
            "main_metric": cls.main_metric,
            "metrics": list(cls.metrics),
            "mode": cls.mode,
            "description": cls.description,
        }
