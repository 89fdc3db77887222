"""Versions recorded in every result: harness git hash and the packages that move scores."""

from __future__ import annotations

import platform
import re
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

TRACKED_PACKAGES = ("moat-harness", "torch", "transformers", "trl", "peft", "sympy", "bm25s", "vllm")


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


RUN_FILES = ("samples.jsonl", "results.json", "config.json")
# a sharded run's own files (harness/sharding.py): samples.shard-I-of-N.jsonl and shard-I-of-N.json
_SHARD_RUN_FILE = re.compile(r"^(samples\.)?shard-\d+-of-\d+\.jsonl?$")


def _is_run_dir(path: Path) -> bool:
    return path.joinpath("samples.jsonl").exists() or any(path.glob("samples.shard-*-of-*.jsonl"))


def code_changes(changed: list[str], root: Path) -> list[str]:
    """``changed`` paths minus evaluation outputs: the files of a run directory (one holding a
    ``samples.jsonl`` or a shard's samples file). Extending a committed run rewrites its own tracked
    files; that is not a change to the code that produced it."""
    def run_file(p: str) -> bool:
        name = Path(p).name
        return (name in RUN_FILES or bool(_SHARD_RUN_FILE.match(name))) and _is_run_dir((root / p).parent)

    return [p for p in changed if not run_file(p)]


@lru_cache(maxsize=1)
def _git_state() -> tuple[str, tuple[str, ...]]:
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "diff", "--name-only", "HEAD", "--"], cwd=root, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "unknown", ()
    return sha, tuple(code_changes([c for c in changed if c.strip()], root))


def git_hash() -> str:
    """``<sha>`` or ``<sha>-dirty`` (tracked code differs from the commit) of the checkout the harness
    runs from; ``unknown`` outside git."""
    sha, changes = _git_state()
    return f"{sha}-dirty" if changes else sha


def collect_versions() -> dict[str, str]:
    out = {"harness_git": git_hash(), "python": platform.python_version()}
    changes = _git_state()[1]
    if changes:  # what made it dirty, so a reader can judge
        out["harness_dirty_paths"] = ", ".join(changes[:10]) + (f" (+{len(changes) - 10} more)" if len(changes) > 10 else "")
    for name in TRACKED_PACKAGES:
        v = package_version(name)
        if v is not None:
            out[name] = v
    return out
