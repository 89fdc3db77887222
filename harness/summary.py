"""The table ``harness eval`` prints when it is done: one row per run, main metric with its CI.

Why a table and not a line per run: with several agents x benchmarks the lines did not align, and
the status counts (how many samples ended in ``invalid_action``, ``max_rounds``...) and the numerics
that explain a surprising score were only in results.json.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich import box
from rich.table import Table

from harness.records import RunResult


def _num(x: float) -> str:
    return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def _numerics(r: RunResult) -> str:
    rec = r.numerics or {}
    used = sorted({str(v.get("used")) for v in rec.get("dtype", {}).values()})
    text = "/".join(used)
    if "cpu_capability" in rec:
        text += f" {rec['cpu_capability']}{'' if rec.get('bf16_native') else ' (bf16 emulated)'}"
    return text or "-"


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def summary_table(results: Sequence[RunResult], title: str | None = "harness eval") -> Table:
    """Agent, benchmark-split, main metric = value [95% CI], n done/asked, non-zero statuses, wall
    time of this session; the numerics as the caption when all runs share them (else a column)."""
    numerics = {_numerics(r) for r in results}
    shared = len(numerics) == 1
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD,
                  caption=f"numerics: {numerics.pop()}" if shared and results else None, caption_justify="left")
    columns = [("agent", "left"), ("benchmark", "left"), ("metric", "left"), ("value [95% CI]", "right"),
               ("n", "right"), ("statuses", "left"), ("time", "right")] + ([] if shared else [("numerics", "left")])
    for name, justify in columns:
        wraps = name in ("statuses", "numerics", "metric")
        table.add_column(name, justify=justify, no_wrap=not wraps,  # type: ignore[arg-type]
                         min_width=14 if name == "statuses" else None)
    for r in results:
        value = r.metrics.get(r.main_metric, float("nan"))
        lo, hi = r.ci95.get(r.main_metric, (float("nan"), float("nan")))
        n = f"{r.n}/{r.n_original}"
        statuses = ", ".join(f"{k} {v}" for k, v in r.status_counts.items() if v)
        row = [r.agent, f"{r.benchmark}-{r.split}", r.main_metric, f"{_num(value)} [{_num(lo)}, {_num(hi)}]",
               n if r.n == r.n_original else f"[red]{n}[/red]", statuses, _duration(r.seconds)]
        table.add_row(*row, *([] if shared else [_numerics(r)]))
    return table
