"""Test helper (also run as a script in a subprocess): the demo's eval on a tiny slice, per dtype.

``python tests/numerics_demo_run.py MODEL_DIR OUT_ROOT DTYPE[,DTYPE...] [--no-bf16-cpu]`` evaluates
the ``base`` producer on that checkpoint on toy_arith, one run root per dtype (``OUT_ROOT/<dtype>``).
``--no-bf16-cpu`` makes torch report a CPU without AVX512-BF16/AMX, as on the AVX2-only machine
that once turned ``dtype=auto`` into float32; combine it with ``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2`` so the kernels are those of such a CPU too.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TASKS = 4
BATCH = 2
MAX_NEW_TOKENS = 10


def run_slice(model_dir: Path, out_root: Path, dtype: str) -> Path:
    """One run of the demo's shape (batched greedy decoding, resumable run dir) in ``dtype``."""
    from harness_test_plugin.env import ToyArith

    from agents.producers.base import BaseProducer
    from harness.agent import AgentOptions
    from harness.runner import evaluate

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the demo (OMP_NUM_THREADS=1); a tiny model only waits on more threads
    opts = AgentOptions(planner=str(model_dir), extra={"max_new_tokens": MAX_NEW_TOKENS, "shots": 1,
                                                       "backend_options": {"dtype": dtype}})
    agent = BaseProducer().build(opts)
    try:
        evaluate(ToyArith(n=TASKS), agent, "base", "test", out_root / dtype, batch_size=BATCH)
    finally:
        agent.close()
        torch.set_num_threads(threads)
    return out_root / dtype


def main(argv: list[str]) -> int:
    if "--no-bf16-cpu" in argv:
        argv = [a for a in argv if a != "--no-bf16-cpu"]
        import torch

        torch.cpu._is_avx512_bf16_supported = lambda: False
        torch.cpu._is_amx_tile_supported = lambda: False
    model_dir, out_root, dtypes = Path(argv[0]), Path(argv[1]), argv[2].split(",")
    for dtype in dtypes:
        run_slice(model_dir, out_root, dtype)
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(HERE), str(HERE / "plugin_pkg")]
    sys.exit(main(sys.argv[1:]))
