"""The leaderboard model in the paper's Table 2 layout: measured rows from runs, reported rows from
``reported.csv``, group averages that refuse to average over a missing cell.

Rendering lives in :mod:`leaderboards.render`; this module only decides what each cell holds.
"""

from __future__ import annotations

import logging

from harness import stats
from leaderboards.agentinfo import _model_name, base_model_of, find_key
from leaderboards.collect import LeaderboardError, Run
from leaderboards.columns import COLUMNS, GROUPS, Column, scale
from leaderboards.deviations import deviations
from leaderboards.model import (
    FIXTURE_NOTE_PREFIX,
    AvgCell,
    Cell,
    ColumnInfo,
    ColumnMismatchError,
    Leaderboard,
    MeasuredRow,
)
from leaderboards.reported import reported_rows

log = logging.getLogger(__name__)

EXTRA_GROUP = "extra"
"""Group of the columns for benchmarks outside the paper's Table 2: shown in their own table, never
in the held-in/held-out averages."""

ROW_ORDER = ("base", "agenttuning", "lumos", "moat")
"""Measured rows in the paper's order (baselines first, MOAT last); other producers follow by name."""


# -- building ----------------------------------------------------------------------------------
def _registry_default_split(benchmark: str) -> str | None:
    from harness.registry import ENVS, PluginLoadError  # noqa: PLC0415 (imports plug-ins lazily)

    if benchmark not in ENVS:
        return None
    try:
        return ENVS.get(benchmark).default_split
    except PluginLoadError as exc:
        log.warning("cannot ask %s for its default split: %s", benchmark, exc)
        return None


def choose_split(col: Column, runs: list[Run], override: str | None) -> str | None:
    if override:
        return override
    if col.default_split:
        return col.default_split
    present = sorted({r.split for r in runs if r.benchmark == col.key})
    if not present:
        return None
    default = _registry_default_split(col.key)
    if default is not None:
        return default
    if len(present) > 1:
        raise LeaderboardError(
            f"{col.title}: runs on several splits ({', '.join(present)}); choose one with --split {col.key}=SPLIT"
        )
    return present[0]


def _check_column(col: Column, runs: list[Run], metric_override: str | None) -> ColumnInfo:
    """Refuse runs that do not measure the same thing (SPEC f.5, HARNESS_ANCHORS: one version per column)."""
    def describe(attr: str) -> str:
        return "; ".join(f"{r.agent}: {getattr(r, attr)!r} ({r.path})" for r in runs)

    for attr, what in (("benchmark_version", "benchmark versions"), ("data_checksum", "data checksums")):
        if len({getattr(r, attr) for r in runs}) > 1:
            raise ColumnMismatchError(
                f"refusing to put runs with different {what} in the {col.title} column: {describe(attr)}. "
                f"Re-run them on the same version/data, or leave some out with --agents"
            )
    finished = [r for r in runs if r.result is not None]
    if metric_override:
        lacking = [r.agent for r in finished if metric_override not in r.result.metrics]  # type: ignore[union-attr]
        if lacking:
            raise ColumnMismatchError(f"{col.title}: metric {metric_override!r} missing in the runs of {', '.join(lacking)}")
        metric: str | None = metric_override
    else:
        mains = {r.result.main_metric for r in finished}  # type: ignore[union-attr]
        if len(mains) > 1:
            raise ColumnMismatchError(
                f"{col.title}: runs disagree on the main metric ({', '.join(sorted(mains))}); "
                f"choose one with --metric {col.key}=METRIC"
            )
        metric = mains.pop() if mains else None
    notes = list(dict.fromkeys(n for r in finished for n in r.result.notes))  # type: ignore[union-attr]
    return ColumnInfo(
        column=col,
        split=runs[0].split if runs else None,
        metric=metric,
        benchmark_version=runs[0].benchmark_version if runs else None,
        data_checksum=runs[0].data_checksum if runs else None,
        notes=notes,
    )


def make_cell(run: Run | None, metric: str | None) -> Cell:
    if run is None:
        return Cell("not_run")
    if run.result is None or metric is None:
        return Cell("unfinished", run=run, n=len(run.samples()), n_original=run.config.limit or 0)
    res = run.result
    lo, hi = res.ci95.get(metric, (float("nan"), float("nan")))
    return Cell("measured", run=run, value=scale(res.metrics[metric]), ci=(scale(lo), scale(hi)),
                n=res.n, n_original=res.n_original)


def average_cell(group: str, cells: dict[str, Cell], columns: list[ColumnInfo], seed: int = 0,
                 resamples: int = stats.DEFAULT_RESAMPLES) -> AvgCell:
    """Mean of the group's cells with a stratified bootstrap CI; "incomplete" if any cell is missing."""
    cols = [c for c in columns if c.column.group == group]
    missing = [c.column.title + (" benchmark data (fixture only)" if cells[c.column.key].fixture else "")
               for c in cols if cells[c.column.key].status != "measured" or cells[c.column.key].fixture]
    if missing:
        return AvgCell(group, "incomplete", missing=missing)
    values = [cells[c.column.key].value for c in cols]
    avg = sum(v for v in values if v is not None) / len(values)
    partial = any(cells[c.column.key].partial for c in cols)
    per_sample = []
    for c in cols:
        vals, reason = cells[c.column.key].run.per_sample(c.metric)  # type: ignore[union-attr,arg-type]
        if vals is None:
            return AvgCell(group, "ok", value=avg, partial=partial, ci_note=f"no CI: {reason}")
        per_sample.append(list(vals.values()))
    _, lo, hi = stats.bootstrap_ci_mean_of_means(per_sample, seed=seed, resamples=resamples)
    return AvgCell(group, "ok", value=avg, ci=(scale(lo), scale(hi)), partial=partial)


def _row_sort_key(agent: str) -> tuple[int, str]:
    return (ROW_ORDER.index(agent) if agent in ROW_ORDER else len(ROW_ORDER), agent)


def extra_columns(runs: list[Run]) -> list[Column]:
    """One first-class column per benchmark outside Table 2 (a plug-in's, say), by name; its split is
    chosen like a paper column's (``--split``, else the environment's default, else the only one)."""
    keys = sorted({r.benchmark for r in runs} - {c.key for c in COLUMNS})
    return [Column(k, k, EXTRA_GROUP, None, 0, "not in the paper") for k in keys]


def build_leaderboard(
    runs: list[Run],
    splits: dict[str, str] | None = None,
    metrics: dict[str, str] | None = None,
    agents: list[str] | None = None,
    include_reported: bool = True,
    seed: int = 0,
    resamples: int = stats.DEFAULT_RESAMPLES,
) -> Leaderboard:
    """Place ``runs`` into the Table 2 layout (``splits``/``metrics`` override per benchmark)."""
    splits, metrics = splits or {}, metrics or {}
    extra = extra_columns(runs)
    unknown = sorted((set(splits) | set(metrics)) - {c.key for c in COLUMNS} - {c.key for c in extra})
    if unknown:
        raise LeaderboardError(f"--split/--metric name unknown columns: {', '.join(unknown)} "
                               "(neither a Table 2 column nor a benchmark with runs)")
    if agents:
        absent = sorted(set(agents) - {r.agent for r in runs})
        if absent:
            raise LeaderboardError(f"no runs for agent(s) {', '.join(absent)}")
        runs = [r for r in runs if r.agent in agents]
    columns: list[ColumnInfo] = []
    used: set[int] = set()
    by_column: dict[str, dict[str, Run]] = {}
    for col in (*COLUMNS, *extra):
        split = choose_split(col, runs, splits.get(col.key))
        chosen = [r for r in runs if r.benchmark == col.key and r.split == split]
        info = _check_column(col, chosen, metrics.get(col.key))
        info.split = split
        columns.append(info)
        by_column[col.key] = {r.agent: r for r in chosen}
        used.update(id(r) for r in chosen)
    measured = []
    for agent in sorted({r.agent for r in runs if id(r) in used}, key=_row_sort_key):
        cells = {c.column.key: make_cell(by_column[c.column.key].get(agent), c.metric) for c in columns}
        averages = {g: average_cell(g, cells, columns, seed=seed, resamples=resamples) for g in GROUPS}
        row_runs = [c.run for c in cells.values() if c.run is not None]
        base_models = sorted({base_model_of(r.config.agent_config) for r in row_runs})
        critics = sorted({str(_model_name(find_key(r.config.agent_config, ("critic", "critic_model")))) for r in row_runs}
                         - {"None"})
        measured.append(MeasuredRow(
            agent=agent,
            base_model=base_models[0] if len(base_models) == 1 else "varies: " + ", ".join(base_models),
            cells=cells,
            averages=averages,
            critic=", ".join(critics) or None,
        ))
    other = sorted((r for r in runs if id(r) not in used), key=lambda r: (r.benchmark, r.split, _row_sort_key(r.agent)))
    board = Leaderboard(
        columns=columns,
        measured=measured,
        reported=reported_rows(2) if include_reported else [],
        ablations=(reported_rows(3) + reported_rows(4)) if include_reported else [],
        other_runs=other,
        deviations=[],
        runs=runs,
    )
    board.deviations = deviations(board)
    return board



__all__ = ["FIXTURE_NOTE_PREFIX", "AvgCell", "Cell", "ColumnInfo", "ColumnMismatchError", "Leaderboard", "MeasuredRow",
           "base_model_of", "build_leaderboard", "find_key", "_model_name"]
