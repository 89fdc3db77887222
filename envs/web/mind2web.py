"""The ``mind2web`` environment: Lumos web actions over Mind2Web steps, scored as Mind2Web.

Data: the official layout ``<data_dir>/mind2web/data/{train,test_task,test_website,test_domain}/*.json``
(each file a JSON list of tasks with ``annotation_id``, ``confirmed_task``, ``action_reprs`` and
``actions[]`` = steps with ``cleaned_html``, ``operation``, ``pos_candidates``, ``neg_candidates``),
files read in natural name order (SPEC g.4: never ``os.listdir`` order). Optional
``mind2web/scores_all_data.pkl`` (MindAct ranker scores) adds ``rank``/``score`` to candidates.

Protocol (Lumos/MindAct, teacher-forced): the k-th executed ``CLICK/TYPE/SELECT`` acts on step k.
The step's Env is its top-50 candidates (``candidates`` option: ``auto`` = MindAct ranks when the data
carry them, else the ranker's top 50 for MindAct's query ``"task is: {task}\\nPrevious actions: {last 3}"``;
``ranker``; ``dataset``; ``lumos`` = the first 50 of positives + negatives as given, which always holds
the answer; ``all``). The element is the Env's top-1 for the action's ``QUERY`` (``SELECT`` appends
`` The option contents should be close to '{TEXT}'.``); "previous actions" are the gold ones.
Headline metric: macro step SR (``step_sr_macro``); micro variants are reported beside it.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import Any

from envs.tool_executor import LINE_OPTIONS, line_limits
from envs.web import metrics
from harness.data import DataFile, DataMissingError, checksum_files, read_json
from harness.environment import Environment, Executor
from harness.options import EnvOption
from harness.records import Task, ToolSpec, Trajectory

log = logging.getLogger(__name__)

SPLITS = ("test_domain", "test_task", "test_website", "train")
TOP_K = 50
CANDIDATES = ("auto", "dataset", "ranker", "lumos", "all")
_HF = "https://huggingface.co/datasets/osunlp/Mind2Web/resolve/main/"


def natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def translate_action(action_repr: str) -> str:
    """A subgoal from an ``action_repr`` (Lumos ``translate_action`` with its first phrasing, not a
    random one): ``"[combobox]  From -> TYPE: ATL"`` -> ``"Type ATL in the combobox From"``."""
    head, _, tail = action_repr.partition(" -> ")
    tag = head[head.find("[") + 1 : head.find("]")]
    contents = head[head.find("]") + 1 :].strip()
    if "CLICK" in tail or "HOVER" in tail:
        return f"Click {tag} {contents}".strip()
    if "TYPE" in tail:
        return f"Type {tail.split('TYPE:')[-1].strip()} in the {tag} {contents}".strip()
    if "SELECT" in tail:
        return f"Select {tail.split('SELECT:')[-1].strip()} in the {tag} {contents}".strip()
    return f"{tail.split(':')[0].strip().lower()} {tag} {contents}.".strip()


def _clean_arg(text: str) -> str:
    return " ".join(text.replace(";", ",").replace("(", " ").replace(")", " ").split())


def gold_trajectory(record: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Gold subgoals and Lumos actions from the steps' gold operations."""
    plan, actions = [], []
    reprs = record.get("action_reprs") or []
    for i, step in enumerate(record["actions"]):
        op = step["operation"]["op"]
        value = _clean_arg(step["operation"].get("value") or "")
        subgoal = translate_action(reprs[i]) if i < len(reprs) else f"{op.capitalize()} the target element"
        env = "Env" if i == 0 else f"R{i}"
        text = f", TEXT: {value}" if op in ("TYPE", "SELECT") else ""
        plan.append(subgoal)
        actions.append(f"R{i + 1} = {op}({env}, QUERY: {_clean_arg(subgoal)}{text})")
    return plan, actions


class Mind2Web(Environment):
    name = "mind2web"
    domain = "web"
    version = "2"
    """2: micro metrics from step counts at aggregation (issue 16.2); official Recall@k (16.5)."""
    splits = SPLITS
    default_split = "test_domain"
    main_metric = "step_sr_macro"
    mode = "iterative"
    max_rounds = 15
    description = "Mind2Web (Deng et al. 2023): predict element + operation per step; teacher-forced Lumos protocol."
    options_spec = {
        "files_dir": EnvOption(str, "folder holding the Mind2Web files directly", identity=False),
        "top_k": EnvOption(int, "candidates per step", default=TOP_K),
        "candidates": EnvOption(str, "where a step's candidates come from", choices=CANDIDATES, default="auto"),
        "ranker": EnvOption(str, "candidate ranker"),
        "teacher_forcing": EnvOption(bool, "previous actions are the gold ones", default=True),
        **LINE_OPTIONS,
    }

    def __init__(self, data_dir: str | Path | None = None, **options: Any) -> None:
        super().__init__(data_dir, **options)
        files_dir = options.get("files_dir")
        self.root = Path(files_dir).expanduser().resolve() if files_dir else self.data_dir / "mind2web"
        self.top_k = int(options.get("top_k", TOP_K))
        self.candidates = str(options.get("candidates", "auto"))
        if self.candidates not in CANDIDATES:
            raise ValueError("mind2web option 'candidates' must be auto | dataset | ranker | lumos | all")
        self.ranker_spec = options.get("ranker")
        self.teacher_forcing = bool(options.get("teacher_forcing", True))
        self.limits = line_limits(options)
        self._ranker: Any = None
        self._records: dict[str, dict[str, Any]] = {}
        self._files_read: list[Path] = []
        self._env_has_positive: dict[tuple[str, int], bool] = {}

    # -- data -------------------------------------------------------------------------------
    def data_files(self) -> list[DataFile]:
        files = [DataFile(f"mind2web/data/{s}", url=None, required=(s == "test_domain")) for s in SPLITS[:3]]
        files += [DataFile(f"mind2web/data/train/train_{i}.json", url=f"{_HF}data/train/train_{i}.json", required=False)
                  for i in range(11)]  # fmt: skip
        files.append(DataFile("mind2web/scores_all_data.pkl", url=f"{_HF}scores_all_data.pkl", required=False))
        return files

    def split_files(self, split: str) -> list[Path]:
        folder = self.root / "data" / split
        files = sorted(folder.glob("*.json"), key=lambda p: natural_key(p.name)) if folder.is_dir() else []
        if not files:
            raise DataMissingError(
                f"no Mind2Web files in {folder}: run `harness data download mind2web` (train from the hub "
                f"osunlp/Mind2Web; the test splits come from the password-protected test.zip linked in the "
                f"OSU-NLP-Group/Mind2Web README) or set --data-dir / env option files_dir"
            )
        return files

    def data_checksum(self, split: str) -> str | None:
        return checksum_files(self.split_files(split))

    def load(self, split: str, limit: int | None = None) -> list[Task]:
        if split not in SPLITS:
            raise ValueError(f"mind2web has no split '{split}'; choose from {', '.join(SPLITS)}")
        records: list[dict[str, Any]] = []
        for path in self.split_files(split):
            data = read_json(path)
            for rec in data:
                for step in rec.get("actions", []):
                    step.pop("raw_html", None)  # large and unused
                records.append(rec)
                if limit is not None and len(records) >= limit:
                    break
            if limit is not None and len(records) >= limit:
                break
        self._merge_ranks(records)
        return self.add_records(records)

    def add_records(self, records: list[dict[str, Any]]) -> list[Task]:
        """Register task records (official schema) and return their tasks."""
        tasks = []
        for rec in records:
            self._records[rec["annotation_id"]] = rec
            plan, actions = gold_trajectory(rec)
            gold = [
                {
                    "action_uid": s.get("action_uid"),
                    "op": s["operation"]["op"],
                    "value": s["operation"].get("value", ""),
                    "pos_ids": [str(c["backend_node_id"]) for c in s.get("pos_candidates", [])],
                    "repr": (rec.get("action_reprs") or [""] * len(rec["actions"]))[i],
                }
                for i, s in enumerate(rec["actions"])
            ]
            tasks.append(
                Task(
                    id=rec["annotation_id"],
                    question=rec["confirmed_task"].strip(),
                    gold=gold,
                    gold_plan=plan,
                    gold_actions=actions,
                    meta={"website": rec.get("website"), "domain": rec.get("domain")},
                )
            )
        return tasks

    def _merge_ranks(self, records: list[dict[str, Any]]) -> None:
        path = self.root / "scores_all_data.pkl"
        if not path.exists():
            return
        with open(path, "rb") as f:  # the official MindAct file (trusted source, see data_files)
            data = pickle.load(f)  # noqa: S301
        scores, ranks = data.get("scores", {}), data.get("ranks", {})
        for rec in records:
            for step in rec["actions"]:
                sid = f"{rec['annotation_id']}_{step['action_uid']}"
                for c in step.get("pos_candidates", []) + step.get("neg_candidates", []):
                    nid = str(c["backend_node_id"])
                    if sid in ranks and nid in ranks[sid]:
                        c["rank"], c["score"] = ranks[sid][nid], scores.get(sid, {}).get(nid)

    # -- tools and execution ----------------------------------------------------------------
    def tools(self) -> list[ToolSpec]:
        return [
            ToolSpec(name="CLICK", signature="CLICK(Env, Query)", description="Click the relevant html region in Env according to Query"),
            ToolSpec(name="TYPE", signature="TYPE(Env, Query, Text)", description="Type Text into the relevant html region in Env according to Query"),
            ToolSpec(
                name="SELECT",
                signature="SELECT(Env, Query, Text)",
                description="Select the value Text of the relevant selection box in Env according to Query.",
            ),
        ]  # fmt: skip

    def ranker(self) -> Any:
        from envs.web.ranking import make_ranker

        if self._ranker is None:
            self._ranker = make_ranker(self.ranker_spec)
        return self._ranker

    def session(self, task: Task) -> Executor:
        from envs.web.session import Mind2WebExecutor

        record = self._records.get(task.id)
        if record is None:
            raise KeyError(f"task {task.id} was not loaded by this environment")
        ex = Mind2WebExecutor(self, record)
        ex.limits = self.limits
        return ex

    # -- scoring ----------------------------------------------------------------------------
    def score(self, task: Task, trajectory: Trajectory) -> dict[str, float]:
        preds: list[dict[str, Any]] = []
        if trajectory.final_answer:
            try:
                preds = json.loads(trajectory.final_answer)
            except ValueError:
                preds = []
        by_step = {int(p["step"]): p for p in preds if isinstance(p, dict) and "step" in p}
        steps = []
        for i, g in enumerate(task.gold):
            p = by_step.get(i)
            if p is None:
                steps.append(metrics.score_step(task.id, None, None, None, g["op"], g["value"], []))
            else:
                steps.append(
                    metrics.score_step(task.id, p.get("element"), p.get("op"), p.get("value"), g["op"], g["value"], p.get("positives_in_env", []))
                )  # fmt: skip
        return metrics.task_metrics(steps, self._recall_hits(task, by_step))

    def _recall_hits(self, task: Task, by_step: dict[int, dict[str, Any]]) -> int:
        """Steps whose Env (top-k candidates) holds a positive, over **every** step of the task: a step
        the agent never reached gets the Env it would have had. Under teacher forcing (the default)
        the Env depends only on the data and the ranker, never on the agent; without it, a step not
        reached has no Env and counts as a miss."""
        hits = 0
        executor = None
        for i in range(len(task.gold)):
            p = by_step.get(i)
            if p is not None:
                hits += bool(p.get("positives_in_env"))
                continue
            if not self.teacher_forcing or task.id not in self._records:
                continue
            key = (task.id, i)
            if key not in self._env_has_positive:  # agent-independent: ranked once per env, whatever the agent
                if executor is None:
                    from envs.web.session import Mind2WebExecutor

                    executor = Mind2WebExecutor(self, self._records[task.id])
                env, _, _ = executor.step_env(i)
                self._env_has_positive[key] = any(c["_pos"] for c in env)
            hits += self._env_has_positive[key]
        return hits

    def aggregate(self, per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Macro metrics as means over tasks; micro metrics and ``recall@k`` from summed step counts
        (:func:`envs.web.metrics.corpus_metrics`), recomputed over exactly the run's samples."""
        return metrics.corpus_metrics(per_sample, self.top_k)

    def notes(self, split: str) -> list[str]:
        ranker = self.ranker_spec or "minilm+bm25 (offline MiniLM + BM25; MindAct uses a DeBERTa cross-encoder)"
        notes = [
            "headline: step_sr_macro (per-task mean, then mean over tasks, as the Mind2Web paper); *_micro = over all steps "
            "(computed from per-task step counts at aggregation)",
            f"recall@{self.top_k} = steps whose top-{self.top_k} candidates hold a positive / all steps (MindAct's "
            "candidate-generation Recall@k; every step counts, acted on or not)",
            f"element ranker: {ranker}; Env = top-{self.top_k} candidates ({self.candidates}); "
            f"teacher-forced previous actions: {self.teacher_forcing}",
        ]
        if "fixtures" in str(self.root):
            notes.insert(0, f"FIXTURE data ({self.root}): not a benchmark number")
        return notes
