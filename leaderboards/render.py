"""Render a :class:`~leaderboards.table.Leaderboard` as Markdown, and the cell texts every format shares
(HTML: :mod:`leaderboards.render_html`; PNG bar chart: :mod:`leaderboards.plot`).

Links to ``results.json`` are relative to the folder the page is written to, so a committed
leaderboard keeps working in the repository. The HTML page has no external assets (inline CSS; the
chart, when given, is embedded as a data URI).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from leaderboards.columns import GROUPS, STRATEGYQA_OVERLAP_NOTE
from leaderboards.compare import Comparison
from leaderboards.plot import render_png
from leaderboards.table import EXTRA_GROUP, AvgCell, Cell, ColumnInfo, Leaderboard, MeasuredRow
from leaderboards.reported import ReportedRow
from leaderboards.training_log import INTRO as TRAINING_INTRO
from leaderboards.training_log import TrainingLog, log_table

INTRO = (
    "Values are percentages (EM, Step SR, WebShop average reward x 100). A measured cell shows the mean "
    "and its 95% bootstrap CI and links to the run's `results.json`; an average is the unweighted mean of "
    "its group's three cells with a stratified bootstrap CI, and is *incomplete* when any of them is "
    "missing (never averaged over fewer cells). Rows marked **[reported]** are copied from the MOAT paper "
    "(`leaderboards/reported.csv`) and were not measured here."
)
OVERLAP_MARK = "†"
FIXTURE_MARK = "‡"
FIXTURE_FOOTNOTE = ("measured on the repository's hand-written fixture data (tests/fixtures), not on the benchmark: "
                    "it shows the pipeline runs end to end, it is not a benchmark number and no average includes it.")
NO_ROWS = "no runs on the Table 2 benchmarks; see Extra benchmarks, Other runs and Runs below"


def fmt(v: float | None) -> str:
    return "n/a" if v is None or v != v else f"{v:.1f}"


def fmt_ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"({fmt(ci[0])}–{fmt(ci[1])})"


def rel_link(path: Path, base: Path | None) -> str:
    if base is None:
        return str(path)
    return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()


def cell_text(cell: Cell) -> str:
    if cell.status == "not_run":
        return "not run"
    if cell.status == "unfinished":
        return f"unfinished ({cell.n} samples, no results.json)"
    text = f"{fmt(cell.value)} {fmt_ci(cell.ci)}"
    text += f" partial {cell.n}/{cell.n_original}" if cell.partial else ""
    return text + (f" {FIXTURE_MARK}fixture" if cell.fixture else "")


def avg_text(avg: AvgCell) -> str:
    if avg.status == "incomplete":
        return "incomplete"
    text = f"{fmt(avg.value)} {fmt_ci(avg.ci) if avg.ci else '(CI n/a)'}"
    return text + (" partial" if avg.partial else "")


def _md_cell(cell: Cell, base: Path | None) -> str:
    if cell.status == "measured" and cell.run is not None:
        return f"[{cell_text(cell)}]({rel_link(cell.run.results_path, base)})"
    return f"*{cell_text(cell)}*"


def _md_avg(avg: AvgCell) -> str:
    if avg.status == "incomplete":
        return f"*incomplete* (no {', '.join(avg.missing)})"
    return f"**{avg_text(avg)}**"


def column_title(info: ColumnInfo) -> str:
    """Title with the split when it matters: StrategyQA's paper split overlaps its public train set;
    a benchmark outside the paper is named ``benchmark-split`` as in the Runs table."""
    if info.column.group == EXTRA_GROUP:
        return f"{info.column.title}-{info.split}" if info.split else info.column.title
    if info.column.key == "strategyqa" and info.split:
        return f"{info.column.title} ({info.split}{OVERLAP_MARK if info.split == 'lumos' else ''})"
    return info.column.title


def table2_rows(board: Leaderboard) -> list[MeasuredRow]:
    """Measured rows with at least one run in a Table 2 column (a row that only ran extra
    benchmarks is shown in the extra table alone, not as six "not run" cells)."""
    paper = [c.column.key for c in board.columns if c.column.group in GROUPS]
    return [r for r in board.measured if any(r.cells[k].status != "not_run" for k in paper)]


def extra_infos(board: Leaderboard) -> list[ColumnInfo]:
    return [c for c in board.columns if c.column.group == EXTRA_GROUP]


def extra_rows(board: Leaderboard) -> list[MeasuredRow]:
    keys = [c.column.key for c in extra_infos(board)]
    return [r for r in board.measured if any(r.cells[k].status != "not_run" for k in keys)]


def extra_descriptions(board: Leaderboard) -> list[str]:
    """One line per extra column: what it measures and where the code came from, then its notes."""
    out = []
    for info in extra_infos(board):
        runs = [r for r in board.runs if r.benchmark == info.column.key and r.split == info.split and r.result]
        pkg = next((r.result.packages.get("benchmark") for r in runs if r.result.packages.get("benchmark")), None)
        source = (f"package {pkg['distribution']} {pkg.get('version') or ''}".rstrip()
                  if pkg and pkg.get("distribution") else "package not recorded")
        out.append(f"{column_title(info)}: metric {info.metric or '-'}, version {info.benchmark_version or '-'}, "
                   f"data checksum {(info.data_checksum or '-')[:16]}, {source}")
        out += [f"{column_title(info)}: {note}" for note in info.notes]
    return out


EXTRA_INTRO = ("Benchmarks outside the paper's Table 2 (plug-ins and other environments), one column each: the "
               "mean x 100 of the column's metric with its 95% bootstrap CI. They are never part of the held-in/"
               "held-out averages.")


def header_lines(board: Leaderboard) -> list[str]:
    cols = ["Method", "Base model"]
    for g in GROUPS:
        cols += [column_title(c) for c in board.columns if c.column.group == g] + ["Avg."]
    return cols


def footnotes(board: Leaderboard) -> list[str]:
    notes = []
    if any(c.column.key == "strategyqa" and c.split == "lumos" for c in board.columns):
        notes.append(f"{OVERLAP_MARK} {STRATEGYQA_OVERLAP_NOTE}")
    if any(c.fixture for r in board.measured for c in r.cells.values()):
        notes.append(f"{FIXTURE_MARK} {FIXTURE_FOOTNOTE}")
    return notes


def reported_values(row: ReportedRow, board: Leaderboard) -> list[str]:
    out = []
    for g in GROUPS:
        out += [fmt(row.cells[c.column.key].value) if c.column.key in row.cells else "-" for c in board.columns
                if c.column.group == g]
        avg = row.cells.get(f"{g}_avg")
        out.append(fmt(avg.value) if avg else "-")
    return out


def _measured_values(row: MeasuredRow, board: Leaderboard, base: Path | None, md: bool) -> list[str]:
    out = []
    for g in GROUPS:
        for c in board.columns:
            if c.column.group == g:
                out.append(_md_cell(row.cells[c.column.key], base) if md else cell_text(row.cells[c.column.key]))
        out.append(_md_avg(row.averages[g]) if md else avg_text(row.averages[g]))
    return out


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    esc = [[c.replace("|", "\\|") for c in r] for r in rows]
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)] + ["| " + " | ".join(r) + " |" for r in esc]


def comparison_rows(cmp: Comparison) -> list[list[str]]:
    rows = []
    for r in cmp.cells + cmp.averages:
        if r.reason:
            rows.append([r.label, "-", "-", "-", f"not compared: {r.reason}", "-"])
            continue
        mc = "-" if r.mcnemar is None else f"{r.mcnemar[0]} / {r.mcnemar[1]}, p = {r.mcnemar[2]:.4g}"
        rows.append([r.label, str(r.n_shared), fmt(r.mean_a), fmt(r.mean_b), f"{r.delta:+.1f} {fmt_ci(r.ci)}", mc])
    return rows


def comparison_header(cmp: Comparison) -> list[str]:
    return ["Column", "shared ids", cmp.a, cmp.b, f"{cmp.a} − {cmp.b} (95% paired bootstrap CI)",
            f"McNemar exact ({cmp.a} only / {cmp.b} only, p)"]


def columns_rows(board: Leaderboard) -> list[list[str]]:
    return [[column_title(c) if c.column.group == EXTRA_GROUP else c.column.title, c.column.key, c.split or "-",
             c.metric or "-", c.benchmark_version or "-", (c.data_checksum or "-")[:16],
             f"{c.column.paper_n} ({c.column.paper_split_note})" if c.column.paper_n else "- (not in the paper)"]
            for c in board.columns]


def run_rows(board: Leaderboard, base: Path | None, md: bool) -> list[list[str]]:
    rows = []
    for r in sorted(board.runs, key=lambda r: (r.agent, r.benchmark, r.split)):
        res = r.result
        link = rel_link(r.results_path, base)
        rows.append([
            r.agent, f"{r.benchmark}-{r.split}",
            f"{res.n}/{res.n_original}" if res else f"{len(r.samples())} (unfinished)",
            ", ".join(f"{k}={v}" for k, v in res.status_counts.items() if v) if res else "-",
            r.config_hash or "-", (res.versions.get("harness_git", "-")[:12] if res else "-"),
            (f"[results.json]({link})" if md else link) if res else "-",
        ])
    return rows


def other_rows(board: Leaderboard, base: Path | None, md: bool) -> list[list[str]]:
    rows = []
    for r in board.other_runs:
        if r.result is None:
            rows.append([r.agent, f"{r.benchmark}-{r.split}", "-", f"unfinished ({len(r.samples())} samples)", "-"])
            continue
        m = r.result.main_metric
        lo, hi = r.result.ci95.get(m, (float("nan"), float("nan")))
        text = f"{fmt(100 * r.result.metrics[m])} {fmt_ci((100 * lo, 100 * hi))}"
        link = rel_link(r.results_path, base)
        rows.append([r.agent, f"{r.benchmark}-{r.split}", m, f"[{text}]({link})" if md else text,
                     f"{r.result.n}/{r.result.n_original}"])
    return rows


def ablation_rows(board: Leaderboard) -> list[list[str]]:
    return [[f"Table {r.table}", r.method, r.variant, r.base_model or "not stated",
             fmt(r.cells["mind2web"].value), fmt(r.cells["webshop"].value),
             "; ".join(dict.fromkeys(c.note for c in r.cells.values() if c.note))] for r in board.ablations]


def render_markdown(board: Leaderboard, title: str, base: Path | None = None, comparison: Comparison | None = None,
                    png_name: str | None = None, sources: list[str] | None = None,
                    training: list[TrainingLog] | None = None, plot_names: dict[str, str] | None = None,
                    preface: str | None = None) -> str:
    """The leaderboard as GitHub-flavoured Markdown; links relative to ``base``; ``plot_names``:
    file names (next to the Markdown) of the training logs' plots, by agent; ``preface``: the
    experimenter's own Markdown (what was run and what it shows), placed under the title."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# {title}", "", f"Generated by `harness leaderboard` on {now}"
             + (f" from {', '.join(f'`{s}`' for s in sources)}." if sources else "."), ""]
    if preface:
        lines += [preface.strip(), ""]
    lines += [INTRO, ""]
    lines += ["## Deviations from the paper", ""]
    lines += [f"- {d}" for d in board.deviations] or ["- none listed (no measured rows in the Table 2 columns)"]
    header = header_lines(board)
    rows: list[list[str]] = [["", ""] + [f"**{GROUPS[g]} tasks**" if i == 0 else "" for g in GROUPS for i in range(4)]]
    rows.append(["**Measured in this harness**"] + [""] * (len(header) - 1))
    rows += [[f"**{r.agent}**", r.base_model] + _measured_values(r, board, base, md=True) for r in table2_rows(board)]
    if not table2_rows(board):
        rows.append([f"*({NO_ROWS})*"] + [""] * (len(header) - 1))
    section = None
    if board.reported:
        rows.append(["**Reported in the MOAT paper (Table 2), not measured here**"] + [""] * (len(header) - 1))
    for r in board.reported:
        if r.section != section:
            section = r.section
            rows.append([f"*{section}*"] + [""] * (len(header) - 1))
        rows.append([f"{r.label} **[reported]**", r.base_model] + [f"*{v}*" for v in reported_values(r, board)])
    lines += ["", "## Table 2 layout", ""] + _md_table(header, rows)
    lines += [""] + [f"{n}  " for n in footnotes(board)] if footnotes(board) else []
    if extra_infos(board):
        lines += ["", "## Extra benchmarks (not in the paper)", "", EXTRA_INTRO, ""]
        extra_header = ["Method", "Base model"] + [column_title(c) for c in extra_infos(board)]
        lines += _md_table(extra_header, [[f"**{r.agent}**", r.base_model] + [
            _md_cell(r.cells[c.column.key], base) for c in extra_infos(board)] for r in extra_rows(board)])
        lines += [""] + [f"- {d}" for d in extra_descriptions(board)]
    if png_name:
        lines += ["", f"![held-in and held-out averages]({png_name})"]
    if comparison is not None:
        lines += ["", f"## Paired comparison: {comparison.a} vs {comparison.b}", "",
                  "Differences on the sample ids both runs share, in points; averages use a stratified paired "
                  "bootstrap over the group's benchmarks.", ""]
        lines += _md_table(comparison_header(comparison), comparison_rows(comparison))
    for entry in training or []:
        lines += ["", f"## How {entry.agent} was trained: per-iteration log", ""]
        if entry.problem:
            lines.append(f"*{entry.problem}*")
            continue
        lines += [f"Training run `{entry.run_label}` (config hash `{entry.config_hash}`), made by `{entry.command}`. "
                  + TRAINING_INTRO, ""]
        lines += _md_table(*log_table(entry))
        if plot_names and entry.agent in plot_names:
            lines += ["", f"![{entry.agent} per-iteration rewards]({plot_names[entry.agent]})"]
    lines += ["", "## Columns", ""]
    lines += _md_table(["Column", "benchmark", "split", "metric", "version", "data checksum", "paper N (subset)"],
                       columns_rows(board))
    if board.other_runs:
        lines += ["", "## Other runs (benchmarks or splits outside the Table 2 columns)", ""]
        lines += _md_table(["Agent", "benchmark-split", "metric", "value (95% CI)", "n/N"], other_rows(board, base, True))
    if board.ablations:
        lines += ["", "## Reported ablations (MOAT paper, Tables 3 and 4; not measured here)", ""]
        lines += _md_table(["Source", "Method", "Variant", "Base model", "Mind2Web", "WebShop", "Note"],
                           ablation_rows(board))
    if board.runs:
        lines += ["", "## Runs", ""]
        lines += _md_table(["Agent", "benchmark-split", "n/N", "status", "config hash", "harness", "results"],
                           run_rows(board, base, md=True))
    return "\n".join(lines) + "\n"


def comparison_text(cmp: Comparison) -> str:
    """Plain-text comparison for the terminal."""
    rows = comparison_rows(cmp)
    header = comparison_header(cmp)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    return "\n".join([line] + ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows])


__all__ = ["render_markdown", "render_png", "comparison_text"]
