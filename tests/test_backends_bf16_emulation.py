"""agents.backends.bf16_emulation: bf16 linear layers through the fp32 GEMM where the CPU has no bf16."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from agents.backends import bf16_emulation  # noqa: E402
from harness import numerics  # noqa: E402


def _model(dtype):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8, bias=False)).to(dtype)


@pytest.fixture
def no_bf16_cpu(monkeypatch):
    monkeypatch.delenv("HARNESS_BF16_UPCAST", raising=False)
    monkeypatch.setattr(numerics, "cpu_numerics", lambda: {"bf16_native": False})


def test_bf16_layers_compute_the_fp32_gemm_of_bf16_values(no_bf16_cpu):
    model = _model(torch.bfloat16)
    x = torch.randn(4, 16).to(torch.bfloat16)
    reference = model(x)
    assert bf16_emulation.enable(model) == 2
    out = model(x)
    assert out.dtype == torch.bfloat16
    first = model[0]
    expected = torch.nn.functional.linear(x.float(), first.weight.float(), first.bias.float()).to(torch.bfloat16)
    assert torch.equal(first(x), expected)
    assert torch.allclose(out.float(), reference.float(), atol=0.05, rtol=0.02), "same numbers up to summation order"


def test_nothing_changes_on_native_bf16_fp32_models_or_when_disabled(no_bf16_cpu, monkeypatch):
    assert bf16_emulation.enable(_model(torch.float32)) == 0
    monkeypatch.setenv("HARNESS_BF16_UPCAST", "0")
    assert bf16_emulation.enable(_model(torch.bfloat16)) == 0
    monkeypatch.delenv("HARNESS_BF16_UPCAST")
    monkeypatch.setattr(numerics, "cpu_numerics", lambda: {"bf16_native": True})
    model = _model(torch.bfloat16)
    assert bf16_emulation.enable(model) == 0 and "forward" not in vars(model[0])
