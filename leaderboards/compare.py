"""Paired comparison of two leaderboard rows on the sample ids both runs share.

Per column: the mean difference A - B with a paired bootstrap CI (pairs resampled together) and,
when every value is 0/1, McNemar's exact test. Per group: the difference of the group averages with
a stratified paired bootstrap (each benchmark's pairs resampled on their own). Unpaired tests on
leaderboard means are exactly what HARNESS_ANCHORS warns against (lm-eval#3831).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import stats
from leaderboards.collect import LeaderboardError, Run
from leaderboards.columns import GROUPS, scale
from leaderboards.table import ColumnInfo, Leaderboard


@dataclass
class PairedResult:
    label: str
    """Column title, or ``benchmark-split`` for a benchmark outside Table 2."""
    metric: str | None
    n_shared: int = 0
    n_a: int = 0
    n_b: int = 0
    mean_a: float | None = None
    mean_b: float | None = None
    delta: float | None = None
    ci: tuple[float, float] | None = None
    mcnemar: tuple[int, int, float] | None = None
    """(right under A only, right under B only, two-sided exact p)."""
    reason: str | None = None
    """Why no comparison was possible (then the numbers above are empty)."""


@dataclass
class Comparison:
    a: str
    b: str
    cells: list[PairedResult]
    averages: list[PairedResult]


def _binary(values: list[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def _pairs(run_a: Run, run_b: Run, metric: str) -> tuple[list[float], list[float], int, int] | str:
    """Aligned per-sample values on shared ids, or the reason there are none."""
    if run_a.benchmark_version != run_b.benchmark_version or run_a.data_checksum != run_b.data_checksum:
        return "benchmark version or data checksum differ"
    va, ra = run_a.per_sample(metric)
    vb, rb = run_b.per_sample(metric)
    if va is None or vb is None:
        return str(ra or rb)
    shared = [i for i in va if i in vb]
    if not shared:
        return "no shared sample ids"
    return [va[i] for i in shared], [vb[i] for i in shared], len(va), len(vb)


def compare_runs(label: str, run_a: Run | None, run_b: Run | None, metric: str | None,
                 resamples: int = stats.DEFAULT_RESAMPLES, seed: int = 0) -> PairedResult:
    if run_a is None or run_b is None or metric is None:
        return PairedResult(label, metric, reason="not run by both rows")
    got = _pairs(run_a, run_b, metric)
    if isinstance(got, str):
        return PairedResult(label, metric, reason=got)
    a, b, n_a, n_b = got
    delta, lo, hi = stats.paired_bootstrap_ci(a, b, resamples=resamples, seed=seed)
    mc = stats.mcnemar_exact(a, b) if _binary(a) and _binary(b) else None
    return PairedResult(
        label, metric, n_shared=len(a), n_a=n_a, n_b=n_b, mean_a=scale(sum(a) / len(a)), mean_b=scale(sum(b) / len(b)),
        delta=scale(delta), ci=(scale(lo), scale(hi)), mcnemar=mc,
    )


def _average(label: str, infos: list, run_of: dict[str, dict[str, Run | None]], fixture: set[str], a: str, b: str,
             resamples: int, seed: int) -> PairedResult:
    """Paired difference of the unweighted mean over ``infos`` (stratified paired bootstrap)."""
    diffs, means_a, means_b = [], [], []
    if not infos:
        return PairedResult(label, None, reason="no column run by both rows")
    for info in infos:
        ra, rb = run_of[a].get(info.column.key), run_of[b].get(info.column.key)
        if ra is None or rb is None or info.metric is None:
            return PairedResult(label, None, reason=f"{info.column.title} not run by both rows")
        if info.column.key in fixture:
            return PairedResult(label, None, reason=f"{info.column.title} only on fixture data")
        got = _pairs(ra, rb, info.metric)
        if isinstance(got, str):
            return PairedResult(label, None, reason=f"{info.column.title}: {got}")
        xa, xb, _, _ = got
        diffs.append([x - y for x, y in zip(xa, xb)])
        means_a.append(sum(xa) / len(xa))
        means_b.append(sum(xb) / len(xb))
    delta, lo, hi = stats.bootstrap_ci_mean_of_means(diffs, resamples=resamples, seed=seed)
    return PairedResult(
        label, "mean of columns", n_shared=sum(len(d) for d in diffs), mean_a=scale(sum(means_a) / len(means_a)),
        mean_b=scale(sum(means_b) / len(means_b)), delta=scale(delta), ci=(scale(lo), scale(hi)),
    )


def _label(info: ColumnInfo) -> str:
    """Column title; ``benchmark-split`` for a benchmark outside Table 2 (as in the Runs table)."""
    if info.column.group not in GROUPS and info.split:
        return f"{info.column.key}-{info.split}"
    return info.column.title


def compare_rows(board: Leaderboard, a: str, b: str, resamples: int = stats.DEFAULT_RESAMPLES, seed: int = 0) -> Comparison:
    """Compare measured rows ``a`` and ``b`` of ``board`` (Table 2 columns, then other shared benchmarks)."""
    if a == b:
        raise LeaderboardError("--compare needs two different rows")
    known = {r.agent for r in board.runs}
    for name in (a, b):
        if name not in known:
            raise LeaderboardError(f"no runs of {name!r}; rows: {', '.join(sorted(known)) or 'none'}")
    measured = {r.agent: r for r in board.measured}
    run_of: dict[str, dict[str, Run | None]] = {
        name: {k: c.run if c.status == "measured" else None for k, c in measured[name].cells.items()}
        if name in measured else {} for name in (a, b)
    }
    ran = {name: {k for k, c in measured[name].cells.items() if c.status != "not_run"} if name in measured else set()
           for name in (a, b)}
    infos = [i for i in board.columns if i.column.key in ran[a] | ran[b]]  # only columns either row ran
    cells = [
        compare_runs(_label(info), run_of[a].get(info.column.key), run_of[b].get(info.column.key), info.metric,
                     resamples=resamples, seed=seed)
        for info in infos
    ]
    others: dict[tuple[str, str], dict[str, Run]] = {}
    for r in board.other_runs:
        if r.agent in (a, b) and r.result is not None:
            others.setdefault((r.benchmark, r.split), {})[r.agent] = r
    for (bench, split), pair in sorted(others.items()):
        if len(pair) == 2 and pair[a].result.main_metric == pair[b].result.main_metric:  # type: ignore[union-attr]
            cells.append(compare_runs(f"{bench}-{split}", pair[a], pair[b], pair[a].result.main_metric,  # type: ignore[union-attr]
                                      resamples=resamples, seed=seed))
    fixture = {k for name in (a, b) if name in measured for k, c in measured[name].cells.items() if c.fixture}
    for info, c in zip(infos, cells):  # the first cells follow infos
        if info.column.key in fixture:
            c.label += " ‡fixture"
    averages = [_average(f"{GROUPS[g]} Avg.", [i for i in board.columns if i.column.group == g], run_of, fixture, a, b,
                         resamples, seed) for g in GROUPS if any(i.column.group == g for i in infos)]
    shared = [i for i in infos if i.column.key not in fixture and i.metric is not None
              and run_of[a].get(i.column.key) is not None and run_of[b].get(i.column.key) is not None]
    averages.append(_average("Mean of the benchmark columns both ran (no fixtures): "
                             + (", ".join(i.column.title for i in shared) or "none"),
                             shared, run_of, fixture, a, b, resamples, seed))
    return Comparison(a=a, b=b, cells=cells, averages=averages)
