"""``harness`` command line: one small module per sub-command under ``harness.commands``.

Other packages of this distribution add sub-commands by listing their module in ``COMMANDS``;
each module exposes ``add_parser(subparsers)`` (cheap: no heavy imports) and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from importlib import import_module
from typing import NoReturn

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
    "rescore": "harness.commands.rescore_cmd",
    "new-env": "harness.commands.new_env_cmd",
}


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line (``harness eval: error: ...``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="harness", description="Evaluate and train planner + grounder agent pairs.")
    parser.add_argument("--version", action="version", version=f"moat-harness {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, and the libraries' own progress bars, logs and warnings")
    parser.add_argument("--debug", action="store_true", help="show the traceback behind an error message")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        mod = import_module(module)
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
        # the global flags also work after the sub-command (`harness eval --verbose`)
        if not any("--debug" in a.option_strings for a in p._actions):
            p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if not any("--verbose" in a.option_strings for a in p._actions):
            p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        assert p.prog.endswith(name), f"{module} registered {p.prog}, expected {name}"
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_openmp()  # before anything imports torch (see harness/openmp.py)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # name the sub-command whose options were mistyped, not the top-level parser
        parser.exit(2, f"harness {args.command}: error: unrecognized arguments: {' '.join(extra)} "
                       f"(see `harness {args.command} --help`)\n")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    quiet_libraries(args.verbose)  # before transformers/tqdm load: no library bars, logs or FutureWarnings
    from harness.errors import UserError, one_line  # noqa: PLC0415 (keep startup light)

    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"harness {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; completed samples are on disk, rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line, the traceback on --debug
        if args.debug:
            traceback.print_exc()
        hint = "" if args.debug else " (rerun with --debug for the traceback)"
        print(f"harness {args.command}: internal error: {type(exc).__name__}: {one_line(exc)}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
