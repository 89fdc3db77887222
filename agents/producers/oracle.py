"""The ``oracle`` producer: replays each task's gold plan and gold actions through the environment.

It is the self-check of an environment: with correct tools and metrics it should score (nearly)
perfectly on any split that has gold trajectories.
"""

from __future__ import annotations

import logging
from typing import Any

from harness.agent import Agent, AgentOptions, AgentProducer, trajectory_status
from harness.environment import Environment, Executor
from harness.records import ActionResult, SampleStatus, Task, Trajectory, Turn

log = logging.getLogger(__name__)


def _execute(env: Environment, executors: list[Executor], lines: list[str]) -> list[list[ActionResult]]:
    """``env.execute_batch``; if it raises, each task alone, an exception being that task's tool error."""
    try:
        out = list(env.execute_batch(executors, lines))
        if len(out) == len(executors):
            return out
        log.warning("execute_batch returned %d results for %d tasks; executing one by one", len(out), len(executors))
    except Exception:  # noqa: BLE001 - one task's crash must not cost the batch
        log.exception("batched execution failed; executing %d tasks one by one", len(executors))
    out = []
    for ex, line in zip(executors, lines):
        try:
            out.append(ex.execute(line))
        except Exception as exc:  # noqa: BLE001
            out.append([ActionResult(action=line, error=f"{type(exc).__name__}: {exc}"[:500], error_kind="tool_error")])
    return out


def _final_answers(env: Environment, executors: list[Executor]) -> list[str | None | Exception]:
    """``env.final_answers``; if it raises, each task alone, keeping an exception per task."""
    try:
        got: list[str | None | Exception] = list(env.final_answers(executors))
        if len(got) == len(executors):
            return got
    except Exception:  # noqa: BLE001
        log.exception("batched final answers failed; asking each of %d tasks alone", len(executors))
    got = []
    for ex in executors:
        try:
            got.append(ex.final_answer())
        except Exception as exc:  # noqa: BLE001 - recorded as that task's tool error
            got.append(exc)
    return got


class OracleAgent(Agent):
    def run(self, tasks: list[Task], env: Environment) -> list[Trajectory]:
        """Replay all tasks' gold turns in lock-step so environments can batch tool calls."""
        trajs = [Trajectory() for _ in tasks]
        live = [i for i, t in enumerate(tasks) if t.gold_plan and t.gold_actions]
        for i, t in enumerate(tasks):
            if i not in live:
                trajs[i] = Trajectory(status=SampleStatus.MODEL_ERROR, error=f"task {t.id} has no gold trajectory")
        executors: dict[int, Executor] = {}
        for i in list(live):
            try:
                executors[i] = env.session(tasks[i])
            except Exception as exc:  # noqa: BLE001 - an environment that cannot start this task
                live.remove(i)
                trajs[i] = Trajectory(status=SampleStatus.TOOL_ERROR,
                                      error=f"session failed: {type(exc).__name__}: {exc}")
        try:
            rounds = max((len(tasks[i].gold_actions or []) for i in live), default=0)
            for k in range(rounds):
                ids = [i for i in live if k < len(tasks[i].gold_actions or [])]
                lines = [(tasks[i].gold_actions or [])[k] for i in ids]
                results = _execute(env, [executors[i] for i in ids], lines)
                for i, line, res in zip(ids, lines, results):
                    trajs[i].turns.append(Turn(subgoal=(tasks[i].gold_plan or [""])[min(k, len(tasks[i].gold_plan or [""]) - 1)], actions=line, results=res))
            answers = _final_answers(env, [executors[i] for i in live])
            for i, answer in zip(live, answers):
                if isinstance(answer, Exception):
                    trajs[i].status = SampleStatus.TOOL_ERROR
                    trajs[i].error = f"final_answer failed: {type(answer).__name__}: {answer}"[:500]
                    continue
                trajs[i].final_answer = answer
                trajs[i].status = trajectory_status(trajs[i])
        finally:
            for ex in executors.values():
                try:
                    ex.close()
                except Exception:  # noqa: BLE001 - closing must not hide the results
                    log.exception("closing an executor failed")
        return trajs

    def config(self) -> dict[str, Any]:
        return {"producer": "oracle"}


class OracleProducer(AgentProducer):
    name = "oracle"
    description = "Replays gold plans and actions through the environment's executors (self-check)."

    def build(self, options: AgentOptions) -> Agent:
        return OracleAgent()
