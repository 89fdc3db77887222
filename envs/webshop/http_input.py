"""Checking what HTTP clients send the WebShop server: every malformed request is a 4xx with a message.

The server faces whatever a client (or a model driving one) sends: bodies that are not JSON objects,
ids of the wrong type, query parameters that are not numbers, huge payloads. Each is refused here with
:class:`ClientError` (mapped to its status code and a JSON ``{"error": ...}`` by the app) before it can
reach the simulation and end as a 500.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_BODY_BYTES = 64 * 1024
"""Request size cap (Flask ``MAX_CONTENT_LENGTH``): larger requests get 413 before they are parsed."""
ECHO_CHARS = 100
"""At most this much of what a client sent is quoted back in a message."""


def clip(text: object, n: int = ECHO_CHARS) -> str:
    """``text`` quoted for a message: at most ``n`` characters, control characters escaped, the length said."""
    text = str(text)
    shown = text if len(text) <= n else text[:n] + f"... ({len(text)} characters)"
    return repr(shown)[1:-1]


class ClientError(ValueError):
    """A malformed request: the client's fault, answered with ``status`` and the message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def json_object(raw: bytes, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The request body as a JSON object holding only ``allowed`` keys (an empty body is ``{}``)."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ClientError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ClientError(f"the request body must be a JSON object, got {type(body).__name__}")
    if "session_id" in body:
        raise ClientError("session ids are made by the server: send no 'session_id', use the one the reply gives")
    unknown = [k for k in body if k not in allowed]
    if unknown:
        raise ClientError(f"unknown field(s) {', '.join(clip(k, 40) for k in unknown)}; this route takes "
                          f"{', '.join(allowed)}")
    return body


def int_field(body: Mapping[str, Any], name: str, default: int) -> int:
    """``body[name]`` as a JSON integer (``true`` and ``1.0`` are not integers)."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClientError(f"'{name}' must be a whole number, got {_describe(value)}")
    return value


def str_field(body: Mapping[str, Any], name: str, default: str | None = None) -> str:
    """``body[name]`` as a JSON string (required when ``default`` is None)."""
    value = body.get(name, default)
    if value is None:
        raise ClientError(f"'{name}' is required")
    if not isinstance(value, str):
        raise ClientError(f"'{name}' must be a string, got {_describe(value)}")
    return value


def int_arg(args: Mapping[str, str], name: str, default: int) -> int:
    """A query parameter as an integer."""
    text = args.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ClientError(f"query parameter '{name}' must be a whole number, got '{clip(text, 40)}'") from None


def _describe(value: Any) -> str:
    kind = {type(None): "null", bool: "a boolean", list: "a list", dict: "an object", float: "a number",
            str: "a string"}.get(type(value), type(value).__name__)  # fmt: skip
    return kind if isinstance(value, (list, dict)) or value is None else f"{kind} {clip(json.dumps(value), 40)}"
