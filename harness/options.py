"""Declared environment options: names, types and allowed values of what an ``env:`` section may hold.

An :class:`~harness.environment.Environment` subclass may declare ``options_spec = {"name":
EnvOption(int), ...}``. Declared: an unknown key, a value of the wrong type or outside ``choices`` is
refused before the environment is built, with one line naming the benchmark and the key (and a
"did you mean"). The same declaration says which options enter the run identity, and their defaults. Not declared (``options_spec = None``, the default): every option is passed through
unchecked, so plug-ins written before declarations existed keep working; their constructor's own
``ValueError``/``TypeError`` still becomes one line (see :func:`harness.evaluate.run_plan`).

``null`` for any option means "the default" and is dropped before the environment sees it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text", dict: "a mapping",
               list: "a list"}  # fmt: skip


@dataclass(frozen=True)
class EnvOption:
    """One option an environment reads from its ``env:`` section."""

    types: type | tuple[type, ...]
    """Accepted Python types of the value; ``int`` is accepted where ``float`` is, ``bool`` never as a number."""
    help: str = ""
    choices: tuple[Any, ...] | None = None
    """Allowed values, when the option is an enumeration."""
    default: Any = None
    """The value in force when the option is not given (what the environment's constructor uses)."""
    identity: bool = True
    """Whether the option changes behaviour (tool outputs, scoring, limits): a value other than
    ``default`` then enters the run identity (:meth:`harness.environment.Environment.identity_options`).
    ``False`` for locations and transport (``files_dir``, ``server_url``): the data checksum already
    covers the data they point at."""

    def check(self, value: Any) -> str | None:
        """``None`` when ``value`` is acceptable, else what is wrong with it."""
        types = self.types if isinstance(self.types, tuple) else (self.types,)
        ok = any(_is(value, t) for t in types)
        if not ok:
            want = " or ".join(_TYPE_WORDS.get(t, t.__name__) for t in types)
            return f"must be {want}, got {type(value).__name__} {_short(value)}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}, got {_short(value)}"
        return None


def _is(value: Any, t: type) -> bool:
    if t in (int, float) and isinstance(value, bool):
        return False
    if t is float:
        return isinstance(value, (int, float))
    return isinstance(value, t)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_env_options(env_cls: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options of ``env_cls`` without ``null`` values, refused (``ConfigError``) when declared and wrong."""
    from harness.errors import ConfigError

    name = getattr(env_cls, "name", env_cls.__name__)
    if not isinstance(options, Mapping):
        raise ConfigError(f"env option section {name}: must be a mapping of option names to values, "
                          f"got {type(options).__name__}")
    clean = {k: v for k, v in options.items() if v is not None}
    spec: Mapping[str, EnvOption] | None = getattr(env_cls, "options_spec", None)
    if spec is None:
        return clean
    for key, value in clean.items():
        if key not in spec:
            close = difflib.get_close_matches(str(key), list(spec), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            known = ", ".join(sorted(spec)) or "none"
            raise ConfigError(f"env option {name}.{key}: unknown option ({hint}{name} takes: {known})")
        problem = spec[key].check(value)
        if problem:
            raise ConfigError(f"env option {name}.{key}: {problem}")
    return clean
