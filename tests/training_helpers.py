"""Helpers for ``tests/test_training_*.py``: the hand-written fixture data dir, gold examples built
from it through the real GSM8K environment, and a scripted backend."""

from __future__ import annotations

from pathlib import Path

from agents.backends.base import Backend, BackendInfo

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "training"


def fixture_examples(limit: int | None = None):
    """Gold examples (executed, hygiene-filtered) from the fixture GSM8K train split."""
    from training.datasets import SourceSpec, eval_questions, load_source

    spec = SourceSpec(env="gsm8k", split="train", limit=limit, options={"isolation": "inprocess"})
    examples, stats = load_source(spec, FIXTURES, eval_questions(FIXTURES))
    return examples, stats


def gsm8k_env():
    from envs.math.gsm8k import GSM8K

    return GSM8K(data_dir=FIXTURES, isolation="inprocess")


class Scripted(Backend):
    """Answers each prompt with ``respond(prompt)``; records prompts; NLL from ``nll_fn``."""

    def __init__(self, respond, nll_fn=None, eos="<eos>"):
        self.respond = respond
        self.nll_fn = nll_fn or (lambda p, c: 1.0)
        self.prompts: list[str] = []
        self.nll_calls: list[tuple[str, str]] = []
        self.closed = False

        class _Tok:
            eos_token = eos

        self.tokenizer = _Tok()

    def generate(self, prompts, params):
        self.prompts.extend(prompts)
        outs = [[self.respond(p) for _ in range(params.n)] for p in prompts]
        self.last_token_counts = [[1] * params.n for _ in prompts]
        return outs

    def nll(self, prompts, continuations):
        self.nll_calls.extend(zip(prompts, continuations))
        return [float(self.nll_fn(p, c)) for p, c in zip(prompts, continuations)]

    def info(self):
        return BackendInfo(name="scripted", model="scripted-model")

    def close(self):
        self.closed = True


def one_thread():
    """Generator for an autouse fixture: tiny models on a shared 2-core CPU run far faster with one
    intra-op thread (no OpenMP barrier stalls); restores the previous setting."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
