"""hf backend internals that the contract cannot see: shared prefill, dropped rows, scoring only at
continuation positions, length-sorted batches, agreement with ``model.generate``."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from agents.backends import GenerationParams  # noqa: E402
from agents.backends.hf import HFBackend, pick_dtype  # noqa: E402


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from backends_tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny_hf") / "ckpt")


@pytest.fixture
def backend(tiny_dir):
    return HFBackend.from_pretrained(tiny_dir, dtype="float32")


class Recorder:
    """Wraps ``model.forward`` and records the shape of every ``input_ids`` it sees."""

    def __init__(self, model):
        self.shapes: list[tuple[int, int]] = []
        self._orig = model.forward

        def forward(*args, **kwargs):
            ids = kwargs.get("input_ids", args[0] if args else None)
            self.shapes.append(tuple(ids.shape))
            return self._orig(*args, **kwargs)

        model.forward = forward

    @property
    def prefills(self):
        return [s for s in self.shapes if s[1] > 1]


def test_greedy_matches_transformers_generate_with_left_padding(backend):
    prompts = ["short", "a considerably longer prompt\n", "mid length one"]
    ours = [o[0] for o in backend.generate(prompts, GenerationParams(max_new_tokens=16))]
    tok = backend.tokenizer
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True)
    ref = backend.model.generate(**enc, max_new_tokens=16, do_sample=False, pad_token_id=0)
    assert ours == [tok.decode(r[enc.input_ids.shape[1]:], skip_special_tokens=True) for r in ref]


def test_k_samples_share_one_prefill_and_finished_rows_leave(backend):
    rec = Recorder(backend.model)
    out = backend.generate(["one prompt"], GenerationParams(n=6, temperature=1.0, max_new_tokens=12, stop=("e",), seed=0))
    assert len(out[0]) == 6
    assert rec.prefills == [(1, len("one prompt"))], "the prompt is encoded once for all six samples"
    decode_rows = [s[0] for s in rec.shapes if s[1] == 1]
    assert decode_rows and decode_rows[0] == 6 and decode_rows == sorted(decode_rows, reverse=True)


def test_duplicate_prompts_are_encoded_once(backend):
    rec = Recorder(backend.model)
    out = backend.generate(["same", "other", "same"], GenerationParams(max_new_tokens=4))
    assert out[0] == out[2]
    assert rec.prefills == [(2, 5)]


def test_batches_are_length_sorted(backend):
    backend.max_batch_size = 2
    rec = Recorder(backend.model)
    prompts = [c * n for c, n in zip("abcd", (5, 50, 10, 40))]
    backend.generate(prompts, GenerationParams(max_new_tokens=2))
    assert rec.prefills == [(2, 50), (2, 10)]


def test_top_p_near_zero_is_greedy(backend):
    greedy = backend.generate(["abc"], GenerationParams(max_new_tokens=12))[0][0]
    nucleus = backend.generate(["abc"], GenerationParams(n=3, temperature=1.0, top_p=1e-6, max_new_tokens=12, seed=5))[0]
    assert nucleus == [greedy] * 3


def test_nll_applies_the_head_only_to_continuation_tokens(backend):
    head = backend.model.get_output_embeddings()
    rows: list[int] = []
    hook = head.register_forward_hook(lambda m, i, o: rows.append(i[0].shape[0]))
    backend.logits_chunk = 4
    try:
        backend.nll(["a long context " * 8, "ctx"], ["abcdef", "xyz"])
    finally:
        hook.remove()
    assert sum(rows) == 6 + 3 and max(rows) <= 4


def test_nll_batches_respect_the_row_cap(backend):
    backend.nll_max_rows = 2
    rec = Recorder(backend.model.get_decoder())
    backend.nll(["p1", "p22", "p333", "p4444", "p55555"], ["a", "b", "c", "d", "e"])
    assert [s[0] for s in rec.shapes] == [2, 2, 1]
    assert [s[1] for s in rec.shapes] == [7, 5, 3]  # longest first


def test_token_logprobs_agree_with_nll(backend):
    (row,) = backend.token_logprobs(["prompt then continuation"])
    assert [r[0] for r in row] == list("prompt then continuation") and row[0][2] is None
    tail = [-r[2] for r in row if r[1] >= len("prompt then ")]
    assert sum(tail) / len(tail) == pytest.approx(backend.nll(["prompt then "], ["continuation"])[0], abs=1e-5)


def test_context_overflow_is_a_clear_error(backend):
    with pytest.raises(ValueError, match="exceeds the model's context"):
        backend.generate(["x" * 1000], GenerationParams(max_new_tokens=100))


def test_auto_dtype_is_bf16_on_every_cpu(monkeypatch):
    """The committed runs are bf16; an AVX2-only CPU must not silently switch a run to fp32."""
    cpu = torch.device("cpu")
    assert pick_dtype("auto", cpu) == torch.bfloat16
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert pick_dtype("auto", cpu) == torch.bfloat16
    assert pick_dtype("fp32", cpu) == torch.float32
    with pytest.raises(ValueError):
        pick_dtype("int3", cpu)


def test_bf16_generation_runs(tiny_dir):
    b = HFBackend.from_pretrained(tiny_dir, dtype="bfloat16")
    assert b.info().details["dtype"] == "bfloat16"
    out = b.generate(["hello"], GenerationParams(n=2, temperature=0.7, max_new_tokens=5, seed=1))
    assert len(out[0]) == 2
    assert all(v == v for v in b.nll(["hello"], [" world"]))  # not NaN


SHARED = "<|user|>\nA long few-shot prefix shared by every prompt of the batch.\n<|assistant|>\n"


def test_shared_prefix_is_encoded_once_and_changes_nothing(tiny_dir):
    prompts = [SHARED + "Task: add 2 and 3", SHARED + "Task: subtract", SHARED + "Task: x"]
    plain = HFBackend.from_pretrained(tiny_dir, dtype="float32", min_shared_prefix=0)
    shared = HFBackend.from_pretrained(tiny_dir, dtype="float32")
    rec = Recorder(shared.model)
    params = GenerationParams(max_new_tokens=12)
    assert shared.generate(prompts, params) == plain.generate(prompts, params)
    plen = len(SHARED) + len("Task: ")
    assert rec.prefills == [(1, plen), (3, len("add 2 and 3"))]
    conts = [" R1 = Calculator(2 + 3)", " R1 = x", " y"]
    assert shared.nll(prompts, conts) == pytest.approx(plain.nll(prompts, conts), abs=1e-5)


def test_logits_path_for_models_that_post_process_logits(tiny_dir):
    prompts = [SHARED + "one", SHARED + "two", "three"]
    conts = ["abc", "de", "fghij"]
    split = HFBackend.from_pretrained(tiny_dir, dtype="float32")
    full = HFBackend.from_pretrained(tiny_dir, dtype="float32")
    full._split_head = False
    assert full.nll(prompts, conts) == pytest.approx(split.nll(prompts, conts), abs=1e-5)


def test_peft_adapter_folder_loads_merged(tiny_dir, tmp_path):
    peft = pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32)
    lora = peft.get_peft_model(base, peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    merged = HFBackend.from_pretrained(tmp_path / "adapter", dtype="float32")
    plain = HFBackend.from_pretrained(tiny_dir, dtype="float32")
    assert merged.info().details["adapter"] == str(tmp_path / "adapter")
    ids = torch.tensor([plain.tokenizer("adapter test").input_ids])
    with torch.no_grad():
        expected = lora(input_ids=ids).logits
        assert torch.allclose(merged.model(input_ids=ids).logits, expected, atol=1e-4)
        assert not torch.allclose(plain.model(input_ids=ids).logits, expected, atol=1e-3)


def test_nll_budget_counts_a_shared_prefix_once(backend):
    prefix = "p" * 90
    prompts, conts = [prefix + c * 5 for c in "abcd"], ["xyzuv"] * 4
    backend.nll_batch_tokens = 200
    rec = Recorder(backend.model.get_decoder())
    shared = backend.nll(prompts, conts)
    assert [s[0] for s in rec.shapes] == [1, 4]  # prefix once, then all four suffixes together
    backend.min_shared_prefix = 0
    rec.shapes.clear()
    assert backend.nll(prompts, conts) == pytest.approx(shared, abs=1e-5)
    assert [s[0] for s in rec.shapes] == [2, 2]


@pytest.mark.parametrize("top_p, expected", [
    (1.0, [0.5, 0.25, 0.15, 0.1]),
    (0.7, [0.5 / 0.75, 0.25 / 0.75, 0.0, 0.0]),  # nucleus {0, 1}: 0.5 < 0.7 <= 0.75
])
def test_sampling_follows_the_distribution(top_p, expected):
    probs = torch.tensor([0.5, 0.25, 0.15, 0.1])
    logits = probs.log().repeat(40000, 1)
    gen = torch.Generator().manual_seed(0)
    picks = HFBackend._pick(logits, GenerationParams(temperature=1.0, top_p=top_p), gen)
    freq = torch.bincount(picks, minlength=4).float() / len(picks)
    assert freq.tolist() == pytest.approx(expected, abs=0.01)


def test_nucleus_falls_back_to_a_full_sort_for_flat_rows():
    flat = torch.zeros(2, 3000)  # top 1024 of 3000 equal tokens hold only 34% of the mass
    peaked = torch.full((1, 3000), -20.0)
    peaked[0, 7] = 0.0
    gen = torch.Generator().manual_seed(1)
    picks = HFBackend._pick(torch.cat([flat, peaked]), GenerationParams(temperature=1.0, top_p=0.9), gen)
    assert picks[2] == 7 and picks[:2].max() < 3000
    many = HFBackend._pick(torch.zeros(4000, 3000), GenerationParams(temperature=1.0, top_p=0.5), gen)
    assert many.max() >= 1024 and many.unique().numel() > 1000  # not restricted to the first 1024
