"""Loading a base model with (optionally) a trained LoRA adapter, and saving what was trained.

Every trained checkpoint of a run is either a peft adapter folder (``adapter_config.json``; LoRA,
the default) relative to the run's base model, or a full model folder (``--full-finetune``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel

log = logging.getLogger(__name__)


class LoraSettings(BaseModel):
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"

    def peft_config(self) -> Any:
        from peft import LoraConfig

        return LoraConfig(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=self.target_modules,
            task_type="CAUSAL_LM",
        )


def is_adapter(path: str | Path | None) -> bool:
    return path is not None and (Path(path) / "adapter_config.json").exists()


def load_tokenizer(base: str | Path) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(base))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(base: str | Path, checkpoint: str | Path | None = None, trainable: bool = True,
               dtype: str = "float32") -> Any:
    """``base`` alone, ``base`` + the adapter at ``checkpoint``, or the full model at ``checkpoint``."""
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = getattr(torch, dtype)
    if checkpoint is not None and not is_adapter(checkpoint):
        model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch_dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch_dtype)
        if checkpoint is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(checkpoint), is_trainable=trainable)
    if not trainable:
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
    return model


def save_trained(model: Any, tokenizer: Any, out_dir: str | Path) -> Path:
    """Save the adapter (only the ``default`` one: DPO adds a frozen ``ref`` copy) or the full model,
    plus the tokenizer, to ``out_dir`` atomically (a ``.tmp`` folder renamed at the end)."""
    import shutil

    out = Path(out_dir)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    if hasattr(model, "peft_config"):
        model.save_pretrained(str(tmp), selected_adapters=["default"])
    else:
        model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return out


def checkpointing_arg(args_cls: Any, on: bool) -> dict[str, bool]:
    """``activation_checkpointing=`` where the installed transformers has it (>= 5.2x), else the older
    ``gradient_checkpointing=`` (e.g. the transformers that vLLM builds pin)."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(args_cls)}
    return {"activation_checkpointing": on} if "activation_checkpointing" in names else {"gradient_checkpointing": on}


def count_trainable(model: Any) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def quiet_trainer(trainer: Any) -> None:
    """Send the Trainer's per-step log dicts to ``logging`` instead of stdout, and silence the
    ``datasets`` progress bars (CLI output stays readable; the run log keeps the numbers)."""
    import datasets
    from transformers import PrinterCallback, TrainerCallback

    datasets.disable_progress_bars()

    class _LogCallback(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if state.is_local_process_zero and logs:
                log.info("step %d: %s", state.global_step, {k: v for k, v in logs.items() if k != "total_flos"})

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(_LogCallback())
