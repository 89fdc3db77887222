"""``toy_wordmath``: a maths word-problem benchmark built only from :mod:`harness.kit`, as a third
party would write one: data and exemplars ship inside this package, the tools are the harness's
maths tools, gold trajectories come from each problem's equation."""

from __future__ import annotations

from harness import kit

PACKAGE = "harness_test_plugin"


class ToyWordMath(kit.MathEnvironment):
    name = "toy_wordmath"
    version = "0.1"
    splits = ("test",)
    default_split = "test"
    metrics = ("em_numeric", "em_strict")
    description = "five word problems shipped inside the test plug-in"

    def data_files(self) -> list[kit.DataFile]:
        return [kit.DataFile("data/wordmath.jsonl", package=PACKAGE)]

    def split_file(self, split: str) -> str:
        return "wordmath.jsonl"

    def load(self, split: str, limit: int | None = None) -> list[kit.Task]:
        rows = kit.read_jsonl(self.split_path(split), limit)
        return [
            kit.Task(id=row["id"], question=row["question"], gold=str(row["answer"]),
                     **kit.gold_fields(kit.equation_trajectory(row["equation"], row["question"])))
            for row in rows
        ]

    def exemplars(self) -> list[kit.Exemplar]:
        return kit.read_exemplars(kit.require_file(self, kit.DataFile("data/exemplars.jsonl", package=PACKAGE)))

    def notes(self, split: str) -> list[str]:
        return ["toy data written for the harness tests"]
