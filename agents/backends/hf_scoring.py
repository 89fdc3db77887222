"""Teacher-forced scoring for the ``hf`` backend: mean continuation NLL (the MOAT reward) and
per-token log-probabilities (``echo`` + ``logprobs`` in :mod:`agents.serve`).

Why separate from the decode loop: scoring never samples; it runs the decoder once per
length-sorted batch (a prefix shared by the batch is encoded once) and applies the LM head only at
continuation positions, in chunks, so full-vocabulary fp32 logits are never held for a whole batch.
:class:`NLLScorer` is mixed into :class:`agents.backends.hf.HFBackend`, whose ``model``,
``tokenizer``, ``_encode``, ``_check_length`` and ``_forward`` it uses.
"""

from __future__ import annotations

import logging

import torch

from agents.backends.base import continuation_start

log = logging.getLogger(__name__)


class NLLScorer:
    """``nll`` and ``token_logprobs`` over an HF causal LM (a mix-in of ``HFBackend``)."""

    def _split(self, prompt: str, continuation: str) -> tuple[list[int], int]:
        """Ids of prompt+continuation encoded at once (as the model saw it in training) and where
        the continuation starts."""
        whole = self._encode(prompt + continuation)
        return whole, continuation_start(self._encode(prompt), whole)

    def nll(self, prompts: list[str], continuations: list[str]) -> list[float]:
        if len(prompts) != len(continuations):
            raise ValueError(f"{len(prompts)} prompts but {len(continuations)} continuations")
        items = [self._split(p, c) for p, c in zip(prompts, continuations)]
        for i, (whole, _) in enumerate(items):
            self._check_length(len(whole), 0, i)
        result = [float("nan")] * len(items)
        scorable = [i for i, (whole, start) in enumerate(items) if len(whole) > start]
        if len(scorable) < len(items):
            log.warning("%d continuation(s) empty after tokenisation; their NLL is NaN", len(items) - len(scorable))
        losses = self._token_nlls([items[i][0] for i in scorable], [items[i][1] for i in scorable])
        for i, row in zip(scorable, losses):
            result[i] = float(row.mean())
        return result

    def _token_nlls(self, seqs: list[list[int]], starts: list[int]) -> list[torch.Tensor]:
        """Per sequence, the NLL of each token from ``starts[i]`` on (teacher-forced), computed in
        length-sorted batches of at most ``nll_max_rows`` rows and ``nll_batch_tokens`` tokens, where
        a prefix shared by the batch counts once (it is encoded once, see :meth:`_forward`)."""
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        out: list[torch.Tensor | None] = [None] * len(seqs)
        batch: list[int] = []
        shared = 0
        for i in order:
            if batch:
                first, s = seqs[batch[0]], seqs[i]
                k = 0
                limit = min(shared, len(s), starts[i] - 1)
                while k < limit and s[k] == first[k]:
                    k += 1
                prefix = k if k >= self.min_shared_prefix > 0 else 0
                width = max(len(seqs[batch[0]]), len(s))
                cost = prefix + (len(batch) + 1) * (width - prefix)
                if len(batch) >= self.nll_max_rows or cost > self.nll_batch_tokens:
                    self._nll_batch(batch, seqs, starts, out)
                    batch = []
                else:
                    shared = k
            if not batch:
                shared = starts[i] - 1
            batch.append(i)
        if batch:
            self._nll_batch(batch, seqs, starts, out)
        return out  # type: ignore[return-value]

    @torch.inference_mode()
    def _nll_batch(self, batch: list[int], seqs, starts, out: list) -> None:
        rows_seqs = [seqs[i] for i in batch]
        limit = min(starts[i] for i in batch) - 1  # the first scored position must be in the suffix
        cont = [len(seqs[i]) - starts[i] for i in batch]
        if self._split_head:
            res, ids, _ = self._forward(self.model.get_decoder(), rows_seqs, limit)
            hidden = res.last_hidden_state
            width = ids.shape[1]
            head = self.model.get_output_embeddings()
            rows = torch.cat([torch.full((c,), r, dtype=torch.long) for r, c in enumerate(cont)]).to(self.device)
            cols = torch.cat([torch.arange(width - c - 1, width - 1) for c in cont]).to(self.device)
            states = hidden[rows, cols]
            targets = ids[rows, cols + 1]
            losses = torch.cat([
                torch.nn.functional.cross_entropy(head(states[s:s + self.logits_chunk]).float(),
                                                  targets[s:s + self.logits_chunk], reduction="none")
                for s in range(0, len(targets), self.logits_chunk)
            ])
        else:
            keep = max(cont) + 1
            res, ids, _ = self._forward(self.model, rows_seqs, limit, {"logits_to_keep": 1}, logits_to_keep=keep)
            logits, width = res.logits, ids.shape[1]
            losses = torch.cat([
                torch.nn.functional.cross_entropy(logits[r, keep - c - 1:keep - 1].float(), ids[r, width - c:],
                                                  reduction="none")
                for r, c in enumerate(cont)
            ])
        start = 0
        for i, c in zip(batch, cont):
            out[i] = losses[start:start + c].cpu()
            start += c

    def token_logprobs(self, texts: list[str]) -> list[list[tuple[str, int, float | None]]]:
        """Per text token: (token text, character offset, log-probability given everything before it;
        ``None`` for a first token with nothing before it). Serves ``echo`` + ``logprobs`` in
        :mod:`agents.serve`."""
        encs = [self.tokenizer(t, add_special_tokens=True, return_offsets_mapping=True) for t in texts]
        longer = [i for i, e in enumerate(encs) if len(e["input_ids"]) > 1]
        nlls = self._token_nlls([encs[i]["input_ids"] for i in longer], [1] * len(longer))
        by_text = dict(zip(longer, nlls))
        special = set(self.tokenizer.all_special_ids)
        out = []
        for i, (text, enc) in enumerate(zip(texts, encs)):
            lp: list[float | None] = [None] + ([-v for v in by_text[i].tolist()] if i in by_text else [])
            row = []
            for tid, (s, e), v in zip(enc["input_ids"], enc["offset_mapping"], lp):
                if tid in special and s == e:
                    continue  # BOS and friends are not part of the text
                row.append((text[s:e], int(s), v))
            out.append(row)
        return out
