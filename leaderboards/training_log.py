"""The "how it was trained" section of a leaderboard: for each measured row evaluated from a MOAT
training run, the per-iteration log (rewards, DPO pairs, critic acceptance, dev NLL/accuracy) and
its reward plot, read from the run folder the results name (``agent_config.train_run``).

Only the runs' own files are read: a row whose training run is not on this machine gets a one-line
note instead of a section, never numbers from elsewhere.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leaderboards.model import Leaderboard

log = logging.getLogger(__name__)

LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("iteration", "iteration"),
    ("mean_nll", "mean NLL of K samples"),
    ("chosen_nll", "chosen NLL"),
    ("rejected_nll", "rejected NLL"),
    ("pairs_kept", "pairs kept"),
    ("dpo_loss", "DPO loss"),
    ("critic_acceptance", "critic acceptance"),
    ("dev_nll_start", "dev E[NLL] start"),
    ("dev_nll_after_dpo", "after planner DPO"),
    ("dev_nll_after_sft", "after grounder SFT"),
    ("dev_accuracy", "dev accuracy"),
)
INTRO = ("Reward = the grounder's mean NLL of the gold actions given a sampled plan (lower = better). "
         "Dev = the held-out slice of the training split (never an evaluation set). Iteration 0 is the cold start.")


@dataclass
class TrainingLog:
    agent: str
    run_label: str
    folder: Path | None
    command: str | None = None
    config_hash: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    plot: Path | None = None
    problem: str | None = None
    """Why the log could not be read (the section then says so instead of showing numbers)."""


def resolve_train_run(label: str) -> Path:
    """``shipped/<method>`` -> the package's shipped export; anything else is a folder path."""
    if label.startswith("shipped/"):
        from training.trained import SHIPPED_DIR

        return SHIPPED_DIR / label.removeprefix("shipped/")
    return Path(label)


def trained_base_model(label: str) -> str | None:
    """``<base model> + <preset> LoRA|full fine-tune`` of a training run, from its manifest (``default``
    -> the default model's label); ``None`` when the run is not on this machine."""
    manifest_path = resolve_train_run(label) / "manifest.json"
    if not manifest_path.exists():
        return None
    config = json.loads(manifest_path.read_text(encoding="utf-8")).get("config", {}).get("config", {})
    base = config.get("base_model")
    if base in (None, "default"):
        from agents.models import default_label

        base = default_label()
    name = str(base).rstrip("/").split("/")[-1]
    return f"{name} + {config.get('preset', 'custom')} {'full fine-tune' if config.get('full_finetune') else 'LoRA'}"


def _train_run_of(board: Leaderboard, agent: str) -> str | None:
    labels = {r.config.agent_config.get("train_run") for r in board.runs if r.agent == agent}
    labels.discard(None)
    if len(labels) > 1:
        log.warning("%s: runs from %d different training runs; showing %s", agent, len(labels), sorted(labels)[0])
    return sorted(labels)[0] if labels else None


def read_training_log(agent: str, label: str) -> TrainingLog:
    folder = resolve_train_run(label)
    entry = TrainingLog(agent, label, folder)
    manifest_path, log_path = folder / "manifest.json", folder / "moat" / "log.jsonl"
    if not manifest_path.exists() or not log_path.exists():
        entry.problem = f"training run {label} has no manifest.json + moat/log.jsonl on this machine"
        return entry
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entry.command, entry.config_hash = manifest.get("command"), manifest.get("config_hash")
    entry.rows = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    plot = folder / "moat" / "rewards.png"
    entry.plot = plot if plot.exists() else None
    return entry


def training_logs(board: Leaderboard) -> list[TrainingLog]:
    """One entry per measured row evaluated from a MOAT run (kind ``moat`` has a per-iteration log)."""
    out = []
    for row in board.measured:
        label = _train_run_of(board, row.agent)
        if label is None:
            continue
        entry = read_training_log(row.agent, label)
        if entry.rows or row.agent == "moat":
            out.append(entry)
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def log_table(entry: TrainingLog) -> tuple[list[str], list[list[str]]]:
    header = [title for _, title in LOG_COLUMNS]
    return header, [[_fmt(r.get(key)) for key, _ in LOG_COLUMNS] for r in entry.rows]


def plot_name(md_name: str, entry: TrainingLog) -> str:
    """File name of the copied plot next to the Markdown file."""
    return f"{Path(md_name).stem}-{entry.agent}-rewards.png"
