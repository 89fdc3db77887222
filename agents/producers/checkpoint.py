"""The ``checkpoint`` producer: a published planner/grounder pair run as it was released, with no training
run of ours -- e.g. Agent Lumos' ``ai2lumos/lumos_maths_plan_iterative`` + ``ai2lumos/lumos_maths_ground_iterative``,
a pair released by the MOAT authors, or any two local full-model directories::

    harness eval --agents checkpoint --benchmarks gsm8k \\
        --planner ai2lumos/lumos_maths_plan_iterative --grounder ai2lumos/lumos_maths_ground_iterative

It is how a user checks this harness against Lumos' own numbers: Lumos' exact inference strings (SPEC a.1,
a.5: ``<|user|>\\n...\\n<|assistant|>\\n``, no EOS between turns, no few-shot prefix), greedy decoding of one
line per turn with Lumos' 512-token budget.

Agent options (``--config`` ``agent:`` section): ``mode`` (default: ``iterative`` / ``one-pass`` when the
planner's name says ``iterative`` / ``onetime``, else the environment's formulation), ``max_rounds``,
``max_new_tokens`` (512), ``backend_options`` (e.g. ``{dtype: float16}`` as Lumos loads them, or vLLM's
``{tensor_parallel_size: 8}``), ``label`` (a name recorded in the run identity).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

from harness.agent import Agent, AgentOptions, AgentProducer

DEFAULTS: dict[str, Any] = {
    "mode": None,
    "max_rounds": None,
    "max_new_tokens": 512,
    "backend_options": {},
    "label": None,
}


def mode_from_name(name: str) -> str | None:
    """Lumos checkpoints say their formulation in their name (``..._iterative`` / ``..._onetime``)."""
    low = Path(str(name).rstrip("/")).name.lower()
    if "iterative" in low:
        return "iterative"
    if "onetime" in low or "one-pass" in low or "onepass" in low:
        return "one-pass"
    return None


def fingerprint(model: str) -> dict[str, Any]:
    """What identifies a checkpoint without reading gigabytes: the hub commit of a cached snapshot
    (``.../snapshots/<commit>/``), else the names and sizes of a local folder's weight and config files
    with a hash of ``config.json``; a bare hub id is recorded as given."""
    path = Path(str(model)).expanduser()
    if not path.is_dir():
        return {"id": str(model), "source": "hub"}
    resolved = path.resolve()
    if resolved.parent.name == "snapshots":
        return {"id": str(model), "source": "hub-cache", "revision": resolved.name}
    h = hashlib.sha256()
    for f in sorted(p for p in resolved.iterdir() if p.suffix in (".safetensors", ".bin", ".json", ".model")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
        if f.name == "config.json":
            h.update(f.read_bytes())
    return {"id": str(model), "source": "local", "files_digest": h.hexdigest()[:16]}


def build_checkpoint_pair(options: AgentOptions) -> Agent:
    from agents.backends import GenerationParams, load_backend
    from agents.pair import AgentPair
    from agents.producers.base import merged_options
    from harness.errors import ConfigError

    opts = merged_options(options, DEFAULTS)
    if not options.planner or not options.grounder:
        raise ConfigError("the checkpoint producer runs a released pair: pass both --planner and --grounder "
                          "(full-model directories or hub ids, e.g. ai2lumos/lumos_maths_plan_iterative)")
    for role, ckpt in (("planner", options.planner), ("grounder", options.grounder)):
        if (Path(ckpt) / "adapter_config.json").exists():
            raise ConfigError(f"--{role} {ckpt} is a LoRA adapter, not a full model: evaluate our own training "
                              "runs with the lumos or moat producer")
    mode = opts["mode"] or mode_from_name(options.planner)
    kwargs = dict(opts["backend_options"])
    if options.backend in ("hf", "vllm"):
        kwargs.setdefault("seed", options.seed)
    planner = load_backend(options.backend, options.planner, **kwargs)
    same = options.grounder == options.planner
    grounder = planner if same else load_backend(options.backend, options.grounder, **kwargs)
    params = GenerationParams(temperature=0.0, max_new_tokens=int(opts["max_new_tokens"]), stop=("\n",))
    return AgentPair(
        planner,
        grounder,
        chat_format="lumos",
        mode=mode,
        max_rounds=opts["max_rounds"],
        planner_params=params,
        grounder_params=params,
        producer="checkpoint",
        extra_config={
            "label": opts["label"],
            "checkpoints": {"planner": fingerprint(options.planner), "grounder": fingerprint(options.grounder)},
        },
    )


class CheckpointProducer(AgentProducer):
    name: ClassVar[str] = "checkpoint"
    description: ClassVar[str] = ("A released planner/grounder pair (--planner/--grounder: full models or hub ids, "
                                  "e.g. ai2lumos/lumos_*), Lumos' exact inference strings, no training run.")

    def build(self, options: AgentOptions) -> Agent:
        return build_checkpoint_pair(options)
