"""Golden tests for harness.stats: values computed by hand (exact distributions of tiny bootstraps,
binomial tails for McNemar), not by re-running the code under test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness import stats


# -- mean / stderr ------------------------------------------------------------------------------
def test_mean_and_stderr_by_hand():
    assert stats.mean([1, 2, 3, 4]) == 2.5
    # sample sd of 1..4 = sqrt(5/3); / sqrt(4)
    assert stats.stderr([1, 2, 3, 4]) == pytest.approx(math.sqrt(5 / 3) / 2)
    assert math.isnan(stats.stderr([1.0]))
    assert math.isnan(stats.mean([]))


# -- bootstrap_ci -------------------------------------------------------------------------------
def test_bootstrap_ci_degenerate_cases():
    assert stats.bootstrap_ci([0.7]) == (0.7, 0.7)
    assert stats.bootstrap_ci([1, 1, 1]) == (1.0, 1.0)
    lo, hi = stats.bootstrap_ci([])
    assert math.isnan(lo) and math.isnan(hi)


def test_bootstrap_ci_exact_distribution_n3():
    # values [0, 0, 1]: a resample mean is k/3 with k ~ Bin(3, 1/3):
    # P(0) = 8/27 = .296, P(1/3) = 12/27 = .444, P(2/3) = 6/27 = .222, P(1) = 1/27 = .037.
    # 80% CI = 10% and 90% quantiles: 0 (.296 > .10) and 2/3 (cdf .741 < .90 < .963).
    assert stats.bootstrap_ci([0, 0, 1], level=0.8) == (0.0, pytest.approx(2 / 3))
    # 95% CI: 2.5% quantile 0; 97.5% quantile 1 (cdf at 2/3 is .963 < .975).
    assert stats.bootstrap_ci([0, 0, 1], level=0.95) == (0.0, 1.0)


def test_bootstrap_ci_matches_normal_theory_for_large_n():
    # 200 ones and 200 zeros: se = sqrt(.25/400) = .025, 95% half-width ~ 1.96 * .025 = .049
    lo, hi = stats.bootstrap_ci([1] * 200 + [0] * 200, resamples=4000)
    assert lo == pytest.approx(0.5 - 0.049, abs=0.006)
    assert hi == pytest.approx(0.5 + 0.049, abs=0.006)


def test_bootstrap_ci_is_reproducible_and_seeded():
    vals = list(np.random.default_rng(1).random(50))
    assert stats.bootstrap_ci(vals, seed=3) == stats.bootstrap_ci(vals, seed=3)
    assert stats.bootstrap_ci(vals, seed=3) != stats.bootstrap_ci(vals, seed=4)
    lo, hi = stats.bootstrap_ci(vals)
    assert lo < stats.mean(vals) < hi


# -- paired bootstrap ---------------------------------------------------------------------------
def test_paired_bootstrap_exact_distribution():
    # diffs a - b = [1, 0, 0, 0]; resample mean k/4, k ~ Bin(4, 1/4):
    # cdf: P(0)=.316, P(<=1)=.738, P(<=2)=.949, P(<=3)=.996 -> 95% CI (0, 3/4).
    delta, lo, hi = stats.paired_bootstrap_ci([1, 1, 0, 0], [0, 1, 0, 0])
    assert (delta, lo, hi) == (0.25, 0.0, 0.75)


def test_paired_bootstrap_constant_difference_has_zero_width():
    a = [0.2, 0.5, 0.9, 0.4]
    b = [x - 0.1 for x in a]
    delta, lo, hi = stats.paired_bootstrap_ci(a, b)
    assert delta == pytest.approx(0.1) and lo == pytest.approx(0.1) and hi == pytest.approx(0.1)


def test_paired_is_narrower_than_unpaired_on_correlated_data():
    # b equals a except on 5 of 200 items where a is right: pairing removes the shared variance.
    a = [1.0] * 100 + [0.0] * 100
    b = [0.0] * 5 + [1.0] * 95 + [0.0] * 100
    delta, lo, hi = stats.paired_bootstrap_ci(a, b)
    assert delta == pytest.approx(0.025)
    la, ha = stats.bootstrap_ci(a)
    lb, hb = stats.bootstrap_ci(b)
    assert lb < la < hb  # the two unpaired CIs overlap
    assert hi - lo < 0.5 * (ha - la)
    assert lo > 0.0  # all discordant pairs favour a: the paired CI excludes 0, unpaired ones overlap


def test_paired_bootstrap_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="equal lengths"):
        stats.paired_bootstrap_ci([1, 0], [1])


# -- stratified bootstrap of the mean of means ---------------------------------------------------
def test_mean_of_means_by_hand():
    # group 1 [0, 1] -> resample mean in {0, .5, 1} w.p. 1/4, 1/2, 1/4; group 2 constant 1.
    # mean of means = (m1 + 1) / 2 in {.5, .75, 1}; 95% CI = (.5, 1).
    value, lo, hi = stats.bootstrap_ci_mean_of_means([[0, 1], [1, 1, 1]])
    assert value == 0.75 and (lo, hi) == (0.5, 1.0)


def test_mean_of_means_weights_groups_equally():
    # unweighted: (0.1 + 0.9) / 2, not the pooled mean (1 + 9*... ) of 10 + 1000 samples
    g1 = [1.0] + [0.0] * 9
    g2 = [1.0] * 900 + [0.0] * 100
    value, lo, hi = stats.bootstrap_ci_mean_of_means([g1, g2])
    assert value == pytest.approx(0.5)
    assert lo < 0.5 < hi
    assert stats.bootstrap_ci_mean_of_means([[1, 1], [0, 0]]) == (0.5, 0.5, 0.5)
    assert all(math.isnan(x) for x in stats.bootstrap_ci_mean_of_means([[1.0], []]))


# -- McNemar ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a_only", "b_only", "p"),
    [
        (0, 6, 2 / 64),  # 2 * C(6,0) / 2^6
        (1, 5, 14 / 64),  # 2 * (1 + 6) / 64
        (10, 2, 158 / 4096),  # 2 * (1 + 12 + 66) / 4096 = 0.03857...
        (3, 3, 1.0),  # 2 * 42/64 > 1 -> capped
        (2, 0, 0.5),  # 2 * 1/4
        (0, 0, 1.0),  # no discordant pairs
    ],
)
def test_mcnemar_exact_by_hand(a_only, b_only, p):
    # build paired outcomes with the given discordant counts plus some concordant pairs
    a = [1] * a_only + [0] * b_only + [1, 1, 0]
    b = [0] * a_only + [1] * b_only + [1, 1, 0]
    got = stats.mcnemar_exact(a, b)
    assert got[0] == a_only and got[1] == b_only
    assert got[2] == pytest.approx(p, rel=1e-12)


def test_mcnemar_agrees_with_scipy_binomtest():
    scipy_stats = pytest.importorskip("scipy.stats")
    a = [1] * 7 + [0] * 19 + [1] * 30
    b = [0] * 7 + [1] * 19 + [1] * 30
    _, _, p = stats.mcnemar_exact(a, b)
    assert p == pytest.approx(scipy_stats.binomtest(7, 26, 0.5).pvalue, rel=1e-9)


def test_mcnemar_rejects_non_binary():
    with pytest.raises(ValueError, match="0/1"):
        stats.mcnemar_exact([0.5, 1], [1, 0])


def test_summarize_uses_metrics_present_everywhere():
    means, errs, cis = stats.summarize([{"em": 1.0, "f1": 0.5}, {"em": 0.0}])
    assert means == {"em": 0.5} and set(errs) == {"em"} and set(cis) == {"em"}


def test_summarize_with_aggregate_keeps_means_and_bootstraps_corpus_statistics():
    """Env-level aggregation (issue 16.2): a mean keeps the analytic stderr and bootstrap_ci's CI; a
    ratio of sums (a micro average) is bootstrapped over tasks: same index draws as bootstrap_ci, the
    statistic recomputed on each replicate (expected values: that definition, computed by hand below)."""
    import numpy as np

    per_sample = [{"hits": h, "steps": s, "macro": h / s} for h, s in [(1, 1), (0, 3), (2, 2), (1, 4), (3, 3)]]

    def agg(rows):
        return {"macro": stats.mean([r["macro"] for r in rows]),
                "micro": sum(r["hits"] for r in rows) / sum(r["steps"] for r in rows)}

    point, errs, cis = stats.summarize(per_sample, seed=3, aggregate=agg)
    assert set(point) == {"macro", "micro"}  # only what the environment reports
    assert point["micro"] == 7 / 13
    macro = [r["macro"] for r in per_sample]
    assert errs["macro"] == stats.stderr(macro) and cis["macro"] == stats.bootstrap_ci(macro, seed=3)
    idx = np.random.default_rng(3).integers(0, 5, size=(stats.DEFAULT_RESAMPLES, 5))
    reps = [sum(per_sample[j]["hits"] for j in row) / sum(per_sample[j]["steps"] for j in row) for row in idx]
    assert cis["micro"] == (float(np.quantile(reps, 0.025)), float(np.quantile(reps, 0.975)))
    assert errs["micro"] == float(np.std(reps, ddof=1))
    # a statistic that is a mean gets exactly the mean's CI from the generic bootstrap too
    e2, c2 = stats.bootstrap_statistic(per_sample, lambda rows: {"m": stats.mean([r["macro"] for r in rows])}, ["m"], seed=3)
    assert c2["m"] == pytest.approx(cis["macro"], abs=1e-12)


def test_summarize_default_aggregation_is_todays_mean():
    per_sample = [{"a": 1.0, "b": 0.0}, {"a": 0.0}, {"a": 1.0, "b": 1.0}]
    assert stats.summarize(per_sample, seed=1) == stats.summarize(per_sample, seed=1, aggregate=stats.mean_metrics)
