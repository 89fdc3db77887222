"""The batched, resumable evaluation loop.

Layout of a run: ``<output_dir>/<agent>/<benchmark>-<split>/`` with ``config.json`` (written once),
``samples.jsonl`` (one line per finished task, flushed and fsynced as it finishes) and
``results.json`` (rewritten at the end). Rerunning the same command skips finished task ids; a
rerun whose config hash differs is refused (naming the fields that differ). A crash loses at most
the batch in flight; one sample's failure is recorded as its status (:mod:`harness.sample_guard`).
One process writes a run directory at a time (:class:`harness.rundir.RunDirLock`).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness import sharding, stats
from harness.agent import Agent
from harness.data import load_tasks
from harness.environment import Environment
from harness.exemplars import digest as exemplar_digest
from harness.exemplars import env_exemplars
from harness.numerics import run_numerics
from harness.plugins import run_packages
from harness.records import RunConfig, RunResult, SampleRecord, SampleStatus, Task
from harness.rundir import InFlight, RunDirLock, append_lines, disk_full, identity_diff
from harness.sample_guard import FAILED, died_alone, plan_batches, record_line, run_batch
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
    shard: sharding.Shard | None = None
    """This process's shard: it appends to its own samples file (see :mod:`harness.sharding`)."""

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def samples(self) -> Path:
        return sharding.samples_path(self.root, self.shard)

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
        _write_json_atomic(path, "".join(r.model_dump_json() + "\n" for r in records))
    return records


def _write_json_atomic(path: Path, data: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(data, encoding="utf-8")
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise disk_full(exc, path) or exc from None
    tmp.replace(path)


def _prepare_dir(paths: RunPaths, config: RunConfig, chash: str) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    if paths.config.exists():
        old = json.loads(paths.config.read_text(encoding="utf-8"))
        old_hash = old.get("config_hash")
        if old_hash != chash:
            try:
                diff = identity_diff(RunConfig.model_validate(old).identity(),
                                     json.loads(json.dumps(config.identity(), default=str)))
            except ValueError:  # a config.json this schema cannot read
                diff = []
            what = f"differs in {'; '.join(diff)}" if diff else "differs"
            hint = ""
            if old.get("benchmark_version") != config.benchmark_version:
                hint = (f" (its {config.benchmark} version is {old.get('benchmark_version')}, now {config.benchmark_version}:"
                        f" `harness rescore {paths.root}` updates a finished run from its stored samples)")
            raise ConfigMismatchError(
                f"{paths.root} holds a run whose configuration {what} (config hash {old_hash}, this command "
                f"{chash}){hint}; use another --output-dir or delete that directory to start over"
            )
        return
    payload = config.model_dump(mode="json") | {"config_hash": chash}
    _write_json_atomic(paths.config, json.dumps(payload, indent=2))


def _holding_run_dir_lock(fn: Callable[..., RunResult]) -> Callable[..., RunResult]:
    """Run ``fn`` (:func:`evaluate`) holding the lock of its run directory, so that a second
    process started on the same directory stops with one line instead of appending duplicates."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> RunResult:
        a = sig.bind(*args, **kwargs).arguments
        root = run_dir_for(a["output_dir"], a["agent_name"], a["env"].name, a["split"])
        label = a["shard"].label if a.get("shard") is not None else None
        with RunDirLock(root, label):
            try:
                return fn(*args, **kwargs)
            except BaseException:
                InFlight(root, label).end_if_mine()  # an error or Ctrl-C is an orderly exit, not a death inside a task
                raise

    return wrapper


@_holding_run_dir_lock
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
    shard: sharding.Shard | None = None,
) -> RunResult:
    """Run ``agent`` on ``env``/``split`` and return the aggregated result (also on disk). With
    ``shard``, only that shard's tasks are run; the result aggregates every shard's samples so far."""
    console = console or Console(stderr=True)
    random.seed(seed)
    tasks = load_tasks(env, split, limit)  # data problems -> one DataFormatError line
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
        env_exemplars=exemplar_digest(env_exemplars(env)),
        command=command,
        limit=limit,
        batch_size=batch_size,
        env_options=env.identity_options(),
        env_settings=env.resolved_options(),
    )
    chash = config_hash(config)
    versions = collect_versions()  # now: the code that runs, not the checkout at the end of a long run
    numerics = run_numerics(config.agent_config)
    paths = RunPaths(run_dir_for(output_dir, agent_name, env.name, split), shard=shard)
    mine = sharding.select(tasks, shard)
    with sharding.run_lock(paths.root, shard):
        _prepare_dir(paths, config, chash)
        if shard is not None:
            sharding.write_manifest(paths.root, shard, chash, [t.id for t in mine])

    read_samples(paths.samples)  # repairs this process's own file after a kill
    done = {r.id for r in sharding.read_union(paths.root)}
    pending = [t for t in mine if t.id not in done]
    inflight = InFlight(paths.root, shard.label if shard is not None else None)
    crashed, crashed_alone = inflight.previous()
    if len(pending) < len(mine):
        console.print(f"resuming {paths.root}: {len(mine) - len(pending)}/{len(mine)} samples already done"
                      + (f" (shard {shard})" if shard else ""))

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
        bar = progress.add_task("eval", total=len(mine), completed=len(mine) - len(pending), rate="")
        finished = 0
        for batch in plan_batches(pending, batch_size, crashed):
            t0 = time.perf_counter()
            inflight.begin([t.id for t in batch], alone=len(batch) == 1)
            if crashed_alone and batch[0].id in crashed:
                trajectories = died_alone(batch)
            else:
                trajectories = run_batch(agent, batch, env)  # never raises: a crash is that task's harness_error
            seconds = (time.perf_counter() - t0) / len(batch)
            lines = [record_line(env, task, traj, seconds, versions.get("harness_git"))
                     for task, traj in zip(batch, trajectories)]
            append_lines(out, paths.samples, [line for line, _ in lines])
            inflight.end()
            failures += sum(status in FAILED for _, status in lines)
            finished += len(batch)
            rate = finished / max(time.perf_counter() - started, 1e-9)
            progress.update(bar, advance=len(batch), rate=f"{rate:.2f} samples/s")

    with sharding.run_lock(paths.root, shard):
        result = aggregate(env, paths, tasks, config, chash, seconds=time.perf_counter() - started, versions=versions,
                           numerics=numerics)
    if failures:
        console.print(f"[red]{failures} sample(s) failed in the harness and were recorded as harness_error or "
                      f"score_error (error text in their trajectory); delete their lines from {paths.samples} "
                      f"to run them again[/red]")
    return result


def aggregate(
    env: Environment, paths: RunPaths, tasks: list[Task], config: RunConfig, chash: str, seconds: float = 0.0,
    versions: dict[str, str] | None = None, numerics: dict[str, Any] | None = None,
) -> RunResult:
    """Recompute ``results.json`` from ``samples.jsonl`` restricted to the requested tasks.
    ``versions``: those of the code that produced the samples (taken when the run started)."""
    wanted = {t.id for t in tasks}
    records = [r for r in sharding.read_union(paths.root) if r.id in wanted]
    means, errs, cis = stats.summarize([r.metrics for r in records], seed=config.seed, aggregate=env.aggregate)
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
        packages=run_packages(env.name, config.agent),
        numerics=numerics or {},
    )
    _write_json_atomic(paths.results, result.model_dump_json(indent=2))
    return result
