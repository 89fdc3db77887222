"""Render a :class:`~leaderboards.table.Leaderboard`: Markdown, self-contained HTML, PNG bar chart.

Links to ``results.json`` are relative to the folder the page is written to, so a committed
leaderboard keeps working in the repository. The HTML page has no external assets (inline CSS; the
chart, when given, is embedded as a data URI).
"""

from __future__ import annotations

import base64
import html
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


def _header(board: Leaderboard) -> list[str]:
    cols = ["Method", "Base model"]
    for g in GROUPS:
        cols += [column_title(c) for c in board.columns if c.column.group == g] + ["Avg."]
    return cols


def _footnotes(board: Leaderboard) -> list[str]:
    notes = []
    if any(c.column.key == "strategyqa" and c.split == "lumos" for c in board.columns):
        notes.append(f"{OVERLAP_MARK} {STRATEGYQA_OVERLAP_NOTE}")
    if any(c.fixture for r in board.measured for c in r.cells.values()):
        notes.append(f"{FIXTURE_MARK} {FIXTURE_FOOTNOTE}")
    return notes


def _reported_values(row: ReportedRow, board: Leaderboard) -> list[str]:
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


def _comparison_rows(cmp: Comparison) -> list[list[str]]:
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


def _columns_rows(board: Leaderboard) -> list[list[str]]:
    return [[column_title(c) if c.column.group == EXTRA_GROUP else c.column.title, c.column.key, c.split or "-",
             c.metric or "-", c.benchmark_version or "-", (c.data_checksum or "-")[:16],
             f"{c.column.paper_n} ({c.column.paper_split_note})" if c.column.paper_n else "- (not in the paper)"]
            for c in board.columns]


def _run_rows(board: Leaderboard, base: Path | None, md: bool) -> list[list[str]]:
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


def _other_rows(board: Leaderboard, base: Path | None, md: bool) -> list[list[str]]:
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


def _ablation_rows(board: Leaderboard) -> list[list[str]]:
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
    header = _header(board)
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
        rows.append([f"{r.label} **[reported]**", r.base_model] + [f"*{v}*" for v in _reported_values(r, board)])
    lines += ["", "## Table 2 layout", ""] + _md_table(header, rows)
    lines += [""] + [f"{n}  " for n in _footnotes(board)] if _footnotes(board) else []
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
        lines += _md_table(comparison_header(comparison), _comparison_rows(comparison))
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
                       _columns_rows(board))
    if board.other_runs:
        lines += ["", "## Other runs (benchmarks or splits outside the Table 2 columns)", ""]
        lines += _md_table(["Agent", "benchmark-split", "metric", "value (95% CI)", "n/N"], _other_rows(board, base, True))
    if board.ablations:
        lines += ["", "## Reported ablations (MOAT paper, Tables 3 and 4; not measured here)", ""]
        lines += _md_table(["Source", "Method", "Variant", "Base model", "Mind2Web", "WebShop", "Note"],
                           _ablation_rows(board))
    if board.runs:
        lines += ["", "## Runs", ""]
        lines += _md_table(["Agent", "benchmark-split", "n/N", "status", "config hash", "harness", "results"],
                           _run_rows(board, base, md=True))
    return "\n".join(lines) + "\n"


# -- HTML ---------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#1b1f24;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #c9d1d9;padding:4px 8px;text-align:center;vertical-align:middle}
td:first-child,td:nth-child(2){text-align:left}
th{background:#eef1f4}
tr.section td{background:#f6f8fa;font-weight:600;text-align:left}
tr.reported td{background:#fff8e6;color:#5c4b1f;font-style:italic}
.badge{display:inline-block;font-style:normal;font-size:11px;padding:1px 6px;border-radius:8px;background:#d4a72c;color:#fff;margin-left:6px}
.missing{color:#9a6700;font-style:italic}
.avg{font-weight:600;background:#f3f6fa}
.ci{color:#57606a;font-size:11px}
.partial{color:#cf222e;font-size:11px}
ul.dev li{margin:3px 0}
img{max-width:100%;border:1px solid #d0d7de}
"""


def _h(text: object) -> str:
    return html.escape(str(text))


def _html_cell(cell: Cell, base: Path | None) -> str:
    if cell.status != "measured" or cell.run is None:
        return f'<td class="missing">{_h(cell_text(cell))}</td>'
    part = f' <span class="partial">partial {cell.n}/{cell.n_original}</span>' if cell.partial else ""
    part += f' <span class="partial">{FIXTURE_MARK}fixture</span>' if cell.fixture else ""
    href = _h(rel_link(cell.run.results_path, base))
    return (f'<td><a href="{href}">{fmt(cell.value)}</a><br><span class="ci">{_h(fmt_ci(cell.ci))}</span>'
            f"{part}</td>")


def _html_avg(avg: AvgCell) -> str:
    if avg.status == "incomplete":
        return f'<td class="avg missing" title="no {_h(", ".join(avg.missing))}">incomplete</td>'
    ci = f'<br><span class="ci">{_h(fmt_ci(avg.ci))}</span>' if avg.ci else ""
    note = f'<br><span class="ci">{_h(avg.ci_note)}</span>' if avg.ci_note else ""
    part = ' <span class="partial">partial</span>' if avg.partial else ""
    return f'<td class="avg">{fmt(avg.value)}{ci}{note}{part}</td>'


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_h(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(board: Leaderboard, title: str, base: Path | None = None, comparison: Comparison | None = None,
                png: bytes | None = None, sources: list[str] | None = None,
                training: list[TrainingLog] | None = None, preface: str | None = None) -> str:
    """A single self-contained HTML page (inline CSS; the chart inlined as a data URI); ``preface``
    is shown as escaped text paragraphs."""
    ncols = len(_header(board))
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_h(title)}</title>",
             f"<style>{CSS}</style></head><body><h1>{_h(title)}</h1>"]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    src = f" from {_h(', '.join(sources))}" if sources else ""
    parts.append(f"<p>Generated by <code>harness leaderboard</code> on {now}{src}.</p>")
    if preface:
        parts += [f'<p class="preface">{_h(par.strip())}</p>' for par in preface.strip().split("\n\n")]
    intro = _h(INTRO).replace("**[reported]**", "<span class=badge>reported</span>").replace("`", "")
    parts.append(f"<p>{intro.replace('*incomplete*', '<em>incomplete</em>')}</p>")
    parts.append("<h2>Deviations from the paper</h2><ul class=\"dev\">")
    parts += [f"<li>{_h(d)}</li>" for d in board.deviations] or ["<li>none listed (no measured rows in the Table 2 columns)</li>"]
    parts.append("</ul><h2>Table 2 layout</h2><table><thead><tr><th rowspan=2>Method</th><th rowspan=2>Base model</th>")
    for g in GROUPS:
        parts.append(f"<th colspan=4>{GROUPS[g]} tasks</th>")
    parts.append("</tr><tr>")
    for g in GROUPS:
        parts += [f"<th>{_h(column_title(c))}<br><span class=ci>{_h(c.split or 'no runs')}</span></th>"
                  for c in board.columns if c.column.group == g] + ["<th>Avg.</th>"]
    parts.append(f'</tr></thead><tbody><tr class="section"><td colspan={ncols}>Measured in this harness</td></tr>')
    for r in table2_rows(board):
        tds = []
        for g in GROUPS:
            tds += [_html_cell(r.cells[c.column.key], base) for c in board.columns if c.column.group == g]
            tds.append(_html_avg(r.averages[g]))
        parts.append(f"<tr><td><b>{_h(r.agent)}</b></td><td>{_h(r.base_model)}</td>{''.join(tds)}</tr>")
    if not table2_rows(board):
        parts.append(f'<tr><td colspan={ncols} class="missing">{NO_ROWS}</td></tr>')
    if board.reported:
        parts.append(f'<tr class="section"><td colspan={ncols}>Reported in the MOAT paper (Table 2), not measured here</td></tr>')
    section = None
    for r in board.reported:
        if r.section != section:
            section = r.section
            parts.append(f'<tr class="section"><td colspan={ncols}>{_h(section)}</td></tr>')
        vals = "".join(f"<td>{_h(v)}</td>" for v in _reported_values(r, board))
        parts.append(f'<tr class="reported"><td>{_h(r.label)}<span class="badge">reported</span></td>'
                     f"<td>{_h(r.base_model)}</td>{vals}</tr>")
    parts.append("</tbody></table>")
    parts += [f"<p class=ci>{_h(n)}</p>" for n in _footnotes(board)]
    if extra_infos(board):
        parts.append(f"<h2>Extra benchmarks (not in the paper)</h2><p>{_h(EXTRA_INTRO)}</p><table><thead><tr>"
                     "<th>Method</th><th>Base model</th>"
                     + "".join(f"<th>{_h(column_title(c))}</th>" for c in extra_infos(board)) + "</tr></thead><tbody>")
        for r in extra_rows(board):
            tds = "".join(_html_cell(r.cells[c.column.key], base) for c in extra_infos(board))
            parts.append(f"<tr><td><b>{_h(r.agent)}</b></td><td>{_h(r.base_model)}</td>{tds}</tr>")
        parts.append("</tbody></table><ul class=\"dev\">" + "".join(f"<li>{_h(d)}</li>" for d in extra_descriptions(board))
                     + "</ul>")
    if png:
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<p><img alt="held-in and held-out averages" src="data:image/png;base64,{data}"></p>')
    if comparison is not None:
        parts.append(f"<h2>Paired comparison: {_h(comparison.a)} vs {_h(comparison.b)}</h2>")
        parts.append(_html_table(comparison_header(comparison), _comparison_rows(comparison)))
    for entry in training or []:
        parts.append(f"<h2>How {_h(entry.agent)} was trained: per-iteration log</h2>")
        if entry.problem:
            parts.append(f'<p class="missing">{_h(entry.problem)}</p>')
            continue
        parts.append(f"<p>Training run <code>{_h(entry.run_label)}</code> (config hash <code>{_h(entry.config_hash)}"
                     f"</code>), made by <code>{_h(entry.command)}</code>. {_h(TRAINING_INTRO)}</p>")
        parts.append(_html_table(*log_table(entry)))
        if entry.plot is not None:
            data = base64.b64encode(entry.plot.read_bytes()).decode("ascii")
            parts.append(f'<p><img alt="{_h(entry.agent)} per-iteration rewards" src="data:image/png;base64,{data}"></p>')
    parts.append("<h2>Columns</h2>")
    parts.append(_html_table(["Column", "benchmark", "split", "metric", "version", "data checksum", "paper N (subset)"],
                             _columns_rows(board)))
    if board.other_runs:
        parts.append("<h2>Other runs (benchmarks or splits outside the Table 2 columns)</h2>")
        parts.append(_html_table(["Agent", "benchmark-split", "metric", "value (95% CI)", "n/N"],
                                 _other_rows(board, base, False)))
    if board.ablations:
        parts.append("<h2>Reported ablations (MOAT paper, Tables 3 and 4; not measured here)</h2>")
        parts.append(_html_table(["Source", "Method", "Variant", "Base model", "Mind2Web", "WebShop", "Note"],
                                 _ablation_rows(board)))
    if board.runs:
        parts.append("<h2>Runs</h2>")
        parts.append(_html_table(["Agent", "benchmark-split", "n/N", "status", "config hash", "harness", "results.json"],
                                 _run_rows(board, base, md=False)))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def comparison_text(cmp: Comparison) -> str:
    """Plain-text comparison for the terminal."""
    rows = _comparison_rows(cmp)
    header = comparison_header(cmp)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    return "\n".join([line] + ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows])


__all__ = ["render_markdown", "render_html", "render_png", "comparison_text"]
