"""Turns an eval request (agents x benchmarks) into runner calls, building each env/agent once."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.agent import AgentOptions
from harness.errors import ConfigError, UserError
from harness.options import check_env_options
from harness.records import RunResult
from harness.registry import AGENTS, ENVS, UnknownNameError
from harness.runner import evaluate
from harness.sharding import Shard

log = logging.getLogger(__name__)


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
    shard: Shard | None = None
    """This process's shard of every run (``--shard I/N`` or the launcher's RANK/WORLD_SIZE)."""


def expand_benchmarks(names: list[str]) -> list[str]:
    if names == ["all"]:  # every loadable env; a broken plug-in is one warning line, not the end of the run
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = list(ENVS.load_all())
        for w in caught:
            log.warning("skipping: %s", w.message)
        return loaded
    for n in names:
        ENVS.get(n)  # fail early with "did you mean"
    return names


def run_plan(plan: EvalPlan, console: Console) -> list[RunResult]:
    benchmarks = expand_benchmarks(plan.benchmarks)
    producers = {name: AGENTS.get(name) for name in plan.agents}
    results = []
    envs = {}
    for name, opts in plan.env_options.items():  # every section is checked, also those of benchmarks not run
        try:
            check_env_options(ENVS.get(name), opts)
        except UnknownNameError as exc:
            raise ConfigError(f"env: section {name!r}: {exc}") from None
    try:
        for bench in benchmarks:
            env_cls = ENVS.get(bench)
            options = check_env_options(env_cls, plan.env_options.get(bench, {}))
            try:
                envs[bench] = env_cls(data_dir=plan.data_dir, **options)
            except UserError:
                raise
            except (ValueError, TypeError) as exc:  # the environment refused an option value
                raise ConfigError(f"env options for {bench}: {exc}") from exc
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
            try:
                with console.status(f"loading {agent_name}"):  # model loading: seconds with nothing else to show
                    agent = producer_cls().build(options)
            except UserError:
                raise
            except (ValueError, TypeError) as exc:  # a bad agent: option or model name
                raise ConfigError(f"agent {agent_name}: {exc}") from exc
            except OSError as exc:
                raise ConfigError(f"agent {agent_name}: cannot load its model: {exc}") from exc
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
                            shard=plan.shard,
                        )
                    )
            finally:
                agent.close()
    finally:
        for env in envs.values():
            env.close()
    return results
