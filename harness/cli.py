"""``harness`` command line: one small module per sub-command under ``harness.commands``.

Other packages of this distribution add sub-commands by listing their module in ``COMMANDS``;
each module exposes ``add_parser(subparsers)`` (cheap: no heavy imports) and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

from harness import __version__
from harness.openmp import configure_openmp
from harness.quiet import quiet_libraries

COMMANDS: dict[str, str] = {
    "list": "harness.commands.list_cmd",
    "eval": "harness.commands.eval_cmd",
    "show": "harness.commands.show_cmd",
    "doctor": "harness.commands.doctor_cmd",
    "data": "harness.commands.data_cmd",
    "leaderboard": "harness.commands.leaderboard_cmd",
    "train": "harness.commands.train_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description="Evaluate and train planner + grounder agent pairs.")
    parser.add_argument("--version", action="version", version=f"moat-harness {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        mod = import_module(module)
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
        assert p.prog.endswith(name), f"{module} registered {p.prog}, expected {name}"
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_openmp()  # before anything imports torch (see harness/openmp.py)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    quiet_libraries(args.verbose)  # before transformers/tqdm load: no library bars, logs or FutureWarnings
    from harness.errors import UserError  # noqa: PLC0415 (keep startup light)

    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"harness {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; completed samples are on disk, rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
