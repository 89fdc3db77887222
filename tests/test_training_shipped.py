"""The adapters committed in training/shipped/ are what the committed preset produces, intact, and
small; the producers find them on a clone without runs of its own."""

from __future__ import annotations

import json

import pytest

from harness.data import sha256_file
from training.presets import build_config
from training.trained import SHIPPED_DIR, locate_run

METHODS = ("lumos", "agenttuning", "moat")


@pytest.mark.parametrize("method", METHODS)
def test_shipped_export_matches_the_committed_preset(method):
    manifest = json.loads((SHIPPED_DIR / method / "manifest.json").read_text())
    assert manifest["kind"] == method and manifest["complete"]
    assert manifest["config"]["config"] == build_config("cpu-small").identity()  # retrain if the preset changed
    assert manifest["command"].startswith(f"harness train {method} --preset cpu-small")
    assert manifest["export"]["dtype"] == "bfloat16" and manifest["outputs"]["base"] == "default"
    for rel, digest in manifest["export"]["files"].items():
        assert sha256_file(SHIPPED_DIR / method / rel) == digest, rel
    size = sum(p.stat().st_size for p in (SHIPPED_DIR / method).rglob("*") if p.is_file())
    assert size < 5.5 * 2**20, f"{method}: {size / 2**20:.1f} MiB"
    assert set(manifest["data"]) >= {"data/train_examples.jsonl", "data/plan_sft.jsonl"}


def test_moat_export_carries_its_iteration_log():
    rows = [json.loads(x) for x in (SHIPPED_DIR / "moat" / "moat" / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [0, 1, 2]
    assert (SHIPPED_DIR / "moat" / "moat" / "rewards.png").read_bytes()[:4] == b"\x89PNG"


def test_producers_fall_back_to_the_shipped_export(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_TRAIN_DIR", raising=False)
    root, manifest = locate_run("moat")
    assert root == SHIPPED_DIR / "moat" and manifest["kind"] == "moat"
    monkeypatch.setenv("HARNESS_TRAIN_DIR", str(tmp_path))  # an explicit train dir never falls back
    with pytest.raises(Exception, match="no trained 'moat' run"):
        locate_run("moat")
