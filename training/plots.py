"""The per-iteration MOAT log as a PNG: rewards, pairs kept, critic acceptance, dev accuracy.

The dev E[NLL] panel is the empirical check of the paper's Lemma 5.1 ("optimising the planner with
the grounder fixed does not decrease the expected reward"): mean grounder NLL of the gold actions
over plans sampled on the dev slice, measured at the start of each iteration, after the planner DPO
(grounder unchanged) and after the grounder SFT. Lower NLL = higher reward.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in rows:
        v = r.get(key)
        if v is not None:
            xs.append(int(r["iteration"]))
            ys.append(float(v))
    return xs, ys


def plot_log(rows: list[dict[str, Any]], out: Path, title: str = "MOAT iterations") -> Path | None:
    """Write ``out`` (PNG); returns ``None`` when there is nothing to plot."""
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    ax = axes[0][0]
    for key, label in (("chosen_nll", "chosen (min)"), ("mean_nll", "all samples"), ("rejected_nll", "rejected (max)")):
        xs, ys = _series(rows, key)
        if xs:
            ax.plot(xs, ys, marker="o", label=label)
    ax.set_title("grounder NLL of gold actions (training tasks)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean token NLL (lower = better)")
    ax.legend(fontsize=8)

    ax = axes[0][1]
    xs, kept = _series(rows, "pairs_kept")
    _, total = _series(rows, "pairs_total")
    if xs:
        ax.bar([x - 0.2 for x in xs], total, width=0.4, label="plan steps")
        ax.bar([x + 0.2 for x in xs], kept, width=0.4, label="pairs kept (gap >= min)")
    ax2 = ax.twinx()
    xs2, acc = _series(rows, "critic_acceptance")
    if xs2:
        ax2.plot(xs2, acc, color="black", marker="s", label="critic acceptance", zorder=5)
        ax2.set_ylim(0, 1.05)
        ax2.set_ylabel("critic acceptance rate")
    ax.set_title("DPO pairs and critic")
    ax.set_xlabel("iteration")
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[1][0]
    xs, ys = _series(rows, "dev_accuracy")
    if xs:
        ax.plot(xs, ys, marker="o")
        for x, y in zip(xs, ys):
            ax.annotate(f"{y:.3f}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax.set_title("dev accuracy of the pair (held-out train slice; 0 = cold start)")
    ax.set_xlabel("iteration")
    ax.set_ylim(-0.02, 1.02)

    ax = axes[1][1]
    pts, labels = [], []
    for r in rows:
        if int(r["iteration"]) == 0:
            continue
        for key, lab in (("dev_nll_start", "start"), ("dev_nll_after_dpo", "after DPO"), ("dev_nll_after_sft", "after SFT")):
            if r.get(key) is not None:
                pts.append(float(r[key]))
                labels.append(f"it{r['iteration']}\n{lab}")
    if pts:
        ax.plot(range(len(pts)), pts, marker="o")
        ax.set_xticks(range(len(pts)))
        ax.set_xticklabels(labels, fontsize=7)
    ax.set_title("dev E[NLL] of sampled plans (Lemma 5.1 check)")
    ax.set_ylabel("mean token NLL")
    iters = sorted({int(r["iteration"]) for r in rows})
    for a in (axes[0][0], axes[0][1], axes[1][0]):
        a.set_xticks(iters)
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
