"""``harness eval``: run agent producers on benchmarks, resumably."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rich.console import Console


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("eval", help="evaluate agent pairs on benchmarks")
    p.add_argument("--agents", metavar="NAME[,NAME]", help="agent producers, comma-separated (e.g. base,oracle)")
    p.add_argument("--benchmarks", metavar="NAME[,NAME]", help="environments, comma-separated, or 'all'")
    p.add_argument("--split", metavar="NAME", help="split name (default: each benchmark's default split)")
    p.add_argument("--limit", type=int, metavar="N", help="first N tasks of the split (default: the benchmark's subset)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    p.add_argument("--output-dir", default="runs", metavar="DIR", help="root of run directories (default: runs)")
    p.add_argument("--batch-size", type=int, default=8, metavar="N", help="tasks advanced together (default: 8)")
    p.add_argument("--planner", metavar="MODEL", help="planner model id or path (default: the producer's)")
    p.add_argument("--grounder", metavar="MODEL", help="grounder model id or path (default: the producer's)")
    p.add_argument("--backend", default="hf", metavar="NAME", help="hf | vllm | openai (default: hf)")
    p.add_argument("--data-dir", metavar="DIR", help="benchmark data folder (default: $HARNESS_DATA_DIR or the cache)")
    p.add_argument("--config", metavar="FILE", help="YAML/JSON file with any of these options (flags win)")
    p.set_defaults(_parser_defaults={a.dest: a.default for a in p._actions})
    return p


def run(args: argparse.Namespace) -> int:
    from harness.config import eval_config, merge_config
    from harness.evaluate import EvalPlan, run_plan

    cfg = eval_config(merge_config(args, args._parser_defaults))
    plan = EvalPlan(
        agents=cfg.agents,
        benchmarks=cfg.benchmarks,
        split=cfg.split,
        limit=cfg.limit,
        seed=cfg.seed,
        output_dir=Path(cfg.output_dir),
        batch_size=cfg.batch_size,
        planner=cfg.planner,
        grounder=cfg.grounder,
        backend=cfg.backend,
        data_dir=cfg.data_dir,
        agent_extra=cfg.agent,
        env_options=cfg.env,
        command="harness " + shlex.join(sys.argv[1:]),
    )
    results = run_plan(plan, Console(stderr=True))
    out = Console()
    for r in results:
        main = r.metrics.get(r.main_metric, float("nan"))
        lo, hi = r.ci95.get(r.main_metric, (float("nan"), float("nan")))
        out.print(f"{r.agent:>12} {r.benchmark}-{r.split}: {r.main_metric} = {main:.4f} [{lo:.4f}, {hi:.4f}] (n={r.n}/{r.n_original})")
    return 0 if all(r.n == r.n_original for r in results) else 1
