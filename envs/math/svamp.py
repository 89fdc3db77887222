"""SVAMP (Patel et al. 2021): 1,000 one- and two-step arithmetic word problems (SPEC c).

All 1,000 problems of ``SVAMP.json`` are evaluated, as in MOAT/Lumos. Question = ``Body + " " +
Question``; gold = ``str(int(Answer))``; the gold trajectory comes from the ``Equation`` field.
"""

from __future__ import annotations

from typing import ClassVar

from harness.data import DataFile, read_json
from harness.records import Task

from envs.math.base import MathEnvironment
from envs.math.gold import svamp_trajectory

_RAW = "https://raw.githubusercontent.com/arkilpatel/SVAMP/689d7ccac74b9983a2ac7cc3b264f441b99e7c53"


class SVAMP(MathEnvironment):
    name: ClassVar[str] = "svamp"
    version: ClassVar[str] = "1.1"
    splits: ClassVar[tuple[str, ...]] = ("test",)
    default_split: ClassVar[str] = "test"
    description: ClassVar[str] = "SVAMP arithmetic word problems (all 1,000, as in MOAT/Lumos)"
    max_rounds: ClassVar[int] = 2
    """Lumos' SVAMP iterative budget: 4 half-rounds = 2 plan/ground rounds."""
    paper_n: ClassVar[dict[str, int]] = {"test": 1000}

    def data_files(self) -> list[DataFile]:
        return [
            DataFile(
                "svamp/SVAMP.json",
                f"{_RAW}/SVAMP.json",
                "5be77703a6d891ae476d7c082787ad361392aa02453b132516cdd5f4e7934e3e",
            ),
        ]

    def split_file(self, split: str) -> str:
        return "SVAMP.json"

    def load(self, split: str, limit: int | None = None) -> list[Task]:
        path = self._path(split)
        rows = read_json(path)
        n = self._count(split, limit)
        tasks = []
        for i, row in enumerate(rows[:n]):
            question = (row["Body"].strip() + " " + row["Question"].strip()).strip()
            try:
                gold_traj = svamp_trajectory(row["Equation"], row["Question"])
            except (ValueError, SyntaxError):
                gold_traj = None
            tasks.append(
                Task(
                    id=str(row.get("ID") or f"svamp-{i}"),
                    question=question,
                    gold=str(int(float(row["Answer"]))),
                    gold_plan=gold_traj.subgoals if gold_traj else None,
                    gold_actions=gold_traj.actions if gold_traj else None,
                    meta={"index": i, "type": row.get("Type")},
                )
            )
        return tasks
