"""``harness leaderboard``: the paper's Table 2 layout from run directories, with paired comparisons."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.argtypes import add_alias, positive_int


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("leaderboard", help="build a Table-2 leaderboard (Markdown/HTML/PNG) from runs")
    p.add_argument("--runs-dir", action="append", metavar="DIR",
                   help="root of run directories (<DIR>/<agent>/<benchmark>-<split>/); repeatable, at least one")
    add_alias(p, "--runs", "runs_dir", action="append")
    p.add_argument("--output", metavar="FILE", help="write Markdown here (e.g. leaderboards/NAME.md) (default: print it)")
    add_alias(p, "--out", "output")
    p.add_argument("--html", action="store_true", help="also write a self-contained HTML page next to --output")
    p.add_argument("--png", action="store_true", help="also write a bar chart of the group averages next to --output")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="paired comparison of rows A and B (A - B)")
    p.add_argument("--split", action="append", default=[], metavar="BENCH=SPLIT",
                   help="split for a column, any benchmark with runs, e.g. strategyqa=dev (default: gsm8k=test, "
                        "strategyqa=lumos, others their environment's default); repeatable")
    p.add_argument("--metric", action="append", default=[], metavar="BENCH=METRIC",
                   help="metric for a column (any benchmark with runs) instead of the run's main_metric, e.g. "
                        "gsm8k=em_strict; repeatable")
    p.add_argument("--agents", metavar="NAME[,NAME]", help="rows to include, comma-separated (default: every agent found)")
    p.add_argument("--no-reported", action="store_true", help="leave out the paper's reported rows")
    p.add_argument("--title", default="MOAT reproduction leaderboard", metavar="TEXT",
                   help="page title (default: MOAT reproduction leaderboard)")
    p.add_argument("--preface", metavar="FILE", help="Markdown file placed under the title (what was run, what it shows)")
    p.add_argument("--resamples", type=positive_int, default=2000, metavar="N",
                   help="bootstrap resamples for averages and comparisons (default: 2000)")
    return p


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    from harness.errors import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"{flag} expects BENCH=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def run(args: argparse.Namespace) -> int:
    from harness.config import split_list
    from harness.errors import ConfigError
    from leaderboards.collect import collect_runs
    from leaderboards.compare import compare_rows
    from leaderboards.render import comparison_text, render_markdown, render_png
    from leaderboards.render_html import render_html
    from leaderboards.table import build_leaderboard
    from leaderboards.training_log import plot_name, training_logs

    if not args.runs_dir:
        raise ConfigError("--runs-dir is required (a root of run directories; repeatable)")
    if (args.html or args.png) and not args.output:
        raise ConfigError("--html and --png need --output (they are written next to the Markdown file)")
    preface = None
    if args.preface:
        try:
            preface = Path(args.preface).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--preface {args.preface}: {exc.strerror}") from exc
    for d in args.runs_dir:
        if Path(d).exists() and not Path(d).is_dir():
            raise ConfigError(f"--runs-dir {d} is a file, not a directory of runs")
    runs = collect_runs([Path(d) for d in args.runs_dir])
    board = build_leaderboard(
        runs,
        splits=_pairs(args.split, "--split"),
        metrics=_pairs(args.metric, "--metric"),
        agents=split_list(args.agents) or None,
        include_reported=not args.no_reported,
        resamples=args.resamples,
    )
    comparison = compare_rows(board, args.compare[0], args.compare[1], resamples=args.resamples) if args.compare else None
    training = training_logs(board)
    if comparison is not None and args.output:  # without --out the Markdown on stdout already holds it: print it once
        print(comparison_text(comparison), file=sys.stderr)
    if not args.output:
        sys.stdout.write(render_markdown(board, args.title, comparison=comparison, sources=args.runs_dir, training=training,
                                         preface=preface))
        return 0
    out = Path(args.output)
    if out.is_dir():
        raise ConfigError(f"--output {out} is a directory; name the Markdown file to write")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file of that name is in the way" if isinstance(exc, FileExistsError) else exc.strerror
        raise ConfigError(f"--output {out}: cannot create the folder {out.parent}: {why}") from exc
    png = render_png(board, args.title) if (args.png or args.html) else None
    png_path = out.with_suffix(".png")
    if args.png and png is not None:
        png_path.write_bytes(png)
    plot_names = {}
    written = [out]
    for entry in training:
        if entry.plot is not None:
            plot_names[entry.agent] = plot_name(out.name, entry)
            (out.parent / plot_names[entry.agent]).write_bytes(entry.plot.read_bytes())
            written.append(out.parent / plot_names[entry.agent])
    out.write_text(render_markdown(board, args.title, base=out.parent, comparison=comparison,
                                   png_name=png_path.name if args.png else None, sources=args.runs_dir,
                                   training=training, plot_names=plot_names, preface=preface), encoding="utf-8")
    if args.html:
        html_path = out.with_suffix(".html")
        html_path.write_text(render_html(board, args.title, base=out.parent, comparison=comparison, png=png,
                                         sources=args.runs_dir, training=training, preface=preface), encoding="utf-8")
        written.append(html_path)
    if args.png:
        written.append(png_path)
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0
