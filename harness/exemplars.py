"""Few-shot exemplars as part of the environment contract (``Environment.exemplars()``).

An exemplar is one solved task in Lumos annotation terms; :class:`agents.prompts.FewShot` renders
it into whichever prompt (plan/ground, iterative/one-pass) an agent builds. It lives here, not in
``agents``, so that a plug-in environment can ship its own without importing agent code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Exemplar:
    """A solved task in Lumos annotation terms, rendered into each prompt format on demand."""

    question: str
    subgoals: tuple[str, ...]
    """Subgoal texts without the ``Subgoal k:`` prefix."""
    actions: tuple[str, ...]
    """Per subgoal, its actions joined by ``"; "`` (iterative form: numbered variables only)."""
    results: tuple[str, ...]
    """Per subgoal, the result of its last action."""
    onepass_actions: str | None = None
    """One-pass grounding target when it differs from ``"; ".join(actions)`` (e.g. ``Output = ...``)."""

    def plan_line(self) -> str:
        return "; ".join(f"Subgoal {k}: {s}" for k, s in enumerate(self.subgoals, 1))

    def __post_init__(self) -> None:
        if not self.subgoals or len(self.subgoals) != len(self.actions) or len(self.actions) != len(self.results):
            raise ValueError(
                f"exemplar {self.question[:40]!r}: subgoals, actions and results need one entry per subgoal "
                f"(got {len(self.subgoals)}, {len(self.actions)}, {len(self.results)})"
            )


def exemplar_from_dict(row: dict[str, Any]) -> Exemplar:
    """One exemplar from a JSON object with ``question``, ``subgoals``, ``actions``, ``results``
    (lists) and optionally ``onepass_actions``."""
    try:
        return Exemplar(
            question=str(row["question"]),
            subgoals=tuple(str(s) for s in row["subgoals"]),
            actions=tuple(str(a) for a in row["actions"]),
            results=tuple(str(r) for r in row["results"]),
            onepass_actions=row.get("onepass_actions"),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"an exemplar needs question, subgoals, actions and results; got keys {sorted(row)}") from exc


def read_exemplars(path: str | Path) -> list[Exemplar]:
    """Exemplars from a JSONL file (one object per line, see :func:`exemplar_from_dict`)."""
    out = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(exemplar_from_dict(json.loads(line)))
            except ValueError as exc:
                raise ValueError(f"{path}:{i}: {exc}") from exc
    return out


def env_exemplars(env: Any) -> list[Exemplar] | None:
    """``env.exemplars()``, checked: ``None`` when the env supplies none, else a list of Exemplar."""
    from harness.plugins import ContractError  # noqa: PLC0415 (keep this module dependency-free)

    method = getattr(env, "exemplars", None)
    own = method() if callable(method) else None
    if own is None:
        return None
    if not isinstance(own, (list, tuple)) or not all(isinstance(e, Exemplar) for e in own):
        raise ContractError(f"contract error: {getattr(env, 'name', env)!r}.exemplars() must return a list of "
                            f"harness.kit.Exemplar or None, got {type(own).__name__}")
    return list(own)


def digest(exemplars: list[Exemplar] | None) -> str | None:
    """Short hash of an exemplar list (recorded in a run's identity: other exemplars, other run)."""
    if exemplars is None:
        return None
    blob = json.dumps([asdict(e) for e in exemplars], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
