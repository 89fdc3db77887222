"""Finding and describing the checkpoints of a finished ``harness train`` run (for the producers).

Import-light on purpose: agent producers import it at build time only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from harness.data import DataMissingError
from training.manifest import MANIFEST, default_train_root, resolve_output

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
"""Exports committed with the code (``training/shipped/<method>``, written by ``harness train ...
--export``): what the producers load on a fresh clone when no run of one's own exists."""


class TrainedRunMissingError(DataMissingError):
    """No finished training run where the producer looked; the message names the command (a
    ``DataMissingError`` so that the CLI prints it as one line)."""


def locate_run(method: str, run: str | None = None) -> tuple[Path, dict[str, Any]]:
    """The run folder (agent option ``run``, else ``$HARNESS_TRAIN_DIR/<method>``, else
    ``runs/train/<method>``, else the shipped export ``training/shipped/<method>``) and its
    manifest, which must be complete and of kind ``method``."""
    root = Path(run) if run else default_train_root() / method
    if (not run and not (root / MANIFEST).exists() and not os.environ.get("HARNESS_TRAIN_DIR")
            and (SHIPPED_DIR / method / MANIFEST).exists()):
        root = SHIPPED_DIR / method
        log.info("no %s run of your own at %s: using the shipped export %s", method, default_train_root() / method, root)
    manifest_path = root / "manifest.json"
    hint = (f"train it first: `harness train {method} --preset cpu-small`"
            + (f" --output-dir {root}" if run else "")
            + " (or point the producer at a run with `--config` agent option `run: PATH`, or set HARNESS_TRAIN_DIR)")
    if not manifest_path.exists():
        raise TrainedRunMissingError(f"no trained '{method}' run at {root.resolve()}: {hint}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("kind") != method:
        raise TrainedRunMissingError(f"{root} holds a '{manifest.get('kind')}' run, not '{method}': {hint}")
    if not manifest.get("complete"):
        raise TrainedRunMissingError(
            f"the '{method}' run at {root.resolve()} is not finished; rerun its command to resume: "
            f"`{manifest.get('command') or f'harness train {method}'}`")
    return root, manifest


def output(root: Path, manifest: dict[str, Any], key: str) -> Path:
    p = resolve_output(root, manifest.get("outputs", {}), key)
    if p is None:
        raise TrainedRunMissingError(f"{root}: the manifest has no '{key}' output")
    return p


def run_label(root: Path) -> str:
    """How results name the run: ``shipped/<method>`` for a shipped export (the same on every
    clone), else the absolute run folder."""
    resolved = root.resolve()
    if resolved.is_relative_to(SHIPPED_DIR):
        return "shipped/" + resolved.relative_to(SHIPPED_DIR).as_posix()
    return str(resolved)


def checkpoint_digest(path: Path) -> str:
    """Short content hash of a checkpoint folder's weight files (part of the agent config hash)."""
    h = hashlib.sha256()
    files = sorted(p for p in Path(path).glob("*.safetensors")) if Path(path).is_dir() else []
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16] if files else "none"


def env_run_override(method: str) -> str | None:
    """``$HARNESS_<METHOD>_RUN`` (e.g. ``HARNESS_MOAT_RUN``) points one producer at a run folder."""
    return os.environ.get(f"HARNESS_{method.upper()}_RUN")
