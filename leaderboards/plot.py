"""PNG chart of the leaderboard (matplotlib, Agg backend): the measured rows per benchmark column, then
the held-in/held-out averages beside the paper's reported rows.

The per-column panel exists because an average is only drawn when all its cells are benchmark numbers;
with fixture-only web columns every measured average is *incomplete*, and the chart would show no
measured number at all.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from leaderboards.columns import GROUPS
from leaderboards.table import AvgCell, Cell, Leaderboard

ROW_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


@dataclass(frozen=True)
class ColumnBar:
    """One measured row's cell in one column, as the per-column panel draws it."""

    column: str
    agent: str
    kind: Literal["bar", "fixture", "not_run"]
    """``bar``: a benchmark number (drawn); ``fixture``: fixture data (named, never drawn as a score);
    ``not_run``: no finished run."""
    value: float | None = None
    ci: tuple[float, float] | None = None


def _first(seen: set[str], label: str) -> str | None:
    """A legend label the first time it is drawn, None after (one legend entry per series)."""
    if label in seen:
        return None
    seen.add(label)
    return label


def column_bars(board: Leaderboard) -> list[ColumnBar]:
    """What the per-column panel shows, column by column in Table 2 order."""

    def bar(title: str, agent: str, cell: Cell) -> ColumnBar:
        if cell.status != "measured" or cell.value is None:
            return ColumnBar(title, agent, "not_run")
        if cell.fixture:
            return ColumnBar(title, agent, "fixture", cell.value)
        return ColumnBar(title, agent, "bar", cell.value, cell.ci)

    return [bar(info.column.title, row.agent, row.cells[info.column.key])
            for info in board.columns for row in board.measured]


def _short(model: str, width: int = 24) -> str:
    """Tick labels: drop a ``@package==version`` suffix and cut long names."""
    name = model.split("@")[0]
    return name if len(name) <= width else name[: width - 1] + "…"


def _draw_columns(ax, board: Leaderboard) -> None:
    """Grouped bars: one group per benchmark column, one bar per measured row (95% CI whiskers)."""
    titles = [info.column.title for info in board.columns]
    agents = [row.agent for row in board.measured]
    width = 0.8 / max(1, len(agents))
    seen: set[str] = set()
    for b in column_bars(board):
        ai = agents.index(b.agent)
        x = titles.index(b.column) + (ai - (len(agents) - 1) / 2) * width
        color = ROW_COLORS[ai % len(ROW_COLORS)]
        if b.kind == "bar":
            err = None if b.ci is None else [[b.value - b.ci[0]], [b.ci[1] - b.value]]
            ax.bar(x, b.value, width, color=color, yerr=err, capsize=2, label=_first(seen, b.agent))
            top = b.value if b.ci is None else b.ci[1]
            ax.text(x, top + 1, f"{b.value:.1f}", ha="center", va="bottom", fontsize=6)  # a 0.0 bar is invisible
        else:
            text = "fixture" if b.kind == "fixture" else "not run"
            ax.text(x, 2, text, rotation=90, ha="center", va="bottom", fontsize=6, color="#9a6700")
    ax.set_xticks(range(len(titles)))
    ax.set_xticklabels(titles, fontsize=8)
    ax.set_ylabel("score (x100)")
    ax.set_ylim(0, 100)
    ax.set_title("Measured here, per benchmark (95% bootstrap CI; fixture cells are not scores)", fontsize=9)
    if seen:
        ax.legend(fontsize=7, loc="upper right", ncol=min(4, len(seen)))


def _draw_averages(ax, board: Leaderboard, include_reported: bool) -> None:
    """Grouped bars of the held-in/held-out averages (measured solid with CI whiskers, reported hatched)."""
    entries: list[tuple[str, list[AvgCell | float | None], bool]] = [
        (f"{r.agent}\n{_short(r.base_model)}", [r.averages[g] for g in GROUPS], False) for r in board.measured
    ]
    if include_reported:
        for r in board.reported:
            vals = [r.cells[f"{g}_avg"].value if f"{g}_avg" in r.cells else None for g in GROUPS]
            entries.append((f"{r.label}\n{r.base_model}", vals, True))
    width, colors = 0.38, ("#4c72b0", "#dd8452")
    seen: set[str] = set()
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
                       label=_first(seen, f"{GROUPS[g]} avg. (measured, 95% CI)"))
            elif v is not None:
                ax.bar(x, v, width, color=colors[gi], alpha=0.45, hatch="//", edgecolor="#555555",
                       label=_first(seen, f"{GROUPS[g]} avg. (reported, MOAT paper)") if reported else None)
    if board.measured and include_reported and board.reported:
        split_x = len(board.measured) - 0.5
        ax.axvline(split_x, color="#888888", linestyle="--", linewidth=1)
        ax.text(split_x - 0.1, 97, "measured here", ha="right", va="top", fontsize=8, color="#444444")
        ax.text(split_x + 0.1, 97, "reported in the paper", ha="left", va="top", fontsize=8, color="#444444")
    ax.set_xticks(range(len(entries)))
    ax.set_xticklabels([e[0] for e in entries], rotation=45, ha="right", fontsize=7)
    ax.set_xlim(-0.7, len(entries) - 0.3)
    ax.set_ylabel("average score (x100)")
    ax.set_ylim(0, 100)
    ax.set_title("Held-in / held-out averages (incomplete: a column is missing or fixture-only)", fontsize=9)
    if seen:
        ax.legend(fontsize=7, loc="upper right")


def render_png(board: Leaderboard, title: str, include_reported: bool = True) -> bytes:
    """The per-column panel (only when there are measured rows) above the averages panel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 (heavy; only when asked)
    from matplotlib.figure import Figure  # noqa: PLC0415

    n_entries = len(board.measured) + (len(board.reported) if include_reported else 0)
    panels = 2 if board.measured else 1
    # a bare Figure on the Agg canvas: no pyplot global state, no GUI backend, safe in threads
    fig = Figure(figsize=(max(6.0, 0.9 * n_entries + 2), 4.8 if panels == 1 else 8.4), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    if board.measured:
        _draw_columns(axes[0], board)
    _draw_averages(axes[-1], board, include_reported)
    fig.suptitle(title if board.measured else f"{title} (reported only: no measured rows)", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
