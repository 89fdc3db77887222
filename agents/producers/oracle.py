"""The ``oracle`` producer: replays each task's gold plan and gold actions through the environment.

It is the self-check of an environment: with correct tools and metrics it should score (nearly)
perfectly on any split that has gold trajectories.
"""

from __future__ import annotations

from typing import Any

from harness.agent import Agent, AgentOptions, AgentProducer, trajectory_status
from harness.environment import Environment
from harness.records import SampleStatus, Task, Trajectory, Turn


class OracleAgent(Agent):
    def run(self, tasks: list[Task], env: Environment) -> list[Trajectory]:
        """Replay all tasks' gold turns in lock-step so environments can batch tool calls."""
        trajs = [Trajectory() for _ in tasks]
        live = [i for i, t in enumerate(tasks) if t.gold_plan and t.gold_actions]
        for i, t in enumerate(tasks):
            if i not in live:
                trajs[i] = Trajectory(status=SampleStatus.MODEL_ERROR, error=f"task {t.id} has no gold trajectory")
        executors = {i: env.session(tasks[i]) for i in live}
        try:
            rounds = max((len(tasks[i].gold_actions or []) for i in live), default=0)
            for k in range(rounds):
                ids = [i for i in live if k < len(tasks[i].gold_actions or [])]
                lines = [(tasks[i].gold_actions or [])[k] for i in ids]
                results = env.execute_batch([executors[i] for i in ids], lines)
                for i, line, res in zip(ids, lines, results):
                    trajs[i].turns.append(Turn(subgoal=(tasks[i].gold_plan or [""])[min(k, len(tasks[i].gold_plan or [""]) - 1)], actions=line, results=res))
            answers = env.final_answers([executors[i] for i in live])
            for i, answer in zip(live, answers):
                trajs[i].final_answer = answer
                trajs[i].status = trajectory_status(trajs[i])
        finally:
            for ex in executors.values():
                ex.close()
        return trajs

    def config(self) -> dict[str, Any]:
        return {"producer": "oracle"}


class OracleProducer(AgentProducer):
    name = "oracle"
    description = "Replays gold plans and actions through the environment's executors (self-check)."

    def build(self, options: AgentOptions) -> Agent:
        return OracleAgent()
