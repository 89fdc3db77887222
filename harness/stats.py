"""Aggregate statistics: means, standard errors, bootstrap CIs, paired comparisons.

Pure numpy/scipy so leaderboards and the runner share one implementation. Bootstrap draws are
seeded, so a CI is reproducible from the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def summarize(
    per_sample: list[dict[str, float]], seed: int = 0
) -> tuple[dict[str, float], dict[str, float], dict[str, tuple[float, float]]]:
    """Means, stderrs and bootstrap CIs of every metric present in all samples."""
    if not per_sample:
        return {}, {}, {}
    names = sorted(set.intersection(*(set(m) for m in per_sample)))
    means, errs, cis = {}, {}, {}
    for name in names:
        vals = [float(m[name]) for m in per_sample]
        means[name] = mean(vals)
        errs[name] = stderr(vals)
        cis[name] = bootstrap_ci(vals, seed=seed)
    return means, errs, cis
