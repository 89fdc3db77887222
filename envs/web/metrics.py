"""Mind2Web metrics (``OSU-NLP-Group/Mind2Web: src/action_prediction/metric.py``, SPEC c.1).

Per step: element accuracy (the predicted ``backend_node_id`` is a positive candidate that survived
the top-k candidate cut), operation F1 (token-set F1 of ``"{OP} {value}"``), step success (both).
A step with no positive left after the cut, or with no prediction, scores 0 on all three.
Micro = mean over all steps; macro = mean over tasks of each task's step mean (the Mind2Web paper's
numbers are macro). Task SR = fraction of tasks whose every step succeeded. Micro metrics are computed
from per-task step counts when a run is aggregated (:func:`corpus_metrics`), never from a weight
frozen into a sample: a weight depends on which tasks the run holds, and runs grow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


def op_string(op: str, value: str | None) -> str:
    """``"CLICK"`` for clicks (empty value), else ``"TYPE Atlanta"`` / ``"SELECT 6 nights"``."""
    return f"{(op or '').strip()} {(value or '').strip()}".strip()


def op_f1(pred: str, gold: str) -> float:
    """Token-set F1 between whitespace-split strings; both empty = 1, one empty = 0."""
    p, g = set(pred.strip().split()), set(gold.strip().split())
    if not p and not g:
        return 1.0
    if not p or not g:
        return 0.0
    tp = len(p & g)
    if tp == 0:
        return 0.0
    precision, recall = tp / len(p), tp / len(g)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class StepScore:
    task_id: str
    element: float
    op_f1: float
    step: float


def score_step(
    task_id: str,
    pred_id: str | None,
    pred_op: str | None,
    pred_value: str | None,
    gold_op: str,
    gold_value: str | None,
    positive_ids: Iterable[str],
) -> StepScore:
    """``positive_ids``: the positives left after the top-k cut."""
    positives = {str(p) for p in positive_ids}
    if not positives or pred_id is None or pred_op is None:
        return StepScore(task_id, 0.0, 0.0, 0.0)
    element = 1.0 if str(pred_id) in positives else 0.0
    f1 = op_f1(op_string(pred_op, pred_value), op_string(gold_op, gold_value if gold_op != "CLICK" else ""))
    return StepScore(task_id, element, f1, 1.0 if element == 1.0 and f1 == 1.0 else 0.0)


def aggregate(steps: list[StepScore]) -> dict[str, float]:
    """Micro and macro element acc / op F1 / step SR, task SR, counts."""
    if not steps:
        return {}
    by_task: dict[str, list[StepScore]] = defaultdict(list)
    for s in steps:
        by_task[s.task_id].append(s)
    out: dict[str, float] = {}
    for key in ("element", "op_f1", "step"):
        name = {"element": "element_acc", "op_f1": "op_f1", "step": "step_sr"}[key]
        out[f"{name}_micro"] = sum(getattr(s, key) for s in steps) / len(steps)
        out[f"{name}_macro"] = sum(sum(getattr(s, key) for s in v) / len(v) for v in by_task.values()) / len(by_task)
    out["task_sr"] = sum(all(s.step == 1.0 for s in v) for v in by_task.values()) / len(by_task)
    out["n_steps"] = float(len(steps))
    out["n_tasks"] = float(len(by_task))
    return out


COUNT_KEYS = ("element_hits", "op_f1_sum", "step_hits", "recall_hits")
"""Per-task step counts stored in each sample; the micro metrics and Recall@k are sums of these over
the run's tasks divided by the summed ``steps`` (:func:`corpus_metrics`)."""


def task_metrics(steps: list[StepScore], recall_hits: int = 0) -> dict[str, float]:
    """One task's metrics: its own macro values (step means), ``task_sr``, and the step counts from
    which :func:`corpus_metrics` computes the micro averages when the run is aggregated.

    ``recall_hits``: the task's steps whose top-k candidates hold at least one positive."""
    n = len(steps)
    out: dict[str, float] = {}
    for key, name in (("element", "element_acc"), ("op_f1", "op_f1"), ("step", "step_sr")):
        out[f"{name}_macro"] = sum(getattr(s, key) for s in steps) / n if n else 0.0
    out["element_hits"] = float(sum(s.element for s in steps))
    out["op_f1_sum"] = float(sum(s.op_f1 for s in steps))
    out["step_hits"] = float(sum(s.step for s in steps))
    out["recall_hits"] = float(recall_hits)
    out["task_sr"] = float(n > 0 and all(s.step == 1.0 for s in steps))
    out["steps"] = float(n)
    return out


def corpus_metrics(per_task: Sequence[Mapping[str, float]], top_k: int) -> dict[str, float]:
    """Run-level Mind2Web metrics from per-task values (the environment's ``aggregate``).

    ``*_macro``, ``task_sr`` and ``steps`` (mean steps per task): means over tasks. ``*_micro``:
    summed step counts / summed steps, i.e. the mean over every step of the run (the official
    ``element_acc`` / ``action_f1`` / ``step_success`` lists of ``metric.py`` averaged flat).
    ``recall@{top_k}``: steps whose top-k candidates hold a positive / all steps, as the candidate
    generator's Recall@k is counted over every step, acted on or not."""
    if not per_task:
        return {}
    n = len(per_task)
    out = {k: sum(float(t[k]) for t in per_task) / n
           for k in ("element_acc_macro", "op_f1_macro", "step_sr_macro", "task_sr", "steps")}
    total = sum(float(t["steps"]) for t in per_task)
    for name, key in (("element_acc_micro", "element_hits"), ("op_f1_micro", "op_f1_sum"),
                      ("step_sr_micro", "step_hits"), (f"recall@{top_k}", "recall_hits")):
        out[name] = sum(float(t[key]) for t in per_task) / total if total else 0.0
    return out
