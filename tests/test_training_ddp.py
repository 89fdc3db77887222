"""A real 2-process DDP run (gloo on CPU) through the product command:
``torchrun --nproc_per_node 2 -m harness.cli train moat --preset tiny`` (cold-start SFT, planner DPO and
grounder SFT on both processes; sampling, rewards and critic on the main one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from training_helpers import FIXTURES


@pytest.mark.skipif(shutil.which("torchrun") is None and not os.path.exists(
    os.path.join(os.path.dirname(sys.executable), "torchrun")), reason="torchrun not installed")
def test_two_process_ddp_sft_and_moat(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"data": {"formulations": ["one-pass"], "dev_size": 2, "sources": [
        {"env": "gsm8k", "split": "train", "limit": 12, "options": {"isolation": "inprocess"}}]},
        "moat": {"iterations": 1, "dev_eval": False}}))
    out = tmp_path / "run"
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", "29533", "-m", "harness.cli", "train", "moat",
         "--preset", "tiny", "--out", str(out), "--data-dir", str(FIXTURES), "--config", str(cfg)],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads((out / "manifest.json").read_text())
    assert m["complete"]
    for role in ("planner", "grounder"):
        metrics = m["stages"][f"lumos_{role}"]["metrics"]
        assert metrics["world_size"] == 2
        # 12 problems - 1 SVAMP duplicate - 2 dev = 9 one-pass records; batch 8 x 2 processes -> 1 step x 2 epochs
        assert metrics["examples"] == 9 and metrics["steps"] == 2
        assert (out / m["outputs"][f"cold_{role}"] / "adapter_model.safetensors").exists()
    assert m["stages"]["moat_iter1_grounder_sft"]["metrics"]["world_size"] == 2
    dpo = m["stages"].get("moat_iter1_dpo")
    assert dpo is not None and dpo["metrics"]["world_size"] == 2
    assert (out / m["outputs"]["planner"] / "adapter_model.safetensors").exists()
