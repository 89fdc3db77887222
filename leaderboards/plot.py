"""PNG bar chart of the leaderboard's held-in/held-out averages (matplotlib, Agg backend)."""

from __future__ import annotations

import io

from leaderboards.columns import GROUPS
from leaderboards.table import AvgCell, Leaderboard


def _short(model: str, width: int = 24) -> str:
    """Tick labels: drop a ``@package==version`` suffix and cut long names."""
    name = model.split("@")[0]
    return name if len(name) <= width else name[: width - 1] + "…"


def render_png(board: Leaderboard, title: str, include_reported: bool = True) -> bytes:
    """Grouped bars of the held-in/held-out averages (measured solid with CI whiskers, reported hatched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 (heavy; only when asked)
    from matplotlib.figure import Figure  # noqa: PLC0415

    entries: list[tuple[str, list[AvgCell | float | None], bool]] = [
        (f"{r.agent}\n{_short(r.base_model)}", [r.averages[g] for g in GROUPS], False) for r in board.measured
    ]
    if include_reported:
        for r in board.reported:
            vals = [r.cells[f"{g}_avg"].value if f"{g}_avg" in r.cells else None for g in GROUPS]
            entries.append((f"{r.label}\n{r.base_model}", vals, True))
    # a bare Figure on the Agg canvas: no pyplot global state, no GUI backend, safe in threads
    fig = Figure(figsize=(max(6.0, 0.9 * len(entries) + 2), 4.8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width, colors = 0.38, ("#4c72b0", "#dd8452")
    labelled: set[str] = set()

    def label(text: str) -> str | None:
        if text in labelled:
            return None
        labelled.add(text)
        return text

    for gi, g in enumerate(GROUPS):
        for xi, (_, vals, reported) in enumerate(entries):
            v = vals[gi]
            x = xi + (gi - 0.5) * width
            if isinstance(v, AvgCell):
                if v.status == "incomplete":
                    ax.text(x, 2, "incomplete", rotation=90, ha="center", va="bottom", fontsize=7, color="#9a6700")
                    continue
                err = None if v.ci is None else [[v.value - v.ci[0]], [v.ci[1] - v.value]]
                ax.bar(x, v.value, width, color=colors[gi], yerr=err, capsize=3,
                       label=label(f"{GROUPS[g]} avg. (measured, 95% CI)"))
            elif v is not None:
                ax.bar(x, v, width, color=colors[gi], alpha=0.45, hatch="//", edgecolor="#555555",
                       label=label(f"{GROUPS[g]} avg. (reported, MOAT paper)") if reported else None)
    if board.measured and include_reported and board.reported:
        split_x = len(board.measured) - 0.5
        ax.axvline(split_x, color="#888888", linestyle="--", linewidth=1)
        ax.text(split_x - 0.1, 97, "measured here", ha="right", va="top", fontsize=8, color="#444444")
        ax.text(split_x + 0.1, 97, "reported in the paper", ha="left", va="top", fontsize=8, color="#444444")
    ax.set_xticks(range(len(entries)))
    ax.set_xticklabels([e[0] for e in entries], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("average score (x100)")
    ax.set_ylim(0, 100)
    ax.set_title(title if board.measured else f"{title} (reported only: no measured rows)", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
