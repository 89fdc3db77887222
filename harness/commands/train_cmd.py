"""``harness train lumos|agenttuning|moat``: cold-start SFT, the single-agent baseline and MOAT.

Configuration: a preset (``tiny`` | ``cpu-small`` | ``paper``) < a ``--config`` YAML/JSON file
(nested keys of :class:`training.presets.TrainConfig`, e.g. ``moat: {k: 8}``) < flags. The run goes
to ``--output-dir`` (default ``$HARNESS_TRAIN_DIR/<method>`` or ``runs/train/<method>``), where the
``lumos`` / ``agenttuning`` / ``moat`` agent producers find it. Rerunning the same command resumes.
Multi-process: ``torchrun --nproc_per_node N -m harness.cli train ...`` or ``accelerate launch
--config_file training/accelerate/ddp.yaml -m harness.cli train ...``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from harness.argtypes import add_alias, positive_int


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("train", help="train Lumos / AgentTuning baselines or run MOAT joint alignment")
    p.add_argument("method", choices=["lumos", "agenttuning", "moat"], metavar="METHOD", help="lumos | agenttuning | moat")
    p.add_argument("--preset", choices=["tiny", "cpu-small", "paper"], metavar="NAME",
                   help="tiny | cpu-small | paper (default: cpu-small)")
    p.add_argument("--from", dest="from_run", metavar="RUN_DIR", help="moat: start from this finished `train lumos` run")
    p.add_argument("--output-dir", metavar="DIR",
                   help="run folder (default: $HARNESS_TRAIN_DIR/<method> or runs/train/<method>)")
    add_alias(p, "--out", "output_dir")
    p.add_argument("--critic", choices=["execution", "llm", "none"], metavar="KIND", help="moat critic: execution | llm | none "
                   "(default: execution)")
    p.add_argument("--critic-model", metavar="MODEL", help="model id or path for --critic llm (default: the base model)")
    p.add_argument("--critic-backend", metavar="NAME", help="backend for --critic llm: hf | vllm | openai (default: hf)")
    p.add_argument("--backend", choices=["hf", "vllm"], metavar="NAME", help="moat: engine for sampling, rewards and "
                   "regeneration: hf | vllm (default: hf; the trainers are TRL either way)")
    p.add_argument("--k", type=positive_int, metavar="N", help="moat: plans sampled per step (default: 15)")
    p.add_argument("--iterations", type=positive_int, metavar="N", help="moat: iterations (default: 2)")
    p.add_argument("--tasks", type=positive_int, metavar="N", help="moat: training tasks sampled per iteration "
                   "(default: the preset's)")
    p.add_argument("--no-stage1", action="store_true", help="moat ablation: no planner alignment (DPO)")
    p.add_argument("--no-stage2", action="store_true", help="moat ablation: no grounder improving (SFT)")
    p.add_argument("--full-finetune", action="store_true", help="train all weights instead of LoRA adapters")
    p.add_argument("--base-model", metavar="MODEL", help="base model: default | tiny | PATH | hub id "
                   "(default: the preset's)")
    p.add_argument("--data-dir", metavar="DIR", help="benchmark data folder (default: $HARNESS_DATA_DIR or the cache)")
    p.add_argument("--config", metavar="FILE", help="YAML/JSON file overriding preset fields (nested keys)")
    p.add_argument("--export-dir", metavar="DIR", help="when the run is complete, write its final adapters (bf16) and "
                   "manifest to DIR, small enough to commit (e.g. training/shipped/<method>)")
    add_alias(p, "--export", "export_dir")
    return p


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    o: dict[str, Any] = {}
    moat: dict[str, Any] = {}
    critic: dict[str, Any] = {}
    if args.critic:
        critic["kind"] = args.critic
    if args.critic_model:
        critic["model"] = args.critic_model
        critic.setdefault("kind", "llm")
    if args.critic_backend:
        critic["backend"] = args.critic_backend
    if critic:
        moat["critic"] = critic
    for key in ("k", "iterations", "tasks", "backend"):
        if getattr(args, key, None) is not None:
            moat[key] = getattr(args, key)
    if args.no_stage1:
        moat["stage1"] = False
    if args.no_stage2:
        moat["stage2"] = False
    if moat:
        o["moat"] = moat
    if args.full_finetune:
        o["full_finetune"] = True
    if args.base_model:
        o["base_model"] = args.base_model
    return o


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from harness.config import load_config_file, unknown_keys, validation_message
    from harness.errors import ConfigError
    from training.manifest import default_train_root
    from training.presets import TrainConfig, build_config, deep_merge

    file_overrides: dict[str, Any] = load_config_file(args.config) if args.config else {}
    preset = args.preset or file_overrides.pop("preset", None)
    unknown = unknown_keys(TrainConfig, file_overrides)
    if unknown:
        raise ConfigError(f"unknown option(s) in {args.config}: {', '.join(unknown)}")
    try:
        cfg = build_config(preset, deep_merge(file_overrides, overrides_from_args(args)))
    except ValidationError as exc:
        where = f"invalid training configuration ({args.config or 'flags'})"
        raise ConfigError(validation_message(exc, {}, where)) from None
    except ValueError as exc:
        raise ConfigError(f"invalid training configuration: {exc}") from exc
    if args.from_run and args.method != "moat":
        raise ConfigError("--from only applies to `harness train moat`")
    out = args.output_dir or str(default_train_root() / args.method)

    from training.api import train
    from training.manifest import TrainSetupError

    try:
        run_dir = train(args.method, cfg, out, data_dir=args.data_dir, from_run=args.from_run,
                        command="harness " + shlex.join(sys.argv[1:]))
    except TrainSetupError as exc:
        raise ConfigError(str(exc)) from exc
    print(f"{args.method} run ({cfg.preset} preset) complete: {run_dir.root}")
    for name, st in run_dir.data["stages"].items():
        print(f"  {name:<28} {st.get('seconds', 0):>9.1f} s")
    if args.export_dir:
        from training.export import export_run, export_size

        try:
            exported = export_run(run_dir.root, args.export_dir)
        except TrainSetupError as exc:
            raise ConfigError(str(exc)) from exc
        print(f"exported to {exported} ({export_size(exported) / 2**20:.1f} MiB)")
    if args.method == "moat":
        print(f"  per-iteration log: {run_dir.root / 'moat' / 'log.jsonl'} (plot: {run_dir.root / 'moat' / 'rewards.png'})")
    print(f"evaluate with: harness eval --agents {args.method} --benchmarks gsm8k --limit 50"
          + ("" if args.output_dir is None else f"  (with HARNESS_TRAIN_DIR or agent option run={run_dir.root})"))
    return 0
