"""``harness new-env NAME --domain math|qa|web``: scaffold a benchmark plug-in package (see docs/plugins.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("new-env", help="scaffold a benchmark plug-in package that passes its own test")
    p.add_argument("name", help="environment name, a lower-case identifier (e.g. my_bench)")
    p.add_argument("--domain", required=True, help="math | qa | web: which of the harness's tool sets it uses")
    p.add_argument("--out", help="folder to create (default: ./NAME)")
    return p


def run(args: argparse.Namespace) -> int:
    from harness.errors import ConfigError
    from harness.scaffold import ScaffoldError, scaffold

    out = Path(args.out or args.name)
    try:
        files = scaffold(args.name, args.domain, out)
    except ScaffoldError as exc:
        raise ConfigError(str(exc)) from exc
    print(f"wrote {len(files)} files to {out}/:")
    for f in files:
        print(f"  {f.relative_to(out)}")
    print(f"next: pip install -e {out}  &&  harness doctor {args.name}  (tutorial: docs/plugins.md)")
    return 0
