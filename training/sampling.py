"""Batched, resumable model passes over plan steps: K planner samples per step (shared prefill in
the ``hf`` backend), grounder regeneration, and backend construction for a run's checkpoints.

Every pass appends one JSON line per finished item and skips items already in the file, so a
killed sampling stage resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.backends.base import GenerationParams
from training.modeling import is_adapter
from training.records import PlanStep

log = logging.getLogger(__name__)


def open_backend(base: str | Path, checkpoint: str | Path | None, dtype: str = "auto", label: str | None = None,
                 backend: str = "hf", **options: Any) -> Any:
    """A backend for ``base`` (+ LoRA adapter) or a full checkpoint. Engines other than ``hf`` (vLLM) get
    a full checkpoint directory: an adapter is merged into one first (:mod:`agents.backends.merged`).
    ``options`` go to the backend (e.g. vLLM's ``tensor_parallel_size``)."""
    from agents.backends import load_backend

    kw: dict[str, Any] = {"dtype": dtype, **options}
    if label:
        kw["label"] = label
    if checkpoint is not None and is_adapter(checkpoint):
        if backend != "hf":
            from agents.backends.merged import merged_checkpoint

            return load_backend(backend, str(merged_checkpoint(base, checkpoint, dtype)), **kw)
        return load_backend(backend, str(base), adapter=str(checkpoint), **kw)
    return load_backend(backend, str(checkpoint or base), **kw)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill: recomputed
            log.warning("skipping a truncated line in %s", path)
    return out


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)


def resumable_map(path: Path, keys: list[str], compute: Callable[[list[str]], list[dict[str, Any]]],
                  batch_size: int, what: str = "items") -> dict[str, dict[str, Any]]:
    """``compute`` every key not yet in ``path`` (in batches), appending ``{"key": k, **row}`` lines.
    Returns all rows by key."""
    done = {r["key"]: r for r in read_jsonl(path) if r.get("key") in set(keys)}
    todo = [k for k in keys if k not in done]
    if done:
        log.info("%s: %d/%d %s already done", path.name, len(done), len(keys), what)
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with open(path, "a", encoding="utf-8") as f:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            rows = compute(chunk)
            for k, row in zip(chunk, rows):
                rec = {"key": k, **row}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                done[k] = rec
            f.flush()
            log.info("%s: %d/%d %s (%.0f s)", path.name, min(start + batch_size, len(todo)), len(todo), what,
                     time.time() - t0)
    return done


def sample_plans(planner: Any, steps: list[PlanStep], path: Path, k: int, temperature: float, top_p: float,
                 max_new_tokens: int, seed: int, batch_size: int = 4) -> dict[str, list[str]]:
    """K one-line planner outputs per step (``stop="\\n"``, as the official vLLM sampling)."""
    by_id = {s.id: s for s in steps}

    def compute(ids: list[str]) -> list[dict[str, Any]]:
        params = GenerationParams(n=k, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                  stop=("\n",), seed=seed + hash_key(ids[0]))
        outs = planner.generate([by_id[i].plan_prompt for i in ids], params)
        return [{"samples": [o.strip() for o in out]} for out in outs]

    rows = resumable_map(path, [s.id for s in steps], compute, batch_size, "plan steps sampled")
    return {k_: r["samples"] for k_, r in rows.items()}


def regenerate_actions(grounder: Any, items: list[tuple[str, str]], path: Path, temperature: float, top_p: float,
                       max_new_tokens: int, seed: int, batch_size: int = 16) -> dict[str, str]:
    """The grounder's actions for ``(key, grounder prompt)`` items (T = 0.1 in the official code)."""
    prompts = dict(items)

    def compute(keys: list[str]) -> list[dict[str, Any]]:
        params = GenerationParams(n=1, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                  stop=("\n",), seed=seed + hash_key(keys[0]))
        outs = grounder.generate([prompts[k] for k in keys], params)
        return [{"actions": (o[0] if o else "").strip()} for o in outs]

    rows = resumable_map(path, [k for k, _ in items], compute, batch_size, "groundings generated")
    return {k: r["actions"] for k, r in rows.items()}


def hash_key(key: str) -> int:
    """A small deterministic integer from a string (Python's ``hash`` is salted per process)."""
    import zlib

    return zlib.crc32(key.encode()) % 100_000
