"""Typed access to ``reported.csv``: numbers printed in the MOAT paper (Tables 2-4), never measured here.

One CSV line per printed cell (long format), so a cell's provenance (source, table, note) travels
with its value. Values are on the paper's 0-100 scale; averages are kept as printed (they are not
recomputed: a reported row must show what the paper says).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from leaderboards.columns import AVG_KEYS, COLUMN_KEYS

FIELDS = ("source", "table", "section", "method", "variant", "base_model", "column", "metric", "kind", "value", "note")


class ReportedDataError(ValueError):
    """``reported.csv`` is malformed (a typo there would silently mislabel a paper number)."""


@dataclass(frozen=True)
class ReportedCell:
    source: str
    table: int
    section: str
    method: str
    variant: str
    base_model: str
    column: str
    metric: str
    kind: str
    value: float
    note: str


@dataclass
class ReportedRow:
    """One printed row: a method (+ variant, base model) of one table."""

    table: int
    section: str
    method: str
    variant: str
    base_model: str
    source: str
    cells: dict[str, ReportedCell]

    @property
    def label(self) -> str:
        return f"{self.method} ({self.variant})" if self.variant else self.method


def _parse(row: dict[str, str], line: int) -> ReportedCell:
    if set(row) != set(FIELDS):
        raise ReportedDataError(f"reported.csv line {line}: columns {sorted(row)} != {sorted(FIELDS)}")
    try:
        table = int(row["table"])
        value = float(row["value"])
    except ValueError as exc:
        raise ReportedDataError(f"reported.csv line {line}: {exc}") from exc
    if row["column"] not in (*COLUMN_KEYS, *AVG_KEYS):
        raise ReportedDataError(f"reported.csv line {line}: unknown column {row['column']!r}")
    if row["kind"] not in ("score", "average") or (row["kind"] == "average") != (row["column"] in AVG_KEYS):
        raise ReportedDataError(f"reported.csv line {line}: kind {row['kind']!r} does not fit column {row['column']!r}")
    if not 0.0 <= value <= 100.0:
        raise ReportedDataError(f"reported.csv line {line}: value {value} outside [0, 100]")
    if row["source"] != f"MOAT paper, Table {table}":
        raise ReportedDataError(f"reported.csv line {line}: source {row['source']!r} does not name Table {table}")
    return ReportedCell(
        source=row["source"], table=table, section=row["section"], method=row["method"], variant=row["variant"],
        base_model=row["base_model"], column=row["column"], metric=row["metric"], kind=row["kind"], value=value,
        note=row["note"],
    )


def load_cells(path: Path | None = None) -> list[ReportedCell]:
    """Every reported cell; ``path`` defaults to the packaged ``reported.csv``."""
    if path is None:
        text = resources.files("leaderboards").joinpath("reported.csv").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    return [_parse(row, i) for i, row in enumerate(reader, start=2)]


@lru_cache(maxsize=1)
def _packaged_rows() -> tuple[ReportedRow, ...]:
    return tuple(group_rows(load_cells()))


def group_rows(cells: list[ReportedCell]) -> list[ReportedRow]:
    """Cells grouped into printed rows, in file order; a duplicated cell is an error."""
    rows: dict[tuple[int, str, str, str], ReportedRow] = {}
    for c in cells:
        key = (c.table, c.method, c.variant, c.base_model)
        row = rows.setdefault(key, ReportedRow(c.table, c.section, c.method, c.variant, c.base_model, c.source, {}))
        if c.column in row.cells:
            raise ReportedDataError(f"duplicate reported cell {key} / {c.column}")
        row.cells[c.column] = c
    return list(rows.values())


def reported_rows(table: int | None = None) -> list[ReportedRow]:
    """Rows of the packaged file, optionally of one table."""
    return [r for r in _packaged_rows() if table is None or r.table == table]
