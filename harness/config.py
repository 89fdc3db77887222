"""``--config FILE`` support: a YAML or JSON mapping whose keys are the long option names.

Command-line flags win over the file. Two nested sections carry what has no flag:
``agent:`` (producer-specific options, e.g. ``mode: iterative``) and ``env:`` (options per
benchmark, e.g. ``env: {hotpotqa: {reader: MODEL}}``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.errors import ConfigError


def load_config_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {p} does not exist")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"cannot parse {p}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p} must hold a mapping of option names to values")
    return {k.replace("-", "_"): v for k, v in data.items()}


def merge_config(args: argparse.Namespace, parser_defaults: dict[str, Any]) -> argparse.Namespace:
    """Fill every option the user did not give on the command line from ``args.config``."""
    if not getattr(args, "config", None):
        return args
    data = load_config_file(args.config)
    known = set(vars(args))
    unknown = set(data) - known - {"agent", "env"}
    if unknown:
        raise ConfigError(f"unknown option(s) in {args.config}: {', '.join(sorted(unknown))}")
    for key, value in data.items():
        if key in ("agent", "env"):
            continue
        if getattr(args, key) == parser_defaults.get(key):
            setattr(args, key, value)
    args.agent_extra = data.get("agent") or {}
    args.env_options = data.get("env") or {}
    return args


def split_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in value.split(",") if v.strip()]
