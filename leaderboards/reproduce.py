"""Does a rerun reproduce committed runs, sample by sample?

``python -m leaderboards.reproduce NEW_RUNS REFERENCE_RUNS`` matches each run under ``NEW_RUNS`` with
the run of the same agent, benchmark and split under ``REFERENCE_RUNS`` and compares, for every
sample id both hold, the prediction, the status and every metric. Exit status 0 when all shared
samples are identical, 1 otherwise (2 when nothing could be compared). This is how the README's main
command checks a fresh clone against ``leaderboards/cpu-smollm2-135m``: greedy decoding with the same
batch composition gives the same outputs.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from leaderboards.collect import Run, collect_runs


@dataclass
class RunMatch:
    name: str
    """``<agent>/<benchmark>-<split>``."""
    shared: int = 0
    identical: int = 0
    config_same: bool = True
    differing: list[str] = field(default_factory=list)
    missing_reference: bool = False

    @property
    def ok(self) -> bool:
        return not self.missing_reference and self.shared > 0 and self.identical == self.shared


def _key(run: Run) -> str:
    return f"{run.agent}/{run.benchmark}-{run.split}"


def compare_runs(new_roots: list[Path], reference_roots: list[Path]) -> list[RunMatch]:
    reference = {_key(r): r for r in collect_runs(reference_roots)}
    out = []
    for run in collect_runs(new_roots):
        match = RunMatch(_key(run))
        ref = reference.get(match.name)
        if ref is None:
            match.missing_reference = True
            out.append(match)
            continue
        match.config_same = ref.config.identity() == run.config.identity()
        ref_samples = {s.id: s for s in ref.samples()}
        for s in run.samples():
            r = ref_samples.get(s.id)
            if r is None:
                continue
            match.shared += 1
            if (s.prediction, s.status, s.metrics) == (r.prediction, r.status, r.metrics):
                match.identical += 1
            else:
                match.differing.append(s.id)
        out.append(match)
    return out


def report(matches: list[RunMatch]) -> str:
    lines = []
    for m in matches:
        if m.missing_reference:
            lines.append(f"{m.name}: no reference run")
            continue
        cfg = "" if m.config_same else " (run identity differs from the reference: different agent config or data)"
        diff = f"; differ: {', '.join(m.differing[:5])}{' ...' if len(m.differing) > 5 else ''}" if m.differing else ""
        lines.append(f"{m.name}: {m.identical}/{m.shared} shared samples identical{diff}{cfg}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m leaderboards.reproduce", description=__doc__.split("\n\n")[0])
    p.add_argument("new", type=Path, help="root of the new runs")
    p.add_argument("reference", type=Path, help="root of the reference (committed) runs")
    args = p.parse_args(argv)
    matches = compare_runs([args.new], [args.reference])
    print(report(matches) or "no runs found")
    if not any(m.shared for m in matches):
        return 2
    return 0 if all(m.ok for m in matches) else 1


if __name__ == "__main__":
    sys.exit(main())
