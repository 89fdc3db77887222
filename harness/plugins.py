"""What a plug-in class must provide, checked when the registry loads it, and where it came from.

A class that fails these checks is reported as one line (a :class:`~harness.registry.PluginWarning`
in listings, a :class:`~harness.registry.PluginLoadError` when asked for by name) instead of
crashing ``harness list`` or ``eval`` later with an ``AttributeError`` deep inside.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

ENV_STR_ATTRS = ("name", "domain", "version", "default_split", "main_metric")
MODES = ("one-pass", "iterative")


class ContractError(RuntimeError):
    """A plug-in broke the environment/agent contract at run time (a ``score()`` without the main
    metric, an agent returning the wrong number of trajectories). Not transient: rerunning the
    same code fails the same way, so the run stops with this message instead of retrying."""


def _abstract(cls: type) -> list[str]:
    return sorted(getattr(cls, "__abstractmethods__", ()) or ())


def validate_env_class(cls: type) -> list[str]:
    """Problems of an :class:`~harness.environment.Environment` subclass (empty = valid)."""
    problems = []
    for attr in ENV_STR_ATTRS:
        value = getattr(cls, attr, None)
        if not isinstance(value, str) or not value:
            problems.append(f"class attribute {attr!r} must be a non-empty str, got {value!r}")
    splits = getattr(cls, "splits", None)
    if not isinstance(splits, (tuple, list)) or not splits or not all(isinstance(s, str) and s for s in splits):
        problems.append(f"class attribute 'splits' must be a non-empty tuple of str, got {splits!r}")
    elif isinstance(getattr(cls, "default_split", None), str) and cls.default_split not in splits:
        problems.append(f"default_split {cls.default_split!r} is not one of splits {tuple(splits)}")
    metrics = getattr(cls, "metrics", ())
    if not isinstance(metrics, (tuple, list)) or not all(isinstance(m, str) for m in metrics):
        problems.append(f"class attribute 'metrics' must be a tuple of str, got {metrics!r}")
    elif metrics and isinstance(getattr(cls, "main_metric", None), str) and cls.main_metric not in metrics:
        problems.append(f"main_metric {cls.main_metric!r} is not among the declared metrics {tuple(metrics)}")
    if getattr(cls, "mode", None) not in MODES:
        problems.append(f"class attribute 'mode' must be one of {MODES}, got {getattr(cls, 'mode', None)!r}")
    rounds = getattr(cls, "max_rounds", None)
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        problems.append(f"class attribute 'max_rounds' must be a positive int, got {rounds!r}")
    missing = _abstract(cls)
    if missing:
        problems.append(f"abstract method(s) not implemented: {', '.join(missing)}")
    return problems


def validate_producer_class(cls: type) -> list[str]:
    """Problems of an :class:`~harness.agent.AgentProducer` subclass (empty = valid)."""
    problems = []
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        problems.append(f"class attribute 'name' must be a non-empty str, got {name!r}")
    missing = _abstract(cls)
    if missing:
        problems.append(f"abstract method(s) not implemented: {', '.join(missing)}")
    return problems


def provenance(distribution: str | None) -> dict[str, Any]:
    """``{"distribution": name, "version": v}`` of an installed distribution (``None`` fields when
    unknown, e.g. code on ``sys.path`` that was never installed)."""
    if distribution is None:
        return {"distribution": None, "version": None}
    try:
        version: str | None = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        version = None
    return {"distribution": distribution, "version": version}


def run_packages(benchmark: str, agent: str) -> dict[str, dict[str, Any]]:
    """Provenance of a run's environment and agent producer, from the entry points that registered
    them (recorded in ``results.json`` so a plug-in's numbers name the code that made them)."""
    from harness.registry import AGENTS, ENVS  # noqa: PLC0415 (the registry imports this module)

    out: dict[str, dict[str, Any]] = {}
    for role, registry, name in (("benchmark", ENVS, benchmark), ("agent", AGENTS, agent)):
        if name in registry:
            out[role] = provenance(registry.distribution(name))
    return out
