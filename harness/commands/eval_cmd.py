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
    p.add_argument("--shard", metavar="I/N", help="run only shard I (0-based) of N of every run (default: RANK/WORLD_SIZE "
                   "when a launcher such as torchrun or accelerate launch sets them)")
    p.add_argument("--tensor-parallel-size", type=int, metavar="N", help="vllm backend: GPUs per model (tensor parallelism)")
    p.add_argument("--pipeline-parallel-size", type=int, metavar="N", help="vllm backend: pipeline-parallel stages per model")
    p.set_defaults(_parser_defaults={a.dest: a.default for a in p._actions})
    return p


def run(args: argparse.Namespace) -> int:
    from harness.config import eval_config, merge_config
    from harness.errors import ConfigError
    from harness.evaluate import EvalPlan, run_plan
    from harness.sharding import resolve_shard

    cfg = eval_config(merge_config(args, args._parser_defaults))
    shard = resolve_shard(cfg.shard)
    agent_extra = dict(cfg.agent)
    parallel = {k: v for k, v in (("tensor_parallel_size", cfg.tensor_parallel_size),
                                  ("pipeline_parallel_size", cfg.pipeline_parallel_size)) if v is not None}
    if parallel:
        if cfg.backend != "vllm":
            raise ConfigError("--tensor-parallel-size / --pipeline-parallel-size apply to --backend vllm only")
        agent_extra["backend_options"] = {**agent_extra.get("backend_options", {}), **parallel}
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
        agent_extra=agent_extra,
        env_options=cfg.env,
        command="harness " + shlex.join(sys.argv[1:]),
        shard=shard,
    )
    from harness.summary import summary_table

    results = run_plan(plan, Console(stderr=True))
    Console(width=None if sys.stdout.isatty() else 120).print(summary_table(results))  # a log/pipe: no 80-col wrap
    if shard is not None:
        from harness.runner import run_dir_for
        from harness.sharding import shard_complete

        counts = [shard_complete(run_dir_for(plan.output_dir, r.agent, r.benchmark, r.split), shard) for r in results]
        Console().print(f"shard {shard}: {sum(d for d, _ in counts)}/{sum(t for _, t in counts)} of its samples done; "
                        "the numbers above are over every shard finished so far")
        return 0 if all(d == t for d, t in counts) else 1
    return 0 if all(r.n == r.n_original for r in results) else 1
