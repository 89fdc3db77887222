"""``toy_echo``: reads the operands from the task and calls ``Add``; ``wrong_every`` makes it err,
``delay`` (seconds per batch) makes it slow enough to be killed mid-run in tests."""

from __future__ import annotations

import time
from typing import Any

from harness.agent import Agent, AgentOptions, AgentProducer
from harness.environment import Environment
from harness.records import Task, Trajectory, Turn


class ToyEchoAgent(Agent):
    def __init__(self, delay: float = 0.0, wrong_every: int = 0) -> None:
        self.delay = delay
        self.wrong_every = wrong_every

    def run(self, tasks: list[Task], env: Environment) -> list[Trajectory]:
        time.sleep(self.delay)
        out = []
        for i, task in enumerate(tasks):
            a, b = task.meta["a"], task.meta["b"]
            if self.wrong_every and int(task.id.split("-")[1]) % self.wrong_every == 0:
                b += 1
            actions = f"R1 = Add({a}, {b})"
            ex = env.session(task)
            results = ex.execute(actions)
            out.append(Trajectory(turns=[Turn(subgoal="add", actions=actions, results=results)], final_answer=ex.final_answer()))
        return out

    def config(self) -> dict[str, Any]:
        return {"producer": "toy_echo", "wrong_every": self.wrong_every}


class ToyEchoProducer(AgentProducer):
    name = "toy_echo"
    description = "toy agent from the test plug-in"

    def build(self, options: AgentOptions) -> Agent:
        return ToyEchoAgent(delay=float(options.extra.get("delay", 0.0)), wrong_every=int(options.extra.get("wrong_every", 0)))
