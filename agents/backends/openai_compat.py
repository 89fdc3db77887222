"""The ``openai`` backend: any OpenAI-compatible server (``vllm serve``, llama.cpp, hosted APIs,
``python -m agents.serve``).

Requests run concurrently on one asyncio loop, capped by a semaphore; transient failures (connection
errors, timeouts, HTTP 408/409/429/5xx) are retried with exponential backoff and jitter. NLL uses the
legacy completions endpoint with ``echo`` + ``logprobs``: the prompt+continuation text is echoed with
per-token log-probabilities and character offsets, and the tokens overlapping the continuation are
averaged. A server that does not return them raises :class:`BackendError` saying so.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import threading
from typing import Any

from agents.backends.base import Backend, BackendError, BackendInfo, GenerationParams, truncate_at_stop

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_SERVER_STOPS = 4  # the OpenAI API accepts at most 4 stop strings; the rest are applied here


def _run(coro):
    """Run a coroutine from sync code, also when the caller already has a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class OpenAIBackend(Backend):
    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        max_concurrency: int = 16,
        timeout_s: float = 300.0,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        chat_endpoint: bool = True,
    ) -> None:
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "http://127.0.0.1:8000/v1").rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.chat_endpoint = chat_endpoint
        self.model = model or self._first_model()

    # -- transport -----------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _first_model(self) -> str:
        import httpx

        try:
            r = httpx.get(f"{self.base_url}/models", headers=self._headers(), timeout=self.timeout_s)
            r.raise_for_status()
            return r.json()["data"][0]["id"]
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise BackendError(f"cannot list models at {self.base_url}/models ({exc}); pass the model name") from exc

    async def _post(self, client, sem: asyncio.Semaphore, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        import httpx

        url = f"{self.base_url}/{path}"
        last: str = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                delay = self.backoff_s * 2 ** (attempt - 1) * (1 + random.random())
                log.warning("retrying %s in %.1fs (%s)", url, delay, last)
                await asyncio.sleep(delay)
            async with sem:
                try:
                    r = await client.post(url, json=payload, headers=self._headers())
                except (httpx.TransportError, httpx.TimeoutException) as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    continue
            if r.status_code in RETRY_STATUS:
                last = f"HTTP {r.status_code}: {r.text[:200]}"
                continue
            if r.status_code >= 400:
                raise BackendError(f"{url} answered HTTP {r.status_code}: {r.text[:500]}")
            return r.json()
        raise BackendError(f"{url} failed after {self.max_retries + 1} attempts; last error: {last}")

    async def _gather(self, path: str, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        import httpx

        sem = asyncio.Semaphore(self.max_concurrency)
        limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
        async with httpx.AsyncClient(timeout=self.timeout_s, limits=limits) as client:
            return await asyncio.gather(*(self._post(client, sem, path, p) for p in payloads))

    def _sampling(self, params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "n": params.n, "temperature": params.temperature,
                                "top_p": params.top_p, "max_tokens": params.max_new_tokens}
        if params.stop:
            body["stop"] = list(params.stop[:MAX_SERVER_STOPS])
        if params.seed is not None:
            body["seed"] = params.seed
        return body

    @staticmethod
    def _choices(resp: dict[str, Any], n: int) -> list[dict[str, Any]]:
        choices = sorted(resp.get("choices") or [], key=lambda c: c.get("index", 0))
        if len(choices) != n:
            raise BackendError(f"server returned {len(choices)} choices, expected {n}")
        return choices

    def _finish(self, texts: list[str], params: GenerationParams, usage: dict[str, Any] | None) -> list[int]:
        total = (usage or {}).get("completion_tokens")
        return [int(total) // len(texts)] * len(texts) if total is not None and texts else [0] * len(texts)

    # -- Backend API ---------------------------------------------------------------------------
    def generate(self, prompts: list[str], params: GenerationParams) -> list[list[str]]:
        payloads = [self._sampling(params) | {"prompt": p} for p in prompts]
        responses = _run(self._gather("completions", payloads)) if payloads else []
        out, counts = [], []
        for resp in responses:
            texts = [truncate_at_stop(c.get("text") or "", params.stop) for c in self._choices(resp, params.n)]
            out.append(texts)
            counts.append(self._finish(texts, params, resp.get("usage")))
        self.last_token_counts = counts
        return out

    def chat(self, conversations: list[list[dict[str, str]]], params: GenerationParams) -> list[list[str]]:
        if not self.chat_endpoint:
            return super().chat(conversations, params)
        payloads = [self._sampling(params) | {"messages": m} for m in conversations]
        responses = _run(self._gather("chat/completions", payloads)) if payloads else []
        out, counts = [], []
        for resp in responses:
            texts = [truncate_at_stop((c.get("message") or {}).get("content") or "", params.stop)
                     for c in self._choices(resp, params.n)]
            out.append(texts)
            counts.append(self._finish(texts, params, resp.get("usage")))
        self.last_token_counts = counts
        return out

    def nll(self, prompts: list[str], continuations: list[str]) -> list[float]:
        if len(prompts) != len(continuations):
            raise ValueError(f"{len(prompts)} prompts but {len(continuations)} continuations")
        payloads = [{"model": self.model, "prompt": p + c, "echo": True, "logprobs": 0, "max_tokens": 1,
                     "temperature": 0.0} for p, c in zip(prompts, continuations)]
        responses = _run(self._gather("completions", payloads)) if payloads else []
        return [self._mean_nll(r, len(p), len(p) + len(c)) for r, p, c in zip(responses, prompts, continuations)]

    def _mean_nll(self, resp: dict[str, Any], start: int, end: int) -> float:
        lp = (self._choices(resp, 1)[0].get("logprobs") or {})
        tokens, offsets, values = lp.get("tokens"), lp.get("text_offset"), lp.get("token_logprobs")
        if not tokens or offsets is None or values is None:
            raise BackendError(
                f"{self.base_url} ({self.model}) returned no prompt logprobs for echo=True, logprobs=0: "
                "NLL scoring needs a server that supports them (vllm serve, python -m agents.serve)"
            )
        picked = []
        for tok, off, v in zip(tokens, offsets, values):
            if off >= end:  # the generated token(s) after the echoed text
                break
            if off + len(tok) > start or off >= start:  # overlaps the continuation
                if v is None:
                    raise BackendError("the continuation's first token has no logprob (empty prompt?)")
                picked.append(-float(v))
        return sum(picked) / len(picked) if picked else math.nan

    def info(self) -> BackendInfo:
        return BackendInfo(name="openai", model=self.model, details={"base_url": self.base_url})
