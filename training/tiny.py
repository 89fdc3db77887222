"""A tiny randomly initialised Llama + a byte-level BPE tokenizer trained on the run's own records.

Used by the ``tiny`` preset (tests, CI): it needs no downloaded files, builds in about a second and
trains in seconds, while exercising exactly the code paths of a real checkpoint (saved with
``save_pretrained``, loaded by path with ``AutoModelForCausalLM`` / ``AutoTokenizer``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

EOS = "<|endoftext|>"
# Chat tags are ordinary text in the Lumos format; listing them as BPE seeds keeps sequences short.
_SEED_TEXT = ["<|user|>\n", "\n<|assistant|>\n", "Subgoal", "Calculator(", "Should we stop planning?"]


def build_tiny_tokenizer(corpus: Iterable[str], vocab_size: int = 800):
    """Byte-level BPE (any text encodes) with ``<|endoftext|>`` as EOS and pad."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(_SEED_TEXT) * 20 + list(corpus), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS)


def build_tiny_model(vocab_size: int, hidden: int = 64, layers: int = 2, heads: int = 4, seed: int = 0,
                     max_positions: int = 2048):
    """A randomly initialised ``LlamaForCausalLM`` small enough to train in seconds on a CPU."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=0,
        pad_token_id=0,
    )
    return LlamaForCausalLM(config)


def make_tiny_base(out_dir: str | Path, corpus: Iterable[str], seed: int = 0, hidden: int = 64,
                   layers: int = 2, vocab_size: int = 800) -> Path:
    """Write tokenizer + random model to ``out_dir`` (idempotent: an existing one is kept)."""
    out = Path(out_dir)
    if (out / "config.json").exists() and (out / "tokenizer.json").exists():
        return out
    tokenizer = build_tiny_tokenizer(corpus, vocab_size=vocab_size)
    eos_id = tokenizer.convert_tokens_to_ids(EOS)
    model = build_tiny_model(len(tokenizer), hidden=hidden, layers=layers, seed=seed)
    model.config.eos_token_id = eos_id
    model.config.pad_token_id = eos_id
    model.generation_config.eos_token_id = eos_id
    model.generation_config.pad_token_id = eos_id
    tmp = out.with_name(out.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(tmp)
    model.save_pretrained(tmp)
    tmp.replace(out)
    log.info("tiny base model (%d parameters, vocab %d) written to %s", model.num_parameters(), len(tokenizer), out)
    return out
