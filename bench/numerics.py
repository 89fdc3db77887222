"""Greedy decoding speed of the demo's model in float32 and bfloat16, on this CPU's kernels.

Why: ``make demo`` must stay under 5 minutes on CPUs with native bf16 (AVX512-BF16/AMX) and on
AVX2-only CPUs, where bf16 is emulated. Emulate an AVX2-only CPU on a newer one with
``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2``. With one thread the process CPU time is what
the wall time would be on an idle machine, so figures taken on a shared machine stay comparable
(``cpu_s``; ``wall_s`` and the load average say how busy it was).

    OMP_NUM_THREADS=1 python bench/numerics.py [--dtype bfloat16] [--prompts 16] [--tokens 48]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from harness.openmp import configure_openmp

configure_openmp()

import torch  # noqa: E402

from agents.backends import GenerationParams, load_backend  # noqa: E402
from harness.numerics import cpu_numerics  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--prompts", type=int, default=16)
    p.add_argument("--tokens", type=int, default=48)
    args = p.parse_args()
    from training.trained import locate_run, output

    root, manifest = locate_run("lumos", "training/shipped/lumos")
    backend = load_backend("hf", str(output(root, manifest, "base")), adapter=str(output(root, manifest, "planner")),
                           dtype=args.dtype)
    prompts = [f"Question: what is {i} plus {2 * i + 7}, times {i % 5 + 2}?\nSubgoal 1:" for i in range(args.prompts)]
    params = GenerationParams(temperature=0.0, max_new_tokens=args.tokens)
    backend.generate(prompts[:2], GenerationParams(temperature=0.0, max_new_tokens=4))  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    outs = backend.generate(prompts, params)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    tokens = sum(len(backend.tokenizer(o[0])["input_ids"]) for o in outs)
    print(json.dumps({
        "dtype": args.dtype, **cpu_numerics(), "threads": torch.get_num_threads(),
        "env": {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA") if k in os.environ},
        "wall_s": round(secs, 2), "cpu_s": round(cpu, 2), "tokens": tokens,
        "tokens_per_cpu_s": round(tokens / cpu, 1), "load1": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
