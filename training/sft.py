"""Supervised fine-tuning with TRL ``SFTTrainer``: completion-only loss on the Lumos serialisation.

Used for the cold start (planner and grounder, trained independently = Agent Lumos), the
AgentTuning-style single agent and MOAT's grounder-improving stage. Examples are conversations
(``messages``) tokenised by :mod:`training.formats`; the trainer receives ``input_ids`` +
``completion_mask`` and builds labels from the mask (``completion_only_loss=True``).
Runs unchanged under ``torchrun`` / ``accelerate launch`` (the Trainer picks up the process group).
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from training.formats import tokenize_example
from training.modeling import (
    LoraSettings,
    checkpointing_arg,
    count_trainable,
    is_adapter,
    load_model,
    load_tokenizer,
    quiet_trainer,
    save_trained,
)

log = logging.getLogger(__name__)


class SFTSettings(BaseModel):
    """Defaults = the paper's initial tuning (A.1) / Lumos scripts, except the batch (per preset)."""

    learning_rate: float = 2e-5
    epochs: float = 2.0
    per_device_batch_size: int = 2
    grad_accum: int = 32
    max_length: int = 1024
    scheduler: str = "linear"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    bf16: bool = False
    max_steps: int = -1
    save_steps: int = 0
    """>0: write trainer checkpoints every N steps, so a killed stage resumes mid-way."""
    gradient_checkpointing: bool = False
    logging_steps: int = 10
    group_by_length: bool = False
    """Batch examples of similar length (less padding; faster on CPU)."""
    seed: int = 1234


def tokenize_examples(tokenizer: Any, examples: list[dict[str, Any]], max_length: int) -> list[dict[str, list[int]]]:
    out = []
    for ex in examples:
        tok = tokenize_example(tokenizer, ex["messages"], max_length=max_length, loss_on=ex.get("loss_on", "all"))
        if any(tok["completion_mask"]):
            out.append(tok)
    return out


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _last_checkpoint(work_dir: Path) -> str | None:
    ckpts = sorted(work_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return str(ckpts[-1]) if ckpts else None


def make_sft_trainer(
    base: str | Path,
    examples: list[dict[str, Any]],
    work: Path,
    settings: SFTSettings,
    lora: LoraSettings | None = None,
    init: str | Path | None = None,
) -> tuple[Any, Any, list[dict[str, list[int]]]]:
    """``(trainer, tokenizer, tokenised rows)``; the trainer's dataset carries the labels."""
    import datasets
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    datasets.disable_progress_bars()
    tokenizer = load_tokenizer(base)
    rows = tokenize_examples(tokenizer, examples, settings.max_length)
    if not rows:
        raise ValueError(f"no trainable examples for {work} (all empty or truncated away)")
    start_from_adapter = init is not None and is_adapter(init)
    if lora is None and start_from_adapter:
        raise ValueError(f"full fine-tuning cannot continue from the LoRA adapter {init}")
    model = load_model(base, init, trainable=True)
    peft_config = lora.peft_config() if (lora is not None and not start_from_adapter) else None

    args = SFTConfig(
        output_dir=str(work),
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.per_device_batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        lr_scheduler_type=settings.scheduler,
        warmup_steps=settings.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=settings.weight_decay,
        bf16=settings.bf16,
        max_length=settings.max_length,
        completion_only_loss=True,
        **checkpointing_arg(SFTConfig, settings.gradient_checkpointing),
        dataloader_pin_memory=_cuda(),
        use_cpu=not _cuda(),  # without it a CPU-only multi-process launch trains unsharded
        logging_steps=settings.logging_steps,
        save_strategy="steps" if settings.save_steps > 0 else "no",
        save_steps=settings.save_steps if settings.save_steps > 0 else 500,
        save_total_limit=1,
        report_to=[],
        seed=settings.seed,
        data_seed=settings.seed,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if settings.group_by_length else "random",
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    quiet_trainer(trainer)
    return trainer, tokenizer, rows


def train_sft(
    base: str | Path,
    examples: list[dict[str, Any]],
    out_dir: str | Path,
    settings: SFTSettings,
    lora: LoraSettings | None = None,
    init: str | Path | None = None,
) -> dict[str, Any]:
    """Train on ``examples`` starting from ``init`` (an adapter or full checkpoint; ``None`` = the
    base model) and write the result to ``out_dir``. ``lora=None`` means full fine-tuning.

    Continuing from an adapter keeps training that adapter (MOAT iterations); starting from the base
    with ``lora`` set creates a fresh one.
    """
    out = Path(out_dir)
    work = out.with_name(out.name + ".work")
    trainer, tokenizer, rows = make_sft_trainer(base, examples, work, settings, lora, init)
    trainable, total = count_trainable(trainer.model)
    n_loss_tokens = sum(sum(r["completion_mask"]) for r in rows)
    log.info("SFT %s: %d examples, %d loss tokens, %d/%d trainable parameters", out.name, len(rows), n_loss_tokens,
             trainable, total)
    t0 = time.time()
    resume = _last_checkpoint(work) if settings.save_steps > 0 else None
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.time() - t0
    if trainer.accelerator.is_main_process:
        save_trained(trainer.model, tokenizer, out)
        shutil.rmtree(work, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {
        "examples": len(rows),
        "loss_tokens": n_loss_tokens,
        "train_loss": float(result.training_loss),
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
        "steps": int(result.global_step),
        "seconds": round(seconds, 2),
        "trainable_parameters": trainable,
        "world_size": int(trainer.args.world_size),
        "resumed_from": resume,
    }
