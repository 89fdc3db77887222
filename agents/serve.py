"""A small OpenAI-compatible HTTP server for any local :class:`~agents.backends.base.Backend`.

``python -m agents.serve --model PATH`` serves ``/v1/models``, ``/v1/completions`` (with ``n``,
``stop``, ``seed``, and ``echo`` + ``logprobs`` for teacher-forced scoring) and
``/v1/chat/completions`` on 127.0.0.1. Concurrent requests are micro-batched: a single worker
thread drains the queue and makes one backend call per group of requests with the same decoding
settings, so many client connections turn back into one batched forward pass.

It exists so the ``openai`` backend is tested against a real server, and so one loaded model can be
shared by several processes on one machine. Logprobs are those of the untempered model.
"""

from __future__ import annotations

import argparse
import logging
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from agents.backends.base import Backend, GenerationParams

log = logging.getLogger(__name__)


class RequestError(ValueError):
    """A malformed request: answered with HTTP 400."""


@dataclass
class _Job:
    kind: str  # "generate" | "chat" | "logprobs"
    inputs: list[Any]
    params: GenerationParams | None
    future: Future = field(default_factory=Future)


class BatchWorker:
    """One thread owns the backend; requests queue up and are served in merged batches."""

    def __init__(self, backend: Backend, max_wait_s: float = 0.005, max_jobs: int = 256) -> None:
        self.backend = backend
        self.max_wait_s = max_wait_s
        self.max_jobs = max_jobs
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="batch-worker", daemon=True)
        self._thread.start()

    def submit(self, kind: str, inputs: list[Any], params: GenerationParams | None = None) -> Any:
        job = _Job(kind, inputs, params)
        self._queue.put(job)
        return job.future.result()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            time.sleep(self.max_wait_s)  # let concurrent requests arrive
            while len(jobs) < self.max_jobs:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                jobs.append(nxt)
            groups: dict[tuple, list[_Job]] = {}
            for j in jobs:
                groups.setdefault((j.kind, j.params), []).append(j)
            for (kind, params), group in groups.items():
                self._run_group(kind, params, group)

    def _run_group(self, kind: str, params: GenerationParams | None, group: list[_Job]) -> None:
        flat = [x for j in group for x in j.inputs]
        try:
            if kind == "logprobs":
                results = self.backend.token_logprobs(flat)  # type: ignore[attr-defined]
                counts = None
            else:
                if kind == "chat":
                    flat = [self.backend.render_chat(m) for m in flat]
                results = self.backend.generate(flat, params)
                counts = self.backend.last_token_counts
        except Exception as exc:  # reported to each waiting request as HTTP 500
            for j in group:
                j.future.set_exception(exc)
            return
        start = 0
        for j in group:
            k = len(j.inputs)
            part = results[start:start + k]
            j.future.set_result(part if counts is None else (part, counts[start:start + k]))
            start += k


def _params_from(body: dict[str, Any], default_max: int) -> GenerationParams:
    stop = body.get("stop") or ()
    if isinstance(stop, str):
        stop = (stop,)
    try:
        return GenerationParams(
            n=int(body.get("n", 1)),
            temperature=float(body.get("temperature", 1.0)),
            top_p=float(body.get("top_p", 1.0)),
            max_new_tokens=int(body["max_tokens"]) if body.get("max_tokens") is not None else default_max,
            stop=tuple(str(s) for s in stop),
            seed=int(body["seed"]) if body.get("seed") is not None else None,
        )
    except (TypeError, ValueError) as exc:
        raise RequestError(f"bad sampling parameter: {exc}") from exc


def create_app(backend: Backend, model_name: str, logprobs: bool = True, default_max_tokens: int = 256):
    """The Flask app (also used in-process by tests)."""
    from flask import Flask, jsonify, request

    app = Flask("agents.serve")
    worker = BatchWorker(backend)
    app.extensions["batch_worker"] = worker

    def error(status: int, message: str, kind: str = "invalid_request_error"):
        return jsonify({"error": {"message": message, "type": kind}}), status

    def body_or_400() -> dict[str, Any]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise RequestError("request body must be a JSON object")
        if body.get("model") not in (None, model_name):
            raise LookupError(f"model '{body.get('model')}' not found; this server has '{model_name}'")
        return body

    @app.errorhandler(RequestError)
    def _bad(exc):
        return error(400, str(exc))

    @app.errorhandler(LookupError)
    def _missing(exc):
        return error(404, str(exc), "not_found_error")

    @app.get("/health")
    def health():
        return jsonify({"status": "ok"})

    @app.get("/v1/models")
    def models():
        return jsonify({"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "moat-harness"}]})

    @app.post("/v1/completions")
    def completions():
        body = body_or_400()
        prompts = body.get("prompt")
        if isinstance(prompts, str):
            prompts = [prompts]
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise RequestError("prompt must be a string or a list of strings (token-id prompts are not supported)")
        params = _params_from(body, default_max_tokens)
        echo = bool(body.get("echo", False))
        want_lp = logprobs and body.get("logprobs") is not None
        if params.max_new_tokens > 0:
            texts, counts = worker.submit("generate", prompts, params)
        else:
            texts, counts = [[""] * params.n for _ in prompts], [[0] * params.n for _ in prompts]
        choices, completion_tokens = [], 0
        for i, (prompt, outs, cnts) in enumerate(zip(prompts, texts, counts)):
            scored = [None] * len(outs)
            if want_lp:  # prompt tokens as the prompt alone encodes them, then the generated ones
                head, *tails = worker.submit("logprobs", [prompt] + [prompt + o for o in outs])
                scored = [head + [r for r in tail if r[1] >= len(prompt)] for tail in tails]
            for j, (text, cnt, lp) in enumerate(zip(outs, cnts, scored)):
                completion_tokens += cnt
                choice = {"index": i * params.n + j, "text": (prompt + text) if echo else text,
                          "finish_reason": "length" if cnt >= params.max_new_tokens else "stop", "logprobs": None}
                if lp is not None:
                    rows = lp if echo else [r for r in lp if r[1] >= len(prompt)]
                    choice["logprobs"] = {"tokens": [r[0] for r in rows], "token_logprobs": [r[2] for r in rows],
                                          "text_offset": [r[1] for r in rows], "top_logprobs": None}
                choices.append(choice)
        return jsonify({"id": f"cmpl-{uuid.uuid4().hex[:16]}", "object": "text_completion",
                        "created": int(time.time()), "model": model_name, "choices": choices,
                        "usage": {"completion_tokens": completion_tokens}})

    @app.post("/v1/chat/completions")
    def chat_completions():
        body = body_or_400()
        messages = body.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
            raise RequestError("messages must be a list of {role, content} objects")
        params = _params_from(body, default_max_tokens)
        if body.get("max_completion_tokens") is not None:
            params = GenerationParams(**{**params.__dict__, "max_new_tokens": int(body["max_completion_tokens"])})
        (outs,), (cnts,) = worker.submit("chat", [messages], params)
        choices = [{"index": j, "message": {"role": "assistant", "content": text},
                    "finish_reason": "length" if cnt >= params.max_new_tokens else "stop"}
                   for j, (text, cnt) in enumerate(zip(outs, cnts))]
        return jsonify({"id": f"chatcmpl-{uuid.uuid4().hex[:16]}", "object": "chat.completion",
                        "created": int(time.time()), "model": model_name, "choices": choices,
                        "usage": {"completion_tokens": sum(cnts)}})

    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agents.serve", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="checkpoint path or hub id (default: the default model)")
    p.add_argument("--name", default=None, help="model name clients use (default: the folder name)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 = any free port (printed on start)")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--no-logprobs", action="store_true", help="ignore echo/logprobs, as some servers do")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from pathlib import Path

    from werkzeug.serving import make_server

    from agents.backends.hf import HFBackend
    from agents.models import resolve_model

    path = resolve_model(args.model)
    backend = HFBackend.from_pretrained(path, dtype=args.dtype)
    name = args.name or Path(str(args.model or path)).name
    app = create_app(backend, name, logprobs=not args.no_logprobs)
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"serving {name} on http://{args.host}:{server.server_port}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["batch_worker"].stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
