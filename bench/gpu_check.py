"""The GPU check run by ``bench/gpu_check.sh``: the paths a GPU user takes, on tiny models built here, with a
pass/fail table. Every check is independent (one failing does not stop the others) and the whole run keeps
to a time budget (checks that would start after it are reported as SKIP).

Checks:

1. ``env``: torch sees the device; bf16 support; the versions of transformers, peft, accelerate, trl.
2. ``moat-tiny``: ``harness train moat --preset tiny`` (cold start + 2 MOAT iterations, TRL SFT/DPO), bf16 on
   CUDA (autocast in the trainers, bf16 sampling/scoring backends).
3. ``eval-moat`` / ``eval-checkpoint``: ``harness eval`` with the hf backend on a few GSM8K tasks: the pair just
   trained, and two full-model directories through the ``checkpoint`` producer.
4. ``kv-greedy``: the hf backend's decode loop (reserved KV cache, in-place row dropping) against transformers'
   own ``generate`` on the same prompts, greedy, fp32: identical text required; bf16 agreement reported.
5. ``cascade``: one decode step with the shared-prefix (cascade) attention against plain SDPA (logits within
   tolerance, and the cascade kernel actually taken), then K-sample generation through it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "training"
sys.path.insert(0, str(REPO / "tests"))  # backends_tiny: the tiny byte-level Llama of the test suite

ROWS: list[tuple[str, str, float, str]] = []


def check(name: str, fn: Callable[[], str], deadline: float) -> None:
    if time.time() > deadline:
        ROWS.append((name, "SKIP", 0.0, "time budget spent"))
        return
    t0 = time.time()
    try:
        detail = fn()
        ROWS.append((name, "PASS", time.time() - t0, detail))
    except Exception as exc:  # a failed check is a table row, never the end of the run
        tb = traceback.format_exc(limit=3).strip().splitlines()
        ROWS.append((name, "FAIL", time.time() - t0, f"{type(exc).__name__}: {exc}"[:300] + f" [{tb[-2].strip()[:120]}]"))


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_env(want: str) -> str:
    import accelerate
    import peft
    import torch
    import transformers
    import trl

    dev = _device()
    if want == "cuda" and dev != "cuda":
        raise RuntimeError("CUDA was asked for but torch.cuda.is_available() is False")
    name = torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"
    bf16 = torch.cuda.is_bf16_supported() if dev == "cuda" else "n/a"
    import datasets
    import pyarrow

    return (f"{name}; torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
            f"accelerate {accelerate.__version__}, trl {trl.__version__}, datasets {datasets.__version__}, "
            f"pyarrow {pyarrow.__version__}; bf16 {bf16}")


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def check_moat(work: Path, dtype: str) -> str:
    import torch

    from harness.cli import main

    bf16 = dtype == "bfloat16"
    trainer = {"bf16": bf16}
    cfg = _write(work / "moat.json", {
        "data": {"sources": [{"env": "gsm8k", "split": "train", "limit": 16, "options": {"isolation": "inprocess"}}]},
        "sft": trainer, "moat": {"backend_dtype": dtype, "dpo": trainer, "grounder_sft": trainer}})
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    rc = main(["train", "moat", "--preset", "tiny", "--out", str(work / "moat"), "--data-dir", str(FIXTURES),
               "--config", str(cfg)])
    if rc != 0:
        raise RuntimeError(f"harness train moat returned {rc}")
    m = json.loads((work / "moat" / "manifest.json").read_text())
    rows = [json.loads(line) for line in (work / "moat" / "moat" / "log.jsonl").read_text().splitlines()]
    if not m.get("complete") or [r["iteration"] for r in rows] != [0, 1, 2]:
        raise RuntimeError(f"run incomplete: complete={m.get('complete')}, log iterations {[r['iteration'] for r in rows]}")
    nll = [r.get("mean_nll") for r in rows[1:]]
    if not all(isinstance(v, float) and math.isfinite(v) for v in nll):
        raise RuntimeError(f"non-finite rewards {nll}")
    peak = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0.0
    return f"2 iterations, mean NLL {nll[0]:.3f} -> {nll[1]:.3f}, {dtype}, peak CUDA memory {peak:.0f} MiB"


def _eval(work: Path, producer: str, extra: list[str], agent: dict) -> dict:
    from harness.cli import main

    cfg = _write(work / f"eval-{producer}.json", {"agent": agent})
    rc = main(["eval", "--agents", producer, "--benchmarks", "gsm8k", "--limit", "3", "--data-dir", str(FIXTURES),
               "--output-dir", str(work / "runs"), "--config", str(cfg), *extra])
    run = work / "runs" / producer / "gsm8k-test"
    res = json.loads((run / "results.json").read_text())
    config = json.loads((run / "config.json").read_text())["agent_config"]
    if rc not in (0, 1) or res["n"] != 3:
        raise RuntimeError(f"harness eval rc {rc}, n={res['n']}/3")
    return {"res": res, "planner": config["planner"]}


def check_eval_moat(work: Path, dtype: str, want: str) -> str:
    out = _eval(work, "moat", [], {"run": str(work / "moat"), "max_new_tokens": 24, "backend_options": {"dtype": dtype}})
    if out["planner"].get("device") != want:
        raise RuntimeError(f"planner ran on {out['planner'].get('device')}, not {want}")
    return f"n=3, {out['res']['main_metric']}={out['res']['metrics'][out['res']['main_metric']]:.3f}, planner {out['planner']}"


def check_eval_checkpoint(work: Path, dtype: str, want: str) -> str:
    from backends_tiny import build_tiny_checkpoint

    plan = build_tiny_checkpoint(work / "ckpt" / "lumos_maths_plan_iterative", seed=1)
    ground = build_tiny_checkpoint(work / "ckpt" / "lumos_maths_ground_iterative", seed=2)
    out = _eval(work, "checkpoint", ["--planner", str(plan), "--grounder", str(ground)],
                {"max_new_tokens": 16, "max_rounds": 2, "backend_options": {"dtype": dtype}})
    if out["planner"].get("device") != want:
        raise RuntimeError(f"planner ran on {out['planner'].get('device')}, not {want}")
    return f"n=3, iterative Lumos strings, planner {out['planner']}"


PROMPTS = ["<|user|>\nPlease provide a reasonable subgoal-based plan to solve the given task.\nTask: Tom has 3 apples.",
           "Subgoal 1: Calculate", "R1 = Calculator(2 + 3); R2 =", "Yes, I will stop planning. " * 3]


def _reference(model_dir: Path, dtype: str, prompts: list[str], new: int) -> list[str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, dtype),
                                                 attn_implementation="sdpa").to(_device()).eval()
    outs = []
    for p in prompts:
        ids = tok(p, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            g = model.generate(**ids, max_new_tokens=new, do_sample=False, eos_token_id=tok.eos_token_id,
                               pad_token_id=tok.eos_token_id)
        outs.append(tok.decode(g[0, ids["input_ids"].shape[1]:], skip_special_tokens=True))
    return outs


def check_kv(work: Path) -> str:
    from backends_tiny import build_tiny_checkpoint

    from agents.backends.base import GenerationParams
    from agents.backends.hf import HFBackend

    model_dir = build_tiny_checkpoint(work / "kv" / "tiny", seed=3)
    params = GenerationParams(temperature=0.0, max_new_tokens=48)
    notes = []
    for dtype in ("float32", "bfloat16"):
        backend = HFBackend.from_pretrained(str(model_dir), dtype=dtype, device=_device())
        ref = _reference(model_dir, dtype, PROMPTS, 48)
        single = [backend.generate([p], params)[0][0] for p in PROMPTS]
        batched = [o[0] for o in backend.generate(PROMPTS, params)]
        same_single = sum(a == b for a, b in zip(single, ref))
        same_batch = sum(a == b for a, b in zip(batched, ref))
        backend.close()
        if dtype == "float32" and same_single != len(PROMPTS):
            bad = next(i for i, (a, b) in enumerate(zip(single, ref)) if a != b)
            raise RuntimeError(f"fp32 greedy differs from generate on prompt {bad}: {single[bad]!r} vs {ref[bad]!r}")
        notes.append(f"{dtype}: one-by-one {same_single}/{len(PROMPTS)}, batched {same_batch}/{len(PROMPTS)} identical")
    return "; ".join(notes)


def check_cascade(work: Path) -> str:
    import torch
    from backends_tiny import build_tiny_checkpoint

    from agents.backends import shared_prefix_attention as spa
    from agents.backends.base import GenerationParams
    from agents.backends.hf import HFBackend
    from agents.backends.kv_reserve import reserve

    model_dir = build_tiny_checkpoint(work / "cascade" / "tiny", seed=4)
    notes = []
    for dtype, tol in (("float32", 1e-5), ("bfloat16", 3e-2)):  # bf16 eps is 7.8e-3: a few ulps of the largest logit
        backend = HFBackend.from_pretrained(str(model_dir), dtype=dtype, device=_device())
        if backend.model.config._attn_implementation != spa.NAME:
            raise RuntimeError(f"backend runs {backend.model.config._attn_implementation}, not {spa.NAME}")
        prefix = list(range(1, 40))
        seqs = [prefix + s for s in ([40, 41, 42], [50, 51, 52, 53, 54, 55], [60])]
        calls = []
        real = spa.sdpa_attention_forward
        spa.sdpa_attention_forward = lambda *a, **k: calls.append(1) or real(*a, **k)
        try:
            logits = {}
            for shared in (0, len(prefix)):
                with torch.inference_mode():
                    out, _, mask = backend._forward(backend.model, seqs, min(map(len, seqs)) - 1, {"logits_to_keep": 1},
                                                    logits_to_keep=1)
                    cache = out.past_key_values
                    reserve(cache, 4)
                    mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
                    pos = (mask.sum(-1) - 1)[:, None]
                    calls.clear()
                    kw = {"shared_prefix_len": shared} if shared else {}
                    step = backend.model(input_ids=out.logits[:, -1].argmax(-1)[:, None], attention_mask=mask,
                                         position_ids=pos, past_key_values=cache, use_cache=True, **kw)
                logits[shared] = (step.logits[:, -1].float(), len(calls))
        finally:
            spa.sdpa_attention_forward = real
        (plain, n_plain), (casc, n_casc) = logits[0], logits[len(prefix)]
        if n_casc != 0 or n_plain == 0:
            raise RuntimeError(f"{dtype}: cascade step fell back to SDPA ({n_casc} calls)")
        err = (casc - plain).abs().max().item() / max(1.0, plain.abs().max().item())  # relative to the logit scale
        if not err <= tol:
            raise RuntimeError(f"{dtype}: cascade logits differ from SDPA by {err:.2e} of their scale (> {tol})")
        samples = backend.generate([PROMPTS[0]], GenerationParams(n=15, temperature=1.0, top_p=0.95,
                                                                  max_new_tokens=24, seed=0))[0]
        backend.close()
        if len(samples) != 15:
            raise RuntimeError(f"{dtype}: {len(samples)} samples for n=15")
        notes.append(f"{dtype}: max |dlogit|/scale {err:.1e}, K=15 sampling {len(set(samples))} distinct")
    return "; ".join(notes)


def table() -> str:
    lines = ["| check | result | seconds | detail |", "| --- | --- | --- | --- |"]
    lines += [f"| {n} | {r} | {s:.1f} | {d.replace('|', '/')} |" for n, r, s, d in ROWS]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--work", default="/tmp/gpu_check", help="scratch folder (models, runs)")
    ap.add_argument("--budget", type=float, default=330.0, help="seconds; later checks are skipped after it")
    ap.add_argument("--table", help="also write the table to this file")
    args = ap.parse_args(argv)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + args.budget
    dtype = "bfloat16" if args.device == "cuda" else "float32"
    check("env", lambda: check_env(args.device), deadline)
    check("kv-greedy", lambda: check_kv(work), deadline)
    check("cascade", lambda: check_cascade(work), deadline)
    check("eval-checkpoint", lambda: check_eval_checkpoint(work, dtype, args.device), deadline)
    check("moat-tiny", lambda: check_moat(work, dtype), deadline)
    check("eval-moat", lambda: check_eval_moat(work, dtype, args.device), deadline)
    text = table()
    print(text)
    if args.table:
        Path(args.table).write_text(text + "\n", encoding="utf-8")
    return 0 if all(r == "PASS" for _, r, _, _ in ROWS) else 1


if __name__ == "__main__":
    sys.exit(main())
