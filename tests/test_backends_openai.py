"""openai backend transport against real local HTTP servers: retries with backoff, the concurrency
cap, timeouts, servers without logprobs, and the agents.serve micro-batching."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from agents.backends import BackendError, GenerationParams
from agents.backends.openai_compat import OpenAIBackend


@contextmanager
def serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def completion(text: str, n: int = 1) -> dict:
    return {"choices": [{"index": i, "text": text} for i in range(n)], "usage": {"completion_tokens": 3 * n}}


def fast(url: str, **kw) -> OpenAIBackend:
    return OpenAIBackend("m", url, backoff_s=0.01, **kw)


def test_transient_errors_are_retried_then_succeed():
    app, seen = Flask("t"), []

    @app.post("/v1/completions")
    def complete():
        seen.append(request.get_json())
        if len(seen) <= 2:
            return jsonify({"error": "overloaded"}), 503
        return jsonify(completion("ok"))

    with serving(app) as url:
        assert fast(url).generate(["p"], GenerationParams(max_new_tokens=4)) == [["ok"]]
    assert len(seen) == 3
    assert seen[0] == {"model": "m", "prompt": "p", "n": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 4}


def test_retries_give_up_and_client_errors_are_not_retried():
    app, seen = Flask("t"), []

    @app.post("/v1/completions")
    def complete():
        seen.append(1)
        body = request.get_json()
        return (jsonify({"error": "bad"}), 400) if body["prompt"] == "bad" else (jsonify({"error": "down"}), 500)

    with serving(app) as url:
        with pytest.raises(BackendError, match="HTTP 400"):
            fast(url).generate(["bad"], GenerationParams())
        assert len(seen) == 1
        with pytest.raises(BackendError, match="after 3 attempts"):
            fast(url, max_retries=2).generate(["x"], GenerationParams())
        assert len(seen) == 4


def test_concurrency_is_capped():
    app = Flask("t")
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    @app.post("/v1/completions")
    def complete():
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return jsonify(completion(request.get_json()["prompt"].upper()))

    with serving(app) as url:
        out = fast(url, max_concurrency=3).generate([f"p{i}" for i in range(12)], GenerationParams())
    assert out == [[f"P{i}"] for i in range(12)]  # order kept
    assert 2 <= state["peak"] <= 3


def test_timeouts_are_retried_and_reported():
    app = Flask("t")

    @app.post("/v1/completions")
    def complete():
        time.sleep(1.0)
        return jsonify(completion("late"))

    with serving(app) as url:
        with pytest.raises(BackendError, match="ReadTimeout"):
            fast(url, timeout_s=0.2, max_retries=1).generate(["p"], GenerationParams())


def test_server_without_logprobs_gives_a_clear_error():
    app = Flask("t")

    @app.post("/v1/completions")
    def complete():
        return jsonify(completion("x"))  # ignores echo/logprobs, as some servers do

    with serving(app) as url:
        with pytest.raises(BackendError, match="no prompt logprobs"):
            fast(url).nll(["a"], ["b"])


def test_model_name_comes_from_the_server_and_stops_are_capped_at_four():
    app, seen = Flask("t"), []

    @app.get("/v1/models")
    def models():
        return jsonify({"data": [{"id": "served-model"}]})

    @app.post("/v1/completions")
    def complete():
        seen.append(request.get_json())
        return jsonify(completion("a|b|c"))

    with serving(app) as url:
        b = OpenAIBackend(base_url=url)
        assert b.model == "served-model"
        out = b.generate(["p"], GenerationParams(stop=("1", "2", "3", "4", "|")))
    assert out == [["a"]]  # the fifth stop string is applied client-side
    assert seen[0]["stop"] == ["1", "2", "3", "4"]


def test_agents_serve_merges_concurrent_requests_into_one_batch():
    from agents.backends.base import Backend, BackendInfo
    from agents.serve import create_app

    class Echo(Backend):
        def __init__(self):
            self.batches = []

        def generate(self, prompts, params):
            self.batches.append(list(prompts))
            self.last_token_counts = [[1] * params.n for _ in prompts]
            return [[p[::-1]] * params.n for p in prompts]

        def nll(self, prompts, continuations):
            return [0.0] * len(prompts)

        def info(self):
            return BackendInfo("echo", "echo")

    echo = Echo()
    app = create_app(echo, "echo")
    app.extensions["batch_worker"].max_wait_s = 0.2
    with serving(app) as url:
        out = OpenAIBackend("echo", url, max_concurrency=8).generate([f"abc{i}" for i in range(8)], GenerationParams())
        with pytest.raises(BackendError, match="HTTP 404"):
            OpenAIBackend("other", url).generate(["x"], GenerationParams())
    app.extensions["batch_worker"].stop()
    assert out == [[f"{i}cba"] for i in range(8)]
    assert len(echo.batches) < 8 and sum(len(b) for b in echo.batches) == 8
