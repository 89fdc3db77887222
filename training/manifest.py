"""Training run directories: ``manifest.json`` (config, data checksums, versions, stage log,
outputs) and stage-level resume.

A stage is recorded as done only after its outputs are on disk, so a killed run resumes at the
stage it was in (long stages additionally resume inside themselves: JSONL files skip finished
items, SFT writes trainer checkpoints when ``save_steps`` is set). Re-running with a different
configuration in the same directory is refused, as eval runs are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.data import sha256_file
from training import dist
from harness.versions import collect_versions

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SCHEMA = 1


class TrainSetupError(RuntimeError):
    """A training run cannot start as asked (the CLI prints it as one line)."""


class TrainConfigMismatchError(TrainSetupError):
    """The run directory holds a run with a different configuration."""


def config_hash(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def default_train_root() -> Path:
    """``$HARNESS_TRAIN_DIR`` or ``runs/train`` (relative to the working directory)."""
    return Path(os.environ.get("HARNESS_TRAIN_DIR") or "runs/train")


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)


class RunDir:
    """One training run (``lumos``, ``agenttuning`` or ``moat``) and its manifest."""

    def __init__(self, root: str | Path, kind: str, identity: dict[str, Any], command: str | None = None) -> None:
        self.root = Path(root)
        self.kind = kind
        self.is_main = dist.is_main()
        self.path = self.root / MANIFEST
        h = config_hash({"kind": kind, **identity})
        if not self.is_main:  # the main process creates or validates the manifest first
            dist.barrier()
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
            return
        if self.path.exists():
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
            if self.data.get("config_hash") != h or self.data.get("kind") != kind:
                raise TrainConfigMismatchError(
                    f"{self.root} already holds a '{self.data.get('kind')}' run with config hash "
                    f"{self.data.get('config_hash')} (this one: {h}); use another --output-dir or remove the folder"
                )
            log.info("resuming %s run in %s (stages done: %s)", kind, self.root,
                     ", ".join(k for k, v in self.data["stages"].items() if v.get("status") == "done") or "none")
        else:
            self.data = {
                "schema": SCHEMA,
                "kind": kind,
                "config_hash": h,
                "config": identity,
                "command": command,
                "versions": collect_versions(),
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "data": {},
                "stages": {},
                "outputs": {},
            }
            self.root.mkdir(parents=True, exist_ok=True)
            self.save()
        dist.barrier()

    # -- persistence -------------------------------------------------------------------------
    def save(self) -> None:
        if not self.is_main:
            return
        self.data["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        write_json_atomic(self.path, self.data)

    def sub(self, *parts: str) -> Path:
        p = self.root.joinpath(*parts)
        if self.is_main:
            p.parent.mkdir(parents=True, exist_ok=True)
        return p

    # -- stages ------------------------------------------------------------------------------
    def done(self, stage: str) -> bool:
        return self.data["stages"].get(stage, {}).get("status") == "done"

    def metrics(self, stage: str) -> dict[str, Any]:
        return self.data["stages"].get(stage, {}).get("metrics", {})

    def stage(self, name: str, fn: Callable[[], dict[str, Any] | None], all_ranks: bool = False) -> dict[str, Any]:
        """Run ``fn`` unless ``name`` is already done; record its metrics and wall time.

        Under a multi-process launch, ``all_ranks=False`` stages run on the main process only (the
        others wait, then re-read the manifest); trainer stages pass ``all_ranks=True``.
        """
        if self.done(name):
            log.info("stage %s: done already, skipped", name)
            return self.metrics(name)
        if not all_ranks and not self.is_main:
            dist.barrier()
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
            return self.metrics(name)
        log.info("stage %s: starting", name)
        self.data["stages"][name] = {"status": "running", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.save()
        t0 = time.time()
        metrics = fn() or {}
        seconds = round(time.time() - t0, 2)
        self.data["stages"][name] = {"status": "done", "seconds": seconds, "metrics": metrics,
                                     "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.save()
        if not all_ranks:
            dist.barrier()
        log.info("stage %s: done in %.1f s", name, seconds)
        return metrics

    # -- data and outputs --------------------------------------------------------------------
    def record_data(self, path: Path, **extra: Any) -> None:
        rel = str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)
        self.data["data"][rel] = {"sha256": sha256_file(path), **extra}
        self.save()

    def set_output(self, key: str, path: Path | str) -> None:
        p = Path(path)
        self.data["outputs"][key] = str(p.relative_to(self.root)) if p.is_relative_to(self.root) else str(p)
        self.save()

    def output(self, key: str) -> Path | None:
        return resolve_output(self.root, self.data["outputs"], key)


def resolve_output(root: Path, outputs: dict[str, str], key: str) -> Path | None:
    value = outputs.get(key)
    if value is None:
        return None
    p = Path(value)
    if p.is_absolute():
        return p
    return root / p if (root / p).exists() else p  # a hub id stays as is


def read_manifest(root: str | Path) -> dict[str, Any] | None:
    p = Path(root) / MANIFEST
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
