"""argparse helpers shared by the sub-commands: checked number types and hidden old spellings.

Kept free of heavy imports: every sub-command's ``add_parser`` runs at each ``harness`` start.

Option spelling rule of the CLI: an option naming a directory ends in ``-dir`` (``--output-dir``,
``--data-dir``, ``--runs-dir``, ``--export-dir``), one naming a file is the bare noun (``--output``,
``--config``, ``--preface``). Old spellings stay accepted as hidden aliases (:func:`add_alias`).
"""

from __future__ import annotations

import argparse
from typing import Any


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def nonneg_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def add_alias(parser: argparse.ArgumentParser, old: str, dest: str, **kwargs: Any) -> None:
    """Accept ``old`` as a hidden spelling of the option stored in ``dest`` (not shown in help or usage)."""
    parser.add_argument(old, dest=dest, help=argparse.SUPPRESS, **kwargs)
