"""The leaderboard header: how the measured rows differ from the paper's protocol.

Everything here is read from the runs themselves (config.json agent configs, results.json n/notes,
versions), so the header cannot drift from what was actually run.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from leaderboards.agentinfo import find_key
from leaderboards.columns import GROUPS, PAPER_BASE_MODELS, PAPER_CRITIC, STRATEGYQA_OVERLAP_NOTE

if TYPE_CHECKING:
    from leaderboards.model import Leaderboard


def _agents(names: list[str]) -> str:
    return ", ".join(sorted(set(names)))


def _paper_model(name: str) -> bool:
    low = name.lower()
    return any(p.lower().split("-instruct")[0] in low for p in PAPER_BASE_MODELS)


def deviations(board: Leaderboard) -> list[str]:
    """Human-readable deviations, most important first; empty when nothing was measured."""
    out: list[str] = []
    if not board.measured:
        return out
    out.append(
        "Measured rows come from this harness with offline tool substitutes (sympy instead of "
        "Wolfram|Alpha, local retrieval and a local QA model instead of Wikipedia/Google/gpt-3.5, a local "
        "ranker and WebShop server; SPEC b.2). They are not directly comparable with the reported rows."
    )
    models: dict[str, list[str]] = defaultdict(list)
    critics: dict[str, list[str]] = defaultdict(list)
    for row in board.measured:
        for part in row.base_model.removeprefix("varies: ").split(", "):
            models[part].append(row.agent)
        if row.critic:
            critics[row.critic].append(row.agent)
    for model, agents in sorted(models.items()):
        if model == "-":
            out.append(f"No model (scripted agent): {_agents(agents)}.")
        elif not _paper_model(model):
            out.append(f"Base model {model} ({_agents(agents)}); the paper uses Llama-2-7B and Mistral-7B-Instruct-v0.2.")
    for critic, agents in sorted(critics.items()):
        if PAPER_CRITIC.lower() not in critic.lower():
            out.append(f"Critic {critic} ({_agents(agents)}); the paper's default critic is {PAPER_CRITIC}.")

    for info in board.columns:
        col = info.column
        if col.group not in GROUPS:  # a benchmark outside the paper: its notes go with its own table
            continue
        if col.key == "strategyqa" and info.split == "lumos":
            out.append(STRATEGYQA_OVERLAP_NOTE)
        elif col.key == "strategyqa" and info.split:
            out.append(f"StrategyQA column uses split {info.split!r}, not the paper's 'lumos' subset.")
        elif col.default_split and info.split and info.split != col.default_split:
            out.append(f"{col.title} column uses split {info.split!r} (paper: {col.default_split!r}).")
        sizes: dict[int, list[str]] = defaultdict(list)
        for row in board.measured:
            cell = row.cells[col.key]
            if cell.status == "measured" and col.paper_n and cell.n_original != col.paper_n:
                sizes[cell.n_original].append(row.agent)
            if cell.partial:
                out.append(f"{col.title}, {row.agent}: only {cell.n} of {cell.n_original} samples finished (partial run).")
            if cell.status == "unfinished":
                out.append(f"{col.title}, {row.agent}: run unfinished (no results.json, {cell.n} samples on disk); shown as missing.")
        for n, agents in sorted(sizes.items()):
            out.append(f"{col.title}: {n} tasks (paper: {col.paper_n}, {col.paper_split_note}) for {_agents(agents)}.")
        for note in info.notes:
            out.append(f"{col.title}: {note}")

    for run in board.runs:
        extra = find_key(run.config.agent_config, ("deviations",))
        for item in extra if isinstance(extra, list) else [extra] if extra else []:
            line = f"{run.agent}: {item}"
            if line not in out:
                out.append(line)
    by_commit: dict[str, list[str]] = {}
    dirty_paths: dict[str, set[str]] = {}
    mixed: list[str] = []
    for r in board.runs:
        if r.result:
            commit = r.result.versions.get("harness_git", "unknown")
            by_commit.setdefault(commit, []).append(f"{r.agent}/{r.benchmark}-{r.split}")
            if r.result.versions.get("harness_dirty_paths"):
                dirty_paths.setdefault(commit, set()).add(r.result.versions["harness_dirty_paths"])
            if len(r.result.sample_commits) > 1:
                parts = ", ".join(f"{c.removesuffix('-dirty')[:12]}{'-dirty' if c.endswith('-dirty') else ''} ({n})"
                                  for c, n in sorted(r.result.sample_commits.items()))
                mixed.append(f"{r.agent}/{r.benchmark}-{r.split}: samples from several harness commits: {parts}.")
    commits = sorted(by_commit)
    shas = sorted({c.removesuffix("-dirty")[:12] for c in commits})
    if len(shas) > 1:
        out.append(f"Runs come from {len(shas)} harness commits: {', '.join(shas)}.")
    out.extend(mixed)
    for c in commits:
        if c.endswith("-dirty"):
            changed = f"; changed: {' | '.join(sorted(dirty_paths[c]))}" if c in dirty_paths else ""
            out.append(f"Made from a checkout of {c[:12]} with uncommitted changes (-dirty): "
                       f"{', '.join(sorted(by_commit[c]))}{changed}.")
    return list(dict.fromkeys(out))
