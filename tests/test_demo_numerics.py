"""The demo's numerics and its reproduction check, on a tiny slice with both dtypes and on both kinds
of CPU kernels (AVX512 here; AVX2-only emulated in a subprocess), so that a CPU-dependent failure of
``make demo`` (issue 17: ``dtype=auto`` became float32 on an AVX2 machine and the check failed) cannot
ship again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import PLUGIN_SRC, REPO
from leaderboards.reproduce import main as reproduce

pytest.importorskip("torch")

AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The reference in bf16 (``auto``) and float32 on this CPU, and the same slice on emulated
    AVX2-only kernels with a CPU that reports no bf16 instructions."""
    from backends_tiny import build_tiny_checkpoint

    root = tmp_path_factory.mktemp("demo_numerics")
    model = build_tiny_checkpoint(root / "ckpt")
    sys.path.insert(0, str(PLUGIN_SRC))
    from numerics_demo_run import run_slice

    for dtype in ("auto", "float32"):
        run_slice(model, root / "native", dtype)
    env = os.environ | AVX2_ENV | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(REPO / "tests" / "numerics_demo_run.py"), str(model), str(root / "avx2"),
                    "auto,float32", "--no-bf16-cpu"], check=True, env=env, cwd=REPO, timeout=300)
    return root


def _numerics(run_root):
    return json.loads((run_root / "base" / "toy_arith-test" / "results.json").read_text())["numerics"]


def _used_dtype(run_root):
    config = json.loads((run_root / "base" / "toy_arith-test" / "config.json").read_text())
    return config["agent_config"]["planner"]["dtype"]


def test_auto_is_bf16_on_both_kinds_of_cpu(runs):
    assert _used_dtype(runs / "native" / "auto") == _used_dtype(runs / "avx2" / "auto") == "bfloat16"
    assert _used_dtype(runs / "avx2" / "float32") == "float32"


def test_each_run_records_the_numerics_that_ran(runs):
    avx2 = _numerics(runs / "avx2" / "auto")
    assert avx2["dtype"]["planner"] == {"requested": "auto", "used": "bfloat16", "device": "cpu"}
    assert avx2["cpu_capability"] == "AVX2" and avx2["bf16_native"] is False
    assert avx2["bf16_matmul"] == "fp32 GEMM on bf16 values"
    native = _numerics(runs / "native" / "float32")
    assert native["dtype"]["planner"]["requested"] == "float32"
    import torch

    assert native["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert isinstance(native["threads"], int)


@pytest.mark.parametrize("dtype", ["auto", "float32"])
def test_other_cpu_kernels_same_config_agree(runs, dtype, capsys):
    assert reproduce([str(runs / "avx2" / dtype), str(runs / "native" / dtype)]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "reproduced exactly" in out or "agrees" in out


def test_another_dtype_is_reported_as_a_different_config(runs, capsys):
    assert reproduce([str(runs / "avx2" / "float32"), str(runs / "native" / "auto")]) == 1
    assert "agent_config.planner.dtype: 'float32' != 'bfloat16'" in capsys.readouterr().out
