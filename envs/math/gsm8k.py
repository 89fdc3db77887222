"""GSM8K (Cobbe et al. 2021): grade-school maths word problems, Lumos maths tools (SPEC c).

Evaluation subset as in MOAT/Lumos: the first 500 problems of ``test.jsonl`` (``--limit``
overrides; ``train`` defaults to all 7,473). Gold = the text after ``####`` with thousands commas
removed. Gold trajectories are converted from the solutions' calculator annotations
(:mod:`envs.math.gold`).
"""

from __future__ import annotations

from typing import ClassVar

from harness.data import DataFile, read_jsonl
from harness.records import Task

from envs.math.base import MathEnvironment
from envs.math.gold import gsm8k_trajectory
from envs.math.scoring import gsm8k_gold

_RAW = "https://raw.githubusercontent.com/openai/grade-school-math/3101c7d5072418e28b9008a6636bde82a006892c/grade_school_math/data"


class GSM8K(MathEnvironment):
    name: ClassVar[str] = "gsm8k"
    version: ClassVar[str] = "1.1"
    splits: ClassVar[tuple[str, ...]] = ("test", "train")
    default_split: ClassVar[str] = "test"
    description: ClassVar[str] = "GSM8K grade-school maths (first 500 test problems, as in MOAT/Lumos)"
    max_rounds: ClassVar[int] = 8
    """Lumos' GSM8K iterative budget: 16 half-rounds = 8 plan/ground rounds."""
    paper_n: ClassVar[dict[str, int]] = {"test": 500}

    def data_files(self) -> list[DataFile]:
        return [
            DataFile(
                "gsm8k/test.jsonl",
                f"{_RAW}/test.jsonl",
                "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
            ),
            DataFile(
                "gsm8k/train.jsonl",
                f"{_RAW}/train.jsonl",
                "17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465",
            ),
        ]

    def split_file(self, split: str) -> str:
        return f"{split}.jsonl"

    def load(self, split: str, limit: int | None = None) -> list[Task]:
        path = self._path(split)
        n = self._count(split, limit)
        tasks = []
        for i, row in enumerate(read_jsonl(path, n)):
            question = row["question"].strip()
            gold_traj = gsm8k_trajectory(question, row["answer"])
            tasks.append(
                Task(
                    id=f"gsm8k-{split}-{i}",
                    question=question,
                    gold=gsm8k_gold(row["answer"]),
                    gold_plan=gold_traj.subgoals if gold_traj else None,
                    gold_actions=gold_traj.actions if gold_traj else None,
                    meta={"index": i},
                )
            )
        return tasks

    def notes(self, split: str) -> list[str]:
        notes = super().notes(split)
        if split == "test":
            notes.append("MOAT/Lumos evaluate the first 500 test problems (the default without --limit)")
        return notes
