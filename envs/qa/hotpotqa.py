"""HotpotQA (multi-hop QA), Lumos iterative formulation, scored by EM and F1 (SPEC c).

Splits: ``lumos`` = the first 100 questions of ``hotpot_dev_v1_simplified.json`` (Lumos/MOAT
subset, default); ``dev`` = all 7,405; ``distractor`` = the 1,186 dev questions whose
distractor paragraphs are in the data dir (every one has a gold trajectory). Task ids are
``dev-<official dev index>`` in every split.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from envs.qa.base import QAEnvironment
from envs.qa.gold import hotpotqa_gold
from envs.qa.knowledge import HOTPOTQA_FILE
from envs.qa.metrics import exact_match, f1_score
from harness.data import DataFile, read_json, read_jsonl, require
from harness.records import Task, Trajectory

SIMPLIFIED = "hotpotqa/hotpot_dev_v1_simplified.json"
LUMOS_N = 100


@lru_cache(maxsize=4)
def _distractor_records(path: str, mtime: float) -> dict[int, dict[str, Any]]:
    out = {}
    for rec in read_jsonl(path):
        out[int(rec["dev_index"])] = rec
    return out


class HotpotQA(QAEnvironment):
    name = "hotpotqa"
    version = "1.1"
    """1.1: failed trajectories count as wrong (issue 16.6); NFC deviation in the notes."""
    splits = ("lumos", "dev", "distractor")
    default_split = "lumos"
    main_metric = "em"
    mode = "iterative"
    max_rounds = 5
    """Lumos runs 10 half-rounds (5 plan + 5 ground calls) on HotpotQA (SPEC a.5)."""
    description = "HotpotQA dev (first 100, Lumos subset): multi-hop QA over an offline Wikipedia-paragraph corpus"

    def data_files(self) -> list[DataFile]:
        return [
            DataFile(
                SIMPLIFIED,
                url="https://raw.githubusercontent.com/ysymyth/ReAct/6bdb3a1fd38b8188fc7ba4102969fe483df8fdc9/"
                "data/hotpot_dev_v1_simplified.json",
                sha256="05001dcdeb2b2b2243a88f23daaf8de9237494cd387e13bc25854d3e031101d3",
            ),
            DataFile(HOTPOTQA_FILE, sha256="03913c63561f1388190cac7d44d8d0a71dcceddd4e6f8812123a9f1c7e82b0d7"),
        ]

    def split_files(self, split: str) -> list[Path]:
        return [self.data_dir / SIMPLIFIED, self.data_dir / HOTPOTQA_FILE]

    def _distractor(self) -> dict[int, dict[str, Any]]:
        path = self.data_dir / HOTPOTQA_FILE
        if not path.exists():
            return {}
        return _distractor_records(str(path), path.stat().st_mtime)

    def load(self, split: str, limit: int | None = None) -> list[Task]:
        if split not in self.splits:
            raise ValueError(f"hotpotqa has splits {self.splits}, not '{split}'")
        contexts = self._distractor()
        if split == "distractor":
            require(self.data_dir, HOTPOTQA_FILE)
            rows = [(i, contexts[i]) for i in sorted(contexts)]
        else:
            data = read_json(require(self.data_dir, SIMPLIFIED))
            rows = list(enumerate(data[:LUMOS_N] if split == "lumos" else data))
        if limit is not None:
            rows = rows[:limit]
        return [self._task(i, rec, contexts.get(i)) for i, rec in rows]

    @staticmethod
    def _task(index: int, rec: dict[str, Any], ctx: dict[str, Any] | None) -> Task:
        meta: dict[str, Any] = {"dev_index": index, "type": rec.get("type")}
        plan = actions = None
        if ctx is not None and ctx["question"].strip() == rec["question"].strip():
            meta["supporting_titles"] = list(dict.fromkeys(t for t, _ in ctx["supporting_facts"]))
            meta["hotpot_id"] = ctx.get("_id")
            plan, actions = hotpotqa_gold(rec["question"], ctx["supporting_facts"])
        return Task(id=f"dev-{index}", question=rec["question"].strip(), gold=rec["answer"],
                    gold_plan=plan, gold_actions=actions, meta=meta)

    def score(self, task: Task, trajectory: Trajectory) -> dict[str, float]:
        pred = self.scored_answer(trajectory)
        metrics = {"em": exact_match(pred, str(task.gold)), "f1": f1_score(pred, str(task.gold))}
        gold_titles = task.meta.get("supporting_titles")
        if gold_titles:
            found = self.kq_titles(trajectory)
            metrics["retrieval_recall@5"] = sum(t in found for t in gold_titles) / len(gold_titles)
        return metrics

    def notes(self, split: str) -> list[str]:
        notes = self.common_notes()
        notes.append("DEVIATION: prediction and gold are NFC-normalised before the official SQuAD normalisation (the "
                     "official script compares code points, so a decomposed accent, e.g. 'e' + U+0301 for 'é', would "
                     "not match; NFC merges only canonically equivalent forms and changes nothing else).")
        notes.append("EM/F1 use SQuAD normalisation; F1 is Lumos' (0 when yes/no/noanswer differ). "
                     "retrieval_recall@5 = share of gold supporting-paragraph titles among the top-5 pages "
                     "returned by the trajectory's KnowledgeQuery calls.")
        if split != "lumos":
            notes.append(f"split '{split}' is not the Lumos/MOAT 100-question subset; not comparable with the paper.")
        return notes
