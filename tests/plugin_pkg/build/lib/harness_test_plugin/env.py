"""``toy_arith``: add two numbers with an ``Add(a, b)`` tool; tasks are generated, no data files."""

from __future__ import annotations

import re

from harness.environment import Environment, Executor
from harness.records import ActionResult, Task, ToolSpec, Trajectory

_ACTION = re.compile(r"^(R\d+) = Add\((-?\d+), (-?\d+)\)$")


class _AddExecutor(Executor):
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def execute(self, actions: str) -> list[ActionResult]:
        out = []
        for text in actions.split("; "):
            m = _ACTION.match(text.strip())
            if not m:
                out.append(ActionResult(action=text, error="cannot parse", error_kind="invalid_action"))
                continue
            var, a, b = m.groups()
            self.values[var] = str(int(a) + int(b))
            out.append(ActionResult(action=text, tool="Add", outputs=[var], result=self.values[var]))
        return out

    def final_answer(self) -> str | None:
        if not self.values:
            return None
        return self.values[max(self.values, key=lambda v: int(v[1:]))]


class ToyArith(Environment):
    name = "toy_arith"
    domain = "math"
    version = "1"
    splits = ("test",)
    default_split = "test"
    main_metric = "accuracy"
    description = "toy addition tasks from the test plug-in"

    def load(self, split: str, limit: int | None = None) -> list[Task]:
        n = int(self.options.get("n", 12))
        tasks = [
            Task(id=f"toy-{i}", question=f"What is {i} + {2 * i}?", gold=str(3 * i),
                 gold_plan=[f"Add {i} and {2 * i}"], gold_actions=[f"R1 = Add({i}, {2 * i})"], meta={"a": i, "b": 2 * i})
            for i in range(n)
        ]
        return tasks[:limit] if limit is not None else tasks

    def tools(self) -> list[ToolSpec]:
        return [ToolSpec(name="Add", signature="Add(a, b)", description="Add two integers")]

    def session(self, task: Task) -> Executor:
        return _AddExecutor()

    def score(self, task: Task, trajectory: Trajectory) -> dict[str, float]:
        return {"accuracy": float(trajectory.final_answer == task.gold)}
