"""``harness doctor``: data dir, default model, optional dependencies, each environment's self-check."""

from __future__ import annotations

import argparse
import importlib.util

from rich.console import Console

OPTIONAL = {
    "vllm": "vllm backend (pip install 'moat-harness\\[vllm]')",
    "pyserini": "Lucene BM25 for WebShop search (pip install 'moat-harness\\[pyserini]')",
    "httpx": "openai-compatible backend client",
}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("doctor", help="check data, models and environments")
    p.add_argument("--data-dir", help="data folder (default: $HARNESS_DATA_DIR or the cache)")
    return p


def run(args: argparse.Namespace) -> int:
    import warnings

    from harness.data import resolve_data_dir
    from harness.registry import ENVS

    out = Console()
    problems = 0
    data_dir = resolve_data_dir(args.data_dir)
    out.print(f"data dir: {data_dir} ({'exists' if data_dir.exists() else '[red]missing[/red]'})")
    try:
        from agents.models import describe_default_model

        out.print(f"default model: {describe_default_model()}")
    except ImportError:
        out.print("default model: [yellow]agents.models not available[/yellow]")
    for mod, what in OPTIONAL.items():
        present = importlib.util.find_spec(mod) is not None
        out.print(f"optional {mod}: {'installed' if present else 'not installed'} - {what}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        envs = ENVS.load_all()
    for w in caught:
        out.print(f"[red]plugin problem:[/red] {w.message}")
        problems += 1
    for name, cls in envs.items():
        try:
            env = cls(data_dir=args.data_dir)
            issues = env.self_check()
            env.close()
        except Exception as exc:  # report, never crash the doctor
            issues = [f"{type(exc).__name__}: {exc}"]
        status = "[green]ok[/green]" if not issues else "[red]" + "; ".join(issues) + "[/red]"
        out.print(f"env {name}: {status}")
        problems += bool(issues)
    return 1 if problems else 0
