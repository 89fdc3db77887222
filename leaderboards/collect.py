"""Find runs on disk: ``<runs>/<agent>/<benchmark>-<split>/{config.json,samples.jsonl,results.json}``.

Reading is strictly read-only (``harness.runner.read_samples(repair=False)``; the runner itself repairs a torn last
line): a leaderboard must never modify the runs it reports on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.errors import ConfigError
from harness.records import RunConfig, RunResult, SampleRecord

log = logging.getLogger(__name__)


class LeaderboardError(ConfigError):
    """Runs that cannot be put in one leaderboard as asked (the CLI prints it as one line)."""


@dataclass
class Run:
    """One run directory. ``result`` is ``None`` while the run is unfinished (no results.json)."""

    path: Path
    config: RunConfig
    config_hash: str | None
    result: RunResult | None
    _samples: list[SampleRecord] | None = field(default=None, repr=False)

    @property
    def agent(self) -> str:
        return self.config.agent

    @property
    def benchmark(self) -> str:
        return self.config.benchmark

    @property
    def split(self) -> str:
        return self.config.split

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    @property
    def samples_path(self) -> Path:
        return self.path / "samples.jsonl"

    @property
    def benchmark_version(self) -> str:
        return self.result.benchmark_version if self.result else self.config.benchmark_version

    @property
    def data_checksum(self) -> str | None:
        return self.result.data_checksum if self.result else self.config.data_checksum

    def samples(self) -> list[SampleRecord]:
        """Valid sample records, first occurrence of each id; unreadable lines are skipped. A sharded run
        is read as one: the union of ``samples.jsonl`` and every ``samples.shard-I-of-N.jsonl``."""
        if self._samples is None:
            from harness.runner import ConfigMismatchError
            from harness.sharding import read_union

            try:
                self._samples = read_union(self.path)
            except ConfigMismatchError as exc:
                raise LeaderboardError(str(exc)) from exc
        return self._samples

    def per_sample(self, metric: str) -> tuple[dict[str, float] | None, str | None]:
        """``{sample id: value}`` of ``metric`` when samples.jsonl reproduces results.json, else
        ``(None, reason)``: per-sample statistics from samples that do not match the reported mean
        would be about a different run."""
        if self.result is None:
            return None, "no results.json"
        records = self.samples()
        if len(records) != self.result.n:
            return None, (
                f"{self.samples_path} holds {len(records)} readable samples but results.json has n={self.result.n}"
            )
        values: dict[str, float] = {}
        for r in records:
            if metric not in r.metrics:
                if metric in self.result.metrics:  # computed by the environment's aggregate, not averaged
                    return None, f"{metric!r} is a corpus-level metric of {self.benchmark} (no per-sample values)"
                return None, f"sample {r.id} in {self.samples_path} has no metric {metric!r}"
            values[r.id] = float(r.metrics[metric])
        expected = self.result.metrics.get(metric)
        got = sum(values.values()) / len(values) if values else float("nan")
        if expected is None or not abs(got - expected) <= 1e-9 * max(1.0, abs(expected)):
            return None, f"mean of {metric} over {self.samples_path} is {got!r}, results.json says {expected!r}"
        return values, None


def load_run(run_dir: Path) -> Run | None:
    """The run in ``run_dir``, or ``None`` (with a warning) when its files are not harness records."""
    cfg_path = run_dir / "config.json"
    try:
        raw: dict[str, Any] = json.loads(cfg_path.read_text(encoding="utf-8"))
        config = RunConfig.model_validate(raw)
    except (OSError, ValueError, ValidationError) as exc:
        log.warning("skipping %s: not a harness run config (%s)", cfg_path, type(exc).__name__)
        return None
    result = None
    res_path = run_dir / "results.json"
    if res_path.exists():
        try:
            result = RunResult.model_validate_json(res_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LeaderboardError(f"{res_path} is not a valid results.json: {exc}") from exc
        mismatch = [
            f"{k}: config {getattr(config, k)!r} vs results {getattr(result, k)!r}"
            for k in ("agent", "benchmark", "split", "benchmark_version", "data_checksum")
            if getattr(config, k) != getattr(result, k)
        ]
        if mismatch:
            raise LeaderboardError(f"{run_dir}: config.json and results.json disagree ({'; '.join(mismatch)})")
    return Run(path=run_dir, config=config, config_hash=raw.get("config_hash"), result=result)


def collect_runs(roots: list[Path]) -> list[Run]:
    """Every run under ``roots`` (layout ``<root>/<agent>/<benchmark>-<split>/config.json``).

    Two runs of the same agent, benchmark and split (from two roots) are refused: which one belongs
    in the table is a decision for the user, not for the leaderboard.
    """
    runs: dict[tuple[str, str, str], Run] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise LeaderboardError(f"runs directory {root} does not exist")
        for cfg in sorted(root.glob("*/*/config.json")):
            run = load_run(cfg.parent)
            if run is None:
                continue
            key = (run.agent, run.benchmark, run.split)
            if key in runs and runs[key].path.resolve() != run.path.resolve():
                raise LeaderboardError(
                    f"two runs of agent {run.agent!r} on {run.benchmark}-{run.split}: {runs[key].path} and "
                    f"{run.path}; pass only one of their runs directories"
                )
            runs[key] = run
    log.info("found %d run(s) under %s", len(runs), ", ".join(str(r) for r in roots))
    return list(runs.values())
