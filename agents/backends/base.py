"""The one model interface used by agents, tools (QA reader, code writer, critic) and the trainer.

Implementations: ``hf`` (transformers, default), ``vllm`` (offline ``vllm.LLM``), ``openai``
(any OpenAI-compatible server). Get one with :func:`agents.backends.load_backend`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings; part of the agent config hash."""

    n: int = 1
    temperature: float = 0.0
    """0 = greedy."""
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    """Generation ends at the first stop string; the stop string itself is not returned."""
    seed: int | None = None


@dataclass
class BackendInfo:
    name: str
    model: str
    details: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    """Batched text generation and teacher-forced scoring for one model."""

    @abstractmethod
    def generate(self, prompts: list[str], params: GenerationParams) -> list[list[str]]:
        """``params.n`` completions per prompt (outer list follows ``prompts``)."""

    @abstractmethod
    def nll(self, prompts: list[str], continuations: list[str]) -> list[float]:
        """Mean token negative log-likelihood of each continuation given its prompt (the MOAT
        reward: the log of the grounder's perplexity)."""

    @abstractmethod
    def info(self) -> BackendInfo:
        """Identity recorded in run configs (backend name, model id/path, dtype, ...)."""

    def close(self) -> None:
        """Free the model."""
