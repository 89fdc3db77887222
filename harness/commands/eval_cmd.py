"""``harness eval``: run agent producers on benchmarks, resumably."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rich.console import Console


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("eval", help="evaluate agent pairs on benchmarks")
    p.add_argument("--agents", help="comma-separated agent producers, e.g. base,oracle")
    p.add_argument("--benchmarks", help="comma-separated environments, or 'all'")
    p.add_argument("--split", help="split name (default: each benchmark's default split)")
    p.add_argument("--limit", type=int, help="first N tasks of the split")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output-dir", default="runs", help="root of run directories (default: runs)")
    p.add_argument("--batch-size", type=int, default=8, help="tasks advanced together")
    p.add_argument("--planner", help="planner model id or path (default: the producer's)")
    p.add_argument("--grounder", help="grounder model id or path (default: the producer's)")
    p.add_argument("--backend", default="hf", help="hf | vllm | openai (default: hf)")
    p.add_argument("--data-dir", help="benchmark data folder (default: $HARNESS_DATA_DIR or the cache)")
    p.add_argument("--config", help="YAML/JSON file with any of these options (flags win)")
    p.set_defaults(_parser_defaults={a.dest: a.default for a in p._actions})
    return p


def run(args: argparse.Namespace) -> int:
    from harness.config import merge_config, split_list
    from harness.errors import ConfigError
    from harness.evaluate import EvalPlan, run_plan

    args = merge_config(args, args._parser_defaults)
    agents = split_list(args.agents)
    benchmarks = split_list(args.benchmarks)
    if not agents or not benchmarks:
        raise ConfigError("--agents and --benchmarks are required (on the command line or in --config)")
    plan = EvalPlan(
        agents=agents,
        benchmarks=benchmarks,
        split=args.split,
        limit=args.limit,
        seed=args.seed,
        output_dir=Path(args.output_dir),
        batch_size=args.batch_size,
        planner=args.planner,
        grounder=args.grounder,
        backend=args.backend,
        data_dir=args.data_dir,
        agent_extra=getattr(args, "agent_extra", {}),
        env_options=getattr(args, "env_options", {}),
        command="harness " + shlex.join(sys.argv[1:]),
    )
    from harness.summary import summary_table

    results = run_plan(plan, Console(stderr=True))
    Console(width=None if sys.stdout.isatty() else 120).print(summary_table(results))  # a log/pipe: no 80-col wrap
    return 0 if all(r.n == r.n_original for r in results) else 1
