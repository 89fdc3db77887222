"""Planner alignment with TRL ``DPOTrainer`` (MOAT stage 1, SPEC d.1 step 4).

Sigmoid loss, beta 0.2, cosine schedule, warmup 0.05, weight decay 1e-4, one epoch (the official
code's defaults). The reference model is the planner the iteration starts from (for iteration 1 the
cold-start planner): with a LoRA adapter TRL keeps a frozen copy of it as a second adapter ("ref"),
with full fine-tuning a frozen copy of the checkpoint is loaded.

Prompts are the planner's inference strings (``<|user|>\\n...\\n<|assistant|>\\n``) and chosen /
rejected are single plan lines; TRL appends the EOS token to both, as the SFT data does.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

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


class DPOSettings(BaseModel):
    beta: float = 0.2
    loss_type: str = "sigmoid"
    learning_rate: float = 4e-7
    """The paper's value for 7B full-parameter training; LoRA presets set their own."""
    epochs: float = 1.0
    per_device_batch_size: int = 4
    grad_accum: int = 8
    scheduler: str = "cosine"
    warmup_ratio: float = 0.05
    weight_decay: float = 1e-4
    max_length: int = 1024
    bf16: bool = False
    gradient_checkpointing: bool = False
    max_steps: int = -1
    logging_steps: int = 10
    seed: int = 1234


def train_dpo(
    base: str | Path,
    pairs: list[dict[str, str]],
    out_dir: str | Path,
    settings: DPOSettings,
    lora: LoraSettings | None = None,
    init: str | Path | None = None,
) -> dict[str, Any]:
    """DPO on ``pairs`` (``prompt`` / ``chosen`` / ``rejected`` strings) starting from ``init``."""
    import datasets
    import torch
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    datasets.disable_progress_bars()
    if not pairs:
        raise ValueError("no preference pairs to train on")
    out = Path(out_dir)
    work = out.with_name(out.name + ".work")
    tokenizer = load_tokenizer(base)
    from_adapter = init is not None and is_adapter(init)
    if lora is None and from_adapter:
        raise ValueError(f"full fine-tuning cannot continue from the LoRA adapter {init}")
    model = load_model(base, init, trainable=True)
    ref_model = None
    peft_config = None
    if lora is None:
        ref_model = load_model(base, init, trainable=False)
    elif not from_adapter:
        peft_config = lora.peft_config()  # reference = the same weights with the adapter disabled

    args = DPOConfig(
        output_dir=str(work),
        beta=settings.beta,
        loss_type=[settings.loss_type],
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.per_device_batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        lr_scheduler_type=settings.scheduler,
        warmup_steps=settings.warmup_ratio,
        weight_decay=settings.weight_decay,
        max_length=settings.max_length,
        bf16=settings.bf16,
        **checkpointing_arg(DPOConfig, settings.gradient_checkpointing),
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),
        logging_steps=settings.logging_steps,
        save_strategy="no",
        report_to=[],
        seed=settings.seed,
        data_seed=settings.seed,
        disable_tqdm=True,
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=ref_model,
        args=args,
        train_dataset=Dataset.from_list([{k: p[k] for k in ("prompt", "chosen", "rejected")} for p in pairs]),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    quiet_trainer(trainer)
    trainable, total = count_trainable(trainer.model)
    log.info("DPO %s: %d pairs, %d/%d trainable parameters", out.name, len(pairs), trainable, total)
    t0 = time.time()
    result = trainer.train()
    seconds = time.time() - t0
    if trainer.accelerator.is_main_process:
        save_trained(trainer.model, tokenizer, out)
        shutil.rmtree(work, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    hist = [h for h in trainer.state.log_history if "loss" in h]

    def _last(key: str) -> float | None:
        vals = [h[key] for h in hist if key in h]
        return float(vals[-1]) if vals else None

    return {
        "pairs": len(pairs),
        "train_loss": float(result.training_loss),
        "steps": int(result.global_step),
        "seconds": round(seconds, 2),
        "last_reward_accuracy": _last("rewards/accuracies"),
        "last_reward_margin": _last("rewards/margins"),
        "trainable_parameters": trainable,
        "world_size": int(trainer.args.world_size),
    }
