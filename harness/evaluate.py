"""Turns an eval request (agents x benchmarks) into runner calls, building each env/agent once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.agent import AgentOptions
from harness.errors import ConfigError
from harness.records import RunResult
from harness.registry import AGENTS, ENVS
from harness.runner import evaluate


@dataclass
class EvalPlan:
    agents: list[str]
    benchmarks: list[str]
    split: str | None = None
    limit: int | None = None
    seed: int = 0
    output_dir: Path = Path("runs")
    batch_size: int = 8
    planner: str | None = None
    grounder: str | None = None
    backend: str = "hf"
    data_dir: str | None = None
    agent_extra: dict[str, Any] = field(default_factory=dict)
    env_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    command: str | None = None


def expand_benchmarks(names: list[str]) -> list[str]:
    if names == ["all"]:
        return ENVS.names()
    for n in names:
        ENVS.get(n)  # fail early with "did you mean"
    return names


def run_plan(plan: EvalPlan, console: Console) -> list[RunResult]:
    benchmarks = expand_benchmarks(plan.benchmarks)
    producers = {name: AGENTS.get(name) for name in plan.agents}
    results = []
    envs = {}
    try:
        for bench in benchmarks:
            env_cls = ENVS.get(bench)
            envs[bench] = env_cls(data_dir=plan.data_dir, **plan.env_options.get(bench, {}))
            split = plan.split or env_cls.default_split
            if split not in env_cls.splits:
                raise ConfigError(f"{bench} has no split '{split}'; choose from {', '.join(env_cls.splits)}")
        for agent_name, producer_cls in producers.items():
            options = AgentOptions(
                planner=plan.planner,
                grounder=plan.grounder,
                backend=plan.backend,
                seed=plan.seed,
                batch_size=plan.batch_size,
                extra=plan.agent_extra,
            )
            with console.status(f"loading {agent_name}"):  # model loading: seconds with nothing else to show
                agent = producer_cls().build(options)
            try:
                for bench in benchmarks:
                    env = envs[bench]
                    results.append(
                        evaluate(
                            env,
                            agent,
                            agent_name,
                            plan.split or env.default_split,
                            plan.output_dir,
                            limit=plan.limit,
                            seed=plan.seed,
                            batch_size=plan.batch_size,
                            command=plan.command,
                            console=console,
                        )
                    )
            finally:
                agent.close()
    finally:
        for env in envs.values():
            env.close()
    return results
