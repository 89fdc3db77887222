"""``--config FILE`` support and the one validation layer of ``harness eval``'s options.

A config file is a YAML or JSON mapping whose keys are the long option names. Command-line flags win
over the file. Two nested sections carry what has no flag: ``agent:`` (producer-specific options,
e.g. ``mode: iterative``) and ``env:`` (options per benchmark, e.g. ``env: {hotpotqa: {reader: MODEL}}``).

Every value, from a flag or from the file, passes through :class:`EvalConfig` once; a bad one is a
:class:`~harness.errors.ConfigError` naming where it came from (the flag, or the file and key), which
the CLI prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import difflib
import json
from pathlib import Path
from typing import Any, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from harness.errors import ConfigError


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in ``path`` (keys with ``-`` spelled ``_``); every failure is one ConfigError line."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {p} does not exist")
    if p.is_dir():
        raise ConfigError(f"config file {p} is a directory, not a file")
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise ConfigError(f"config file {p} is not UTF-8 text (byte {byte:#04x} at offset {exc.start})") from exc
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml

            data = _load_yaml(yaml, text, p)
        else:
            data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"cannot parse {p}: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p} must hold a mapping of option names to values, not a {type(data).__name__}")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"{p}: option names must be text, got {bad[0]!r}")
    return {k.replace("-", "_"): v for k, v in data.items()}


def _load_yaml(yaml: Any, text: str, p: Path) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"cannot parse {p}: {problem}{where}") from exc


def merge_config(args: argparse.Namespace, parser_defaults: dict[str, Any]) -> argparse.Namespace:
    """Fill every option the user did not give on the command line from ``args.config``.

    Records in ``args._sources`` which keys came from the file, so errors can name it."""
    args._sources = {}
    if not getattr(args, "config", None):
        return args
    data = load_config_file(args.config)
    known = {k for k in vars(args) if not k.startswith("_")}
    unknown = set(data) - known - {"agent", "env"}
    if unknown:
        hints = [h for k in sorted(unknown) for h in difflib.get_close_matches(k, sorted(known), n=1)]
        hint = f" (did you mean {', '.join(repr(h) for h in hints)}?)" if hints else ""
        raise ConfigError(f"unknown option(s) in {args.config}: {', '.join(sorted(unknown))}{hint}")
    for key, value in data.items():
        if key in ("agent", "env"):
            continue
        if getattr(args, key) == parser_defaults.get(key):
            setattr(args, key, value)
            args._sources[key] = str(args.config)
    args.agent_extra = data.get("agent", {})
    args.env_options = data.get("env", {})
    for key in ("agent", "env"):
        if key in data:
            args._sources[key] = str(args.config)
    return args


def split_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in value.split(",") if v.strip()]


class EvalConfig(BaseModel):
    """``harness eval``'s options after flags and ``--config`` are merged: the one place they are checked."""

    model_config = ConfigDict(extra="forbid")

    agents: list[StrictStr] = Field(min_length=1)
    benchmarks: list[StrictStr] = Field(min_length=1)
    split: StrictStr | None = None
    limit: StrictInt | None = Field(default=None, ge=1)
    seed: StrictInt = Field(default=0, ge=0)
    output_dir: StrictStr = "runs"
    batch_size: StrictInt = Field(default=8, ge=1)
    planner: StrictStr | None = None
    grounder: StrictStr | None = None
    backend: StrictStr = "hf"
    data_dir: StrictStr | None = None
    shard: StrictStr | None = None
    tensor_parallel_size: StrictInt | None = Field(default=None, ge=1)
    pipeline_parallel_size: StrictInt | None = Field(default=None, ge=1)
    agent: dict[StrictStr, Any] = Field(default_factory=dict)
    env: dict[StrictStr, dict[StrictStr, Any]] = Field(default_factory=dict)

    @field_validator("agents", "benchmarks", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        if isinstance(v, str):
            return split_list(v)
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return split_list(v)
        if isinstance(v, list):
            raise ValueError("must be a comma-separated text or a list of names")
        if v is None:
            return []
        raise ValueError(f"must be a comma-separated text or a list of names, not {type(v).__name__} {v!r}")

    @field_validator("agent", "env", mode="before")
    @classmethod
    def _section(cls, v: Any, info: ValidationInfo) -> Any:
        if info.field_name == "env" and isinstance(v, dict):  # `env: {gsm8k: }` (empty YAML section): no options
            return {k: ({} if x is None else x) for k, x in v.items()}
        return {} if v is None else v

    @field_validator("env")
    @classmethod
    def _env_sections(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {bench: {k: x for k, x in opts.items() if x is not None} for bench, opts in v.items()}

    @field_validator("backend")
    @classmethod
    def _backend(cls, v: str) -> str:
        from agents.backends import BACKENDS

        if v not in BACKENDS:
            raise ValueError(f"unknown backend {v!r}; choose from {', '.join(BACKENDS)}")
        return v

    @field_validator("output_dir", "data_dir")
    @classmethod
    def _directory(cls, v: str | None) -> str | None:
        if v is None:
            return v
        p = Path(v).expanduser()
        existing = next((a for a in (p, *p.parents) if a.exists()), None)  # the folder to create it in
        if existing is not None and not existing.is_dir():
            where = "" if existing == p else f": {existing}"
            raise ValueError(f"{v}{where} is a file, not a directory")
        return v


def _flag(key: str) -> str:
    return {"agent": "the agent: section", "env": "the env: section"}.get(key, "--" + key.replace("_", "-"))


def validation_message(exc: ValidationError, sources: dict[str, str], where: str | None = None) -> str:
    """One line for the first error: where the value came from (``sources[key]``, else ``where``, else
    the flag), the key, what is wrong."""
    err = exc.errors()[0]
    loc = [str(x) for x in err["loc"]]
    key = loc[0] if loc else "?"
    msg = err["msg"].removeprefix("Value error, ")
    msg = msg[:1].lower() + msg[1:]
    if where is None and (err["type"] == "missing" or (err["type"] == "too_short" and key in ("agents", "benchmarks"))):
        return f"--{key} is required (on the command line or in --config)"
    if key in sources or where is not None:
        where = f"{sources.get(key, where)}: {'.'.join(loc)}"
    else:
        where = _flag(key) + "".join(f".{x}" for x in loc[1:])
    if err["type"] not in ("value_error",) and "input" in err and not isinstance(err["input"], (dict, list)):
        got = repr(err["input"])
        msg += f" (got {got if len(got) <= 60 else got[:57] + '...'})"
    return f"{where}: {msg}"


def unknown_keys(model: type[BaseModel], data: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the keys in ``data`` that ``model`` (pydantic, nested models followed) has no field for;
    pydantic ignores them by default, which would let a typo in a config file pass unnoticed."""
    out = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            out.append(prefix + str(key))
            continue
        sub = _model_of(field.annotation)
        if sub is not None and isinstance(value, dict):
            out += unknown_keys(sub, value, f"{prefix}{key}.")
        elif isinstance(value, list):
            item = _model_of(next(iter(get_args(field.annotation)), None))
            for i, v in enumerate(value):
                if item is not None and isinstance(v, dict):
                    out += unknown_keys(item, v, f"{prefix}{key}[{i}].")
    return out


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model in ``annotation`` (``M``, ``M | None``), if any."""
    for t in (annotation, *get_args(annotation)):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def eval_config(args: argparse.Namespace) -> EvalConfig:
    """Validate the merged namespace of ``harness eval`` (after :func:`merge_config`)."""
    fields = {k: getattr(args, k) for k in EvalConfig.model_fields if k not in ("agent", "env") and hasattr(args, k)}
    fields["agent"] = getattr(args, "agent_extra", {})
    fields["env"] = getattr(args, "env_options", {})
    fields = {k: v for k, v in fields.items() if v is not None or k in ("agents", "benchmarks")}
    try:
        return EvalConfig(**fields)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, getattr(args, "_sources", {}))) from None
