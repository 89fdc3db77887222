"""The value type of the maths variable store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MathValue:
    """A stored value: ``text`` is what the agent sees, ``exact`` the sympy srepr to compute with
    (``None`` for text-only values such as a ``Code`` result or an inequality's solution)."""

    text: str
    exact: str | None = None

    def __str__(self) -> str:
        return self.text
