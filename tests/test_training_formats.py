"""Lumos training serialisation (SPEC a.1) and the completion mask, byte-exact golden cases."""

from __future__ import annotations

import pytest

from training.formats import serialize_messages, tokenize_example
from training.tiny import build_tiny_tokenizer

MSGS = [
    {"role": "user", "content": " Plan it. "},
    {"role": "assistant", "content": "Subgoal 1: add"},
    {"role": "user", "content": "The executed result for Subgoal 1 is 5. Should we stop planning?"},
    {"role": "assistant", "content": "Yes, I will stop planning."},
]


def test_serialisation_is_lumos_encode_with_messages_format():
    text, spans = serialize_messages(MSGS, "</s>")
    assert text == (
        "<|user|>\nPlan it.\n<|assistant|>\nSubgoal 1: add</s>\n"
        "<|user|>\nThe executed result for Subgoal 1 is 5. Should we stop planning?\n"
        "<|assistant|>\nYes, I will stop planning.</s>"
    )
    assert [text[s:e] for s, e in spans] == ["Subgoal 1: add</s>\n", "Yes, I will stop planning.</s>"]


def test_loss_on_last_keeps_only_the_final_assistant_turn():
    text, spans = serialize_messages(MSGS, "</s>", loss_on="last")
    assert [text[s:e] for s, e in spans] == ["Yes, I will stop planning.</s>"]
    with pytest.raises(ValueError):
        serialize_messages(MSGS, "</s>", loss_on="some")
    with pytest.raises(ValueError):
        serialize_messages([{"role": "tool", "content": "x"}], "</s>")


@pytest.fixture(scope="module")
def tokenizer():
    return build_tiny_tokenizer(["<|user|>\nPlan it.\n<|assistant|>\nSubgoal 1: add"] * 3, vocab_size=400)


def test_completion_mask_covers_exactly_assistant_text_and_eos(tokenizer):
    enc = tokenize_example(tokenizer, MSGS, max_length=None)
    ids, mask = enc["input_ids"], enc["completion_mask"]
    assert len(ids) == len(mask)
    trained = tokenizer.decode([t for t, m in zip(ids, mask) if m])
    masked = tokenizer.decode([t for t, m in zip(ids, mask) if not m])
    eos = tokenizer.eos_token
    assert trained == f"Subgoal 1: add{eos}\nYes, I will stop planning.{eos}"
    assert "Plan it." in masked and "Should we stop planning?" in masked and "<|assistant|>" in masked
    assert "Subgoal 1: add" not in masked and "stop planning." not in masked


def test_truncation_keeps_the_start_and_can_drop_all_loss(tokenizer):
    enc = tokenize_example(tokenizer, MSGS, max_length=5)
    assert len(enc["input_ids"]) == 5 and not any(enc["completion_mask"])
