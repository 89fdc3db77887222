"""The ``lumos`` producer: the planner and grounder SFT-trained independently by ``harness train
lumos`` (Agent Lumos = the paper's initial tuning), run as an :class:`~agents.pair.AgentPair` in the
Lumos formats with greedy one-line decoding.

Agent options (``--config`` ``agent:`` section): ``run`` (run folder; default
``$HARNESS_LUMOS_RUN``, else ``$HARNESS_TRAIN_DIR/lumos``, else ``runs/train/lumos``, else the shipped ``training/shipped/lumos``), ``mode``,
``max_rounds``, ``max_new_tokens``, ``backend_options`` (e.g. ``{dtype: float32}``).
``--planner`` / ``--grounder`` replace the run's checkpoints (adapter folders or full models).
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.agent import Agent, AgentOptions, AgentProducer

DEFAULTS: dict[str, Any] = {
    "run": None,
    "iteration": None,
    "mode": None,
    "max_rounds": None,
    "max_new_tokens": 256,
    "backend_options": {},
}


def build_trained_pair(method: str, options: AgentOptions, planner_key: str = "planner",
                       grounder_key: str = "grounder") -> Agent:
    """An AgentPair over a finished training run's base model + adapters."""
    from agents.backends import GenerationParams, load_backend
    from agents.pair import AgentPair
    from agents.producers.base import merged_options
    from training.modeling import is_adapter
    from training.trained import checkpoint_digest, env_run_override, locate_run, output, run_label

    opts = merged_options(options, DEFAULTS)
    root, manifest = locate_run(method, opts["run"] or env_run_override(method))
    base = output(root, manifest, "base")
    if opts["iteration"] is not None:
        planner_key, grounder_key = f"iter{int(opts['iteration'])}_planner", f"iter{int(opts['iteration'])}_grounder"
    ckpts = {
        "planner": options.planner or str(output(root, manifest, planner_key)),
        "grounder": options.grounder or str(output(root, manifest, grounder_key)),
    }
    kwargs = dict(opts["backend_options"])
    if options.backend in ("hf", "vllm"):
        kwargs.setdefault("seed", options.seed)
    backends = {}
    for role, ckpt in ckpts.items():
        label = f"{method}:{role}"
        if is_adapter(ckpt):
            backends[role] = load_backend(options.backend, str(base), adapter=ckpt, label=label, **kwargs)
        else:
            backends[role] = load_backend(options.backend, ckpt, label=label, **kwargs)
    params = GenerationParams(temperature=0.0, max_new_tokens=int(opts["max_new_tokens"]), stop=("\n",))
    return AgentPair(
        backends["planner"],
        backends["grounder"],
        chat_format="lumos",
        mode=opts["mode"],
        max_rounds=opts["max_rounds"],
        planner_params=params,
        grounder_params=params,
        producer=method,
        extra_config={
            "train_run": run_label(root),
            "train_config_hash": manifest.get("config_hash"),
            "train_preset": manifest.get("config", {}).get("config", {}).get("preset"),
            "checkpoints": {role: checkpoint_digest(ckpt) for role, ckpt in ckpts.items()},
            "iteration": opts["iteration"],
        },
    )


class LumosProducer(AgentProducer):
    name: ClassVar[str] = "lumos"
    description: ClassVar[str] = ("Planner and grounder SFT-trained independently on Lumos-format train data "
                                  "(`harness train lumos`).")

    def build(self, options: AgentOptions) -> Agent:
        return build_trained_pair("lumos", options)
