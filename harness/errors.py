"""Errors that the CLI reports as one clear line instead of a traceback."""

from __future__ import annotations

from harness.data import DataMissingError
from harness.registry import PluginLoadError, UnknownNameError
from harness.rundir import DiskFullError, RunLockedError
from harness.runner import ConfigMismatchError


class ConfigError(ValueError):
    """A bad ``--config`` file or option combination."""


UserError = (UnknownNameError, PluginLoadError, DataMissingError, ConfigMismatchError, ConfigError, RunLockedError,
             DiskFullError)
