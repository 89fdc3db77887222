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
        return [self._run_one(task, env) for task in tasks]

    @staticmethod
    def _run_one(task: Task, env: Environment) -> Trajectory:
        if not task.gold_plan or not task.gold_actions:
            return Trajectory(status=SampleStatus.MODEL_ERROR, error=f"task {task.id} has no gold trajectory")
        executor = env.session(task)
        try:
            traj = Trajectory()
            for subgoal, actions in zip(task.gold_plan, task.gold_actions):
                traj.turns.append(Turn(subgoal=subgoal, actions=actions, results=executor.execute(actions)))
            traj.final_answer = executor.final_answer()
        finally:
            executor.close()
        traj.status = trajectory_status(traj)
        return traj

    def config(self) -> dict[str, Any]:
        return {"producer": "oracle"}


class OracleProducer(AgentProducer):
    name = "oracle"
    description = "Replays gold plans and actions through the environment's executors (self-check)."

    def build(self, options: AgentOptions) -> Agent:
        return OracleAgent()
