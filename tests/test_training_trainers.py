"""SFT (TRL SFTTrainer, completion-only loss, LoRA / full) and DPO (TRL DPOTrainer, reference = the
starting planner) on a tiny random Llama."""

from __future__ import annotations

import json

import pytest
from training_helpers import one_thread

from agents.backends.hf import HFBackend
from training.dpo import DPOSettings, train_dpo
from training.modeling import LoraSettings, is_adapter
from training.sft import SFTSettings, make_sft_trainer, train_sft
from training.tiny import make_tiny_base

RECORDS = [
    {"messages": [{"role": "user", "content": f"Please plan. Task: what is {i} plus {i}?"},
                  {"role": "assistant", "content": f"Subgoal 1: add {i} and {i}"}]}
    for i in range(12)
]
FAST = SFTSettings(learning_rate=1e-2, epochs=3, per_device_batch_size=4, grad_accum=1, logging_steps=1,
                   warmup_ratio=0.0, max_length=128)
LORA = LoraSettings(r=4, alpha=8, dropout=0.0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_thread()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    corpus = [m["content"] for r in RECORDS for m in r["messages"]]
    return make_tiny_base(tmp_path_factory.mktemp("tiny") / "base", corpus, hidden=32, vocab_size=400)


def test_sft_labels_mask_everything_but_assistant_turns(base, tmp_path):
    trainer, tok, rows = make_sft_trainer(base, RECORDS[:2], tmp_path / "w", FAST, LORA)
    ds = trainer.train_dataset
    for row in ds:
        masked = [t for t, lab in zip(row["input_ids"], row["labels"]) if lab == -100]
        kept = [t for t, lab in zip(row["input_ids"], row["labels"]) if lab != -100]
        assert tok.decode(kept).startswith("Subgoal 1: add") and tok.decode(kept).endswith(tok.eos_token)
        assert "Please plan" in tok.decode(masked) and "Subgoal" not in tok.decode(masked)


def _nll(base, ckpt, prompt: str, cont: str) -> float:
    b = HFBackend.from_pretrained(base, adapter=str(ckpt) if ckpt and is_adapter(ckpt) else None, dtype="float32") \
        if ckpt is None or is_adapter(ckpt) else HFBackend.from_pretrained(ckpt, dtype="float32")
    try:
        return b.nll([prompt], [cont])[0]
    finally:
        b.close()


def test_sft_lora_learns_and_continues_the_same_adapter(base, tmp_path):
    prompt = "<|user|>\nPlease plan. Task: what is 3 plus 3?\n<|assistant|>\n"
    before = _nll(base, None, prompt, "Subgoal 1: add 3 and 3")
    m1 = train_sft(base, RECORDS, tmp_path / "a1", FAST, LORA)
    assert is_adapter(tmp_path / "a1") and m1["world_size"] == 1 and m1["steps"] == 9
    after = _nll(base, tmp_path / "a1", prompt, "Subgoal 1: add 3 and 3")
    assert after < before - 0.1
    m2 = train_sft(base, RECORDS, tmp_path / "a2", FAST, LORA, init=tmp_path / "a1")
    assert m2["trainable_parameters"] == m1["trainable_parameters"]
    cfg = json.loads((tmp_path / "a2" / "adapter_config.json").read_text())
    assert cfg["r"] == 4
    assert _nll(base, tmp_path / "a2", prompt, "Subgoal 1: add 3 and 3") < after


def test_full_finetune_writes_a_full_model(base, tmp_path):
    m = train_sft(base, RECORDS[:4], tmp_path / "full", FAST.model_copy(update={"epochs": 1}), lora=None)
    assert (tmp_path / "full" / "model.safetensors").exists() and not is_adapter(tmp_path / "full")
    assert m["trainable_parameters"] > 10_000
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    with pytest.raises(ValueError, match="cannot continue from the LoRA adapter"):
        train_sft(base, RECORDS[:4], tmp_path / "bad", FAST, lora=None, init=tmp_path / "adapter")


def test_dpo_prefers_chosen_over_rejected_against_the_starting_planner(base, tmp_path):
    train_sft(base, RECORDS, tmp_path / "p0", FAST, LORA)
    prompt = "<|user|>\nPlease plan. Task: what is {i} plus {i}?\n<|assistant|>\n"
    pairs = [{"prompt": prompt.format(i=i), "chosen": f"Subgoal 1: add {i} and {i}", "rejected": "Subgoal 1: jump"}
             for i in range(8)]
    p = pairs[0]

    def margin(ckpt):
        return _nll(base, ckpt, p["prompt"], p["rejected"]) - _nll(base, ckpt, p["prompt"], p["chosen"])

    m = train_dpo(base, pairs, tmp_path / "p1", DPOSettings(learning_rate=5e-3, per_device_batch_size=4, grad_accum=1,
                                                            epochs=2, logging_steps=1), LORA, init=tmp_path / "p0")
    assert m["pairs"] == 8 and m["steps"] == 4
    assert margin(tmp_path / "p1") > margin(tmp_path / "p0")
    saved = sorted(x.name for x in (tmp_path / "p1").iterdir())
    assert "adapter_model.safetensors" in saved and "ref" not in saved  # the frozen reference copy is not saved
    with pytest.raises(ValueError):
        train_dpo(base, [], tmp_path / "p2", DPOSettings(), LORA, init=tmp_path / "p0")
