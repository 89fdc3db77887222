"""The health check of one environment, shared by ``harness doctor [NAME...]`` and
:mod:`harness.testing` (the pytest helper for plug-in authors), so both say the same thing.

Three outcomes: ``ok``; ``no-data`` (the env is sound but its data files are not on this machine:
a warning, since most machines hold only some benchmarks); ``broken`` (the plug-in cannot load,
construct, list its tools, load tasks, or score them as the contract says).

The quick check (``deep=False``, plain ``harness doctor``) constructs the env and runs its
``self_check()``. The deep check (``harness doctor NAME``) also loads a few tasks, replays their
gold trajectories with the oracle agent when they have them, and checks that ``score()`` returns
the main metric (and only declared metrics, when the env declares them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.data import DataMissingError
from harness.environment import Environment
from harness.plugins import ContractError, validate_env_class
from harness.records import Task, ToolSpec, Trajectory

MISSING_DATA_PREFIX = "missing data file"
"""``self_check()`` problems starting with this are "data not here", not "broken"."""

Status = Literal["ok", "no-data", "broken"]


@dataclass
class CheckResult:
    name: str
    status: Status = "ok"
    problems: list[str] = field(default_factory=list)
    """Why the env is broken (contract violations, exceptions)."""
    missing_data: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was checked (tasks loaded, oracle score), for the report."""
    oracle_mean: float | None = None
    """Mean main metric of the oracle's replay of the gold trajectories (``None``: none replayed)."""

    def summary(self) -> str:
        if self.status == "broken":
            return "; ".join(self.problems)
        if self.status == "no-data":
            return "data not on this machine: " + "; ".join(self.missing_data)
        return "; ".join(self.notes)


def _finish(result: CheckResult) -> CheckResult:
    result.status = "broken" if result.problems else "no-data" if result.missing_data else "ok"
    return result


def _oneline(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_env(
    target: str | type[Environment],
    *,
    data_dir: str | None = None,
    split: str | None = None,
    limit: int = 3,
    deep: bool = True,
    options: dict[str, Any] | None = None,
) -> CheckResult:
    """Check the environment registered as ``target`` (or the class itself); never raises for
    problems of the environment, only reports them."""
    from harness.registry import ENVS, PluginLoadError  # noqa: PLC0415 (the registry imports plug-ins)

    if isinstance(target, str):
        result = CheckResult(target)
        try:
            cls = ENVS.get(target)
        except PluginLoadError as exc:
            result.problems.append(str(exc))
            return _finish(result)
    else:
        cls = target
        result = CheckResult(str(getattr(cls, "name", cls.__name__)))
        problems = validate_env_class(cls) if isinstance(cls, type) and issubclass(cls, Environment) else [
            f"{cls!r} is not a subclass of harness.environment.Environment"]
        if problems:
            result.problems += problems
            return _finish(result)
    try:
        env = cls(data_dir=data_dir, **(options or {}))
    except Exception as exc:  # a plug-in may fail in any way: report it, never crash the check
        result.problems.append(f"constructing it failed: {_oneline(exc)}")
        return _finish(result)
    try:
        _check_instance(env, result, split or cls.default_split, limit, deep)
    finally:
        try:
            env.close()
        except Exception as exc:  # noqa: BLE001 (report, keep going)
            result.problems.append(f"close() failed: {_oneline(exc)}")
    return _finish(result)


def _check_instance(env: Environment, result: CheckResult, split: str, limit: int, deep: bool) -> None:
    try:
        issues = env.self_check()
    except Exception as exc:  # noqa: BLE001
        result.problems.append(f"self_check() failed: {_oneline(exc)}")
        return
    for issue in issues:
        (result.missing_data if str(issue).startswith(MISSING_DATA_PREFIX) else result.problems).append(str(issue))
    if result.problems or result.missing_data or not deep:
        return
    if split not in env.splits:
        result.problems.append(f"no split {split!r}; splits are {', '.join(env.splits)}")
        return
    try:
        tools = env.tools()
        if not isinstance(tools, list) or not tools or not all(isinstance(t, ToolSpec) for t in tools):
            result.problems.append("tools() must return a non-empty list of ToolSpec")
        from harness.exemplars import env_exemplars  # noqa: PLC0415

        shots = env_exemplars(env)
        tasks = env.load(split, limit)
    except DataMissingError as exc:
        result.missing_data.append(_oneline(exc))
        return
    except ContractError as exc:
        result.problems.append(str(exc))
        return
    except Exception as exc:  # noqa: BLE001
        result.problems.append(f"load({split!r}, {limit}) failed: {_oneline(exc)}")
        return
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, Task) for t in tasks):
        result.problems.append(f"load({split!r}, {limit}) must return a non-empty list of Task")
        return
    if len(tasks) > limit:
        result.problems.append(f"load({split!r}, limit={limit}) returned {len(tasks)} tasks")
    if len({t.id for t in tasks}) != len(tasks):
        result.problems.append("task ids are not unique (resume needs unique ids)")
    result.notes.append(f"{len(tasks)} {split} task(s) loaded")
    if shots is not None:
        result.notes.append(f"{len(shots)} exemplar(s)")
    _check_scoring(env, tasks, result)


def _check_scoring(env: Environment, tasks: list[Task], result: CheckResult) -> None:
    gold = [t for t in tasks if t.gold_plan and t.gold_actions]
    replayed = bool(gold)
    try:
        if replayed:
            from agents.producers.oracle import OracleAgent  # noqa: PLC0415 (no models: replays golds)

            trajectories = OracleAgent().run(gold, env)
        else:
            gold, trajectories = tasks, [Trajectory() for _ in tasks]
        scores = [env.score(t, traj) for t, traj in zip(gold, trajectories)]
    except Exception as exc:  # noqa: BLE001
        result.problems.append(f"{'oracle replay' if replayed else 'score()'} failed: {_oneline(exc)}")
        return
    declared = set(env.metrics)
    values = []
    for task, metrics in zip(gold, scores):
        if not isinstance(metrics, dict) or env.main_metric not in metrics:
            got = sorted(metrics) if isinstance(metrics, dict) else type(metrics).__name__
            result.problems.append(f"score() must return the main metric {env.main_metric!r}; got {got} for {task.id}")
            return
        bad = [k for k, v in metrics.items() if not isinstance(v, (int, float))]
        if bad:
            result.problems.append(f"score() returned non-numeric value(s) for {', '.join(bad)} ({task.id})")
            return
        undeclared = sorted(set(metrics) - declared) if declared else []
        if undeclared:
            result.problems.append(f"score() returned undeclared metric(s) {undeclared}; add them to metrics")
            return
        values.append(float(metrics[env.main_metric]))
    mean = sum(values) / len(values)
    if replayed:
        result.oracle_mean = mean
        result.notes.append(f"oracle {env.main_metric} = {mean:.2f} on {len(values)} task(s)")
        if not math.isfinite(mean):
            result.problems.append(f"oracle {env.main_metric} is not a finite number")
    else:
        result.notes.append(f"no gold trajectories; score() of an empty trajectory has {env.main_metric}")
