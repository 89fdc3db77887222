"""Test helper: a tiny randomly initialised Llama with a byte-level tokenizer, saved like a real
checkpoint (``save_pretrained``) so every backend loads it by path. Builds in about a second."""

from __future__ import annotations

from pathlib import Path

EOS = "<|endoftext|>"


def _byte_symbol(b: int) -> str:
    """The character GPT-2's byte-level pre-tokenizer uses for byte ``b``."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    if b in printable:
        return chr(b)
    return chr(256 + [x for x in range(256) if x not in printable].index(b))


def build_tiny_checkpoint(out: Path, seed: int = 0, hidden: int = 64, layers: int = 2) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    # One token per printable ASCII byte and newline (+ EOS), no merges: ASCII text encodes, every
    # generation is valid text, and decoding is exact.
    symbols = [_byte_symbol(b) for b in [10, *range(32, 127)]]
    vocab = {EOS: 0} | {ch: i + 1 for i, ch in enumerate(symbols)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS)
    tokenizer.chat_template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</{{ m['role'] }}>{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=0, pad_token_id=0,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # sharper distributions than the 0.02-std init, so greedy has no near-ties
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(8.0)
    model.generation_config.eos_token_id = 0
    model.generation_config.pad_token_id = 0
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
