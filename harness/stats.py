"""Aggregate statistics: means, standard errors, bootstrap CIs, paired comparisons.

Pure numpy/scipy so leaderboards and the runner share one implementation. Bootstrap draws are
seeded, so a CI is reproducible from the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

DEFAULT_RESAMPLES = 2000


def mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def stderr(values: Sequence[float]) -> float:
    """Standard error of the mean (sample std with ddof=1); NaN below two values."""
    n = len(values)
    if n < 2:
        return float("nan")
    return float(np.std(values, ddof=1) / math.sqrt(n))


def bootstrap_ci(
    values: Sequence[float], level: float = 0.95, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean. Degenerate (one value, or all equal) -> (v, v)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return (float("nan"), float("nan"))
    if arr.size == 1 or np.all(arr == arr[0]):
        return (float(arr[0]), float(arr[0]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(resamples, arr.size))
    means = arr[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return (float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)))


def paired_bootstrap_ci(
    a: Sequence[float], b: Sequence[float], level: float = 0.95, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """Mean difference ``a - b`` over paired samples with a percentile bootstrap CI.

    Returns ``(delta, lo, hi)``. Pairs are resampled together, which is what makes the test
    paired (lm-eval#3831)."""
    if len(a) != len(b):
        raise ValueError(f"paired samples need equal lengths, got {len(a)} and {len(b)}")
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    lo, hi = bootstrap_ci(diff, level=level, resamples=resamples, seed=seed)
    return (float(diff.mean()) if diff.size else float("nan"), lo, hi)


def bootstrap_ci_mean_of_means(
    groups: Sequence[Sequence[float]], level: float = 0.95, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """Stratified percentile bootstrap of the unweighted mean of group means.

    A leaderboard's "Avg." column averages benchmarks of different sizes with equal weight; each
    benchmark is resampled on its own (strata), so the CI reflects each benchmark's own sampling
    error. Pass per-sample differences to get the paired version. Returns ``(value, lo, hi)``.
    """
    arrays = [np.asarray(g, dtype=float) for g in groups]
    if not arrays or any(a.size == 0 for a in arrays):
        return (float("nan"), float("nan"), float("nan"))
    value = float(np.mean([a.mean() for a in arrays]))
    if all(np.all(a == a[0]) for a in arrays):
        return (value, value, value)
    rng = np.random.default_rng(seed)
    total = np.zeros(resamples)
    for a in arrays:
        idx = rng.integers(0, a.size, size=(resamples, a.size))
        total += a[idx].mean(axis=1)
    means = total / len(arrays)
    alpha = (1 - level) / 2
    return (value, float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)))


def mcnemar_exact(a: Sequence[float], b: Sequence[float]) -> tuple[int, int, float]:
    """Exact (binomial) McNemar test for paired 0/1 outcomes.

    Returns ``(n_a_only, n_b_only, p_value)`` where ``n_a_only`` counts pairs right under ``a``
    only. Two-sided p = min(1, 2 * P[X <= min(b01, b10)]) with X ~ Bin(b01 + b10, 1/2).
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples need equal lengths, got {len(a)} and {len(b)}")
    for v in (*a, *b):
        if v not in (0, 1, 0.0, 1.0, True, False):
            raise ValueError(f"McNemar needs 0/1 outcomes, got {v!r}")
    a_only = sum(1 for x, y in zip(a, b) if x and not y)
    b_only = sum(1 for x, y in zip(a, b) if y and not x)
    n = a_only + b_only
    if n == 0:
        return (0, 0, 1.0)
    k = min(a_only, b_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return (a_only, b_only, min(1.0, 2 * tail))


def mean_metrics(per_sample: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The mean of every metric present in all samples (the default corpus-level aggregation)."""
    if not per_sample:
        return {}
    names = sorted(set.intersection(*(set(m) for m in per_sample)))
    return {name: mean([float(m[name]) for m in per_sample]) for name in names}


Aggregation = Callable[[Sequence[Mapping[str, float]]], Mapping[str, float]]
"""Per-sample metric dicts -> corpus-level metrics (``Environment.aggregate``)."""


def bootstrap_statistic(
    per_sample: Sequence[Mapping[str, float]], statistic: Aggregation, names: Sequence[str],
    level: float = 0.95, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Bootstrap stderr (std of the replicates, ddof=1) and percentile CI of corpus-level metrics.

    The unit resampled is the sample (task), as for means: ``statistic`` is recomputed on each
    replicate of the tasks, so e.g. a micro average over steps keeps each task's steps together.
    The draws are those of :func:`bootstrap_ci` with the same seed, so a statistic that is a plain
    mean gets exactly the CI :func:`bootstrap_ci` gives it."""
    n = len(per_sample)
    if n == 0:
        return {k: float("nan") for k in names}, {k: (float("nan"), float("nan")) for k in names}
    point = statistic(per_sample)
    if n == 1:
        return {k: float("nan") for k in names}, {k: (float(point[k]), float(point[k])) for k in names}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    draws = np.empty((resamples, len(names)))
    for i, row in enumerate(idx):
        values = statistic([per_sample[j] for j in row])
        draws[i] = [float(values.get(k, float("nan"))) for k in names]
    alpha = (1 - level) / 2
    errs, cis = {}, {}
    for j, k in enumerate(names):
        col = draws[:, j]
        errs[k] = float(np.std(col, ddof=1))
        cis[k] = (float(np.quantile(col, alpha)), float(np.quantile(col, 1 - alpha)))
    return errs, cis


def summarize(
    per_sample: list[dict[str, float]], seed: int = 0, aggregate: Aggregation | None = None
) -> tuple[dict[str, float], dict[str, float], dict[str, tuple[float, float]]]:
    """Corpus-level metrics with stderrs and bootstrap CIs.

    Without ``aggregate``: the mean of every metric present in all samples, its standard error and
    percentile bootstrap CI. With it (an environment's :meth:`~harness.environment.Environment.aggregate`),
    the metrics it returns: a name that is a per-sample metric whose value is that metric's mean keeps
    the analytic stderr and the mean's CI; any other (a corpus-level statistic such as a micro average
    over steps) gets a bootstrap over tasks of the statistic itself (:func:`bootstrap_statistic`)."""
    if not per_sample:
        return {}, {}, {}
    names = sorted(set.intersection(*(set(m) for m in per_sample)))
    means, errs, cis = {}, {}, {}
    for name in names:
        vals = [float(m[name]) for m in per_sample]
        means[name] = mean(vals)
        errs[name] = stderr(vals)
        cis[name] = bootstrap_ci(vals, seed=seed)
    if aggregate is None:
        return means, errs, cis
    point = {k: float(v) for k, v in aggregate(per_sample).items()}
    corpus = [k for k, v in point.items() if k not in means or not math.isclose(v, means[k], rel_tol=1e-12, abs_tol=1e-12)]
    c_errs, c_cis = bootstrap_statistic(per_sample, aggregate, corpus, seed=seed) if corpus else ({}, {})
    out_errs = {k: c_errs[k] if k in c_errs else errs[k] for k in point}
    out_cis = {k: c_cis[k] if k in c_cis else cis[k] for k in point}
    return point, out_errs, out_cis
