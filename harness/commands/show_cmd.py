"""``harness show RUN_DIR``: a run's summary and a few samples."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.argtypes import nonneg_int


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("show", help="summarise a run directory")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a <output-dir>/<agent>/<benchmark>-<split> folder")
    p.add_argument("--samples", type=nonneg_int, default=3, metavar="N", help="samples to print (default: 3)")
    return p


def run(args: argparse.Namespace) -> int:
    from harness.errors import ConfigError
    from harness.records import RunResult
    from harness.runner import RunPaths

    paths = RunPaths(Path(args.run_dir))
    if not paths.config.exists():
        raise ConfigError(f"{paths.root} is not a run directory (no config.json)")
    out = Console()
    if paths.results.exists():
        try:
            res = RunResult.model_validate_json(paths.results.read_bytes())
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise ConfigError(f"{paths.results} is not a readable results file (torn or edited?); "
                              f"rerun the run's command to rewrite it") from exc
        t = Table(title=f"{res.agent} on {res.benchmark}-{res.split} (v{res.benchmark_version}), n={res.n}/{res.n_original}")
        for col in ("metric", "mean", "stderr", "95% CI"):
            t.add_column(col)
        for name, value in res.metrics.items():
            lo, hi = res.ci95[name]
            mark = " (main)" if name == res.main_metric else ""
            t.add_row(name + mark, f"{value:.4f}", f"{res.stderr.get(name, float('nan')):.4f}", f"[{lo:.4f}, {hi:.4f}]")
        out.print(t)
        out.print("status: " + ", ".join(f"{k}={v}" for k, v in res.status_counts.items() if v))
        out.print(f"config hash {res.config_hash}; data {res.data_checksum}; harness {res.versions.get('harness_git')}")
        for note in res.notes:
            out.print(f"note: {note}")
    else:
        out.print("no results.json yet (run unfinished); samples so far below")
    from harness import sharding
    from harness.runner import ConfigMismatchError

    try:
        records = sharding.read_union(paths.root)  # samples.jsonl and every shard's file, read-only
    except ConfigMismatchError as exc:
        raise ConfigError(str(exc)) from exc
    shards = sharding.shard_files(paths.root)
    out.print(f"{len(records)} sample(s) on disk" + (f" ({', '.join(f'{k}: {v}' for k, v in shards.items())})"
                                                     if shards else ""))
    for rec in records[: args.samples]:
        out.rule(f"sample {rec.id} [{rec.status.value}]")
        out.print(f"question: {rec.question}")
        for i, turn in enumerate(rec.trajectory.turns, 1):
            out.print(f"  subgoal {i}: {turn.subgoal}")
            out.print(f"  actions: {turn.actions}")
            for r in turn.results:
                out.print(f"    -> {r.error or r.result}")
        out.print(f"prediction: {rec.prediction!r}  gold: {rec.gold!r}  metrics: {rec.metrics}")
    return 0
