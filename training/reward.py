"""MOAT's planner reward and preference pairs (SPEC d.1 steps 2-3).

Reward of a sampled plan = the grounder's mean token NLL of the **gold** actions given that plan
(the log of the paper's PPL; lower is better), scored teacher-forced with ``Backend.nll``.
Pairs: chosen = the minimum-NLL sample, rejected = the maximum-NLL sample, kept only when
``max - min >= min_gap`` (0.1 in the paper and code).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from training.records import PlanStep


@dataclass
class Pair:
    step_id: str
    prompt: str
    chosen: str
    rejected: str
    chosen_nll: float
    rejected_nll: float

    @property
    def gap(self) -> float:
        return self.rejected_nll - self.chosen_nll

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gap": self.gap}


def score_samples(grounder: Any, steps: list[PlanStep], samples: list[list[str]], eos: str | None = None,
                  chunk: int = 256) -> list[list[float]]:
    """NLL of each step's gold actions (+ ``eos``) under the grounder, for every sampled plan."""
    prompts, conts, where = [], [], []
    for i, (step, outs) in enumerate(zip(steps, samples)):
        target = step.gold_actions + (eos or "")
        for j, s in enumerate(outs):
            prompts.append(step.ground_prompt(s))
            conts.append(target)
            where.append((i, j))
    result: list[list[float]] = [[math.nan] * len(outs) for outs in samples]
    for start in range(0, len(prompts), chunk):
        values = grounder.nll(prompts[start:start + chunk], conts[start:start + chunk])
        for (i, j), v in zip(where[start:start + chunk], values):
            result[i][j] = float(v)
    return result


def select_pair(step: PlanStep, samples: list[str], nlls: list[float], min_gap: float) -> Pair | None:
    """Chosen = argmin NLL, rejected = argmax NLL (NaNs ignored); ``None`` if the gap is too small
    or the two texts are identical."""
    scored = [(v, s) for v, s in zip(nlls, samples) if not math.isnan(v)]
    if len(scored) < 2:
        return None
    lo = min(scored, key=lambda t: t[0])
    hi = max(scored, key=lambda t: t[0])
    if hi[0] - lo[0] < min_gap or lo[1] == hi[1]:
        return None
    return Pair(step.id, step.plan_prompt, lo[1], hi[1], lo[0], hi[0])


def best_sample(samples: list[str], nlls: list[float]) -> tuple[str, float] | None:
    scored = [(v, s) for v, s in zip(nlls, samples) if not math.isnan(v)]
    if not scored:
        return None
    v, s = min(scored, key=lambda t: t[0])
    return s, v


def summarize(nlls: list[list[float]], pairs: list[Pair], n_steps: int) -> dict[str, Any]:
    flat = [v for row in nlls for v in row if not math.isnan(v)]
    mins = [min(v for v in row if not math.isnan(v)) for row in nlls if any(not math.isnan(v) for v in row)]
    maxs = [max(v for v in row if not math.isnan(v)) for row in nlls if any(not math.isnan(v) for v in row)]

    def mean(xs: list[float]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    return {
        "plan_steps": n_steps,
        "samples": len(flat),
        "mean_nll": mean(flat),
        "min_nll_mean": mean(mins),
        "max_nll_mean": mean(maxs),
        "pairs_total": n_steps,
        "pairs_kept": len(pairs),
        "chosen_nll": mean([p.chosen_nll for p in pairs]),
        "rejected_nll": mean([p.rejected_nll for p in pairs]),
        "mean_gap": mean([p.gap for p in pairs]),
    }
