"""Typed, lazy registries over entry-point groups (after lm-eval ``api/registry.py`` and
inspect_ai ``_util/entrypoints.py``).

Built-in environments and agent producers are registered through this distribution's own
``pyproject.toml`` entry points, exactly as a third-party plug-in would be, so there is one path for
both. Entry points are only *listed* at first use; an object is imported when it is first asked for.
A plug-in that fails to import is reported as a warning and skipped by listings; asking for it by
name raises :class:`PluginLoadError` with the original error.
"""

from __future__ import annotations

import difflib
import logging
import warnings
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from typing import Callable, Generic, TypeVar

from harness.agent import AgentProducer
from harness.environment import Environment
from harness.plugins import validate_env_class, validate_producer_class

log = logging.getLogger(__name__)

T = TypeVar("T")

BUILTIN_DISTRIBUTION = "moat-harness"


class UnknownNameError(KeyError):
    """No such registered name; the message carries "did you mean" suggestions."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0])


class PluginLoadError(ImportError):
    """A registered plug-in could not be imported or is not of the expected type."""


class PluginWarning(UserWarning):
    """A plug-in is broken or shadowed; the harness keeps going without it."""


@dataclass
class _Entry(Generic[T]):
    name: str
    target: str
    """``module:attr`` for display and import."""
    distribution: str | None
    obj: type[T] | None = None
    error: str | None = None


class Registry(Generic[T]):
    """Name -> class, filled lazily from the entry-point group ``group``."""

    def __init__(self, kind: str, group: str, base: type[T],
                 validate: Callable[[type], list[str]] | None = None) -> None:
        self.kind = kind
        self.group = group
        self.base = base
        self.validate = validate
        """Contract checks run on first load (:mod:`harness.plugins`); problems make it broken."""
        self._entries: dict[str, _Entry[T]] = {}
        self._scanned = False

    # -- registration ----------------------------------------------------------------------
    def register(self, name: str, target: str | type[T], distribution: str | None = None) -> None:
        """Register ``target`` (a class or a lazy ``"module:attr"`` string) under ``name``.

        Registering a different target under an existing name is an error; re-registering the same
        target is a no-op (modules may be imported twice).
        """
        self._scan()
        if isinstance(target, str):
            entry: _Entry[T] = _Entry(name, target, distribution)
        else:
            self._check_type(name, target)
            entry = _Entry(name, f"{target.__module__}:{target.__qualname__}", distribution, obj=target)
        existing = self._entries.get(name)
        if existing is not None and existing.target != entry.target:
            raise ValueError(
                f"{self.kind} '{name}' is already registered to {existing.target}; "
                f"cannot also register {entry.target}"
            )
        self._entries[name] = entry

    def _scan(self) -> None:
        """List entry points once. Built-ins win a name collision with a plug-in."""
        if self._scanned:
            return
        self._scanned = True
        for ep in entry_points(group=self.group):
            self._add_entry_point(ep)

    def _add_entry_point(self, ep: EntryPoint) -> None:
        dist = ep.dist.name if ep.dist is not None else None
        existing = self._entries.get(ep.name)
        if existing is not None and existing.target != ep.value:
            winner, loser = (existing, ep.value)
            if dist == BUILTIN_DISTRIBUTION and existing.distribution != BUILTIN_DISTRIBUTION:
                winner = _Entry(ep.name, ep.value, dist)
                loser = existing.target
                self._entries[ep.name] = winner
            warnings.warn(
                f"{self.kind} name '{ep.name}' is claimed twice; using {winner.target} "
                f"({winner.distribution}), ignoring {loser}",
                PluginWarning,
                stacklevel=3,
            )
            return
        self._entries[ep.name] = _Entry(ep.name, ep.value, dist)

    # -- lookup -----------------------------------------------------------------------------
    def names(self) -> list[str]:
        self._scan()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self._scan()
        return name in self._entries

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``, importing it on first use."""
        self._scan()
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownNameError(self._unknown_message(name))
        if entry.obj is None:
            if entry.error is not None:
                raise PluginLoadError(entry.error)
            try:
                obj = self._import(entry.target)
                self._check_type(name, obj)
            except Exception as exc:  # a plug-in may fail in any way; keep the reason
                entry.error = (
                    f"{self.kind} '{name}' ({entry.target}, from {entry.distribution or 'unknown'}) "
                    f"failed to load: {type(exc).__name__}: {exc}"
                )
                raise PluginLoadError(entry.error) from exc
            entry.obj = obj
        return entry.obj

    def load_all(self) -> dict[str, type[T]]:
        """Every loadable entry; broken plug-ins are skipped with a :class:`PluginWarning`."""
        loaded: dict[str, type[T]] = {}
        for name in self.names():
            try:
                loaded[name] = self.get(name)
            except PluginLoadError as exc:
                warnings.warn(str(exc), PluginWarning, stacklevel=2)
        return loaded

    def target(self, name: str) -> str:
        self._scan()
        return self._entries[name].target

    def distribution(self, name: str) -> str | None:
        self._scan()
        return self._entries[name].distribution

    # -- helpers ----------------------------------------------------------------------------
    def _unknown_message(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} '{name}'.{hint} Known: {', '.join(known) or 'none'}."

    def _check_type(self, name: str, obj: object) -> None:
        if not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise TypeError(f"{self.kind} '{name}' must be a subclass of {self.base.__name__}, got {obj!r}")
        problems = self.validate(obj) if self.validate is not None else []
        own = getattr(obj, "name", name)
        if isinstance(own, str) and own and own != name:  # run folders and leaderboards use the class's name
            problems.append(f"class attribute name {own!r} differs from its registered name {name!r}")
        if problems:
            raise TypeError(f"not a valid {self.kind}: {'; '.join(problems)}")

    @staticmethod
    def _import(target: str) -> object:
        module_name, _, attr = target.partition(":")
        obj: object = import_module(module_name)
        for part in attr.split(".") if attr else []:
            obj = getattr(obj, part)
        return obj


ENVS: Registry[Environment] = Registry("environment", "harness.envs", Environment, validate_env_class)
AGENTS: Registry[AgentProducer] = Registry("agent producer", "harness.agents", AgentProducer, validate_producer_class)


def get_env(name: str) -> type[Environment]:
    return ENVS.get(name)


def get_agent(name: str) -> type[AgentProducer]:
    return AGENTS.get(name)
