"""The ``api`` producer: planner and grounder served by OpenAI-compatible endpoints (``vllm serve``,
llama.cpp, hosted APIs, ``python -m agents.serve``), few-shot prompted like ``base``.

Options (``agent:`` section of ``--config``): ``base_url`` (both roles) or ``planner_url`` /
``grounder_url``; ``api_key_env`` (name of the variable holding the key, default ``OPENAI_API_KEY``;
the key itself is never recorded); ``chat_format`` (``native`` = the chat endpoint, default;
``lumos`` = raw Lumos strings on the completions endpoint, for served Lumos/MOAT checkpoints);
``max_concurrency``, ``timeout_s``, ``max_retries``; and the ``base`` options ``shots``,
``max_new_tokens``, ``mode``, ``max_rounds``. ``--planner``/``--grounder`` name the served models.
"""

from __future__ import annotations

import os
from typing import Any

from harness.agent import Agent, AgentOptions, AgentProducer

DEFAULTS: dict[str, Any] = {
    "base_url": None,
    "planner_url": None,
    "grounder_url": None,
    "api_key_env": "OPENAI_API_KEY",
    "chat_format": "native",
    "shots": 2,
    "max_new_tokens": 256,
    "mode": None,
    "max_rounds": None,
    "max_concurrency": 16,
    "timeout_s": 300.0,
    "max_retries": 5,
}


class ApiProducer(AgentProducer):
    name = "api"
    description = "Planner and grounder on OpenAI-compatible endpoints (vllm serve, hosted APIs, agents.serve)."

    def build(self, options: AgentOptions) -> Agent:
        from agents.backends import GenerationParams
        from agents.backends.openai_compat import OpenAIBackend
        from agents.pair import AgentPair
        from agents.producers.base import merged_options
        from agents.producers.fewshot import exemplars_digest, exemplars_for
        from harness.errors import ConfigError

        opts = merged_options(options, DEFAULTS)
        planner_url = opts["planner_url"] or opts["base_url"] or os.environ.get("OPENAI_BASE_URL")
        grounder_url = opts["grounder_url"] or opts["base_url"] or planner_url
        if not planner_url:
            raise ConfigError("the api producer needs agent option base_url (or planner_url/grounder_url) "
                              "or $OPENAI_BASE_URL")
        key = os.environ.get(opts["api_key_env"]) if opts["api_key_env"] else None
        common = {"api_key": key, "max_concurrency": int(opts["max_concurrency"]),
                  "timeout_s": float(opts["timeout_s"]), "max_retries": int(opts["max_retries"])}
        planner = OpenAIBackend(options.planner, planner_url, **common)
        if grounder_url == planner_url and options.grounder in (None, options.planner):
            grounder = planner
        else:
            grounder = OpenAIBackend(options.grounder or options.planner, grounder_url, **common)
        params = GenerationParams(temperature=0.0, max_new_tokens=int(opts["max_new_tokens"]), stop=("\n",),
                                  seed=options.seed)
        shots = int(opts["shots"])
        return AgentPair(
            planner, grounder,
            chat_format=opts["chat_format"], mode=opts["mode"], max_rounds=opts["max_rounds"],
            planner_params=params, grounder_params=params,
            fewshot=(lambda env: exemplars_for(env, shots)) if shots > 0 else None,
            producer="api",
            extra_config={"shots": shots, "exemplars": exemplars_digest() if shots > 0 else None},
        )
