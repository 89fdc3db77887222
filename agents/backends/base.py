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


def truncate_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """``text`` up to (excluding) the earliest occurrence of any stop string."""
    cut = len(text)
    for s in stops:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def continuation_start(prompt_ids: list[int], whole_ids: list[int]) -> int:
    """Where the continuation starts in the encoding of prompt+continuation: the longest common
    prefix with the prompt's own encoding (a token merged across the boundary counts as
    continuation), at least 1 so the first scored token has a context."""
    n = 0
    for a, c in zip(prompt_ids, whole_ids):
        if a != c:
            break
        n += 1
    return max(n, 1)


class BackendError(RuntimeError):
    """A backend cannot do what was asked (e.g. a server without prompt logprobs)."""


class Backend(ABC):
    """Batched text generation and teacher-forced scoring for one model."""

    last_token_counts: list[list[int]] | None = None
    """Generated tokens of each completion of the latest :meth:`generate`/:meth:`chat` call (same
    shape as its result), when the backend knows them; used for trajectory token accounting."""

    @abstractmethod
    def generate(self, prompts: list[str], params: GenerationParams) -> list[list[str]]:
        """``params.n`` completions per prompt (outer list follows ``prompts``)."""

    @abstractmethod
    def nll(self, prompts: list[str], continuations: list[str]) -> list[float]:
        """Mean token negative log-likelihood of each continuation given its prompt (the MOAT
        reward: the log of the grounder's perplexity)."""

    def chat(self, conversations: list[list[dict[str, str]]], params: GenerationParams) -> list[list[str]]:
        """Like :meth:`generate`, for conversations (``[{"role", "content"}, ...]``, last turn from the
        user) serialised with the model's own chat template. Servers override this with their chat
        endpoint."""
        return self.generate([self.render_chat(c) for c in conversations], params)

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        """The model's own chat template applied to ``messages``, ending with the assistant header."""
        raise BackendError(f"{type(self).__name__} has no chat template; use the 'lumos' chat format")

    @abstractmethod
    def info(self) -> BackendInfo:
        """Identity recorded in run configs (backend name, model id/path, dtype, ...)."""

    def close(self) -> None:
        """Free the model."""
