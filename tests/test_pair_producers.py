"""The ``base`` and ``api`` producers built from AgentOptions and run through the real runner, on a
tiny random checkpoint (hf) and on that checkpoint served by agents.serve (api)."""

from __future__ import annotations

import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest

from harness.agent import AgentOptions
from harness.errors import ConfigError
from harness.records import SampleStatus

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from backends_tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny_prod") / "ckpt")


@contextmanager
def serving(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        app.extensions["batch_worker"].stop()


def test_producer_modules_are_cheap_to_import():
    code = ("import sys, agents.producers.base, agents.producers.api, agents.pair, agents.prompts, agents.backends;"
            "bad = [m for m in ('torch', 'transformers', 'httpx') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_entry_points_are_registered():
    from harness.registry import AGENTS

    if "base" not in AGENTS:
        pytest.skip("moat-harness metadata not reinstalled since the entry points were added")
    from agents.producers.api import ApiProducer
    from agents.producers.base import BaseProducer

    assert AGENTS.get("base") is BaseProducer and AGENTS.get("api") is ApiProducer


def test_base_producer_runs_through_the_runner(tiny_dir, tmp_path, toy_plugin_in_process):
    from agents.producers.base import BaseProducer
    from harness.runner import evaluate

    ToyArith, _ = toy_plugin_in_process
    opts = AgentOptions(planner=str(tiny_dir),
                        extra={"max_new_tokens": 12, "shots": 1, "backend_options": {"dtype": "float32"}})
    agent = BaseProducer().build(opts)
    assert agent.planner is agent.grounder, "one model object serves both roles"
    cfg = agent.config()
    assert cfg["producer"] == "base" and cfg["planner"]["model"] == str(tiny_dir) and cfg["shots"] == 1
    result = evaluate(ToyArith(n=5), agent, "base", "test", tmp_path, batch_size=3)
    assert result.n == 5 and sum(result.status_counts.values()) == 5
    # a random model cannot write a valid Add(...) action: every failure is recorded, none crashes
    assert result.status_counts[SampleStatus.INVALID_ACTION.value] == 5
    # three exemplars overflow the tiny model's 1024-token context: a model error per task, no crash
    from agents.producers.fewshot import exemplars_for

    agent.fewshot = lambda env: exemplars_for(env, 3)
    env = ToyArith(n=2)
    trajs = agent.run(env.load("test"), env)
    assert [t.status for t in trajs] == [SampleStatus.MODEL_ERROR] * 2 and "context" in trajs[0].error
    agent.close()


def test_base_producer_rejects_unknown_options():
    from agents.producers.base import BaseProducer

    with pytest.raises(ConfigError, match="unknown agent option"):
        BaseProducer().build(AgentOptions(extra={"shotz": 3}))


def test_api_producer_drives_a_served_model(tiny_dir, toy_plugin_in_process):
    from agents.backends.hf import HFBackend
    from agents.producers.api import ApiProducer
    from agents.serve import create_app

    ToyArith, _ = toy_plugin_in_process
    app = create_app(HFBackend.from_pretrained(tiny_dir, dtype="float32"), "tiny")
    with serving(app) as url:
        agent = ApiProducer().build(AgentOptions(extra={"base_url": url, "max_new_tokens": 8, "shots": 1}))
        env = ToyArith(n=3)
        trajs = agent.run(env.load("test"), env)
        cfg = agent.config()
    assert cfg["planner"] == {"backend": "openai", "model": "tiny", "base_url": url}
    assert cfg["chat_format"] == "native" and cfg["shots"] == 1
    assert len(trajs) == 3 and all(t.model_calls == 2 for t in trajs)
    assert all(t.status == SampleStatus.INVALID_ACTION for t in trajs)


def test_api_producer_needs_an_endpoint(monkeypatch):
    from agents.producers.api import ApiProducer

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="base_url"):
        ApiProducer().build(AgentOptions())
