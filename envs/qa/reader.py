"""The QA reader: Lumos' gpt-3.5 ``QA`` tool replaced by a local LLM behind any backend.

Prompts and fallbacks are Lumos' (``allenai/lumos: eval/hotpotqa/qa_tool.py``, SPEC b.1): answer
from the context; on "No answer" retry without context, or, for questions carrying
" Must answer yes/no.", ask the forced prompt (also without context). Results keep Lumos' format
``"Question: {q}; {model output}"``. Every call is batched: a list of requests costs one
``generate`` call per fallback stage. The backend is loaded lazily on the first request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

QA_PROMPT = (
    "Please answer the following question according to the context. Please answer with one brief entity, "
    "beginning with 'Answer: '. If the answer can't be found in the context, answer 'No answer'. No more "
    "details and explanations.\n\nQuestion: {question}\nContext: {context}\n"
)
NO_CONTEXT_PROMPT = (
    "Please answer the following question. Please answer with one brief entity, beginning with 'Answer: '. "
    "If the answer can't be answered, output 'No answer'. No more details and explanations.\n\n"
    "Question: {question}\n"
)
FORCED_PROMPT = (
    "Please answer the following question. Please answer with one brief entity, beginning with 'Answer: '.\n\n"
    "Question: {question}\n"
)
YES_NO_SUFFIX = " Must answer yes/no."
LUMOS_CHAT = "<|user|>\n{content}\n<|assistant|>\n"


@dataclass(frozen=True)
class QARequest:
    context: str
    question: str


def _no_answer(text: str) -> bool:
    return "no answer" in text.lower()


class Reader:
    """Batched Lumos QA over a lazily loaded backend.

    ``backend_factory`` returns an object with ``generate(prompts, GenerationParams) ->
    list[list[str]]`` (``agents.backends.base.Backend``). ``chat`` is how the user message is
    wrapped: ``"auto"`` (the model's own chat template when the backend exposes one, else Lumos'
    ``<|user|>`` format), ``"lumos"`` or ``"raw"``. ``prefill`` appends ``"Answer:"`` to the
    assistant turn so that small models keep the requested format (the text generated after it
    is recorded as ``"Answer: ..."``).
    """

    def __init__(self, backend_factory: Callable[[], Any], *, chat: str = "auto", prefill: bool = True,
                 max_new_tokens: int = 100, description: str = "") -> None:
        if chat not in ("auto", "lumos", "raw"):
            raise ValueError(f"reader chat format must be auto, lumos or raw, not {chat!r}")
        self._factory = backend_factory
        self._backend: Any = None
        self._lock = threading.Lock()
        self.chat = chat
        self.prefill = prefill
        self.max_new_tokens = max_new_tokens
        self.description = description
        self.calls = 0
        """Prompts sent to the backend so far (for cost accounting)."""

    @property
    def backend(self) -> Any:
        with self._lock:
            if self._backend is None:
                log.info("loading QA reader %s", self.description or "")
                self._backend = self._factory()
            return self._backend

    def close(self) -> None:
        if self._backend is not None and hasattr(self._backend, "close"):
            self._backend.close()
        self._backend = None

    # -- prompt rendering ---------------------------------------------------------------------
    def render(self, content: str) -> str:
        prompt = self._wrap(content)
        return prompt + "Answer:" if self.prefill else prompt

    def _wrap(self, content: str) -> str:
        if self.chat == "raw":
            return content
        if self.chat == "auto":
            render_chat = getattr(self.backend, "render_chat", None)
            if callable(render_chat):
                try:
                    return render_chat([{"role": "user", "content": content}])
                except Exception as exc:  # noqa: BLE001 - BackendError: a model without a template
                    log.debug("backend has no usable chat template (%s); using Lumos format", exc)
        return LUMOS_CHAT.format(content=content)

    def _generate(self, contents: list[str]) -> list[str]:
        from agents.backends.base import GenerationParams

        if not contents:
            return []
        params = GenerationParams(n=1, temperature=0.0, max_new_tokens=self.max_new_tokens, stop=("\n",))
        prompts = [self.render(c) for c in contents]
        self.calls += len(prompts)
        outs = self.backend.generate(prompts, params)
        texts = [(o[0] if o else "").strip() for o in outs]
        if self.prefill:
            texts = ["Answer: " + t for t in texts]
        return texts

    # -- Lumos QA -----------------------------------------------------------------------------
    def answer(self, requests: list[QARequest]) -> list[str]:
        """``"Question: {q}; {prediction}"`` per request, with Lumos' fallbacks, batched."""
        preds = self._generate([QA_PROMPT.format(question=r.question, context=r.context) for r in requests])
        retry = [i for i, p in enumerate(preds) if _no_answer(p)]
        if retry:
            contents = [
                (FORCED_PROMPT if "Must answer yes/no" in requests[i].question else NO_CONTEXT_PROMPT).format(
                    question=requests[i].question
                )
                for i in retry
            ]
            for i, p in zip(retry, self._generate(contents)):
                preds[i] = p
        return [f"Question: {r.question}; {p}" for r, p in zip(requests, preds)]
