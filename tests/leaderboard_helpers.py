"""Synthetic run directories for the leaderboard tests, written with the real record models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import stats
from harness.records import RunConfig, RunResult, SampleRecord, SampleStatus, Trajectory
from harness.runner import config_hash

MAIN = {"gsm8k": "em_numeric", "svamp": "em_numeric", "strategyqa": "accuracy", "hotpotqa": "em",
        "mind2web": "step_sr", "webshop": "reward"}


def write_run(
    root: Path,
    agent: str,
    benchmark: str,
    split: str,
    values: list[float],
    *,
    ids: list[str] | None = None,
    version: str = "1",
    checksum: str | None = "sha256:data",
    main_metric: str | None = None,
    extra_metrics: dict[str, list[float]] | None = None,
    notes: list[str] | None = None,
    agent_config: dict[str, Any] | None = None,
    n_original: int | None = None,
    limit: int | None = None,
    finished: bool = True,
    harness_git: str = "abc123",
    sample_commits: dict[str, int] | None = None,
) -> Path:
    """``root/agent/benchmark-split/`` with config.json, samples.jsonl and (if ``finished``) results.json."""
    main_metric = main_metric or MAIN.get(benchmark, "accuracy")
    ids = ids or [f"{benchmark}-{i}" for i in range(len(values))]
    config = RunConfig(
        agent=agent, agent_config=agent_config or {"producer": agent}, benchmark=benchmark,
        benchmark_version=version, split=split, seed=0, data_checksum=checksum, command="test", limit=limit,
    )
    chash = config_hash(config)
    run_dir = root / agent / f"{benchmark}-{split}"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config.model_dump(mode="json") | {"config_hash": chash}))
    per_sample = []
    with open(run_dir / "samples.jsonl", "w", encoding="utf-8") as f:
        for i, (sid, v) in enumerate(zip(ids, values)):
            metrics = {main_metric: float(v)} | {k: float(vs[i]) for k, vs in (extra_metrics or {}).items()}
            per_sample.append(metrics)
            rec = SampleRecord(id=sid, question=f"q {sid}", gold="1", prediction="1" if v else "0", metrics=metrics,
                               status=SampleStatus.OK, trajectory=Trajectory(final_answer="1"))
            f.write(rec.model_dump_json() + "\n")
    if finished:
        means, errs, cis = stats.summarize(per_sample)
        result = RunResult(
            agent=agent, benchmark=benchmark, benchmark_version=version, split=split, n=len(values),
            n_original=n_original if n_original is not None else len(values), main_metric=main_metric,
            metrics=means, stderr=errs, ci95=cis, status_counts={"ok": len(values)},
            versions={"harness_git": harness_git, "python": "3.11"}, config_hash=chash, data_checksum=checksum,
            command="test", notes=notes or [], sample_commits=sample_commits or {harness_git: len(values)},
        )
        (run_dir / "results.json").write_text(result.model_dump_json(indent=2))
    return run_dir


def ones(k: int, n: int) -> list[float]:
    """``k`` ones then ``n - k`` zeros."""
    return [1.0] * k + [0.0] * (n - k)
