"""StrategyQA (implicit multi-step yes/no questions), Lumos one-pass formulation (SPEC c).

Splits: ``lumos`` = the first 100 questions of Lumos' ``test.json`` (the MOAT/Lumos subset,
default; all of them are public StrategyQA *train* questions, see :meth:`StrategyQA.notes`);
``dev`` = the 229-question held-out split of ``eladsegal/strategyqa`` (never used for training);
``train`` = its 2,061 training questions (gold trajectories for training). Task ids are StrategyQA
``qid``s.

Metrics: ``accuracy`` = Lumos' rule (``"yes" in answer.lower()`` vs the gold bool);
``accuracy_strict`` = the first yes/no word of the answer.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from envs.qa.base import QAEnvironment
from envs.qa.gold import facts_reached, strategyqa_gold
from envs.qa.knowledge import default_knowledge
from envs.qa.metrics import gold_bool, yes_no_lenient, yes_no_strict
from harness.data import DataFile, read_json, require
from harness.records import Task, Trajectory

log = logging.getLogger(__name__)

LUMOS_TEST = "lumos/eval/strategyqa/test.json"
TRAIN = "strategyqa/train.json"
DEV = "strategyqa/dev.json"
LUMOS_N = 100
_COMMIT = "1ba1e97452e189569357876f2854b01357ffbe37"


def _key(question: str) -> str:
    return " ".join(question.split()).lower()


class StrategyQA(QAEnvironment):
    name = "strategyqa"
    version = "1.1"
    """1.1: failed trajectories count as wrong (issue 16.6)."""
    splits = ("lumos", "dev", "train")
    default_split = "lumos"
    main_metric = "accuracy"
    mode = "one-pass"
    max_rounds = 1
    yes_no = True
    description = "StrategyQA (first 100 of Lumos' test file = public train questions; 'dev' is held out): yes/no"

    def data_files(self) -> list[DataFile]:
        base = f"https://raw.githubusercontent.com/eladsegal/strategyqa/{_COMMIT}/data/strategyqa/"
        return [
            DataFile(
                LUMOS_TEST,
                url="https://raw.githubusercontent.com/allenai/lumos/146dd9d61bb295582e9e432980f60b9ff4ecfe5c/"
                "data/eval/strategyqa/test.json",
                sha256="bdce966d45be45b362e005af03ed0bf7ae2ed2c4a5f5a03955ec72b4df933637",
            ),
            DataFile(TRAIN, url=base + "train.json",
                     sha256="0f72560b8a6fad3db847d2f1a7524fb087297843bb45a8d3245ffd68cbe0de12"),
            DataFile(DEV, url=base + "dev.json",
                     sha256="0d94842ffb022db8fd5ecd2168b785d5cf67f6faf64f665476bad544a3eb9dde"),
        ]

    def split_files(self, split: str) -> list[Path]:
        files = {"lumos": [LUMOS_TEST, TRAIN, DEV], "dev": [DEV], "train": [TRAIN]}[split]
        return [self.data_dir / f for f in files]

    def _records(self, rel: str) -> list[dict[str, Any]]:
        return read_json(require(self.data_dir, rel))

    def _query_ok(self) -> Any:
        """Gold-query check against the default corpus (None when it cannot be built)."""
        try:
            return facts_reached(default_knowledge(self.data_dir).search)
        except (OSError, ValueError) as exc:
            log.warning("StrategyQA gold queries fall back to item terms: %s", exc)
            return None

    def load(self, split: str, limit: int | None = None) -> list[Task]:
        if split not in self.splits:
            raise ValueError(f"strategyqa has splits {self.splits}, not '{split}'")
        if split == "lumos":
            rows = self._records(LUMOS_TEST)[:LUMOS_N]
            full: dict[str, tuple[str, dict[str, Any]]] = {}
            for rel, origin in ((TRAIN, "train"), (DEV, "dev")):
                if (self.data_dir / rel).exists():
                    for rec in self._records(rel):
                        full[_key(rec["question"])] = (origin, rec)
            if limit is not None:
                rows = rows[:limit]
            pairs = [(row, full.get(_key(row["question"]))) for row in rows]
        else:
            recs = self._records(DEV if split == "dev" else TRAIN)
            if limit is not None:
                recs = recs[:limit]
            pairs = [(rec, (split, rec)) for rec in recs]
        query_ok = self._query_ok()
        tasks = []
        for i, (row, match) in enumerate(pairs):
            origin, rec = match if match else (None, None)
            meta: dict[str, Any] = {"source_split": origin}
            plan = actions = None
            if rec is not None:
                meta.update(term=rec.get("term"), facts=rec.get("facts"), decomposition=rec.get("decomposition"))
                if rec.get("decomposition"):
                    plan, actions = strategyqa_gold(rec, query_ok)
            tasks.append(Task(
                id=rec["qid"] if rec is not None else f"lumos-{i}",
                question=row["question"].strip(),
                gold=bool(row["answer"]),
                gold_plan=plan,
                gold_actions=actions,
                meta=meta,
            ))
        return tasks

    def score(self, task: Task, trajectory: Trajectory) -> dict[str, float]:
        pred = self.scored_answer(trajectory)
        gold = gold_bool(task.gold)
        strict = yes_no_strict(pred)
        return {
            "accuracy": float(pred is not None and yes_no_lenient(pred) == gold),
            "accuracy_strict": float(strict is not None and strict == gold),
        }

    def notes(self, split: str) -> list[str]:
        notes = self.common_notes()
        if split == "lumos":
            notes.append("OVERLAP: the 'lumos' split (first 100 of Lumos' test.json) consists of public StrategyQA "
                         "TRAIN questions (84 in train.json, 16 in dev.json), and Lumos built its complex-QA "
                         "training data from StrategyQA train; use split 'dev' for a held-out number.")
        if split == "train":
            notes.append("split 'train' is training data (for gold trajectories), not an evaluation set.")
        notes.append("The knowledge corpus contains every StrategyQA item's annotator facts, including the "
                     "evaluated item's own facts (grouped by term); it is not Wikipedia.")
        notes.append("accuracy = Lumos' rule ('yes' anywhere in the answer); accuracy_strict = first yes/no word.")
        return notes
