"""One sample's failure stays that sample's: the runner's per-sample steps, none of which raises.

Everything a run executes is written by a model, so the agent, the environment's ``score()`` and
the serialisation of a record can each fail on one sample. Each failure is recorded as that sample's
status (``harness_error``: the agent crashed on this task alone, or its record cannot be written;
``score_error``: ``score()`` raised or returned a bad metric) with the error text in its
trajectory, and scores 0 on every metric, as a failed execution does (SPEC c). The other samples of
the batch are written as usual, and a rerun does not execute a recorded sample again, so a crash
can never make every rerun die on the same batch. (To retry such samples, delete their lines from
``samples.jsonl``.) A crash that kills the process itself is caught by the in-flight marker
(:class:`harness.rundir.InFlight`): the next start runs that batch task by task, and a task the
process dies on alone is recorded as ``harness_error`` on the start after that.

Strings in ``samples.jsonl`` are always valid UTF-8: a lone surrogate (``chr(55296)``, which a
``Code`` result or model text can hold and UTF-8 cannot encode) is written as its Python escape,
the six characters ``\\ud800``; every other character is written unchanged.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from harness.agent import Agent
from harness.environment import Environment
from harness.plugins import ContractError
from harness.records import SampleRecord, SampleStatus, Task, Trajectory

log = logging.getLogger(__name__)

FAILED = (SampleStatus.HARNESS_ERROR, SampleStatus.SCORE_ERROR)
_ERROR_CHARS = 2000


def clean_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by its escape (``\\ud800``), so it encodes as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clean(value: Any) -> Any:
    """``value`` with :func:`clean_text` applied to every string inside it (keys included)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def _describe(exc: BaseException) -> str:
    return clean_text(f"{type(exc).__name__}: {exc}")[:_ERROR_CHARS]


def plan_batches(pending: list[Task], size: int, crashed: set[str]) -> list[list[Task]]:
    """Batches of ``size``; the tasks of a batch that a previous process died in
    (:class:`harness.rundir.InFlight`) come first, one task per batch, so the next death names its task."""
    first = [[t] for t in pending if t.id in crashed]
    rest = [t for t in pending if t.id not in crashed]
    return first + [rest[i : i + size] for i in range(0, len(rest), max(1, size))]


def died_alone(batch: list[Task]) -> list[Trajectory]:
    """Trajectories for tasks the harness process died on while running them alone: recorded
    instead of run again."""
    return [Trajectory(status=SampleStatus.HARNESS_ERROR,
                       error="the harness process died while running this task alone, after dying in its batch "
                             "(a crash, the out-of-memory killer or a kill); recorded instead of run a third time")
            for _ in batch]


def run_batch(agent: Agent, batch: list[Task], env: Environment) -> list[Trajectory]:
    """``agent.run(batch, env)``; if it raises or returns the wrong number of trajectories, each
    task is run alone, and a task that still fails alone gets a ``harness_error`` trajectory.

    An agent that returns the wrong number of trajectories for a single task breaks the contract
    (one trajectory per task, same order): no sample can be blamed, and a rerun would fail the same
    way, so that is a :class:`ContractError` that stops the run."""
    try:
        trajs = agent.run(batch, env)
        if not isinstance(trajs, list) or len(trajs) != len(batch):
            got = len(trajs) if isinstance(trajs, list) else type(trajs).__name__
            msg = (f"contract error: agent {type(agent).__name__} returned {got} trajectories for a batch of "
                   f"{len(batch)} task{'s' if len(batch) != 1 else ''} (Agent.run must return one per task, same order)")
            if len(batch) == 1:
                raise ContractError(msg)
            raise RuntimeError(msg)
    except ContractError:
        raise
    except Exception as exc:  # noqa: BLE001 - the agent is model-driven code; contain it per task
        if len(batch) == 1:
            log.exception("task %s failed in the agent; recorded as harness_error", batch[0].id)
            return [Trajectory(status=SampleStatus.HARNESS_ERROR, error=f"agent failed: {_describe(exc)}")]
        log.exception("batch of %d tasks failed (ids %s...); running each task alone", len(batch), batch[0].id)
        return [t for task in batch for t in run_batch(agent, [task], env)]
    return [t if isinstance(t, Trajectory) else
            Trajectory(status=SampleStatus.HARNESS_ERROR,
                       error=f"agent returned a {type(t).__name__}, not a Trajectory")
            for t in trajs]


def score(env: Environment, task: Task, traj: Trajectory) -> dict[str, float]:
    """``env.score`` checked: the main metric present, every value a finite float.

    A result without the main metric or with a non-numeric value is a plug-in bug that every
    sample would hit (:class:`ContractError`, the run stops); an exception or a non-finite value
    is that sample's ``score_error``."""
    metrics = env.score(task, traj)
    if not isinstance(metrics, dict) or env.main_metric not in metrics:
        got = sorted(metrics) if isinstance(metrics, dict) else type(metrics).__name__
        raise ContractError(f"contract error: {env.name}.score() must return a dict with its main metric "
                            f"{env.main_metric!r}; it returned {got} for task {task.id}")
    try:
        out = {str(k): float(v) for k, v in metrics.items()}
    except (TypeError, ValueError) as exc:
        raise ContractError(f"contract error: {env.name}.score() returned a non-numeric metric for task "
                            f"{task.id}: {exc}") from exc
    bad = [k for k, v in out.items() if not math.isfinite(v)]
    if bad:
        raise ValueError(f"{env.name}.score() returned a non-finite value for {', '.join(bad)}")
    return out


def zero_metrics(env: Environment, task: Task) -> dict[str, float]:
    """0 on every metric the environment reports (the names from scoring a failed, empty
    trajectory; the main metric alone if even that fails)."""
    try:
        names = set(env.score(task, Trajectory(status=SampleStatus.HARNESS_ERROR)))
    except Exception:  # noqa: BLE001 - only the metric names are wanted here
        names = set()
    return {str(k): 0.0 for k in names | {env.main_metric}}


def build_record(env: Environment, task: Task, traj: Trajectory, seconds: float,
                 harness_git: str | None) -> SampleRecord:
    """The sample's record; a failing ``score()`` makes it a ``score_error`` with zero metrics."""
    status = traj.status
    if status == SampleStatus.HARNESS_ERROR:
        metrics = zero_metrics(env, task)
    else:
        try:
            metrics = score(env, task, traj)
        except ContractError:
            raise
        except Exception as exc:  # noqa: BLE001 - a scorer bug on one sample must not cost the batch
            log.warning("score() failed on %s: %s", task.id, _describe(exc))
            metrics, status = zero_metrics(env, task), SampleStatus.SCORE_ERROR
            earlier = f" (trajectory error: {traj.error})" if traj.error else ""
            traj.error = f"score() failed: {_describe(exc)}{earlier}"
    return SampleRecord(id=task.id, question=task.question, gold=task.gold, prediction=traj.final_answer,
                        metrics=metrics, status=status, trajectory=traj, seconds=seconds, harness_git=harness_git)


def _line(rec: SampleRecord) -> str:
    """The JSON line, checked to read back as the same kind of record (a line that does not would
    be dropped as torn on the next start and the sample run again, forever)."""
    text = rec.model_dump_json()
    back = SampleRecord.model_validate_json(text)
    if back.id != rec.id:
        raise ValueError("the record does not read back")
    return text


def record_line(env: Environment, task: Task, traj: Trajectory, seconds: float = 0.0,
                harness_git: str | None = None) -> tuple[str, SampleStatus]:
    """One ``samples.jsonl`` line for a finished task (without the newline) and its status.

    Raises only a :class:`ContractError`: lone surrogates are escaped, and a record that still
    cannot be written (an object JSON cannot hold in ``extra``, a value that does not read back) is
    replaced by a ``harness_error`` record of the task carrying the error."""
    try:
        rec = build_record(env, task, traj, seconds, harness_git)
    except ContractError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a prediction that is not a string
        return _failed_line(env, task, seconds, harness_git, f"cannot build the sample record: {_describe(exc)}")
    try:
        return _line(rec), rec.status
    except (ValueError, TypeError):
        pass  # most often a lone surrogate: retry with escaped strings
    try:
        rec = SampleRecord.model_validate(clean(rec.model_dump()))
        return _line(rec), rec.status
    except Exception as exc:  # noqa: BLE001
        log.warning("cannot serialise the record of %s: %s", task.id, _describe(exc))
        return _failed_line(env, task, seconds, harness_git, f"cannot serialise the sample record: {_describe(exc)}")


def _failed_line(env: Environment, task: Task, seconds: float, harness_git: str | None,
                 error: str) -> tuple[str, SampleStatus]:
    gold = clean(task.gold)
    try:
        json.dumps(gold)
    except (TypeError, ValueError):  # a gold JSON cannot hold: keep its repr
        gold = clean(repr(task.gold))
    rec = SampleRecord(id=clean_text(task.id), question=clean_text(task.question), gold=clean(gold),
                       metrics=zero_metrics(env, task), status=SampleStatus.HARNESS_ERROR,
                       trajectory=Trajectory(status=SampleStatus.HARNESS_ERROR, error=error),
                       seconds=seconds, harness_git=harness_git)
    return rec.model_dump_json(), SampleStatus.HARNESS_ERROR
