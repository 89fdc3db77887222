"""Gold examples -> Lumos SFT records and MOAT plan steps, using the prompt strings of
:mod:`agents.prompts` (the same ones :class:`agents.pair.AgentPair` uses at inference).

SFT records follow the Lumos files: ``{"dataset", "id", "messages"}`` (SPEC a.3/a.4), one-pass and
iterative. A :class:`PlanStep` is one unit MOAT samples: the planner prompt (inference string), the
gold planner output, the gold grounding target and the grounder prompt around the slot where a
sampled subgoal (or whole plan line) is inserted (SPEC d.1 steps 1-2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agents import prompts as P
from training.datasets import GoldExample

FORMULATIONS = ("one-pass", "iterative")
_SLOT = "\x00SLOT\x00"


def _style(ex: GoldExample) -> P.PromptStyle:
    if not ex.style:
        return P.STYLES["math"]
    d = dict(ex.style)
    d["description_prefix"] = tuple(d.get("description_prefix", ()))
    return P.PromptStyle(**d)


def plan_line(subgoals: list[str]) -> str:
    return "; ".join(f"Subgoal {k}: {s}" for k, s in enumerate(subgoals, 1))


def feedback_result(result: str) -> str:
    """SPEC a.3: the annotated result, stripped, trailing periods removed."""
    return str(result).strip().rstrip(".")


# -- planner conversations -----------------------------------------------------------------------
def plan_messages(ex: GoldExample, formulation: str) -> list[dict[str, str]]:
    msgs = [P.user(P.plan_first_user(ex.question))]
    if formulation == "one-pass":
        return msgs + [P.assistant(plan_line(ex.subgoals))]
    style = _style(ex)
    for k, (sg, res) in enumerate(zip(ex.subgoals, ex.results), 1):
        msgs.append(P.assistant(P.subgoal_turn(k, sg)))
        msgs.append(P.user(P.plan_feedback(k, feedback_result(res), f"Subgoal {k}: {sg}", style)))
    msgs.append(P.assistant(P.STOP_PLANNING_TURN))
    return msgs


def ground_messages(ex: GoldExample, formulation: str, upto: int | None = None) -> list[dict[str, str]]:
    """Grounding conversation; ``upto`` (iterative) stops before turn ``upto`` (0-based)."""
    if formulation == "one-pass":
        return [P.user(P.ground_onepass_user(ex.header, ex.question, plan_line(ex.subgoals))),
                P.assistant("; ".join(ex.actions))]
    style = _style(ex)
    msgs: list[dict[str, str]] = []
    n = len(ex.subgoals) if upto is None else upto
    for k in range(n):
        msgs.append(P.user(_ground_user(ex, style, k, f"Subgoal {k + 1}: {ex.subgoals[k]}")))
        msgs.append(P.assistant(ex.actions[k]))
    return msgs


def _ground_user(ex: GoldExample, style: P.PromptStyle, k: int, subgoal: str) -> str:
    if k == 0:
        return P.ground_first_user(ex.header, ex.question, subgoal)
    earlier = [str(r) for r in ex.results[:k]] if style.ground_with_results else None
    return P.ground_next_user(subgoal, earlier)


def has_results(ex: GoldExample) -> bool:
    """Iterative data needs each subgoal's executed result (absent when gold was not executed)."""
    return len(ex.results) == len(ex.subgoals)


def sft_records(examples: list[GoldExample], role: str, formulations: list[str]) -> list[dict[str, Any]]:
    """Lumos-format SFT records for ``role`` (``plan`` or ``ground``) in each formulation; examples
    without executed results only enter the one-pass formulation."""
    out = []
    for f in formulations:
        if f not in FORMULATIONS:
            raise ValueError(f"unknown formulation {f!r}")
        tag = "onetime" if f == "one-pass" else "iterative"
        for ex in examples:
            if f == "iterative" and not has_results(ex):
                continue
            msgs = plan_messages(ex, f) if role == "plan" else ground_messages(ex, f)
            out.append({"dataset": f"{ex.source}_{role}_{tag}", "id": ex.id, "messages": msgs})
    return out


# -- MOAT plan steps -----------------------------------------------------------------------------
@dataclass
class PlanStep:
    id: str
    example_id: str
    turn: int | None
    """``None``: a whole plan line (one-pass); else the 0-based plan turn (iterative, gold history)."""
    plan_prompt: str
    gold_plan: str
    gold_actions: str
    ground_prefix: str
    ground_suffix: str
    meta: dict[str, Any] = field(default_factory=dict)

    def subgoal_text(self, sample: str) -> str:
        """What the grounder sees of a planner output: one line, ``No, I will keep planning.`` removed."""
        line = sample.strip().split("\n", 1)[0].strip()
        return line if self.turn is None else P.clean_subgoal(line)

    def ground_prompt(self, sample: str) -> str:
        return self.ground_prefix + self.subgoal_text(sample) + self.ground_suffix

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlanStep:
        return cls(**d)


def _split_slot(prompt: str) -> tuple[str, str]:
    before, after = prompt.split(_SLOT)
    return before, after


def plan_steps(ex: GoldExample, formulation: str) -> list[PlanStep]:
    """MOAT sampling units; an example without executed results falls back to one-pass."""
    if formulation == "iterative" and not has_results(ex):
        formulation = "one-pass"
    if formulation == "one-pass":
        prompt = P.serialize_lumos([P.user(P.plan_first_user(ex.question))])
        g = P.serialize_lumos([P.user(P.ground_onepass_user(ex.header, ex.question, _SLOT))])
        pre, suf = _split_slot(g)
        return [PlanStep(f"{ex.id}#plan", ex.id, None, prompt, plan_line(ex.subgoals), "; ".join(ex.actions),
                         pre, suf)]
    style = _style(ex)
    full = plan_messages(ex, "iterative")
    steps = []
    for k in range(len(ex.subgoals)):
        history = full[: 2 * k + 1]  # first user turn + k (assistant, feedback) pairs
        prompt = P.serialize_lumos(history)
        ground = ground_messages(ex, "iterative", upto=k) + [P.user(_ground_user(ex, style, k, _SLOT))]
        pre, suf = _split_slot(P.serialize_lumos(ground))
        steps.append(PlanStep(f"{ex.id}#turn{k}", ex.id, k, prompt, full[2 * k + 1]["content"], ex.actions[k],
                              pre, suf))
    return steps


def grounder_record(ex: GoldExample, step: PlanStep, sample: str, actions: str,
                    corrected_subgoals: list[str] | None = None) -> dict[str, Any]:
    """SFT record teaching the grounder ``actions`` for the sampled plan (MOAT stage 2)."""
    if corrected_subgoals:  # an LLM critic's whole-plan correction: a one-pass record
        msgs = [P.user(P.ground_onepass_user(ex.header, ex.question, plan_line(corrected_subgoals))),
                P.assistant(actions)]
        return {"dataset": f"{ex.source}_moat_ground", "id": step.id, "messages": msgs, "loss_on": "last"}
    subgoal = step.subgoal_text(sample)
    if step.turn is None:
        msgs = [P.user(P.ground_onepass_user(ex.header, ex.question, subgoal)), P.assistant(actions)]
    else:
        style = _style(ex)
        msgs = ground_messages(ex, "iterative", upto=step.turn)
        msgs += [P.user(_ground_user(ex, style, step.turn, subgoal)), P.assistant(actions)]
    return {"dataset": f"{ex.source}_moat_ground", "id": step.id, "messages": msgs, "loss_on": "last"}
