"""Agent Lumos' released planning/grounding SFT sets as a training source (the paper's initial tuning).

The annotations are the Hugging Face datasets ``ai2lumos/lumos_{domain}_{plan,ground}_{iterative,onetime}``
(SPEC a.2, ``shared/benchmarks/lumos/README.md``); every record is ``{"dataset", "id", "messages":
[{"role", "content"}, ...]}``, already in the Lumos chat formats (SPEC a.3/a.4), so records are used as they
are: :func:`training.formats.serialize_messages` turns them into Lumos' training text.

Where they are read from, first match wins:

1. ``<dir>/<name>/`` (any ``*.jsonl``, ``*.json`` or ``*.parquet`` below it, sorted: the layout
   ``harness data download lumos-sft`` writes, a copy of the dataset repository with its
   ``data/train-*.parquet``) or ``<dir>/<name>.{jsonl,json,parquet}``; ``<dir>`` defaults to
   ``<data dir>/lumos/train``;
2. with ``online: true``, ``datasets.load_dataset("ai2lumos/<name>", split="train")``.

Split hygiene: the question of each record (the ``Task: ...`` text of its first user turn) is checked
against every evaluation set (:func:`training.datasets.eval_questions`); leaked records are dropped and
counted per dataset, as are malformed ones.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from training.datasets import eval_leak

log = logging.getLogger(__name__)

HUB_ORG = "ai2lumos"
DOMAINS = ("maths", "complex_qa", "web_agent", "unified")
SUFFIXES = (".jsonl", ".json", ".parquet")
_TAG = {"one-pass": "onetime", "iterative": "iterative"}


class LumosSFTSettings(BaseModel):
    use: str = "off"
    """``off`` | ``auto`` (use the sets when found, else warn and fall back to train-split golds) |
    ``required`` (refuse to train without them)."""
    domains: list[str] = Field(default_factory=lambda: ["maths", "complex_qa", "web_agent"])
    datasets: list[str] | None = None
    """Explicit dataset names (default: every domain x role x the run's formulations)."""
    dir: str | None = None
    """Folder holding the sets (default ``<data dir>/lumos/train``)."""
    online: bool = False
    """Fall back to ``datasets.load_dataset`` from the hub for sets not found locally."""
    revision: str | None = None
    limit: int | None = None
    """First N records of each set (tests, smoke runs)."""


def dataset_names(domains: list[str], formulations: list[str]) -> list[str]:
    """``lumos_{domain}_{role}_{tag}`` for every domain, role and formulation."""
    bad = [d for d in domains if d not in DOMAINS]
    if bad:
        raise ValueError(f"unknown Lumos domain(s) {bad}; choose from {', '.join(DOMAINS)}")
    return [f"lumos_{d}_{role}_{_TAG[f]}" for d in domains for role in ("plan", "ground") for f in formulations]


def role_of(name: str) -> str:
    if "_plan_" in name:
        return "plan"
    if "_ground_" in name:
        return "ground"
    raise ValueError(f"cannot tell whether Lumos set {name!r} is planning or grounding data")


def default_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "lumos" / "train"


def local_files(root: Path, name: str) -> list[Path]:
    """The files of set ``name`` under ``root`` (a folder of the set's files, or one file)."""
    folder = root / name
    if folder.is_dir():
        return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                      and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    return [p for s in SUFFIXES if (p := root / f"{name}{s}").is_file()][:1]


def read_file(path: Path) -> list[dict[str, Any]]:
    """Records of one published file (JSON lines, a JSON array, or parquet)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json" and text.lstrip().startswith("["):
        return list(json.loads(text))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def clean_record(rec: Any) -> dict[str, Any] | None:
    """The record's ``{"dataset", "id", "messages"}``, or ``None`` when it is not in the published format
    (messages must alternate user/assistant, start with the user and end with the assistant)."""
    if not isinstance(rec, dict) or not isinstance(rec.get("messages"), list) or not rec["messages"]:
        return None
    msgs = []
    for i, m in enumerate(rec["messages"]):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            return None
        if m.get("role") != ("user" if i % 2 == 0 else "assistant"):
            return None
        msgs.append({"role": m["role"], "content": m["content"]})
    if msgs[-1]["role"] != "assistant":
        return None
    return {"dataset": str(rec.get("dataset", "")), "id": str(rec.get("id", "")), "messages": msgs}


def record_question(rec: dict[str, Any]) -> str | None:
    """The task text of a record's first user turn (plan: ``Task: q; Initial Environment Description``;
    ground: ``Task: q \\nSubgoal(s) to be grounded``)."""
    first = rec["messages"][0]["content"]
    if "Task: " not in first:
        return None
    rest = first.split("\nTask: ", 1)[1] if "\nTask: " in first else first.split("Task: ", 1)[1]
    for end in ("; Initial Environment Description:", " \nSubgoals to be grounded:", " \nSubgoal to be grounded:"):
        if end in rest:
            return rest.split(end, 1)[0].strip()
    return rest.strip()


def _load_online(name: str, revision: str | None) -> list[dict[str, Any]]:
    import datasets

    ds = datasets.load_dataset(f"{HUB_ORG}/{name}", split="train", revision=revision)
    return [dict(r) for r in ds]


def load_sets(settings: LumosSFTSettings, data_dir: Path, formulations: list[str],
              evals: dict[str, set[str]]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """``({"plan": records, "ground": records}, per-set stats)``; absent sets have ``found: False``."""
    names = settings.datasets or dataset_names(settings.domains, formulations)
    root = Path(settings.dir).expanduser() if settings.dir else default_dir(data_dir)
    out: dict[str, list[dict[str, Any]]] = {"plan": [], "ground": []}
    stats: dict[str, dict[str, Any]] = {}
    for name in names:
        role = role_of(name)
        files = local_files(root, name)
        st: dict[str, Any] = {"found": bool(files), "role": role}
        if files:
            raw = [r for p in files for r in read_file(p)]
            st["from"] = [str(p) for p in files]
        elif settings.online:
            raw = _load_online(name, settings.revision)
            st.update(found=True, **{"from": f"hub:{HUB_ORG}/{name}"})
        else:
            stats[name] = st
            continue
        if settings.limit is not None:
            raw = raw[: settings.limit]
        kept, malformed, leaked = [], 0, {}
        for rec in raw:
            clean = clean_record(rec)
            if clean is None:
                malformed += 1
                continue
            q = record_question(clean)
            leak = eval_leak(q, evals) if q else None
            if leak is not None:
                leaked[leak] = leaked.get(leak, 0) + 1
                continue
            clean["dataset"] = clean["dataset"] or name
            kept.append(clean)
        st.update(records=len(raw), kept=len(kept), dropped_malformed=malformed,
                  dropped_in_evaluation_set=leaked)
        if leaked or malformed:
            log.warning("Lumos set %s: dropped %d record(s) in evaluation sets %s and %d malformed", name,
                        sum(leaked.values()), leaked, malformed)
        out[role] += kept
        stats[name] = st
    return out, stats


def download(names: list[str], target: Path, revision: str | None = None) -> list[Path]:
    """Copy each dataset repository's files (as published) into ``target/<name>/``."""
    from huggingface_hub import snapshot_download

    paths = []
    for name in names:
        dest = target / name
        snapshot_download(repo_id=f"{HUB_ORG}/{name}", repo_type="dataset", local_dir=str(dest), revision=revision,
                          allow_patterns=["*.parquet", "*.jsonl", "*.json", "README.md"])
        paths.append(dest)
    return paths


def data_command(action: str, data_dir: str | None, revision: str | None = None) -> int:
    """``harness data list|verify|download lumos-sft``: the twelve maths / complex-QA / web sets of both
    formulations (what the ``paper`` preset reads) under ``<data dir>/lumos/train``."""
    from rich.console import Console
    from rich.table import Table

    from harness.data import resolve_data_dir

    root = default_dir(resolve_data_dir(data_dir))
    names = dataset_names(["maths", "complex_qa", "web_agent"], ["one-pass", "iterative"])
    out = Console()
    if action == "download":
        for name in names:
            if not local_files(root, name):
                out.print(f"downloading hub:{HUB_ORG}/{name} -> {root / name}")
                try:
                    download([name], root, revision)
                except Exception as exc:  # hub/network errors of many types: one line, not a traceback
                    from harness.errors import ConfigError

                    raise ConfigError(f"cannot download {HUB_ORG}/{name} from the Hugging Face hub "
                                      f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc
    t = Table(title="Agent Lumos SFT sets")
    for col in ("set", "files", "status", "source"):
        t.add_column(col, overflow="fold")
    missing = 0
    for name in names:
        files = local_files(root, name)
        missing += not files
        t.add_row(name, str(len(files)), "ok" if files else "missing", f"https://huggingface.co/datasets/{HUB_ORG}/{name}")
    out.print(f"data dir: {root}")
    out.print(t)
    return 1 if missing and action != "list" else 0
