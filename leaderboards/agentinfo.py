"""Who a row is: the model names of an agent pair, read from its runs' agent configs."""

from __future__ import annotations

from typing import Any

from leaderboards.training_log import trained_base_model

# -- model description from agent configs ------------------------------------------------------
_MODEL_KEYS = ("base_model", "model", "planner", "grounder", "planner_model", "grounder_model", "agent")


def _model_name(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value.rstrip("/").split("/")[-1]
    if isinstance(value, dict):
        for k in ("model", "name", "id", "path", "model_id"):
            if k in value:
                return _model_name(value[k])
    return None


def base_model_of(agent_config: dict[str, Any]) -> str:
    """Best-effort model name of an agent pair: ``base_model``, or planner/grounder (joined when they differ)."""
    if "base_model" in agent_config and _model_name(agent_config["base_model"]):
        return str(_model_name(agent_config["base_model"]))
    if agent_config.get("train_run"):  # a trained producer: its models are labels like "lumos:planner"
        trained = trained_base_model(str(agent_config["train_run"]))
        if trained:
            return trained
    names = [_model_name(agent_config.get(k)) for k in _MODEL_KEYS[1:]]
    names = [n for n in names if n]
    unique = list(dict.fromkeys(names))
    return " / ".join(unique) if unique else "-"


def find_key(obj: Any, keys: tuple[str, ...]) -> Any:
    """First value stored under one of ``keys`` anywhere in a nested config."""
    if isinstance(obj, dict):
        for k in keys:
            if k in obj and obj[k] not in (None, ""):
                return obj[k]
        for v in obj.values():
            found = find_key(v, keys)
            if found is not None:
                return found
    return None
