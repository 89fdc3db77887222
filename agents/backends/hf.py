"""The ``hf`` backend: transformers on CPU or GPU, batched for throughput.

Why a hand-written decode loop instead of ``model.generate``: ``generate(num_return_sequences=K)``
copies the prompt K times *before* the prefill, so K samples cost K prefills; here the prompt is
encoded once and its KV cache is expanded to K rows. The loop also drops finished rows from the
cache (one-line Lumos outputs end at very different lengths) and checks stop strings on the decoded
tail only. The cache has room reserved for the new tokens (:mod:`agents.backends.kv_reserve`: no
per-step copy), and sampled rows attend to their shared prompt once per step
(:mod:`agents.backends.shared_prefix_attention`). Teacher-forced scoring (NLL, token log-probabilities)
lives in :mod:`agents.backends.hf_scoring`.

When this module is the first to load torch it picks how OpenMP workers wait
(:mod:`harness.openmp`: a short spin on an idle machine, sleeping on a busy one, 1.5x either way).
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from typing import Any

from harness.numerics import AUTO_CPU_DTYPE, note_backend
from harness.openmp import configure_openmp

configure_openmp()

import torch  # noqa: E402

from agents.backends.base import Backend, BackendInfo, GenerationParams, truncate_at_stop  # noqa: E402
from agents.backends.hf_scoring import NLLScorer  # noqa: E402
from agents.backends import bf16_emulation, shared_prefix_attention  # noqa: E402
from agents.backends.kv_reserve import fill_from_back, reserve  # noqa: E402

log = logging.getLogger(__name__)


def pick_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """``auto``: bf16 on every CPU (:data:`harness.numerics.AUTO_CPU_DTYPE`; emulated where the CPU has
    no bf16 instructions, so a config means the same numerics on every machine), bf16 on GPUs that
    have it, else fp16."""
    if isinstance(dtype, torch.dtype):
        return dtype
    named = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if dtype != "auto":
        if dtype not in named:
            raise ValueError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16")
        return named[dtype]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return named[AUTO_CPU_DTYPE]


def _pick_device(device: str) -> torch.device:
    if device == "auto":
        if torch.cuda.is_available() and os.environ.get("LOCAL_RANK", "").isdigit():
            return torch.device(f"cuda:{os.environ['LOCAL_RANK']}")  # one GPU per launched process (torchrun)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class HFBackend(NLLScorer, Backend):
    """Batched generation and scoring with a transformers causal LM (already loaded)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        model_id: str = "<in-memory>",
        *,
        max_batch_size: int = 64,
        max_batch_tokens: int = 32768,
        nll_batch_tokens: int = 2048,
        nll_max_rows: int = 16,
        logits_chunk: int = 256,
        min_shared_prefix: int = 16,
        seed: int = 0,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        self.nll_batch_tokens = nll_batch_tokens
        self.nll_max_rows = nll_max_rows
        self.logits_chunk = logits_chunk
        self.min_shared_prefix = min_shared_prefix
        self._rng = random.Random(seed)
        self._details = details or {}
        self.device = next(model.parameters()).device
        self._cascade = shared_prefix_attention.enable(self.model)
        self._bf16_upcast = bf16_emulation.enable(self.model)  # CPUs without bf16 instructions
        config = model.config
        eos: set[int] = set()
        for src in (getattr(model, "generation_config", None), config, tokenizer):
            value = getattr(src, "eos_token_id", None)
            if isinstance(value, int):
                eos.add(value)
            elif isinstance(value, (list, tuple)):
                eos.update(int(v) for v in value)
        self.eos_ids = eos
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else getattr(config, "pad_token_id", None)
        self.pad_id = int(pad if pad is not None else (min(eos) if eos else 0))
        self.max_positions = int(getattr(config, "max_position_embeddings", 0) or 0) or None
        # Models that post-process logits (soft-capping, scaling) are scored through their own forward.
        self._split_head = not any(
            getattr(config, a, None) not in (None, 1.0) for a in ("final_logit_softcapping", "logit_scale")
        ) and model.get_output_embeddings() is not None

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        model: str | Path,
        *,
        dtype: str = "auto",
        device: str = "auto",
        adapter: str | None = None,
        label: str | None = None,
        **kwargs: Any,
    ) -> HFBackend:
        """Load a local checkpoint or hub id. ``adapter``: a PEFT adapter folder merged into the
        weights for inference (a folder holding ``adapter_config.json`` may also be passed as
        ``model``; its base model is then read from that file)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        dev = _pick_device(device)
        torch_dtype = pick_dtype(dtype, dev)
        path = Path(str(model))
        if adapter is None and (path / "adapter_config.json").exists():
            import json

            from agents.models import resolve_model

            adapter = str(path)
            model = resolve_model(json.loads((path / "adapter_config.json").read_text())["base_model_name_or_path"])
        tok_src = adapter if adapter and (Path(adapter) / "tokenizer_config.json").exists() else str(model)
        tokenizer = AutoTokenizer.from_pretrained(tok_src)
        lm = AutoModelForCausalLM.from_pretrained(str(model), dtype=torch_dtype).to(dev)
        if adapter:
            from peft import PeftModel

            lm = PeftModel.from_pretrained(lm, adapter).merge_and_unload()
        details = {"dtype": str(torch_dtype).replace("torch.", ""), "device": dev.type}
        note_backend(label or str(model), str(dtype).replace("torch.", ""), details["dtype"], dev.type)
        if adapter:
            details["adapter"] = str(adapter)
        return cls(lm, tokenizer, label or str(model), details=details, **kwargs)

    # -- helpers -------------------------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=True)["input_ids"]

    def _check_length(self, n_prompt: int, extra: int, index: int) -> None:
        if self.max_positions and n_prompt + extra > self.max_positions:
            raise ValueError(
                f"prompt {index} has {n_prompt} tokens; with {extra} new tokens it exceeds the model's "
                f"context of {self.max_positions}"
            )

    def _left_pad(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, width - len(s):] = torch.tensor(s, dtype=torch.long)
            mask[i, width - len(s):] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        return ids.to(self.device), mask.to(self.device), pos.to(self.device)

    def _shared_prefix(self, seqs: list[list[int]], limit: int) -> int:
        """Tokens every sequence starts with (few-shot exemplars, headers, conversation history),
        capped at ``limit``; 0 when too short to be worth a separate pass."""
        if len(seqs) < 2 or self.min_shared_prefix <= 0:
            return 0
        first, n = seqs[0], min(len(s) for s in seqs)
        for s in seqs[1:]:
            k = 0
            while k < n and s[k] == first[k]:
                k += 1
            n = k
        n = min(n, limit)
        return n if n >= self.min_shared_prefix else 0

    def _forward(self, fn: Any, seqs: list[list[int]], limit: int, head_kw: dict | None = None, **kw: Any):
        """``fn`` (the LM or its decoder) over left-padded ``seqs``; a prefix shared by all rows is
        encoded once and its KV cache expanded, then only the suffixes run (padding sits between
        prefix and suffix, masked). Returns the suffix pass's output, suffix ids and the full mask."""
        plen = self._shared_prefix(seqs, limit)
        if plen == 0:
            ids, mask, pos = self._left_pad(seqs)
            return fn(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, **kw), ids, mask
        head = fn(input_ids=torch.tensor([seqs[0][:plen]], device=self.device), use_cache=True, **(head_kw or {}))
        cache = head.past_key_values
        cache.batch_repeat_interleave(len(seqs))
        ids, smask, spos = self._left_pad([s[plen:] for s in seqs])
        mask = torch.cat([smask.new_ones((len(seqs), plen)), smask], dim=1)
        out = fn(input_ids=ids, attention_mask=mask, position_ids=spos + plen, past_key_values=cache,
                 use_cache=True, **kw)
        return out, ids, mask

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            return super().render_chat(messages)
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def info(self) -> BackendInfo:
        return BackendInfo(name="hf", model=self.model_id, details=dict(self._details))

    def close(self) -> None:
        self.model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- generation ----------------------------------------------------------------------------
    def generate(self, prompts: list[str], params: GenerationParams) -> list[list[str]]:
        if not prompts:
            self.last_token_counts = []
            return []
        sampling = params.temperature > 0
        # One row set per distinct prompt: duplicates share a prefill (greedy: one row for all).
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(prompts):
            groups.setdefault(p, []).append(i)
        items = []  # (prompt, ids, rows)
        for p, where in groups.items():
            ids = self._encode(p)
            self._check_length(len(ids), params.max_new_tokens, where[0])
            rows = params.n * len(where) if sampling else 1
            while rows > 0:  # split huge K across batches
                take = min(rows, self.max_batch_size)
                items.append((p, ids, take))
                rows -= take
        items.sort(key=lambda it: -len(it[1]))
        gen = torch.Generator(device=self.device)
        gen.manual_seed(params.seed if params.seed is not None else self._rng.getrandbits(63))
        samples: dict[str, list[list[int]]] = {p: [] for p in groups}
        batch: list[tuple[str, list[int], int]] = []
        for it in items:
            rows = sum(b[2] for b in batch) + it[2]
            width = max([len(b[1]) for b in batch] + [len(it[1])]) + params.max_new_tokens
            if batch and (rows > self.max_batch_size or rows * width > self.max_batch_tokens):
                self._run_batch(batch, params, gen, samples)
                batch = []
            batch.append(it)
        if batch:
            self._run_batch(batch, params, gen, samples)
        out: list[list[str]] = [[] for _ in prompts]
        counts: list[list[int]] = [[] for _ in prompts]
        for p, where in groups.items():
            seqs = samples[p]
            for j, i in enumerate(where):
                chosen = seqs[j * params.n:(j + 1) * params.n] if sampling else seqs[:1] * params.n
                out[i] = [self._finish(s, params.stop) for s in chosen]
                counts[i] = [len(s) for s in chosen]
        self.last_token_counts = counts
        return out

    def _finish(self, ids: list[int], stops: tuple[str, ...]) -> str:
        return truncate_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), stops)

    def _hit_stop(self, ids: list[int], stops: tuple[str, ...], window: int) -> bool:
        tail = self.tokenizer.decode(ids[-window:], skip_special_tokens=True)
        return any(s in tail for s in stops)

    @torch.inference_mode()
    def _run_batch(self, batch, params: GenerationParams, gen: torch.Generator, samples: dict) -> None:
        seqs = [b[1] for b in batch]
        out, _, mask = self._forward(self.model, seqs, min(len(x) for x in seqs) - 1, {"logits_to_keep": 1},
                                     logits_to_keep=1)
        logits = out.logits[:, -1, :]
        cache = out.past_key_values
        reps = [b[2] for b in batch]
        if any(r != 1 for r in reps):
            idx = torch.repeat_interleave(torch.arange(len(batch)), torch.tensor(reps)).to(self.device)
            cache.batch_select_indices(idx)
            logits, mask = logits[idx], mask[idx]
        reserve(cache, params.max_new_tokens)
        # Sampled rows share their prompt's cache prefix: attend to it once per step (greedy decoding keeps
        # plain SDPA so its outputs stay bit-identical across versions).
        shared = len(seqs[0]) if len(batch) == 1 else self._shared_prefix(seqs, min(len(x) for x in seqs) - 1)
        extra = {"shared_prefix_len": shared} if self._cascade and params.temperature > 0 and shared else {}
        owner = [k for k, r in enumerate(reps) for _ in range(r)]
        next_pos = mask.sum(-1)
        generated: list[list[int]] = [[] for _ in owner]
        active = list(range(len(owner)))
        stops = tuple(s for s in params.stop if s)
        window = max((len(s) for s in stops), default=0) + 8
        for step in range(params.max_new_tokens):
            tok = self._pick(logits, params, gen)
            keep = []
            for j, (row, t) in enumerate(zip(active, tok.tolist())):
                if t in self.eos_ids:
                    continue
                generated[row].append(t)
                if stops and self._hit_stop(generated[row], stops, window):
                    continue
                keep.append(j)
            if not keep or step == params.max_new_tokens - 1:
                break
            if len(keep) < len(active):
                order = fill_from_back(keep, len(active))
                sel = torch.tensor(order, device=self.device)
                cache.batch_select_indices(sel)
                mask, next_pos, tok = mask[sel], next_pos[sel], tok[sel]
                active = [active[j] for j in order]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            out = self.model(
                input_ids=tok[:, None], attention_mask=mask, position_ids=next_pos[:, None],
                past_key_values=cache, use_cache=True, **extra,
            )
            logits = out.logits[:, -1, :]
            next_pos = next_pos + 1
        for row, k in enumerate(owner):
            samples[batch[k][0]].append(generated[row])

    @staticmethod
    def _pick(logits: torch.Tensor, params: GenerationParams, gen: torch.Generator) -> torch.Tensor:
        """Next token per row. Sampling uses the exponential race (argmax p_i / E_i with E_i ~ Exp(1)
        is an exact draw from p), and nucleus filtering looks at the top 1024 candidates only, falling
        back to a full sort for rows whose top 1024 hold less than ``top_p``: a full-vocabulary sort
        and ``torch.multinomial`` per step cost more than the 135M model's forward on a CPU."""
        if params.temperature <= 0:
            return logits.argmax(-1)
        x = logits.float() / params.temperature
        if params.top_p >= 1.0:
            return HFBackend._race(x.softmax(-1), gen)
        k = min(x.shape[-1], 1024)
        top, idx = x.topk(k, dim=-1)
        probs = (top - torch.logsumexp(x, dim=-1, keepdim=True)).exp()
        short = probs.sum(-1) < params.top_p
        if bool(short.any()):  # rare: a flat distribution; sort those rows over the whole vocabulary
            top_s, idx_s = x[short].sort(dim=-1, descending=True)
            full = top_s.softmax(-1)
            full = full.masked_fill(full.cumsum(-1) - full > params.top_p, 0.0)
            out = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
            out[short] = idx_s.gather(-1, HFBackend._race(full, gen)[:, None]).squeeze(1)
            keep = ~short
            if bool(keep.any()):
                p = probs[keep]
                p = p.masked_fill(p.cumsum(-1) - p > params.top_p, 0.0)
                out[keep] = idx[keep].gather(-1, HFBackend._race(p, gen)[:, None]).squeeze(1)
            return out
        probs = probs.masked_fill(probs.cumsum(-1) - probs > params.top_p, 0.0)
        return idx.gather(-1, HFBackend._race(probs, gen)[:, None]).squeeze(1)

    @staticmethod
    def _race(probs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        noise = torch.empty_like(probs).exponential_(generator=gen)
        return (probs / noise).argmax(-1)
