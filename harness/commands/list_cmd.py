"""``harness list [--json]``: registered environments and agent producers."""

from __future__ import annotations

import argparse
import json
import warnings

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("list", help="list environments and agent producers")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def collect() -> dict[str, list[dict]]:
    from harness.registry import AGENTS, ENVS

    envs = [cls.info() | {"name": name, "distribution": ENVS.distribution(name)} for name, cls in ENVS.load_all().items()]
    agents = [cls.info() | {"name": name, "distribution": AGENTS.distribution(name)}
              for name, cls in AGENTS.load_all().items()]
    return {"envs": envs, "agents": agents}


def run(args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        listing = collect()
    console = Console(stderr=True)
    for w in caught:
        console.print(f"[yellow]warning:[/yellow] {escape(str(w.message))}", soft_wrap=True)  # one line per plug-in
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    out = Console()
    t = Table(title="environments")
    for col in ("name", "domain", "version", "splits", "main metric", "mode"):
        t.add_column(col)
    for e in listing["envs"]:
        t.add_row(e["name"], e["domain"], e["version"], ", ".join(e["splits"]), e["main_metric"], e["mode"])
    out.print(t)
    t = Table(title="agent producers")
    t.add_column("name")
    t.add_column("description")
    for a in listing["agents"]:
        t.add_row(a["name"], a.get("description", ""))
    out.print(t)
    return 0
