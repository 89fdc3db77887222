"""Evaluation runs that outgrow one process: a stable partition of task ids over N shards.

A shard is ``--shard I/N`` (0 <= I < N) or, when a launcher sets them, ``RANK`` / ``WORLD_SIZE``
(``torchrun``, ``accelerate launch``), so one command spreads over GPUs or nodes. Task ``t`` belongs to
shard ``sha256(t.id) mod N``: the partition depends on the id alone, not on the order of the split or on
``--limit`` (a task keeps its shard when the limit grows; ``--limit`` still picks the first N tasks of the
split first, exactly as without sharding), and every process computes it without talking to the others.

All shards of a run share its directory and its identity (``config.json``; the shard is not part of the
config hash, like the batch size). Shard ``I`` of ``N`` appends to ``samples.shard-I-of-N.jsonl`` and
records its identity and task ids in ``shard-I-of-N.json``. Readers (the runner's resume and aggregation,
``harness show``, leaderboards) take the union of ``samples.jsonl`` and every shard file, first occurrence
of an id winning, and refuse a directory whose shard files carry another config hash (shards copied
together from runs with different identities). Each shard rewrites ``results.json`` over the union when it
finishes (under a file lock), so the last one to finish leaves the complete result.

Locking is per samples file: two shards of one run must be able to run at the same time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def ConfigError(message: str) -> Exception:  # noqa: N802 (harness.errors imports the runner, which imports us)
    from harness.errors import ConfigError as _ConfigError

    return _ConfigError(message)

SHARD_FILE = re.compile(r"^samples\.shard-(\d+)-of-(\d+)\.jsonl$")
MANIFEST_FILE = re.compile(r"^shard-(\d+)-of-(\d+)\.json$")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigError(f"invalid shard {self.index}/{self.count}: need 0 <= I < N")

    @property
    def label(self) -> str:
        return f"shard-{self.index}-of-{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, task_id: str) -> bool:
        return shard_of(task_id, self.count) == self.index


def shard_of(task_id: str, count: int) -> int:
    """The shard of ``task_id`` among ``count`` (stable across processes, Python versions and limits)."""
    return int.from_bytes(hashlib.sha256(task_id.encode("utf-8")).digest()[:8], "big") % count


def parse_shard(text: str) -> Shard:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m:
        raise ConfigError(f"--shard must look like I/N (e.g. 0/4), not {text!r}")
    return Shard(int(m.group(1)), int(m.group(2)))


def shard_from_env(environ: Mapping[str, str] | None = None) -> Shard | None:
    """``RANK``/``WORLD_SIZE`` of a launcher, when ``WORLD_SIZE`` > 1."""
    env = os.environ if environ is None else environ
    world = env.get("WORLD_SIZE")
    if not world or not world.strip().isdigit() or int(world) <= 1:
        return None
    rank = env.get("RANK", "")
    if not rank.strip().isdigit():
        raise ConfigError(f"WORLD_SIZE={world} but RANK is {rank!r}: launch with torchrun/accelerate or pass --shard I/N")
    return Shard(int(rank), int(world))


def resolve_shard(explicit: str | None, environ: Mapping[str, str] | None = None) -> Shard | None:
    """``--shard`` wins over the launcher's variables; ``None`` = one process does everything."""
    if explicit:
        shard = parse_shard(explicit)
        return None if shard.count == 1 else shard
    return shard_from_env(environ)


def select(tasks: list[Any], shard: Shard | None) -> list[Any]:
    """The tasks of ``shard`` in their original order (all of them without a shard)."""
    return list(tasks) if shard is None else [t for t in tasks if shard.owns(t.id)]


def samples_path(root: Path, shard: Shard | None) -> Path:
    return Path(root) / ("samples.jsonl" if shard is None else f"samples.{shard.label}.jsonl")


def manifest_path(root: Path, shard: Shard) -> Path:
    return Path(root) / f"{shard.label}.json"


def sample_files(root: Path) -> list[Path]:
    """``samples.jsonl`` (when present) and every shard's samples file, in a fixed order."""
    root = Path(root)
    shards = sorted((p for p in root.glob("samples.shard-*-of-*.jsonl") if SHARD_FILE.match(p.name)),
                    key=lambda p: tuple(int(x) for x in SHARD_FILE.match(p.name).groups()[::-1]))
    main = root / "samples.jsonl"
    return ([main] if main.exists() else []) + shards


def shard_files(root: Path) -> dict[str, int]:
    """``{file name: lines}`` of the shard sample files (for ``harness show``)."""
    return {p.name: sum(1 for line in p.read_text(encoding="utf-8").split("\n") if line.strip())
            for p in sample_files(root) if p.name != "samples.jsonl"}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # per process: shards may write at once
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_manifest(root: Path, shard: Shard, config_hash: str, task_ids: list[str]) -> None:
    _write_atomic(manifest_path(root, shard), json.dumps(
        {"shard": str(shard), "config_hash": config_hash, "tasks": len(task_ids), "task_ids": task_ids}, indent=1))


def check_identity(root: Path) -> str | None:
    """The run's config hash; raises when a shard's recorded identity differs (mixed runs)."""
    from harness.runner import ConfigMismatchError

    root = Path(root)
    cfg = root / "config.json"
    chash = json.loads(cfg.read_text(encoding="utf-8")).get("config_hash") if cfg.exists() else None
    for p in sorted(root.glob("shard-*-of-*.json")):
        if not MANIFEST_FILE.match(p.name):
            continue
        other = json.loads(p.read_text(encoding="utf-8")).get("config_hash")
        if chash is not None and other != chash:
            raise ConfigMismatchError(f"{root} mixes runs: {p.name} was written by config hash {other}, config.json "
                                      f"has {chash}; keep each identity in its own run directory")
    return chash


def read_union(root: Path) -> list[Any]:
    """Valid sample records of every samples file of the run, first occurrence of each id (read-only)."""
    from harness.runner import read_samples

    check_identity(root)
    seen: set[str] = set()
    out = []
    for path in sample_files(root):
        for rec in read_samples(path, repair=False):
            if rec.id not in seen:
                seen.add(rec.id)
                out.append(rec)
    return out


def shard_complete(root: Path, shard: Shard) -> tuple[int, int]:
    """``(done, total)`` of ``shard``'s own tasks, over the union (a task another process finished counts)."""
    path = manifest_path(root, shard)
    if not path.exists():
        return 0, 0
    ids = json.loads(path.read_text(encoding="utf-8"))["task_ids"]
    done = {r.id for r in read_union(root)}
    return sum(1 for i in ids if i in done), len(ids)


@contextlib.contextmanager
def run_lock(root: Path, shard: Shard | None) -> Iterator[None]:
    """Serialise the shared files of a sharded run (config.json, results.json) between its shards."""
    if shard is None:
        yield
        return
    from filelock import FileLock

    Path(root).mkdir(parents=True, exist_ok=True)
    with FileLock(str(Path(root) / ".shared.lock")):
        yield
