"""Which numerics a run used: the dtype asked for, the dtype loaded, and the CPU kernels behind it.

Why: greedy decoding in bfloat16 is sensitive to the kernels that compute it. The same config on a
CPU with native bf16 (AVX512-BF16, AMX) and on an AVX2-only CPU (bf16 emulated through fp32) can
flip a token, and with it a sample. ``dtype=auto`` therefore means bfloat16 on every CPU (the dtype
the committed leaderboard runs used), never "whatever this CPU runs fast": a run's identity must
not depend on the machine. The machine is recorded beside the run (``results.json`` ``numerics``),
outside its identity, so that :mod:`leaderboards.reproduce` can tell "other hardware" from "other
config".

Set ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`` to run a newer CPU as an AVX2-only one.
"""

from __future__ import annotations

import os
from typing import Any

AUTO_CPU_DTYPE = "bfloat16"
"""What ``dtype=auto`` loads on a CPU, on every CPU."""

_ONEDNN_BELOW_BF16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}
_loaded: dict[str, dict[str, str]] = {}


def _onednn_capped() -> bool:
    """oneDNN told (``ONEDNN_MAX_CPU_ISA``/``DNNL_MAX_CPU_ISA``) to stay below its bf16 instructions."""
    value = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or ""
    return value.strip().upper() in _ONEDNN_BELOW_BF16


def cpu_numerics() -> dict[str, Any]:
    """``cpu_capability`` (ATen's kernel set, after ``ATEN_CPU_CAPABILITY``), ``bf16_native`` (bf16
    matmuls run on bf16 instructions rather than emulated in fp32), ``bf16_matmul`` (how bf16 linear
    layers run: :mod:`agents.backends.bf16_emulation`) and ``torch``."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    cpu = getattr(torch, "cpu", None)
    hw = bool(cpu is not None and (cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported()))
    native = hw and capability not in ("DEFAULT", "AVX2") and not _onednn_capped()
    upcast = os.environ.get("HARNESS_BF16_UPCAST", "1") != "0"
    return {"cpu_capability": capability, "bf16_native": native, "torch": torch.__version__,
            "bf16_matmul": "native" if native else ("fp32 GEMM on bf16 values" if upcast else "ATen generic")}


def note_backend(label: str, requested: str, used: str, device: str) -> None:
    """Called by backends when they load a model: what was asked for and what was loaded."""
    _loaded[label] = {"requested": str(requested), "used": str(used), "device": str(device)}


def run_numerics(agent_config: dict[str, Any]) -> dict[str, Any]:
    """The ``numerics`` entry of ``results.json`` for an agent: per role (``planner``, ``grounder``,
    ``agent``) the dtype requested and used, plus this machine's :func:`cpu_numerics` when a model
    runs on the CPU. Empty for agents without local models (oracle, API backends)."""
    roles: dict[str, dict[str, str]] = {}
    for role, spec in agent_config.items():
        if isinstance(spec, dict) and "dtype" in spec:
            seen = _loaded.get(str(spec.get("model")), {})
            roles[role] = {"requested": seen.get("requested", "unrecorded"), "used": str(spec["dtype"]),
                           "device": str(spec.get("device", seen.get("device", "unknown")))}
    if not roles:
        return {}
    out: dict[str, Any] = {"dtype": roles}
    if any(r["device"] == "cpu" for r in roles.values()):
        out |= cpu_numerics()
    try:
        import torch

        out["threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover - a local model implies torch
        pass
    return out
