"""One function per training method, called by ``harness train`` (and usable from Python)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from training import dist
from training.manifest import RunDir
from training.pipeline import link_from, prepare_base, prepare_data, train_agenttuning, train_cold_start
from training.presets import TrainConfig

log = logging.getLogger(__name__)

METHODS = ("lumos", "agenttuning", "moat")


def _check_same_kind(run: RunDir, cfg: TrainConfig) -> None:
    """LoRA adapters are stored relative to the base model: a LoRA MOAT run cannot continue from a
    fully fine-tuned cold start (or the reverse)."""
    from training.manifest import TrainSetupError
    from training.modeling import is_adapter

    cold = run.output("cold_planner")
    if cold is not None and is_adapter(cold) == cfg.full_finetune:
        kind = "LoRA adapters" if is_adapter(cold) else "full checkpoints"
        raise TrainSetupError(f"the cold start at {cold} holds {kind}; run moat with the same setting "
                              f"({'without' if is_adapter(cold) else 'with'} --full-finetune)")


def train(method: str, cfg: TrainConfig, out: str | Path, data_dir: str | None = None,
          from_run: str | Path | None = None, command: str | None = None) -> RunDir:
    """Run (or resume) ``method`` into ``out``; returns the finished run."""
    if method not in METHODS:
        raise ValueError(f"unknown training method {method!r}; choose from {', '.join(METHODS)}")
    dist.init()
    if cfg.torch_threads:
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(cfg.torch_threads)
        try:
            return _train(method, cfg, out, data_dir, from_run, command)
        finally:
            torch.set_num_threads(previous)
    return _train(method, cfg, out, data_dir, from_run, command)


def _train(method: str, cfg: TrainConfig, out: str | Path, data_dir: str | None, from_run: str | Path | None,
           command: str | None) -> RunDir:
    identity: dict[str, Any] = {"config": cfg.identity()}
    if method == "moat" and from_run is not None:
        identity["from"] = str(Path(from_run).resolve())
    run = RunDir(out, method, identity, command=command)
    if method == "moat" and from_run is not None:
        link_from(run, Path(from_run))
        _check_same_kind(run, cfg)
    else:
        prepare_data(run, cfg, data_dir)
        prepare_base(run, cfg)
    if method == "lumos":
        train_cold_start(run, cfg, prefix="lumos")
    elif method == "agenttuning":
        train_agenttuning(run, cfg)
    else:
        if from_run is None:
            train_cold_start(run, cfg, prefix="lumos", key_prefix="cold_")
        from training.moat import MoatTrainer

        trainer = MoatTrainer(run, cfg, data_dir)
        try:
            trainer.train()
        finally:
            trainer.close()
    run.data["complete"] = True
    run.save()
    total = sum(v.get("seconds", 0.0) for v in run.data["stages"].values())
    log.info("%s run complete in %s (stage time %.1f s)", method, run.root, total)
    return run
