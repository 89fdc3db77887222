"""What each leaderboard cell holds: the data model shared by the builder (:mod:`leaderboards.table`),
the header (:mod:`leaderboards.deviations`), the training logs and the renderers. No logic that
imports any of them, so none of them import each other in a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from leaderboards.collect import LeaderboardError, Run
from leaderboards.columns import Column
from leaderboards.reported import ReportedRow

FIXTURE_NOTE_PREFIX = "FIXTURE"
"""Environments start a note with this when their data are test fixtures, not the benchmark."""

class ColumnMismatchError(LeaderboardError):
    """Runs in one column differ in benchmark version, data checksum or metric."""


@dataclass
class ColumnInfo:
    column: Column
    split: str | None
    metric: str | None
    """The metric shown (results' ``main_metric`` unless overridden); ``None`` when nothing ran."""
    benchmark_version: str | None = None
    data_checksum: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Cell:
    status: Literal["measured", "not_run", "unfinished"]
    run: Run | None = None
    value: float | None = None
    """On the paper's 0-100 scale."""
    ci: tuple[float, float] | None = None
    n: int = 0
    n_original: int = 0

    @property
    def partial(self) -> bool:
        return self.status == "measured" and self.n < self.n_original

    @property
    def fixture(self) -> bool:
        """Measured on hand-written fixture data (the environment's notes say so): shown, marked,
        and never averaged with benchmark numbers."""
        res = self.run.result if self.run is not None else None
        return res is not None and any(n.startswith(FIXTURE_NOTE_PREFIX) for n in res.notes)


@dataclass
class AvgCell:
    group: str
    status: Literal["ok", "incomplete"]
    value: float | None = None
    ci: tuple[float, float] | None = None
    missing: list[str] = field(default_factory=list)
    """Titles of the columns without a finished run (why the average is incomplete)."""
    partial: bool = False
    ci_note: str | None = None


@dataclass
class MeasuredRow:
    agent: str
    base_model: str
    cells: dict[str, Cell]
    averages: dict[str, AvgCell]
    critic: str | None = None


@dataclass
class Leaderboard:
    columns: list[ColumnInfo]
    measured: list[MeasuredRow]
    reported: list[ReportedRow]
    ablations: list[ReportedRow]
    other_runs: list[Run]
    deviations: list[str]
    runs: list[Run]

    def row(self, agent: str) -> MeasuredRow:
        for r in self.measured:
            if r.agent == agent:
                return r
        raise LeaderboardError(f"no measured row {agent!r}; rows: {', '.join(r.agent for r in self.measured) or 'none'}")

    def column_info(self, key: str) -> ColumnInfo:
        return next(c for c in self.columns if c.column.key == key)
