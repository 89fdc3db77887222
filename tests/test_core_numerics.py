"""harness.numerics: what a run records about the numerics it ran with (outside its identity)."""

from __future__ import annotations

import pytest

from harness import numerics

torch = pytest.importorskip("torch")


def test_run_numerics_pairs_each_role_with_what_was_asked(monkeypatch):
    monkeypatch.setattr(numerics, "_loaded", {})
    numerics.note_backend("moat:planner", "auto", "bfloat16", "cpu")
    config = {"producer": "moat", "planner": {"model": "moat:planner", "dtype": "bfloat16", "device": "cpu"},
              "grounder": {"model": "moat:grounder", "dtype": "bfloat16", "device": "cpu"}, "chat_format": "lumos"}
    rec = numerics.run_numerics(config)
    assert rec["dtype"]["planner"] == {"requested": "auto", "used": "bfloat16", "device": "cpu"}
    assert rec["dtype"]["grounder"]["requested"] == "unrecorded"
    assert rec["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert rec["torch"] == torch.__version__ and rec["threads"] == torch.get_num_threads()


def test_agents_without_local_models_record_nothing():
    assert numerics.run_numerics({"producer": "oracle"}) == {}


def test_bf16_counts_as_emulated_when_onednn_is_capped_below_it(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    assert numerics.cpu_numerics()["bf16_native"] is True
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert numerics.cpu_numerics()["bf16_native"] is False
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert numerics.cpu_numerics()["bf16_native"] is False
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    rec = numerics.cpu_numerics()
    expected = ("AVX512", False, "fp32 GEMM on bf16 values")
    assert (rec["cpu_capability"], rec["bf16_native"], rec["bf16_matmul"]) == expected
