"""``harness rescore RUN_DIR...``: recompute a finished run's metrics from its stored samples."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("rescore", help="rescore finished runs from their stored samples (no model calls)")
    p.add_argument("runs", nargs="+", help="run directories, or roots holding <agent>/<benchmark>-<split> runs")
    p.add_argument("--data-dir", help="benchmark data folder the runs were made with")
    p.add_argument("--config", help="the runs' --config file (its env: section gives the env options)")
    p.add_argument("--benchmarks", help="comma-separated: only rescore runs of these benchmarks")
    p.add_argument("--force", action="store_true", help="rescore even runs already at the current version")
    p.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    return p


def run(args: argparse.Namespace) -> int:
    from harness.config import load_config_file, split_list
    from harness.errors import ConfigError
    from harness.records import RunConfig
    from harness.registry import ENVS
    from harness.rescore import RescoreError, find_run_dirs, rescore_run

    env_options = (load_config_file(args.config).get("env") or {}) if args.config else {}
    only = set(split_list(args.benchmarks))
    dirs = [d for root in args.runs for d in find_run_dirs(Path(root))]
    if not dirs:
        raise ConfigError(f"no run directories under {', '.join(args.runs)}")
    envs = {}
    try:
        for d in dirs:
            try:
                config = RunConfig.model_validate_json((d / "config.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{d / 'config.json'} is not a harness run config ({type(exc).__name__})") from exc
            if only and config.benchmark not in only:
                continue
            if config.benchmark not in envs:
                envs[config.benchmark] = ENVS.get(config.benchmark)(data_dir=args.data_dir,
                                                                    **env_options.get(config.benchmark, {}))
            try:
                report = rescore_run(envs[config.benchmark], d, force=args.force, dry_run=args.dry_run)
            except RescoreError as exc:
                raise ConfigError(str(exc)) from exc
            print("\n".join(report.lines()))
    finally:
        for env in envs.values():
            env.close()
    return 0
