"""Errors that the CLI reports as one clear line instead of a traceback."""

from __future__ import annotations

from harness.data import DataFormatError, DataMissingError
from harness.plugins import ContractError
from harness.registry import PluginLoadError, UnknownNameError
from harness.rundir import DiskFullError, RunLockedError
from harness.runner import ConfigMismatchError


class ConfigError(ValueError):
    """A bad ``--config`` file or option combination."""


UserError = (
    UnknownNameError, PluginLoadError, DataMissingError, DataFormatError, ConfigMismatchError, ConfigError, ContractError,
    RunLockedError, DiskFullError,
)


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on a single line (the CLI's error contract), never empty."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return "; ".join(lines) or type(exc).__name__
