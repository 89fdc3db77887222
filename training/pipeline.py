"""Shared stages of every training run: data, base model, cold-start SFT (= Agent Lumos), and the
AgentTuning-style single-agent SFT.

Run layout (all paths in the manifest are relative to the run folder)::

    data/train_examples.jsonl  data/dev_examples.jsonl     gold trajectories (train split only)
    data/plan_sft.jsonl        data/ground_sft.jsonl       Lumos-format SFT records
    base/                                                  the tiny model (tiny preset only)
    lumos/planner/  lumos/grounder/                        cold-start adapters (or full models)
    agenttuning/agent/                                     single-agent adapter
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from training.datasets import check_hygiene, eval_questions, load_source, read_examples, split_dev, write_examples
from training.manifest import RunDir, TrainSetupError
from training.presets import TrainConfig
from training.records import sft_records
from training.sampling import read_jsonl, write_jsonl
from training.sft import train_sft

log = logging.getLogger(__name__)


class HygieneError(TrainSetupError):
    """An evaluation task reached a training set."""


def prepare_data(run: RunDir, cfg: TrainConfig, data_dir: str | None) -> None:
    """Stage ``data``: gold examples from the train sources, hygiene-checked, dev slice held out."""

    def build() -> dict[str, Any]:
        from harness.data import resolve_data_dir

        root = resolve_data_dir(data_dir)
        evals = eval_questions(root)
        if not evals:
            log.warning("no evaluation files under %s: split hygiene cannot be checked", root)
        examples, stats = [], {}
        for spec in cfg.data.sources:
            ex, st = load_source(spec, root, evals, require_correct=cfg.data.require_correct_gold)
            examples += ex
            stats[f"{spec.env}:{spec.split}"] = st
        if not examples:
            raise ValueError("no training examples: every source was empty or unavailable")
        train, dev = split_dev(examples, cfg.data.dev_size, cfg.data.seed)
        leaks = check_hygiene(train + dev, evals)
        if leaks:
            raise HygieneError(f"evaluation tasks in the training data: { {k: v[:5] for k, v in leaks.items()} }")
        write_examples(run.sub("data", "train_examples.jsonl"), train)
        write_examples(run.sub("data", "dev_examples.jsonl"), dev)
        sft, lumos_stats = cold_start_records(cfg, root, evals, train)
        write_jsonl(run.sub("data", "plan_sft.jsonl"), sft["plan"])
        write_jsonl(run.sub("data", "ground_sft.jsonl"), sft["ground"])
        for name in ("train_examples", "dev_examples", "plan_sft", "ground_sft"):
            run.record_data(run.sub("data", f"{name}.jsonl"))
        return {"train_examples": len(train), "dev_examples": len(dev), "sources": stats,
                "hygiene_checked_against": {k: len(v) for k, v in evals.items()}, "data_dir": str(root),
                **lumos_stats}

    run.stage("data", build)


def cold_start_records(cfg: TrainConfig, root: Path, evals: dict[str, set[str]],
                       train: list) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Planner/grounder SFT records: Agent Lumos' released sets when configured and present, else
    records built from the train-split golds (with a loud warning when Lumos' sets were asked for)."""
    from training.lumos_sft import load_sets

    golds = {role: sft_records(train, role, cfg.data.formulations) for role in ("plan", "ground")}
    settings = cfg.data.lumos_sft
    if settings.use == "off":
        return golds, {"cold_start_data": "train-split golds"}
    if settings.use not in ("auto", "required"):
        raise TrainSetupError(f"data.lumos_sft.use must be off, auto or required, not {settings.use!r}")
    records, stats = load_sets(settings, root, cfg.data.formulations, evals)
    missing = [name for name, st in stats.items() if not st["found"]]
    info: dict[str, Any] = {"lumos_sft": stats}
    if missing and settings.use == "required":
        raise TrainSetupError(f"Lumos SFT set(s) not found: {', '.join(missing)}; run `harness data download "
                              f"lumos-sft` (or set data.lumos_sft.dir / online: true)")
    if not records["plan"] or not records["ground"]:
        log.warning("=" * 72)
        log.warning("Lumos SFT data NOT FOUND (%s): the cold start FALLS BACK to records built from the "
                    "train-split golds, which is NOT the paper's initial tuning. Fetch it with "
                    "`harness data download lumos-sft`.", ", ".join(missing) or "no usable records")
        log.warning("=" * 72)
        return golds, info | {"cold_start_data": "train-split golds (fallback: Lumos SFT data missing)"}
    if missing:
        log.warning("Lumos SFT: %d set(s) missing (%s); training on the %d found", len(missing),
                    ", ".join(missing), len(stats) - len(missing))
    leaks = {k: v for k, v in check_record_hygiene(records["plan"] + records["ground"], evals).items() if v}
    if leaks:
        raise HygieneError(f"evaluation tasks in the Lumos SFT data: { {k: v[:5] for k, v in leaks.items()} }")
    return records, info | {"cold_start_data": "lumos-sft",
                            "lumos_sft_records": {role: len(v) for role, v in records.items()}}


def check_record_hygiene(records: list[dict[str, Any]], evals: dict[str, set[str]]) -> dict[str, list[str]]:
    """Ids of SFT records whose task is an evaluation question, per evaluation set."""
    from training.datasets import eval_leak
    from training.lumos_sft import record_question

    leaks: dict[str, list[str]] = {}
    for rec in records:
        q = record_question(rec)
        if q and (name := eval_leak(q, evals)):
            leaks.setdefault(name, []).append(rec["id"])
    return leaks


def train_examples(run: RunDir):
    return read_examples(run.sub("data", "train_examples.jsonl"))


def dev_examples(run: RunDir):
    return read_examples(run.sub("data", "dev_examples.jsonl"))


def prepare_base(run: RunDir, cfg: TrainConfig) -> Path | str:
    """Stage ``base``: the tiny model (built from the run's records) or the resolved base model."""

    def build() -> dict[str, Any]:
        if cfg.base_model == "tiny":
            from training.tiny import make_tiny_base

            corpus = []
            for name in ("plan_sft", "ground_sft"):
                for rec in read_jsonl(run.sub("data", f"{name}.jsonl")):
                    corpus.extend(m["content"] for m in rec["messages"])
            path = make_tiny_base(run.sub("base"), corpus, seed=cfg.data.seed, **cfg.tiny)
            run.set_output("base", path)
            return {"base": "tiny", "path": "base"}
        from agents.models import resolve_model

        base = resolve_model(None if cfg.base_model == "default" else cfg.base_model)
        run.set_output("base", base)
        return {"base": cfg.base_model, "path": str(base)}

    run.stage("base", build)
    return run.output("base")


def lora_or_none(cfg: TrainConfig):
    return None if cfg.full_finetune else cfg.lora


def train_cold_start(run: RunDir, cfg: TrainConfig, prefix: str = "lumos", key_prefix: str = "") -> tuple[Path, Path]:
    """Planner and grounder SFT, independently (the paper's initial tuning = Agent Lumos); outputs
    ``{key_prefix}planner`` / ``{key_prefix}grounder``."""
    base = run.output("base")
    for role, records in (("planner", "plan_sft"), ("grounder", "ground_sft")):
        out = run.sub(prefix, role)

        def fn(out: Path = out, records: str = records) -> dict[str, Any]:
            examples = read_jsonl(run.sub("data", f"{records}.jsonl"))
            metrics = train_sft(base, examples, out, cfg.sft, lora_or_none(cfg))
            return metrics

        run.stage(f"{prefix}_{role}", fn, all_ranks=True)
        run.set_output(key_prefix + role, out)
    return run.output(key_prefix + "planner"), run.output(key_prefix + "grounder")


def train_agenttuning(run: RunDir, cfg: TrainConfig) -> Path:
    """One model on the same gold trajectories in a single-agent ReAct format (AgentTuning-style)."""
    from training.agenttuning import react_records

    base = run.output("base")

    def build_records() -> dict[str, Any]:
        recs = react_records(train_examples(run))
        write_jsonl(run.sub("data", "react_sft.jsonl"), recs)
        run.record_data(run.sub("data", "react_sft.jsonl"))
        return {"records": len(recs)}

    run.stage("react_data", build_records)
    out = run.sub("agenttuning", "agent")

    def fn() -> dict[str, Any]:
        examples = read_jsonl(run.sub("data", "react_sft.jsonl"))
        return train_sft(base, examples, out, cfg.agenttuning_sft or cfg.sft, lora_or_none(cfg))

    run.stage("agenttuning_agent", fn, all_ranks=True)
    run.set_output("agent", out)
    return out


def link_from(run: RunDir, source_root: Path) -> None:
    """``moat --from RUN``: reuse a finished cold start (a ``lumos`` run, or the cold start of another
    ``moat`` run) -- its data, base model and adapters (data files are copied; checkpoints are
    referenced by absolute path)."""
    import shutil

    source_root = source_root.resolve()
    manifest_path = source_root / "manifest.json"
    if not manifest_path.exists():
        raise TrainSetupError(f"--from {source_root}: no manifest.json; run `harness train lumos --output-dir {source_root}`")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    needed = ("data", "base", "lumos_planner", "lumos_grounder")
    missing = [s for s in needed if manifest["stages"].get(s, {}).get("status") != "done"]
    if missing:
        raise TrainSetupError(f"{source_root} is not a finished cold-start run (missing stages: {', '.join(missing)}); "
                         f"run `harness train lumos --output-dir {source_root}` first")

    def link() -> dict[str, Any]:
        from training.manifest import resolve_output

        for name in ("train_examples", "dev_examples", "plan_sft", "ground_sft"):
            shutil.copyfile(source_root / "data" / f"{name}.jsonl", run.sub("data", f"{name}.jsonl"))
            run.record_data(run.sub("data", f"{name}.jsonl"), copied_from=str(source_root))
        outs = manifest["outputs"]
        # a `lumos` run's final pair, or the cold start inside another `moat` run (for ablations)
        prefix = "cold_" if manifest.get("kind") == "moat" else ""
        for key, target in (("base", "base"), (prefix + "planner", "cold_planner"), (prefix + "grounder", "cold_grounder")):
            p = resolve_output(source_root, outs, key)
            run.set_output(target, p.resolve() if p is not None and p.exists() else p)
        return {"from": str(source_root), "from_config_hash": manifest.get("config_hash")}

    run.stage("link_cold_start", link)
