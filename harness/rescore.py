"""Rescore finished runs from their stored samples, without rerunning any model.

When an environment's scoring changes (and its ``version`` is bumped), a run's trajectories stay valid:
only ``Environment.score`` and ``Environment.aggregate`` need to run again. :func:`rescore_run`

1. builds the tasks of the run's split (the ``n_original`` of its results.json) and checks that the environment, built with the
   options given, has the run's data checksum (a different corpus, reader or option would make the new
   scores about another run, so it refuses);
2. replaces each sample's ``metrics`` with ``env.score(task, stored trajectory)`` (predictions,
   statuses, trajectories and every other field are kept as stored);
3. re-stamps ``config.json`` with the environment's current ``benchmark_version`` and the config hash
   of the new identity, and appends a ``rescored`` entry (from/to version, the rescoring commit, the
   date, every changed aggregate) so the record says what happened;
4. rewrites ``results.json`` through the runner's own :func:`harness.runner.aggregate` (keeping the
   sampling commit's ``versions``, the run's ``seconds`` and ``command``, and old notes that differ only
   in an absolute path), plus a note naming the rescore.

A run whose benchmark version already equals the environment's is left alone unless ``force``.
WebShop rewards are computed by the shop at purchase time and stored in the trajectory; rescoring
re-reads them but cannot recompute them, so a WebShop run with a purchase is refused (no committed
run has one).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.environment import Environment
from harness.records import RunConfig, RunResult, SampleRecord
from harness.runner import RunPaths, _write_json_atomic, aggregate, config_hash, read_samples
from harness.versions import collect_versions


class RescoreError(ValueError):
    """A run that cannot be rescored as asked (one line for the CLI)."""


@dataclass
class MetricChange:
    metric: str
    old: float | None
    new: float | None


@dataclass
class RescoreReport:
    run: Path
    old_version: str
    new_version: str
    samples_changed: int = 0
    changes: list[MetricChange] = field(default_factory=list)
    skipped: str | None = None

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"{self.run}: skipped ({self.skipped})"]
        head = (f"{self.run}: v{self.old_version} -> v{self.new_version}, "
                f"{self.samples_changed} sample(s) with changed metrics")
        return [head] + [f"  {c.metric}: {_fmt(c.old)} -> {_fmt(c.new)}" for c in self.changes]


def _fmt(v: float | None) -> str:
    return "absent" if v is None else f"{v:.6g}"


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


def _check_webshop(env: Environment, records: list[SampleRecord]) -> None:
    if env.name != "webshop":
        return
    for r in records:
        try:
            bought = bool(json.loads(r.trajectory.final_answer or "{}").get("done"))
        except ValueError:
            bought = False
        if bought:
            raise RescoreError(
                f"sample {r.id} made a purchase: its reward was computed by the shop and cannot be rescored "
                f"from the stored sample; rerun the webshop run instead"
            )


def rescore_run(env: Environment, run_dir: Path, force: bool = False, dry_run: bool = False) -> RescoreReport:
    """Rescore one run directory in place (see the module docstring)."""
    paths = RunPaths(Path(run_dir))
    if not paths.config.exists() or not paths.results.exists():
        raise RescoreError(f"{paths.root} is not a finished run (needs config.json and results.json)")
    raw_config: dict[str, Any] = json.loads(paths.config.read_text(encoding="utf-8"))
    config = RunConfig.model_validate(raw_config)
    old_result = RunResult.model_validate_json(paths.results.read_text(encoding="utf-8"))
    if config.benchmark != env.name:
        raise RescoreError(f"{paths.root} is a {config.benchmark} run, not {env.name}")
    report = RescoreReport(paths.root, config.benchmark_version, env.version)
    if config.benchmark_version == env.version and not force:
        report.skipped = f"already at version {env.version}"
        return report
    checksum = env.data_checksum(config.split)
    if checksum != config.data_checksum:
        raise RescoreError(
            f"{paths.root}: the environment as configured has data checksum {checksum}, the run {config.data_checksum} "
            f"(different data, corpus or env options: pass the run's --data-dir/--config)"
        )
    # the tasks results.json was last aggregated over (config.json keeps the first command's limit;
    # raising --limit later extends a run)
    tasks = env.load(config.split, old_result.n_original)
    by_id = {t.id: t for t in tasks}
    records = read_samples(paths.samples, repair=False)
    missing = [r.id for r in records if r.id not in by_id]
    if missing:
        raise RescoreError(f"{paths.root}: {len(missing)} sample id(s) not in {env.name}/{config.split} (e.g. {missing[0]})")
    _check_webshop(env, records)

    new_records = []
    for r in records:
        metrics = {k: float(v) for k, v in env.score(by_id[r.id], r.trajectory).items()}
        if env.main_metric not in metrics:
            raise RescoreError(f"{env.name}.score() did not return its main metric '{env.main_metric}'")
        if metrics != r.metrics:
            report.samples_changed += 1
        new_records.append(r.model_copy(update={"metrics": metrics}))

    new_config = config.model_copy(update={"benchmark_version": env.version})
    chash = config_hash(new_config)
    # what the aggregates become, computed before anything is written
    from harness import stats

    wanted = {t.id for t in tasks}
    means, _, _ = stats.summarize([r.metrics for r in new_records if r.id in wanted], seed=config.seed,
                                  aggregate=env.aggregate)
    for name in sorted(set(old_result.metrics) | set(means)):
        old, new = old_result.metrics.get(name), means.get(name)
        if not _same(old, new):
            report.changes.append(MetricChange(name, old, new))
    if dry_run:
        return report

    _write_samples(paths.samples, records, new_records)
    harness_git = collect_versions().get("harness_git")
    entry = {
        "from_version": config.benchmark_version,
        "to_version": env.version,
        "old_config_hash": raw_config.get("config_hash"),
        "by": "harness rescore (harness/rescore.py): metrics recomputed from the stored trajectories",
        "harness_git": harness_git,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "samples_changed": report.samples_changed,
        "changed": {c.metric: [c.old, c.new] for c in report.changes},
    }
    raw_config.update(benchmark_version=env.version, config_hash=chash)
    raw_config["rescored"] = [*raw_config.get("rescored", []), entry]
    _write_json_atomic(paths.config, json.dumps(raw_config, indent=2))
    result = aggregate(env, paths, tasks, new_config, chash, seconds=old_result.seconds, versions=old_result.versions)
    note = (f"rescored from stored samples by harness {str(harness_git)[:12]} on {entry['date'][:10]}: benchmark "
            f"version {config.benchmark_version} -> {env.version}, {report.samples_changed} sample(s) changed; "
            f"versions/sample_commits name the code that produced the trajectories")
    result = result.model_copy(update={"notes": [*_keep_located_notes(result.notes, old_result.notes), note],
                                       "command": old_result.command})
    _write_json_atomic(paths.results, result.model_dump_json(indent=2))
    return report


_ABS_PATH = re.compile(r"(?<![\w.])/[^\s,():]+")


def _keep_located_notes(new: list[str], old: list[str]) -> list[str]:
    """A new note that differs from an old one only in absolute paths (the same fixture files seen
    from another checkout) keeps the old wording: the run was made there."""
    by_shape = {_ABS_PATH.sub("<path>", o): o for o in old}
    return [by_shape.get(_ABS_PATH.sub("<path>", n), n) for n in new]


def _write_samples(path: Path, old: list[SampleRecord], new: list[SampleRecord]) -> None:
    """Rewrite samples.jsonl: a sample whose metrics did not change keeps its line byte for byte; a
    changed one is re-serialised with only the fields its line had (``exclude_unset``), so rescoring
    never adds fields a sample was not written with."""
    lines: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        try:
            lines.setdefault(str(json.loads(line)["id"]), line)
        except (ValueError, KeyError, TypeError):
            continue
    out = []
    for o, n in zip(old, new):
        out.append(lines[o.id] if o.metrics == n.metrics and o.id in lines else n.model_dump_json(exclude_unset=True))
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(line + "\n" for line in out), encoding="utf-8")
    tmp.replace(path)


def find_run_dirs(root: Path) -> list[Path]:
    """``root`` itself when it is a run directory, else every ``<agent>/<benchmark>-<split>`` below it."""
    root = Path(root)
    if (root / "config.json").exists():
        return [root]
    return sorted(p.parent for p in root.glob("*/*/config.json"))
