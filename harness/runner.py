"""The batched, resumable evaluation loop.

Layout of a run: ``<output_dir>/<agent>/<benchmark>-<split>/`` with ``config.json`` (written once),
``samples.jsonl`` (one line per finished task, flushed and fsynced as it finishes) and
``results.json`` (rewritten at the end). Rerunning the same command skips finished task ids; a
rerun whose config hash differs is refused. A crash loses at most the batch in flight.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness import stats
from harness.agent import Agent
from harness.environment import Environment
from harness.numerics import run_numerics
from harness.records import RunConfig, RunResult, SampleRecord, SampleStatus, Task, Trajectory
from harness.versions import collect_versions

log = logging.getLogger(__name__)


class ConfigMismatchError(RuntimeError):
    """A run directory already holds samples from a different configuration."""


def config_hash(config: RunConfig) -> str:
    blob = json.dumps(config.identity(), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_dir_for(output_dir: Path, agent_name: str, benchmark: str, split: str) -> Path:
    return Path(output_dir) / agent_name / f"{benchmark}-{split}"


@dataclass
class RunPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def samples(self) -> Path:
        return self.root / "samples.jsonl"

    @property
    def results(self) -> Path:
        return self.root / "results.json"


def read_samples(path: Path, repair: bool = True) -> list[SampleRecord]:
    """Valid records of a samples file, first occurrence of each id.

    With ``repair`` (the runner's use), a torn last line (a kill mid-write) is dropped and the file
    is rewritten without it, so later appends start on a clean line; readers such as leaderboards
    pass ``repair=False`` and never modify a run."""
    if not path.exists():
        return []
    records: list[SampleRecord] = []
    seen: set[str] = set()
    bad = 0
    raw = path.read_text(encoding="utf-8")
    for line in raw.split("\n"):  # not splitlines(): JSON strings may hold U+2028/U+0085 unescaped
        if not line.strip():
            continue
        try:
            rec = SampleRecord.model_validate_json(line)
        except ValueError:
            bad += 1
            continue
        if rec.id not in seen:
            seen.add(rec.id)
            records.append(rec)
    if not repair:
        if bad:
            log.warning("%s: skipped %d unreadable line(s)", path, bad)
        return records
    if bad or (raw and not raw.endswith("\n")):
        if bad:
            log.warning("dropping %d unreadable line(s) from %s (interrupted write)", bad, path)
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(r.model_dump_json() + "\n" for r in records), encoding="utf-8")
        tmp.replace(path)
    return records


def _write_json_atomic(path: Path, data: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(data, encoding="utf-8")
    tmp.replace(path)


def _prepare_dir(paths: RunPaths, config: RunConfig, chash: str) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    if paths.config.exists():
        old = json.loads(paths.config.read_text(encoding="utf-8"))
        old_hash = old.get("config_hash")
        if old_hash != chash:
            raise ConfigMismatchError(
                f"{paths.root} holds a run with config hash {old_hash}, but this command has "
                f"{chash}; use another --output-dir or delete that directory to start over"
            )
        return
    payload = config.model_dump(mode="json") | {"config_hash": chash}
    _write_json_atomic(paths.config, json.dumps(payload, indent=2))


def _score(env: Environment, task: Task, traj: Trajectory) -> dict[str, float]:
    metrics = env.score(task, traj)
    if env.main_metric not in metrics:
        raise KeyError(f"{env.name}.score() did not return its main metric '{env.main_metric}'")
    return {k: float(v) for k, v in metrics.items()}


def _batches(tasks: list[Task], size: int) -> list[list[Task]]:
    return [tasks[i : i + size] for i in range(0, len(tasks), max(1, size))]


def evaluate(
    env: Environment,
    agent: Agent,
    agent_name: str,
    split: str,
    output_dir: Path,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 8,
    command: str | None = None,
    console: Console | None = None,
) -> RunResult:
    """Run ``agent`` on ``env``/``split`` and return the aggregated result (also on disk)."""
    console = console or Console(stderr=True)
    random.seed(seed)
    tasks = env.load(split, limit)
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{env.name}/{split} has duplicate task ids; resume needs unique ids")
    config = RunConfig(
        agent=agent_name,
        agent_config=agent.config(),
        benchmark=env.name,
        benchmark_version=env.version,
        split=split,
        seed=seed,
        data_checksum=env.data_checksum(split),
        command=command,
        limit=limit,
        batch_size=batch_size,
    )
    chash = config_hash(config)
    versions = collect_versions()  # now: the code that runs, not the checkout at the end of a long run
    numerics = run_numerics(config.agent_config)
    paths = RunPaths(run_dir_for(output_dir, agent_name, env.name, split))
    _prepare_dir(paths, config, chash)

    done = {r.id for r in read_samples(paths.samples)}
    pending = [t for t in tasks if t.id not in done]
    if done:
        console.print(f"resuming {paths.root}: {len(tasks) - len(pending)}/{len(tasks)} samples already done")

    failures = 0
    started = time.perf_counter()
    columns = (
        TextColumn(f"{agent_name} · {env.name}-{split}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress, open(
        paths.samples, "a", encoding="utf-8"
    ) as out:
        bar = progress.add_task("eval", total=len(tasks), completed=len(tasks) - len(pending), rate="")
        finished = 0
        for batch in _batches(pending, batch_size):
            t0 = time.perf_counter()
            try:
                trajectories = agent.run(batch, env)
                if len(trajectories) != len(batch):
                    raise RuntimeError(f"agent returned {len(trajectories)} trajectories for {len(batch)} tasks")
                records = []
                for task, traj in zip(batch, trajectories):
                    metrics = _score(env, task, traj)
                    records.append(
                        SampleRecord(
                            id=task.id,
                            question=task.question,
                            gold=task.gold,
                            prediction=traj.final_answer,
                            metrics=metrics,
                            status=traj.status,
                            trajectory=traj,
                            seconds=(time.perf_counter() - t0) / len(batch),
                            harness_git=versions.get("harness_git"),
                        )
                    )
            except Exception:  # infrastructure failure: keep going, nothing written, rerun retries
                failures += len(batch)
                log.exception("batch of %d tasks failed (ids %s...); they will be retried on rerun", len(batch), batch[0].id)
                progress.advance(bar, len(batch))
                continue
            for rec in records:
                out.write(rec.model_dump_json() + "\n")
            out.flush()
            os.fsync(out.fileno())
            finished += len(batch)
            rate = finished / max(time.perf_counter() - started, 1e-9)
            progress.update(bar, advance=len(batch), rate=f"{rate:.2f} samples/s")

    result = aggregate(env, paths, tasks, config, chash, seconds=time.perf_counter() - started, versions=versions,
                       numerics=numerics)
    if failures:
        console.print(f"[red]{failures} sample(s) failed and were not recorded; rerun the same command to retry them[/red]")
    return result


def aggregate(
    env: Environment, paths: RunPaths, tasks: list[Task], config: RunConfig, chash: str, seconds: float = 0.0,
    versions: dict[str, str] | None = None, numerics: dict[str, Any] | None = None,
) -> RunResult:
    """Recompute ``results.json`` from ``samples.jsonl`` restricted to the requested tasks.
    ``versions``: those of the code that produced the samples (taken when the run started)."""
    wanted = {t.id for t in tasks}
    records = [r for r in read_samples(paths.samples) if r.id in wanted]
    means, errs, cis = stats.summarize([r.metrics for r in records], seed=config.seed)
    counts: dict[str, int] = {s.value: 0 for s in SampleStatus}
    for r in records:
        counts[r.status.value] += 1
    result = RunResult(
        agent=config.agent,
        benchmark=env.name,
        benchmark_version=env.version,
        split=config.split,
        n=len(records),
        n_original=len(tasks),
        main_metric=env.main_metric,
        metrics=means,
        stderr=errs,
        ci95=cis,
        status_counts=counts,
        versions=versions or collect_versions(),
        config_hash=chash,
        data_checksum=config.data_checksum,
        command=config.command,
        seconds=seconds,
        notes=env.notes(config.split),
        sample_commits=dict(Counter(r.harness_git or "unrecorded" for r in records)),
        numerics=numerics or {},
    )
    _write_json_atomic(paths.results, result.model_dump_json(indent=2))
    return result
