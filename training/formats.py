"""Training-time chat serialisation (SPEC a.1) and tokenisation with a completion mask.

Lumos trains with ``encode_with_messages_format`` (``allenai/lumos: model/finetune.py``)::

    <|user|>\\n{user}\\n<|assistant|>\\n{assistant}</s>\\n<|user|>\\n...

(contents stripped, whole text stripped, ``</s>`` = the tokenizer's EOS). The loss covers each
assistant content plus its EOS (and the newline after it, as in Lumos' masking); user turns and the
``<|assistant|>\\n`` headers are masked. Inference strings (no EOS between turns) live in
``agents/prompts.py``; this module is training-only.

The mask is computed from character spans and the tokenizer's offset mapping, so it is exact even
when BPE merges across a turn boundary.
"""

from __future__ import annotations

from typing import Any

USER_TAG = "<|user|>\n"
ASSISTANT_TAG = "<|assistant|>\n"
SYSTEM_TAG = "<|system|>\n"


def serialize_messages(messages: list[dict[str, str]], eos: str, loss_on: str = "all") -> tuple[str, list[tuple[int, int]]]:
    """Lumos training text and the character spans that carry loss.

    ``loss_on``: ``all`` (every assistant turn, Lumos SFT) or ``last`` (only the final assistant turn:
    MOAT per-turn records, whose earlier turns are the gold history).
    """
    if loss_on not in ("all", "last"):
        raise ValueError(f"loss_on must be 'all' or 'last', not {loss_on!r}")
    text = ""
    spans: list[tuple[int, int]] = []
    for msg in messages:
        role, content = msg["role"], msg["content"].strip()
        if role == "system":
            text += SYSTEM_TAG + content + "\n"
        elif role == "user":
            text += USER_TAG + content + "\n"
        elif role == "assistant":
            text += ASSISTANT_TAG
            start = len(text)
            text += content + eos + "\n"
            spans.append((start, len(text)))
        else:
            raise ValueError(f"unknown role {role!r} (expected system, user or assistant)")
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    spans = [(max(0, s - lead), min(len(text), e - lead)) for s, e in spans]
    if loss_on == "last":
        spans = spans[-1:]
    return text, [s for s in spans if s[1] > s[0]]


def tokenize_example(tokenizer: Any, messages: list[dict[str, str]], max_length: int | None = 1024,
                     loss_on: str = "all") -> dict[str, list[int]]:
    """``input_ids`` + ``completion_mask`` (1 = loss) for TRL ``SFTTrainer`` (pre-tokenised path).

    Truncation keeps the start, as Lumos does; an example whose loss tokens are all cut off is
    returned with an all-zero mask (the trainer drops it).
    """
    text, spans = serialize_messages(messages, tokenizer.eos_token, loss_on)
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=True)
    ids: list[int] = list(enc["input_ids"])
    mask = []
    for start, end in enc["offset_mapping"]:
        # special tokens added by the tokenizer (BOS) have (0, 0) offsets: never in the loss
        inside = end > start and any(s <= start < e for s, e in spans)
        mask.append(1 if inside else 0)
    if max_length is not None:
        ids, mask = ids[:max_length], mask[:max_length]
    return {"input_ids": ids, "completion_mask": mask}


def messages_to_prompt_completion(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
    """Split a conversation into its history and final assistant content."""
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError("conversation must end with an assistant turn")
    return messages[:-1], messages[-1]["content"]
