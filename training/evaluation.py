"""Dev-slice measurements used by the MOAT log: the pair's accuracy and the expected reward.

The dev slice is held out of the **train** split (never an evaluation set). Accuracy runs the real
:class:`agents.pair.AgentPair` through each example's environment; the expected reward is the mean
grounder NLL of the gold actions over plans sampled from the planner (lower NLL = higher reward).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from agents.backends.base import GenerationParams
from training.datasets import GoldExample
from training.records import plan_steps
from training.reward import score_samples

log = logging.getLogger(__name__)


def dev_accuracy(planner: Any, grounder: Any, examples: list[GoldExample], envs: dict[str, Any],
                 max_new_tokens: int = 256, batch_size: int = 16, dump: Path | None = None) -> dict[str, Any]:
    """Greedy one-line decoding as the ``lumos``/``moat`` producers (``max_new_tokens`` per turn);
    ``dump``: a JSONL file receiving every dev trajectory (for inspection)."""
    from agents.pair import AgentPair

    if not examples:
        return {"dev_accuracy": None, "dev_n": 0}
    params = GenerationParams(temperature=0.0, max_new_tokens=max_new_tokens, stop=("\n",))
    pair = AgentPair(planner, grounder, producer="moat-dev", planner_params=params, grounder_params=params)
    rows: list[dict[str, Any]] = []
    scores: list[float] = []
    statuses: dict[str, int] = {}
    by_source: dict[str, list[GoldExample]] = {}
    for ex in examples:
        by_source.setdefault(ex.source, []).append(ex)
    for source, exs in by_source.items():
        env = envs[source]
        for start in range(0, len(exs), batch_size):
            tasks = [ex.to_task() for ex in exs[start:start + batch_size]]
            for task, traj in zip(tasks, pair.run(tasks, env)):
                score = float(env.score(task, traj).get(env.main_metric, 0.0))
                scores.append(score)
                statuses[traj.status.value] = statuses.get(traj.status.value, 0) + 1
                rows.append({"id": task.id, "gold": task.gold, "score": score,
                             "trajectory": traj.model_dump(mode="json")})
    if dump is not None:
        from training.sampling import write_jsonl

        write_jsonl(dump, rows)
    return {"dev_accuracy": sum(scores) / len(scores), "dev_n": len(scores), "dev_status": statuses}


def dev_expected_nll(planner: Any, grounder: Any, examples: list[GoldExample], formulation: str, k: int,
                     temperature: float, top_p: float, max_new_tokens: int, seed: int,
                     eos: str | None = None) -> float | None:
    """Mean NLL of the gold actions over ``k`` sampled plans per dev plan step (fixed seed)."""
    steps = [s for ex in examples for s in plan_steps(ex, formulation)]
    if not steps or k <= 0:
        return None
    params = GenerationParams(n=k, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                              stop=("\n",), seed=seed)
    samples = []
    for start in range(0, len(steps), 8):
        chunk = steps[start:start + 8]
        samples += [[o.strip() for o in out] for out in planner.generate([s.plan_prompt for s in chunk], params)]
    nlls = score_samples(grounder, steps, samples, eos=eos)
    flat = [v for row in nlls for v in row if not math.isnan(v)]
    return sum(flat) / len(flat) if flat else None
