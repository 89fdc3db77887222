"""The hf decode loop's two speed-ups give transformers' own numbers: the reserved KV cache
(``kv_reserve``) and the shared-prefix (cascade) attention (``shared_prefix_attention``)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from agents.backends import shared_prefix_attention as spa  # noqa: E402
from agents.backends.hf import HFBackend  # noqa: E402
from agents.backends.kv_reserve import ReservedLayer, _in_place_safe, fill_from_back, reserve  # noqa: E402


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from backends_tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny_kv") / "ckpt")


@pytest.fixture(scope="module")
def backend(tiny_dir):
    return HFBackend.from_pretrained(tiny_dir, dtype="float32")


@pytest.mark.parametrize("keep, rows, order", [
    ([0, 1, 3, 4], 5, [0, 1, 4, 3]),   # one hole, filled by the last row
    ([0, 2, 4], 5, [0, 4, 2]),         # row 4 fills hole 1; row 2 stays
    ([3, 4], 5, [3, 4]),               # both survivors move to the front
    ([0, 1, 2], 3, [0, 1, 2]),         # nothing dropped
    ([], 3, []),
])
def test_fill_from_back_golden(keep, rows, order):
    assert fill_from_back(keep, rows) == order
    assert sorted(order) == sorted(keep)


def test_in_place_moves_never_overwrite_a_row_still_to_be_read():
    assert _in_place_safe([(0, 1), (1, 2)])  # a shift towards the front
    assert _in_place_safe([(2, 4)])
    assert not _in_place_safe([(0, 1), (1, 0)])  # a swap needs a second buffer


def _prefill(backend, seqs):
    out, _, mask = backend._forward(backend.model, seqs, min(map(len, seqs)) - 1, {"logits_to_keep": 1},
                                    logits_to_keep=1)
    return out.logits[:, -1], out.past_key_values, mask


@torch.inference_mode()
def test_reserved_cache_decodes_exactly_like_the_dynamic_cache(backend):
    seqs = [[5, 6, 7, 8, 9, 10], [11, 12, 13], [14, 15, 16, 17]]
    caches, masks, logits = [], [], []
    for reserved in (False, True):
        lg, cache, mask = _prefill(backend, seqs)
        if reserved:
            assert reserve(cache, 2) == len(cache.layers)  # room for 2: the loop below must grow it
            assert all(isinstance(layer, ReservedLayer) for layer in cache.layers)
        caches.append(cache), masks.append(mask), logits.append(lg)
    assert torch.equal(logits[0], logits[1])
    pos = masks[0].sum(-1)
    tok = logits[0].argmax(-1)
    for step in range(6):
        if step == 2:  # drop row 0: row 2 moves into its slot, in place
            sel = torch.tensor(fill_from_back([1, 2], 3))
            for i in range(2):
                caches[i].batch_select_indices(sel)
                masks[i] = masks[i][sel]
            pos, tok = pos[sel], tok[sel]
        step_logits = []
        for i in range(2):
            masks[i] = torch.cat([masks[i], masks[i].new_ones((masks[i].shape[0], 1))], dim=1)
            out = backend.model(input_ids=tok[:, None], attention_mask=masks[i], position_ids=pos[:, None],
                                past_key_values=caches[i], use_cache=True)
            step_logits.append(out.logits[:, -1])
        assert torch.equal(step_logits[0], step_logits[1]), f"step {step}"
        assert caches[0].get_seq_length() == caches[1].get_seq_length()
        tok, pos = step_logits[0].argmax(-1), pos + 1


def test_reserved_layer_reordering_and_repeats_fall_back_to_a_new_buffer():
    keys = torch.arange(3 * 2 * 4 * 2, dtype=torch.float32).reshape(3, 2, 4, 2)
    layer = ReservedLayer(keys, -keys, extra_tokens=3)
    layer.batch_select_indices(torch.tensor([2, 0, 2]))  # reorder + repeat
    assert torch.equal(layer.keys, keys[[2, 0, 2]])
    assert torch.equal(layer.values, -keys[[2, 0, 2]])
    new = torch.ones(3, 2, 1, 2)
    k, _ = layer.update(new, new)
    assert k.shape == (3, 2, 5, 2) and torch.equal(k[:, :, :4], keys[[2, 0, 2]]) and torch.equal(k[:, :, 4:], new)
    with pytest.raises(ValueError, match="holds 3 rows"):
        layer.update(torch.ones(2, 2, 1, 2), torch.ones(2, 2, 1, 2))


def test_backend_runs_sdpa_models_under_the_shared_prefix_attention(backend):
    assert backend.model.config._attn_implementation == spa.NAME


@torch.inference_mode()
@pytest.mark.parametrize("suffixes", [[[40, 41, 42], [50, 51, 52, 53, 54, 55]], [[40], [40], [40]]])
def test_shared_prefix_attention_matches_sdpa(backend, suffixes, monkeypatch):
    prefix = list(range(1, 30))
    seqs = [prefix + s for s in suffixes]
    fallbacks = []
    real = spa.sdpa_attention_forward
    monkeypatch.setattr(spa, "sdpa_attention_forward", lambda *a, **k: fallbacks.append(1) or real(*a, **k))
    results = {}
    for shared in (0, len(prefix)):
        lg, cache, mask = _prefill(backend, seqs)
        reserve(cache, 4)
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
        pos = (mask.sum(-1) - 1)[:, None]
        fallbacks.clear()
        kw = {"shared_prefix_len": shared} if shared else {}
        out = backend.model(input_ids=lg.argmax(-1)[:, None], attention_mask=mask, position_ids=pos,
                            past_key_values=cache, use_cache=True, **kw)
        results[shared] = (out.logits[:, -1], len(fallbacks))
    (plain, plain_fallbacks), (cascade, cascade_fallbacks) = results[0], results[len(prefix)]
    layers = backend.model.config.num_hidden_layers
    assert plain_fallbacks == layers and cascade_fallbacks == 0, "the decode step took the cascade path"
    torch.testing.assert_close(cascade, plain, atol=1e-5, rtol=1e-5)
