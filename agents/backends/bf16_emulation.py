"""bfloat16 linear layers on CPUs without bf16 instructions: the fp32 GEMM on bf16 values.

Why: runs are bf16 on every CPU (:mod:`harness.numerics`). Where the CPU has no AVX512-BF16/AMX,
oneDNN declines bf16 and ATen falls back to a generic bf16 GEMM: measured on the 2-core machine with
``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2``, ``aten::mm`` was 5x slower than native bf16 and
greedy decoding of SmolLM2-135M 3x slower (2.1x slower than fp32), which put ``make demo`` past its
5-minute bound. Native bf16 GEMMs multiply bf16 values exactly in fp32 and accumulate in fp32; so
does the fp32 GEMM on the same bf16 values (weights and activations stay bf16-rounded, the output is
rounded to bf16), up to summation order, which differs between any two kernels anyway. The fp32
copies of the weights cost 4 bytes per parameter and are taken when the backend wraps the model: a
model whose weights change afterwards needs a new backend (training loads one from disk per round).

``HARNESS_BF16_UPCAST=0`` keeps ATen's own fallback (to measure it).
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F


def wanted(model: Any) -> bool:
    """A bf16 model on a CPU whose bf16 matmuls would be emulated by ATen's generic GEMM."""
    if os.environ.get("HARNESS_BF16_UPCAST", "1") == "0":
        return False
    param = next(model.parameters(), None)
    if param is None or param.dtype != torch.bfloat16 or param.device.type != "cpu":
        return False
    from harness.numerics import cpu_numerics

    return not cpu_numerics()["bf16_native"]


def _upcast_linear(weight: torch.Tensor, bias: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x.to(torch.float32), weight, bias).to(torch.bfloat16)


def enable(model: Any) -> int:
    """Route every bf16 ``nn.Linear`` of ``model`` through the fp32 GEMM when :func:`wanted`;
    returns how many layers were routed (0: nothing changed)."""
    if not wanted(model):
        return 0
    n = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and module.weight.dtype == torch.bfloat16:
            weight = module.weight.detach().to(torch.float32)
            bias = None if module.bias is None else module.bias.detach().to(torch.float32)
            module.forward = partial(_upcast_linear, weight, bias)  # instance attribute: this model only
            n += 1
    return n
