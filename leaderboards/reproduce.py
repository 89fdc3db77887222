"""Does a rerun reproduce committed runs? Sample by sample, and where samples differ, by a paired test.

``python -m leaderboards.reproduce NEW_RUNS REFERENCE_RUNS`` matches each run under ``NEW_RUNS`` with
the run of the same agent, benchmark and split under ``REFERENCE_RUNS``. This is how the README's
main command (``make demo``) checks a fresh clone against ``leaderboards/cpu-smollm2-135m``.

The rule, per run:

1. **Same config**, or fail. The run identity (agent config with its dtype, benchmark version,
   split, seed, data checksum) and the batch size (it decides the padding greedy decoding sees) must
   equal the reference's; the keys that differ are named.
2. **Samples**: for every sample id both runs hold, prediction, status and metrics are compared. All
   identical: reproduced exactly.
3. **Hardware alone**: the same config on other CPU kernels (AVX2 vs AVX512-BF16/AMX, another
   thread count, another oneDNN blocking) can flip a greedy token in bfloat16 and with it a
   sample. So when samples differ the paired difference of the main metric (new - reference, with
   a paired-bootstrap 95% CI; exact McNemar p for 0/1 metrics) decides: the check fails only when
   the test says the difference is not chance (p, or for non-binary metrics the CI, at level
   ``alpha`` / number of runs compared: Bonferroni, so a two-run demo does not fail twice as
   often by chance).

``--exact`` restores "any differing sample fails" (for a rerun on the reference's own machine).
Exit status 0 on agreement, 1 on a discrepancy or a run without reference, 2 when nothing could be
compared. The numerics both sides recorded (``results.json`` ``numerics``: dtype, CPU capability,
bf16 native or emulated) are printed beside the verdict.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import stats
from leaderboards.collect import Run, collect_runs

ALPHA = 0.05


@dataclass
class RunMatch:
    name: str
    """``<agent>/<benchmark>-<split>``."""
    shared: int = 0
    identical: int = 0
    config_same: bool = True
    config_diff: list[str] = field(default_factory=list)
    """Identity keys (dotted) whose values differ from the reference's."""
    differing: list[str] = field(default_factory=list)
    missing_reference: bool = False
    metric: str | None = None
    delta: float = 0.0
    """Mean of new - reference over the shared samples, main metric."""
    ci: tuple[float, float] = (0.0, 0.0)
    p_value: float | None = None
    """Exact McNemar p for 0/1 metrics; None for graded metrics (the CI decides)."""
    threshold: float = ALPHA
    numerics: tuple[str, str] = ("unrecorded", "unrecorded")
    exact: bool = False

    @property
    def chance(self) -> bool:
        """The metric difference is within what chance (hardware token flips) explains."""
        if self.p_value is not None:
            return self.p_value >= self.threshold
        return self.ci[0] <= 0.0 <= self.ci[1]

    @property
    def ok(self) -> bool:
        if self.missing_reference or self.shared == 0 or not self.config_same:
            return False
        if self.identical == self.shared:
            return True
        return not self.exact and self.chance


def _key(run: Run) -> str:
    return f"{run.agent}/{run.benchmark}-{run.split}"


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out |= _flat(v, f"{prefix}.{k}" if prefix else str(k))
    return out


def config_differences(new: Run, ref: Run) -> list[str]:
    """``key: new != reference`` for every identity key (and the batch size) that differs."""
    a = _flat(new.config.identity()) | {"batch_size": new.config.batch_size}
    b = _flat(ref.config.identity()) | {"batch_size": ref.config.batch_size}
    return [f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def describe_numerics(run: Run) -> str:
    """``bfloat16 on AVX2 (bf16 emulated), 1 thread`` from ``results.json``; dtype from the config
    when the run predates the record."""
    rec = (run.result.numerics if run.result is not None else {}) or {}
    dtypes = {str(v.get("used")) for v in rec.get("dtype", {}).values()} or {
        str(v["dtype"]) for v in run.config.agent_config.values() if isinstance(v, dict) and "dtype" in v
    }
    text = "/".join(sorted(dtypes)) or "no local model"
    if "cpu_capability" in rec:
        text += f" on {rec['cpu_capability']} (bf16 {'native' if rec.get('bf16_native') else 'emulated'})"
    elif dtypes:
        text += " (CPU unrecorded)"
    if "threads" in rec:
        text += f", {rec['threads']} thread{'s' if rec['threads'] != 1 else ''}"
    return text


def _main_metric(new: Run, ref: Run) -> str | None:
    for run in (ref, new):
        if run.result is not None:
            return run.result.main_metric
    first = next(iter(ref.samples()), None)
    return next(iter(first.metrics), None) if first is not None else None


def _paired_test(match: RunMatch, pairs: list[tuple[float, float]], resamples: int) -> None:
    new = [a for a, _ in pairs]
    ref = [b for _, b in pairs]
    match.delta, lo, hi = stats.paired_bootstrap_ci(new, ref, resamples=resamples, level=1 - match.threshold)
    match.ci = (lo, hi)
    if all(v in (0.0, 1.0) for v in (*new, *ref)):
        match.p_value = stats.mcnemar_exact(new, ref)[2]


def compare_runs(new_roots: list[Path], reference_roots: list[Path], *, alpha: float = ALPHA, exact: bool = False,
                 resamples: int = stats.DEFAULT_RESAMPLES) -> list[RunMatch]:
    reference = {_key(r): r for r in collect_runs(reference_roots)}
    runs = collect_runs(new_roots)
    compared = sum(1 for r in runs if _key(r) in reference)
    out = []
    for run in runs:
        match = RunMatch(_key(run), exact=exact, threshold=alpha / max(compared, 1))
        ref = reference.get(match.name)
        if ref is None:
            match.missing_reference = True
            out.append(match)
            continue
        match.config_diff = config_differences(run, ref)
        match.config_same = not match.config_diff
        match.numerics = (describe_numerics(run), describe_numerics(ref))
        match.metric = _main_metric(run, ref)
        ref_samples = {s.id: s for s in ref.samples()}
        pairs: list[tuple[float, float]] = []
        for s in run.samples():
            r = ref_samples.get(s.id)
            if r is None:
                continue
            match.shared += 1
            if (s.prediction, s.status, s.metrics) == (r.prediction, r.status, r.metrics):
                match.identical += 1
            else:
                match.differing.append(s.id)
            if match.metric in s.metrics and match.metric in r.metrics:
                pairs.append((float(s.metrics[match.metric]), float(r.metrics[match.metric])))
        if match.differing and pairs:
            _paired_test(match, pairs, resamples)
        out.append(match)
    return out


def _verdict(m: RunMatch) -> str:
    if m.shared == 0:
        return "FAIL: no sample id in common with the reference"
    if not m.config_same:
        more = " ..." if len(m.config_diff) > 4 else ""
        return f"FAIL: different config ({'; '.join(m.config_diff[:4])}{more})"
    if m.identical == m.shared:
        return "reproduced exactly"
    level = f"{100 * (1 - m.threshold):.4g}%"
    test = f"{m.metric} new - reference {m.delta:+.4f} ({level} CI [{m.ci[0]:+.4f}, {m.ci[1]:+.4f}]"
    test += f", McNemar p = {m.p_value:.3g})" if m.p_value is not None else ")"
    if m.exact:
        return f"FAIL: samples differ and --exact was asked; {test}"
    if m.chance:
        return f"agrees: the differences are within chance (other CPU kernels can flip a greedy token); {test}"
    return f"FAIL: the metric differs beyond chance (threshold {m.threshold:.3g}); {test}"


def report(matches: list[RunMatch]) -> str:
    lines = []
    for m in matches:
        if m.missing_reference:
            lines.append(f"{m.name}: no reference run")
            continue
        diff = f"; differ: {', '.join(m.differing[:5])}{' ...' if len(m.differing) > 5 else ''}" if m.differing else ""
        lines.append(f"{m.name}: {m.identical}/{m.shared} shared samples identical{diff}")
        lines.append(f"  {_verdict(m)}")
        lines.append(f"  numerics: this run {m.numerics[0]}; reference {m.numerics[1]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m leaderboards.reproduce", description=__doc__.split("\n\n")[0])
    p.add_argument("new", type=Path, help="root of the new runs")
    p.add_argument("reference", type=Path, help="root of the reference (committed) runs")
    p.add_argument("--alpha", type=float, default=ALPHA, help=f"family-wise significance level (default {ALPHA})")
    p.add_argument("--exact", action="store_true", help="fail on any differing sample (same machine as the reference)")
    p.add_argument("--resamples", type=int, default=stats.DEFAULT_RESAMPLES, help="paired bootstrap resamples")
    args = p.parse_args(argv)
    matches = compare_runs([args.new], [args.reference], alpha=args.alpha, exact=args.exact, resamples=args.resamples)
    print(report(matches) or "no runs found")
    if not any(m.shared for m in matches):
        return 2
    return 0 if all(m.ok for m in matches) else 1


if __name__ == "__main__":
    sys.exit(main())
