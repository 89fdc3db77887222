"""Critics for MOAT's grounder-improving stage (Algorithm 1; SPEC d.1 step 6, d.2).

* ``execution`` (default): run the grounder's actions in the environment; accept when they reach the
  gold result (the final answer for a whole plan / the last turn, the annotated turn result for an
  earlier turn), otherwise replace them with the gold actions.
* ``llm``: the paper's Table 8 prompt through any backend; "Final answer reached" accepts, the
  "Corrected Subgoals:" / "Corrected Actions:" lines replace, anything else is "unverified" and is
  kept (as the official code does), dropped or replaced by gold, as configured.
* ``none``: accept everything (ablation).
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from harness.records import Trajectory, Turn
from training.datasets import GoldExample

log = logging.getLogger(__name__)

# The paper's Table 8 (moat-paper.md), paragraph breaks as printed. {ACTION_LIST} = the domain's
# "{LIST}. {DESCRIPTIONS}" of SPEC a.4, as in the official maths prompt (SPEC d.2).
CRITIC_PROMPT = (
    "Given a task and a corresponding series of subgoals and their corresponding actions that may be incomplete, "
    "your task is to judge whether the subgoals and actions can reach a final answer or conclusion for the problem.\n\n"
    "The grounded actions must be the one in available action list. The available action list is {ACTION_LIST}\n\n"
    "If the actions can reach a final answer, you should directly output \"Final answer reached\". Otherwise, you "
    "should give corrections to the original subgoals and their corresponding actions. It is not necessary to be "
    "similar to the original subgoals and actions.\n\n"
    "Task: {TASK}\n\n"
    "Original subgoals: {SUBGOALS}\n\n"
    "Original actions: {ACTIONS}\n\n"
    "{REFERENCE}"
    "Your output should follow the format:\n\n"
    "If can reach a final answer, directly output \"Final answer reached\". Else, output corrected subgoals and "
    "actions following this format:\n\n"
    "Corrected Subgoals: <series of subgoals to complete the task in one line, Each Subgoal begins with Subgoal idx>\n\n"
    "Corrected Actions: <corresponding actions in one line>"
)
REFERENCE_LINE = "Reference answer (the correct final answer of the task): {ANSWER}\n\n"
"""Harness addition (configurable): the paper says the critic "references the correct answer", the
official prompt does not include it (SPEC d.3)."""

_SUBGOALS_RE = re.compile(r"Corrected Subgoals:\s*([^\n]+)", re.I)
_ACTIONS_RE = re.compile(r"Corrected Actions:\s*([^\n]+)", re.I)


@dataclass
class Candidate:
    """A grounder output to judge: the example, which turn (``None`` = the whole plan, one-pass),
    the subgoals the grounder saw (gold history + the sampled subgoal) and what it generated."""

    example: GoldExample
    turn: int | None
    subgoals: list[str]
    actions: str


@dataclass
class Verdict:
    status: str
    """``accepted`` | ``corrected`` (critic's own correction) | ``gold`` (replaced by gold actions) |
    ``unverified`` (kept as is) | ``dropped``."""
    actions: str | None
    subgoals: list[str] | None = None
    """Corrected subgoals (LLM critic), else ``None`` (keep the sampled ones)."""
    raw: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


class Critic(ABC):
    name: str

    @abstractmethod
    def judge(self, candidates: list[Candidate]) -> list[Verdict]:
        """One verdict per candidate, same order; never raises for bad model output."""

    def config(self) -> dict[str, Any]:
        return {"critic": self.name}


class NoCritic(Critic):
    name = "none"

    def judge(self, candidates: list[Candidate]) -> list[Verdict]:
        return [Verdict("accepted", c.actions) for c in candidates]


# -- execution critic ----------------------------------------------------------------------------
def _number(text: str) -> float | None:
    cleaned = re.sub(r"[,$\s]", "", str(text)).rstrip(".")
    try:
        return float(cleaned)
    except ValueError:
        pass
    try:
        from fractions import Fraction

        return float(Fraction(cleaned))
    except (ValueError, ZeroDivisionError):
        return None


def same_result(a: str | None, b: str | None) -> bool:
    """Equal as numbers (relative 1e-6) or as stripped, case-folded strings."""
    if a is None or b is None:
        return False
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))
    return str(a).strip().casefold() == str(b).strip().casefold()


class ExecutionCritic(Critic):
    """Judges by execution in the example's own environment (one instance per source, reused)."""

    name = "execution"

    def __init__(self, envs: dict[str, Any]) -> None:
        self.envs = envs

    def _accept(self, c: Candidate) -> bool:
        env = self.envs[c.example.source]
        task = c.example.to_task()
        executor = env.session(task)
        try:
            traj = Trajectory()
            last = len(c.example.actions) - 1
            if c.turn is not None:
                for k in range(c.turn):
                    traj.turns.append(Turn(subgoal=c.example.subgoals[k], actions=c.example.actions[k],
                                           results=executor.execute(c.example.actions[k])))
            results = executor.execute(c.actions)
            traj.turns.append(Turn(subgoal=c.subgoals[-1] if c.subgoals else "", actions=c.actions, results=results))
            if not results or any(not r.ok for r in results):
                return False
            if c.turn is None or c.turn == last:
                traj.final_answer = executor.final_answer()
                return env.score(task, traj).get(env.main_metric, 0.0) >= 1.0
            return same_result(results[-1].result, c.example.results[c.turn])
        except Exception as exc:  # noqa: BLE001 - a broken tool must not stop training
            log.warning("execution critic: %s on %s: %s", type(exc).__name__, c.example.id, exc)
            return False
        finally:
            executor.close()

    def judge(self, candidates: list[Candidate]) -> list[Verdict]:
        out = []
        for c in candidates:
            if self._accept(c):
                out.append(Verdict("accepted", c.actions))
            else:
                gold = "; ".join(c.example.actions) if c.turn is None else c.example.actions[c.turn]
                out.append(Verdict("gold", gold))
        return out


# -- LLM critic ----------------------------------------------------------------------------------
def strip_reasoning(text: str) -> str:
    """Drop an R1-style reasoning block (everything up to the last ``</think>``)."""
    i = text.rfind("</think>")
    return text[i + len("</think>"):] if i != -1 else text


def parse_critic_output(text: str) -> tuple[str, str | None, str | None]:
    """``("accepted", None, None)``, ``("corrected", subgoals, actions)`` or ``("unverified", None, None)``."""
    body = strip_reasoning(text)
    if "final answer reached" in body.lower():
        return "accepted", None, None
    s, a = _SUBGOALS_RE.search(body), _ACTIONS_RE.search(body)
    if s and a and s.group(1).strip() and a.group(1).strip():
        return "corrected", s.group(1).strip(), a.group(1).strip()
    return "unverified", None, None


def split_subgoal_line(line: str) -> list[str]:
    """``"Subgoal 1: a; Subgoal 2: b"`` -> ``["a", "b"]`` (text without prefixes)."""
    parts = re.split(r"(?:^|;\s*)Subgoal\s*\d+\s*:\s*", line.strip())
    return [p.strip().rstrip(";").strip() for p in parts if p.strip()]


class LLMCritic(Critic):
    """The paper's critic prompt (Table 8) through any :class:`~agents.backends.base.Backend`."""

    name = "llm"

    def __init__(self, backend: Any, action_list: dict[str, str], include_gold: bool = True,
                 on_unparsed: str = "keep", max_new_tokens: int = 1024, temperature: float = 0.1,
                 top_p: float = 0.95, batch_size: int = 8) -> None:
        if on_unparsed not in ("keep", "drop", "gold"):
            raise ValueError("on_unparsed must be keep, drop or gold")
        self.backend = backend
        self.action_list = action_list
        """Per source: the ``{ACTION_LIST}`` text."""
        self.include_gold = include_gold
        self.on_unparsed = on_unparsed
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.batch_size = batch_size

    def prompt(self, c: Candidate) -> str:
        subgoals = "; ".join(f"Subgoal {i + 1}: {s}" for i, s in enumerate(c.subgoals))
        history = c.example.actions[: c.turn] if c.turn is not None else []
        actions = "; ".join([*history, c.actions])
        reference = REFERENCE_LINE.format(ANSWER=c.example.answer) if self.include_gold else ""
        return CRITIC_PROMPT.format(ACTION_LIST=self.action_list.get(c.example.source, ""), TASK=c.example.question,
                                    SUBGOALS=subgoals, ACTIONS=actions, REFERENCE=reference)

    def judge(self, candidates: list[Candidate]) -> list[Verdict]:
        from agents.backends.base import GenerationParams

        params = GenerationParams(n=1, temperature=self.temperature, top_p=self.top_p,
                                  max_new_tokens=self.max_new_tokens)
        out: list[Verdict] = []
        for start in range(0, len(candidates), self.batch_size):
            chunk = candidates[start:start + self.batch_size]
            try:
                texts = [o[0] if o else "" for o in self.backend.generate([self.prompt(c) for c in chunk], params)]
            except Exception as exc:  # noqa: BLE001 - a critic failure leaves the batch unverified
                log.warning("critic backend failed (%s: %s); batch left unverified", type(exc).__name__, exc)
                texts = [""] * len(chunk)
            for c, text in zip(chunk, texts):
                out.append(self._verdict(c, text))
        return out

    def _verdict(self, c: Candidate, text: str) -> Verdict:
        status, subgoals, actions = parse_critic_output(text)
        if status == "accepted":
            return Verdict("accepted", c.actions, raw=text)
        if status == "corrected":
            return Verdict("corrected", actions, subgoals=split_subgoal_line(subgoals or ""), raw=text)
        if self.on_unparsed == "keep":
            return Verdict("unverified", c.actions, raw=text)
        if self.on_unparsed == "gold":
            gold = "; ".join(c.example.actions) if c.turn is None else c.example.actions[c.turn]
            return Verdict("gold", gold, raw=text)
        return Verdict("dropped", None, raw=text)

    def config(self) -> dict[str, Any]:
        info = self.backend.info()
        return {"critic": "llm", "model": info.model, "backend": info.name, "include_gold": self.include_gold,
                "on_unparsed": self.on_unparsed, "max_new_tokens": self.max_new_tokens}
