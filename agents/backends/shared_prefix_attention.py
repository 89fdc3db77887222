"""Decode-step attention that reads a prompt prefix shared by every row once (cascade attention).

Why: when MOAT samples K plans of one prompt, every row of the batch attends to the same prompt
keys; plain SDPA reads them K times per layer per step (a quarter of a K=15 sampling step on CPU
after the cache copies were removed). Here the queries of all rows attend to the shared prefix in a
single kernel call, the per-row suffixes (generated tokens, padding masked) in another, and the two
partial softmaxes are merged with their log-sum-exps: vLLM's cascade attention, on the CPU flash
kernel. The merge rounds differently from one pass, so the backend uses it for sampling only and
greedy decoding stays bit-identical to a plain SDPA run.

The model runs under the attention implementation :data:`NAME` (SDPA for everything else); a
forward call opts in by passing ``shared_prefix_len=P``: positions ``[0, P)`` of the KV cache hold
the same keys and values in every row.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "moat_shared_prefix"


def shared_prefix_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    shared_prefix_len: int = 0,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    rows, heads, q_len, dim = query.shape
    prefix = int(shared_prefix_len or 0)
    kv_heads = key.shape[1]
    if (prefix <= 0 or q_len != 1 or rows == 1 or key.shape[2] <= prefix or dropout or query.device.type != "cpu"
            or heads % kv_heads or kwargs.get("softcap") is not None or kwargs.get("position_bias") is not None):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    mask = attention_mask[..., prefix:] if attention_mask is not None else None
    if mask is not None and mask.shape[1] != 1:  # a per-head mask: not the shape the decode step builds
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    groups = heads // kv_heads
    packed = query.reshape(rows, kv_heads, groups, dim)  # query heads of one kv head side by side (GQA)
    # 1. every row's queries against the shared prefix, read once
    all_rows = packed.transpose(0, 1).reshape(1, kv_heads, rows * groups, dim)
    out_p, lse_p = flash(all_rows, key[:1, :, :prefix], value[:1, :, :prefix], scale=scaling)
    out_p = out_p.reshape(kv_heads, rows, groups, dim).transpose(0, 1)
    lse_p = lse_p.reshape(kv_heads, rows, groups).transpose(0, 1)
    # 2. each row's own suffix (its padding masked)
    if mask is not None and mask.dtype == torch.bool:  # the CPU flash kernel takes an additive mask only
        mask = torch.zeros(mask.shape, dtype=query.dtype, device=mask.device).masked_fill_(~mask, float("-inf"))
    out_s, lse_s = flash(packed, key[:, :, prefix:], value[:, :, prefix:], attn_mask=mask, scale=scaling)
    # 3. merge the two partial softmaxes
    lse = torch.logaddexp(lse_p, lse_s)
    out = out_p.float() * (lse_p - lse).exp()[..., None] + out_s.float() * (lse_s - lse).exp()[..., None]
    out = out.to(query.dtype).reshape(rows, heads, 1, dim)
    return out.transpose(1, 2).contiguous(), None


def register() -> str:
    """Register the attention (and SDPA's mask builder under the same name); idempotent."""
    AttentionInterface.register(NAME, shared_prefix_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME


def enable(model: Any) -> bool:
    """Switch a model that runs SDPA to :data:`NAME` (identical unless a call passes
    ``shared_prefix_len``); False, and the model untouched, for eager/flash/other implementations."""
    config = getattr(model, "config", None)
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return getattr(config, "_attn_implementation", None) == NAME
    register()
    try:
        model.set_attn_implementation(NAME)
    except (ValueError, TypeError, KeyError):
        return False
    return getattr(model.config, "_attn_implementation", None) == NAME
