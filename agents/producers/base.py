"""The ``base`` producer: the default model (or ``--planner``/``--grounder``), few-shot prompted in
the Lumos formats as both planner and grounder. No training: the floor every trained pair is
compared against."""

from __future__ import annotations

from typing import Any

from harness.agent import Agent, AgentOptions, AgentProducer

# Options read from ``AgentOptions.extra`` (the ``agent:`` section of ``--config``).
DEFAULTS: dict[str, Any] = {
    "shots": 2,  # exemplars per prompt
    "chat_format": "lumos",  # or "native": the model's own chat template
    "max_new_tokens": 256,  # one line per turn; Lumos allows 512
    "mode": None,  # None = the environment's mode
    "max_rounds": None,  # None = the environment's budget
    "backend_options": {},  # e.g. {"dtype": "float32"} or {"base_url": ...}
}


def merged_options(options: AgentOptions, defaults: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options.extra) - set(defaults)
    if unknown:
        from harness.errors import ConfigError

        raise ConfigError(f"unknown agent option(s) {sorted(unknown)}; known: {sorted(defaults)}")
    return defaults | options.extra


def build_pair(options: AgentOptions, opts: dict[str, Any], producer: str, backend: str,
               extra_config: dict[str, Any] | None = None) -> Agent:
    """Load planner and grounder (one model object when they are the same) and wrap them."""
    from agents.backends import GenerationParams, load_backend
    from agents.pair import AgentPair
    from agents.producers.fewshot import exemplars_digest, exemplars_for

    kwargs = dict(opts["backend_options"])
    if backend in ("hf", "vllm"):
        kwargs.setdefault("seed", options.seed)
    planner = load_backend(backend, options.planner, **kwargs)
    same = options.grounder is None or options.grounder == options.planner
    grounder = planner if same else load_backend(backend, options.grounder, **kwargs)
    params = GenerationParams(temperature=0.0, max_new_tokens=int(opts["max_new_tokens"]), stop=("\n",))
    shots = int(opts["shots"])
    return AgentPair(
        planner,
        grounder,
        chat_format=opts["chat_format"],
        mode=opts["mode"],
        max_rounds=opts["max_rounds"],
        planner_params=params,
        grounder_params=params,
        fewshot=(lambda env: exemplars_for(env, shots)) if shots > 0 else None,
        producer=producer,
        extra_config={"shots": shots, "exemplars": exemplars_digest() if shots > 0 else None, **(extra_config or {})},
    )


class BaseProducer(AgentProducer):
    name = "base"
    description = "Default model (SmolLM2-135M-Instruct) few-shot prompted as planner and grounder, Lumos formats."

    def build(self, options: AgentOptions) -> Agent:
        return build_pair(options, merged_options(options, DEFAULTS), "base", options.backend)
