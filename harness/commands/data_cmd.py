"""``harness data list|verify|download NAME``: where benchmark files are and whether they are intact."""

from __future__ import annotations

import argparse
import warnings

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("data", help="list, verify or download benchmark data")
    p.add_argument("action", choices=["list", "verify", "download"], metavar="ACTION", help="list | verify | download")
    p.add_argument("name", nargs="?", metavar="NAME", help="benchmark, or lumos-sft (Agent Lumos' SFT sets) (default: all benchmarks, except for download)")
    p.add_argument("--data-dir", metavar="DIR", help="data folder (default: $HARNESS_DATA_DIR or the cache)")
    return p


def run(args: argparse.Namespace) -> int:
    from harness.data import download, sha256_file
    from harness.errors import ConfigError
    from harness.registry import ENVS

    if args.name == "lumos-sft":
        from training.lumos_sft import data_command

        return data_command(args.action, args.data_dir)
    if args.action == "download" and not args.name:
        raise ConfigError("name the benchmark to download, e.g. `harness data download gsm8k`")
    out = Console()
    if args.name:
        names = [args.name]
    else:  # every loadable env: a broken plug-in is one warning line, not the end of the listing
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            names = list(ENVS.load_all())
        for w in caught:
            out.print(f"[yellow]warning:[/yellow] {escape(str(w.message))}", soft_wrap=True)
    bad = 0
    data_dir = None
    t = Table(title="benchmark data")
    for col in ("benchmark", "file", "status", "source"):
        t.add_column(col, overflow="fold")
    for name in names:
        env = ENVS.get(name)(data_dir=args.data_dir)
        data_dir = env.data_dir
        for f in env.data_files():
            path = env.data_path(f)  # inside the plug-in's package for DataFile(package=...)
            if args.action == "download" and not path.exists():
                out.print(f"downloading {f.url} -> {path}")
                download(f, env.data_dir)
            if not path.exists():
                status = "missing" + ("" if f.required else " (optional)")
                bad += f.required
            elif args.action in ("verify", "download") and f.sha256 and sha256_file(path) != f.sha256:
                status = "checksum mismatch"
                bad += 1
            else:
                status = "ok" if args.action != "list" or not f.sha256 else "present"
            t.add_row(name, f.path, status, f.url or (f"package {f.package}" if f.package else "-"))
        env.close()
    out.print(f"data dir: {data_dir}")
    out.print(t)
    return 1 if bad and args.action != "list" else 0
