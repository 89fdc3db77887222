"""``harness doctor [NAME...]``: is this installation sound, and which benchmarks can run here?

Without names: data dir, default model, optional dependencies, every plug-in's load and every
environment's ``self_check()``. A broken plug-in or environment exits 1; a benchmark whose data
files are not on this machine is a warning (exit 0): most machines hold only some benchmarks.

With names: only those environments, checked deeply (:func:`harness.checks.check_env`: a few
tasks loaded, the oracle replayed on them when they have gold trajectories, ``score()`` checked
for the main metric). Exit 0 only when every named environment passed; one whose data are absent
could not be checked and exits 1 too, since a check was asked for.
"""

from __future__ import annotations

import argparse
import importlib.util

from rich.console import Console
from rich.markup import escape

OPTIONAL = {
    "vllm": "vllm backend (pip install 'moat-harness\\[vllm]')",
    "pyserini": "Lucene BM25 for WebShop search (pip install 'moat-harness\\[pyserini]')",
    "httpx": "openai-compatible backend client",
}
MARK = {"ok": "[green]ok[/green]", "no-data": "[yellow]warning[/yellow]", "broken": "[red]broken[/red]"}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("doctor", help="check data, models and environments (NAME...: deep-check those envs only)")
    p.add_argument("names", nargs="*", metavar="NAME", help="environments to check deeply (default: all, quickly)")
    p.add_argument("--data-dir", help="data folder (default: $HARNESS_DATA_DIR or the cache)")
    p.add_argument("--split", help="split to load for NAME checks (default: each env's default split)")
    p.add_argument("--limit", type=int, default=3, help="tasks loaded per NAME check (default 3)")
    return p


def _machine(out: Console, data_dir_arg: str | None) -> None:
    from harness.data import resolve_data_dir

    data_dir = resolve_data_dir(data_dir_arg)
    out.print(f"data dir: {data_dir} ({'exists' if data_dir.exists() else '[yellow]missing[/yellow]'})")
    try:
        from agents.models import describe_default_model

        out.print(f"default model: {describe_default_model()}")
    except ImportError:
        out.print("default model: [yellow]agents.models not available[/yellow]")
    for mod, what in OPTIONAL.items():
        present = importlib.util.find_spec(mod) is not None
        out.print(f"optional {mod}: {'installed' if present else 'not installed'} - {what}")


def run(args: argparse.Namespace) -> int:
    import warnings

    from harness.checks import check_env
    from harness.errors import ConfigError
    from harness.registry import AGENTS, ENVS

    out = Console()
    if args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if args.names:
        for name in args.names:
            if name not in ENVS:
                ENVS.get(name)  # raises UnknownNameError with "did you mean"
        names, deep = list(dict.fromkeys(args.names)), True
    else:
        _machine(out, args.data_dir)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            AGENTS.load_all()
        broken_agents = [str(w.message) for w in caught]
        for message in broken_agents:
            out.print(f"[red]broken plug-in:[/red] {escape(message)}", soft_wrap=True)
        names, deep = ENVS.names(), False
    results = [check_env(name, data_dir=args.data_dir, split=args.split, limit=args.limit, deep=deep) for name in names]
    for r in results:
        mark = "[red]not checked[/red]" if args.names and r.status == "no-data" else MARK[r.status]
        out.print(f"env {r.name}: {mark} {escape(r.summary())}".rstrip(), soft_wrap=True)
    broken = sum(r.status == "broken" for r in results) + (0 if args.names else len(broken_agents))
    absent = [r.name for r in results if r.status == "no-data"]
    if absent and not args.names:
        out.print(f"[yellow]{len(absent)} benchmark(s) without data here ({', '.join(absent)}): they cannot run on "
                  "this machine until `harness data download NAME` or --data-dir provides them; not an error.[/yellow]")
    if args.names:
        return 1 if broken or absent else 0
    return 1 if broken else 0
