"""Versions recorded in every result: harness git hash and the packages that move scores."""

from __future__ import annotations

import platform
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


@lru_cache(maxsize=1)
def git_hash() -> str:
    """``<sha>`` or ``<sha>-dirty`` of the checkout the harness runs from; ``unknown`` outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def collect_versions() -> dict[str, str]:
    out = {"harness_git": git_hash(), "python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        v = package_version(name)
        if v is not None:
            out[name] = v
    return out
