"""Presets carry the paper's / official code's hyperparameters; split hygiene keeps every
evaluation task out of the training data (fixtures, and the real files when present)."""

from __future__ import annotations

import argparse
import json

import pytest
from training_helpers import FIXTURES, fixture_examples

from harness.commands.train_cmd import add_parser, overrides_from_args
from training.datasets import check_hygiene, eval_leak, eval_questions, normalize_question, split_dev
from training.presets import build_config


def test_paper_preset_matches_appendix_a1_and_official_code():
    cfg = build_config("paper")
    assert cfg.full_finetune and cfg.sft.learning_rate == 2e-5 and cfg.sft.epochs == 2
    assert cfg.sft.per_device_batch_size * cfg.sft.grad_accum * 2 == 128  # batch 128 on 2 GPUs
    assert cfg.sft.max_length == 1024 and cfg.sft.warmup_ratio == 0.03 and cfg.sft.scheduler == "linear"
    m = cfg.moat
    assert (m.k, m.iterations, m.temperature, m.top_p, m.min_gap) == (15, 2, 1.0, 0.95, 0.1)
    assert (m.dpo.beta, m.dpo.loss_type, m.dpo.learning_rate, m.dpo.scheduler) == (0.2, "sigmoid", 4e-7, "cosine")
    assert (m.dpo.per_device_batch_size, m.dpo.grad_accum, m.dpo.warmup_ratio, m.dpo.weight_decay) == (4, 8, 0.05, 1e-4)
    assert (m.regen_temperature, m.regen_top_p, m.grounder_candidates, m.mix) == (0.1, 0.95, "best", "one_to_one")
    assert m.grounder_sft.learning_rate == 2e-5 and m.critic.kind == "llm"
    assert "DeepSeek-R1-Distill-Qwen-32B" in m.critic.model


def test_tiny_and_cpu_small_presets():
    tiny = build_config("tiny")
    assert tiny.base_model == "tiny" and not tiny.full_finetune and tiny.torch_threads == 1
    small = build_config("cpu-small")
    assert small.base_model == "default" and small.moat.k == 15 and small.moat.iterations == 2
    assert small.moat.dpo.learning_rate != 4e-7  # LoRA presets have their own DPO learning rate
    assert build_config(None).preset == "cpu-small"
    with pytest.raises(ValueError):
        build_config("huge")
    with pytest.raises(ValueError):
        build_config("tiny", {"moat": {"k": "many"}})


def test_cli_flags_override_preset_and_file():
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers())
    args = p.parse_args(["train", "moat", "--k", "5", "--iterations", "3", "--no-stage1", "--critic-model", "m",
                         "--full-finetune"])
    o = overrides_from_args(args)
    assert o == {"moat": {"critic": {"model": "m", "kind": "llm"}, "k": 5, "iterations": 3, "stage1": False},
                 "full_finetune": True}
    cfg = build_config("tiny", o)
    assert cfg.moat.k == 5 and cfg.moat.critic.kind == "llm" and cfg.moat.dpo.beta == 0.2


def test_fixture_hygiene_drops_eval_questions():
    ev = eval_questions(FIXTURES)
    assert set(ev) == {"gsm8k-test", "svamp"}
    examples, stats = fixture_examples()
    assert not check_hygiene(examples, ev)
    assert stats["dropped: in evaluation set gsm8k-test"] == 1 and stats["dropped: in evaluation set svamp"] == 1
    assert eval_leak("  a pizza is cut into 8 slices.  how many slices are in 3 pizzas ", ev) == "gsm8k-test"
    assert normalize_question("What?  is\nit!") == "what? is it"
    train, dev = split_dev(examples, 3, seed=0)
    assert len(dev) == 3 and not {e.id for e in dev} & {e.id for e in train}


def test_real_data_hygiene(data_dir):
    """GSM8K train and StrategyQA train against every evaluation set in the data dir."""
    ev = eval_questions(data_dir)
    needed = {"gsm8k-test", "svamp", "strategyqa-dev", "strategyqa-lumos", "hotpotqa-dev"}
    if not needed <= set(ev):
        pytest.skip(f"evaluation files missing: {needed - set(ev)}")
    assert len(ev["gsm8k-test"]) >= 1300 and len(ev["strategyqa-lumos"]) == 100
    gsm_train = [json.loads(x)["question"] for x in (data_dir / "gsm8k" / "train.jsonl").read_text().splitlines()]
    assert sum(eval_leak(q, ev) is not None for q in gsm_train) == 0
    sqa = json.loads((data_dir / "strategyqa" / "train.json").read_text())
    leaks = [eval_leak(r["question"], ev) for r in sqa]
    # 84 distinct questions of Lumos' first 100 are in train.json (one of them twice): all are dropped
    assert leaks.count("strategyqa-lumos") == 85 and leaks.count("strategyqa-dev") == 0
