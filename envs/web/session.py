"""One Mind2Web task being executed: step pointer, per-step Env (top-k candidates), predictions."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from envs.actions import InvalidAction, ParsedAction, VariableStore, parse_fields
from envs.tool_executor import Tool, ToolExecutor
from envs.web.ranking import CrossEncoderRanker, PageIndex, Ranker, candidate_label, rank

log = logging.getLogger(__name__)


def mindact_query(query: str, previous: list[str]) -> str:
    return f"task is: {query}\nPrevious actions: {'; '.join(previous)}"


class StepSettings(Protocol):
    """What a session reads from its environment (:class:`envs.web.mind2web.Mind2Web` provides it);
    a protocol, so this module does not import the environment that imports it."""

    teacher_forcing: bool
    candidates: str
    top_k: int

    def ranker(self) -> Ranker: ...


class Mind2WebExecutor(ToolExecutor):
    def __init__(self, env: StepSettings, record: dict[str, Any]) -> None:
        self.env = env
        self.record = record
        self.step = 0
        self.predictions: list[dict[str, Any]] = []
        self.predicted_reprs: list[str] = []
        super().__init__([Tool(op, self._make(op)) for op in ("CLICK", "TYPE", "SELECT")])

    # -- helpers ----------------------------------------------------------------------------
    def _previous(self, i: int) -> list[str]:
        reprs = (self.record.get("action_reprs") or []) if self.env.teacher_forcing else self.predicted_reprs
        return list(reprs[max(0, i - 3) : i])

    def step_env(self, i: int) -> tuple[list[dict[str, Any]], list[str], PageIndex]:
        """The step's Env: candidates (top-k), their rendered texts, the parsed page."""
        step = self.record["actions"][i]
        page = PageIndex(step.get("cleaned_html", ""))
        pos = [dict(c, _pos=True) for c in step.get("pos_candidates", [])]
        neg = [dict(c, _pos=False) for c in step.get("neg_candidates", [])]
        cands = pos + neg
        policy = self.env.candidates
        if policy == "auto":
            policy = "dataset" if cands and all("rank" in c for c in cands) else "ranker"
        k = self.env.top_k
        if policy == "dataset":
            env = sorted((c for c in cands if c.get("rank") is not None and c["rank"] < k), key=lambda c: c["rank"])
        elif policy == "lumos":
            env = cands[:k]
        elif policy == "all":
            env = cands
        else:
            texts = [page.render(c["backend_node_id"]) for c in cands]
            query = mindact_query(self.record["confirmed_task"].strip(), self._previous(i))
            order = rank(self.env.ranker(), query, texts)
            env = [cands[j] for j in order[:k]]
        return env, [page.render(c["backend_node_id"]) for c in env], page

    def _make(self, op: str) -> Any:
        def run(p: ParsedAction, store: VariableStore) -> list[Any]:
            return [self._act(op, p)]

        return run

    def _act(self, op: str, p: ParsedAction) -> str:
        a = parse_fields(p.args, ["QUERY", "TEXT", "Query", "Text"])
        query = (a.fields.get("QUERY") or a.fields.get("Query") or "").strip()
        text = (a.fields.get("TEXT") or a.fields.get("Text") or "").strip()
        if not query:
            raise InvalidAction(f"{op} needs 'QUERY: ...'")
        if op in ("TYPE", "SELECT") and not text:
            raise InvalidAction(f"{op} needs 'TEXT: ...'")
        if self.step >= len(self.record["actions"]):
            raise InvalidAction(f"the task has only {len(self.record['actions'])} step(s); no page left to act on")
        i = self.step
        env, texts, page = self.step_env(i)
        ranked_query = query + (f" The option contents should be close to '{text}'." if op == "SELECT" else "")
        ranker = self.env.ranker()
        if isinstance(ranker, CrossEncoderRanker):
            ranked_query = mindact_query(ranked_query, self._previous(i))
        chosen = env[rank(ranker, ranked_query, texts)[0]] if env else None
        value = text if op in ("TYPE", "SELECT") else ""
        label = candidate_label(chosen, page) if chosen else "[none]"
        repr_ = f"{label} -> {op}" + (f": {value}" if value else "")
        self.predictions.append(
            {
                "step": i,
                "element": str(chosen["backend_node_id"]) if chosen else None,
                "op": op,
                "value": value,
                "positives_in_env": [str(c["backend_node_id"]) for c in env if c["_pos"]],
                "env_size": len(env),
                "repr": repr_,
            }
        )
        self.predicted_reprs.append(repr_)
        self.step += 1
        return repr_

    def final_answer(self) -> str | None:
        return json.dumps(self.predictions)
