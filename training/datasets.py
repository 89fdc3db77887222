"""Gold trajectories from benchmark **train** splits, split hygiene, and the held-out dev slice.

A training source is an environment + split whose tasks carry ``gold_plan`` / ``gold_actions``
(GSM8K train from its calculator annotations, StrategyQA train decompositions, Mind2Web train when
present). Every gold trajectory is executed through the environment's own executor: that yields the
per-subgoal results the iterative planning data needs (SPEC a.3) and drops golds that do not reach
the right answer. Any task whose question occurs in an evaluation set (GSM8K test, SVAMP, StrategyQA
dev and Lumos' StrategyQA eval subset, HotpotQA dev) is removed, and :func:`check_hygiene` proves it.

WebShop's human trajectories are never used: their goals (indices < 500) are the test goals, and
WebShop is held out in the paper's Table 2.
"""

from __future__ import annotations

import json
import logging
import random
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.records import Task, ToolSpec, Trajectory, Turn

log = logging.getLogger(__name__)


class SourceSpec(BaseModel):
    env: str
    split: str = "train"
    limit: int | None = None
    """First N tasks of the split (before hygiene and gold checks)."""
    optional: bool = False
    """Skip quietly (with a log line) when the environment, split or gold trajectories are absent."""
    execute_gold: bool = True
    """Run each gold trajectory to get per-subgoal results and check it reaches the answer. Off for
    sources whose tools are expensive (StrategyQA's QA reader is an LLM): such examples have no
    results, so they only enter the one-pass formulation."""
    options: dict[str, Any] = {}


@dataclass
class GoldExample:
    """One training task with its gold plan, grounded actions and per-subgoal execution results."""

    id: str
    source: str
    domain: str
    question: str
    subgoals: list[str]
    actions: list[str]
    results: list[str]
    answer: Any
    tools: list[dict[str, str]]
    header: str = ""
    """The grounding header ``H`` rendered from the environment's tools in its prompt style."""
    style: dict[str, Any] = field(default_factory=dict)
    """The environment's :class:`agents.prompts.PromptStyle` fields."""
    task: dict[str, Any] = field(default_factory=dict)
    """The original :class:`Task` (for execution by critics and dev evaluation)."""

    def to_task(self) -> Task:
        return Task.model_validate(self.task)

    def tool_specs(self) -> list[ToolSpec]:
        return [ToolSpec.model_validate(t) for t in self.tools]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GoldExample:
        return cls(**d)


# -- split hygiene -------------------------------------------------------------------------------
def normalize_question(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = re.sub(r"\s+", " ", text)
    return text.strip(" \t\n.?!\"'")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def eval_questions(data_dir: Path, strategyqa_lumos_n: int = 100) -> dict[str, set[str]]:
    """Normalised questions of every evaluation set found under ``data_dir`` (absent files skipped).

    StrategyQA: the whole ``dev`` split and the first ``strategyqa_lumos_n`` questions of Lumos' eval
    file (the paper's subset; the file itself is the entire public train set, so all of it cannot be
    excluded without removing StrategyQA training altogether).
    """
    out: dict[str, set[str]] = {}
    p = data_dir / "gsm8k" / "test.jsonl"
    if p.exists():
        out["gsm8k-test"] = {normalize_question(json.loads(line)["question"])
                             for line in p.read_text(encoding="utf-8").splitlines() if line.strip()}
    p = data_dir / "svamp" / "SVAMP.json"
    if p.exists():
        out["svamp"] = {normalize_question(f"{r['Body']} {r['Question']}") for r in _read_json(p)}
        out["svamp"] |= {normalize_question(r["Question"]) for r in _read_json(p)}
    p = data_dir / "strategyqa" / "dev.json"
    if p.exists():
        out["strategyqa-dev"] = {normalize_question(r["question"]) for r in _read_json(p)}
    p = data_dir / "lumos" / "eval" / "strategyqa" / "test.json"
    if p.exists():
        out["strategyqa-lumos"] = {normalize_question(r["question"]) for r in _read_json(p)[:strategyqa_lumos_n]}
    p = data_dir / "hotpotqa" / "hotpot_dev_v1_simplified.json"
    if p.exists():
        out["hotpotqa-dev"] = {normalize_question(r["question"]) for r in _read_json(p)}
    return out


def eval_leak(question: str, evals: dict[str, set[str]]) -> str | None:
    """The first evaluation set holding ``question`` (normalised), else ``None``."""
    q = normalize_question(question)
    return next((name for name, qs in evals.items() if q in qs), None)


def check_hygiene(examples: list[GoldExample], evals: dict[str, set[str]]) -> dict[str, list[str]]:
    """Training example ids whose question is an evaluation question, per evaluation set."""
    leaks: dict[str, list[str]] = {}
    for ex in examples:
        q = normalize_question(ex.question)
        for name, qs in evals.items():
            if q in qs:
                leaks.setdefault(name, []).append(ex.id)
    return leaks


# -- building gold examples ----------------------------------------------------------------------
def _turn_result(results: list[Any]) -> str | None:
    if not results or any(not r.ok for r in results):
        return None
    last = results[-1].result
    return None if last is None else str(last)


def gold_example(env: Any, task: Task, require_correct: bool = True,
                 execute: bool = True) -> tuple[GoldExample | None, str]:
    """Execute ``task``'s gold trajectory in ``env``; ``(example, "ok")`` or ``(None, reason)``."""
    if not task.gold_plan or not task.gold_actions:
        return None, "no gold trajectory"
    if len(task.gold_plan) != len(task.gold_actions):
        return None, "plan/actions length mismatch"
    results: list[str] = []
    if execute:
        reason = _execute_gold(env, task, results, require_correct)
        if reason is not None:
            return None, reason
    from agents import prompts as P

    style = P.style_for(env)
    ex = GoldExample(
        id=f"{env.name}:{task.id}",
        source=env.name,
        domain=env.domain,
        question=task.question,
        subgoals=list(task.gold_plan),
        actions=list(task.gold_actions),
        results=results,
        answer=task.gold,
        tools=[t.model_dump() for t in env.tools()],
        header=P.render_header(env.tools(), style),
        style=asdict(style),
        task=task.model_dump(mode="json"),
    )
    return ex, "ok"


def _execute_gold(env: Any, task: Task, results: list[str], require_correct: bool) -> str | None:
    """Fill ``results`` with each subgoal's last result; a reason string when the gold fails."""
    executor = env.session(task)
    traj = Trajectory()
    try:
        for subgoal, actions in zip(task.gold_plan or [], task.gold_actions or []):
            res = executor.execute(actions)
            traj.turns.append(Turn(subgoal=subgoal, actions=actions, results=res))
            r = _turn_result(res)
            if r is None:
                return "gold action failed to execute"
            results.append(r)
        traj.final_answer = executor.final_answer()
    finally:
        executor.close()
    if require_correct and env.score(task, traj).get(env.main_metric, 0.0) < 1.0:
        return "gold trajectory does not reach the gold answer"
    return None


def load_source(spec: SourceSpec, data_dir: str | Path | None, evals: dict[str, set[str]],
                require_correct: bool = True) -> tuple[list[GoldExample], dict[str, int]]:
    """Gold examples of one source, with a count of every reason a task was dropped."""
    from harness.registry import ENVS, UnknownNameError

    stats: Counter[str] = Counter()
    try:
        env_cls = ENVS.get(spec.env)
    except (UnknownNameError, ImportError) as exc:
        if spec.optional:
            log.info("training source %s skipped: %s", spec.env, exc)
            return [], {"skipped: environment unavailable": 1}
        raise
    if spec.split not in env_cls.splits:
        if spec.optional:
            log.info("training source %s skipped: no split %r", spec.env, spec.split)
            return [], {f"skipped: no split {spec.split}": 1}
        raise ValueError(f"{spec.env} has no split {spec.split!r} (splits: {', '.join(env_cls.splits)})")
    env = env_cls(data_dir=data_dir, **spec.options)
    try:
        try:
            tasks = env.load(spec.split, limit=spec.limit)
        except FileNotFoundError as exc:
            if spec.optional:
                log.info("training source %s skipped: %s", spec.env, exc)
                return [], {"skipped: data missing": 1}
            raise
        examples = []
        for task in tasks:
            leak = eval_leak(task.question, evals)
            if leak is not None:
                stats[f"dropped: in evaluation set {leak}"] += 1
                continue
            ex, reason = gold_example(env, task, require_correct=require_correct, execute=spec.execute_gold)
            stats[reason if ex is not None else f"dropped: {reason}"] += 1
            if ex is not None:
                examples.append(ex)
    finally:
        env.close()
    if not examples and not spec.optional:
        raise ValueError(f"training source {spec.env}:{spec.split} produced no usable gold trajectories ({dict(stats)})")
    log.info("training source %s:%s -> %d examples %s", spec.env, spec.split, len(examples), dict(stats))
    return examples, dict(stats)


def split_dev(examples: list[GoldExample], dev_size: int, seed: int) -> tuple[list[GoldExample], list[GoldExample]]:
    """Hold out ``dev_size`` examples of the first source (a train-split slice, never an eval set)."""
    if dev_size <= 0 or not examples:
        return examples, []
    first = examples[0].source
    idx = [i for i, ex in enumerate(examples) if ex.source == first]
    rng = random.Random(seed)
    dev_idx = set(rng.sample(idx, min(dev_size, max(0, len(idx) - 1))))
    train = [ex for i, ex in enumerate(examples) if i not in dev_idx]
    dev = [ex for i, ex in enumerate(examples) if i in dev_idx]
    return train, dev


def write_examples(path: Path, examples: list[GoldExample]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps(asdict(ex), ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_examples(path: Path) -> list[GoldExample]:
    return [GoldExample.from_dict(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
