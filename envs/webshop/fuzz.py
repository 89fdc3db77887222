"""``thefuzz.fuzz.token_set_ratio`` exactly as thefuzz 0.19.0, the release WebShop pins.

WebShop's ``requirements.txt`` pins ``thefuzz==0.19.0`` without its ``speedup`` extra
(python-Levenshtein), so the official reward runs thefuzz's pure-Python path: ``difflib.SequenceMatcher``
for ``ratio``. Processing (``thefuzz/utils.py: full_process`` with ``force_ascii=True``):

1. a non-``str`` argument becomes ``str(arg)`` (``asciidammit``): a goal option ``(name, value)``
   tuple is compared as the text ``"('color', 'olive green')"``;
2. only the characters U+0080..U+00FF are deleted (``asciionly``); other non-ASCII characters stay,
   so ``’`` (U+2019) separates tokens like any punctuation;
3. every character matching ``(?ui)\\W`` becomes a space (``StringProcessor``), so ``_`` is kept as
   part of a word (``"wi_fi"`` is one token);
4. lower case, then strip.

Later releases (0.20+, built on rapidfuzz) split on ``_`` too and score with an Indel distance, so
they can differ; this module is the pinned behaviour, with golden cases from the 0.19.0 wheel in
``tests/test_webshop_fuzz.py``. Pure Python, no dependency.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any

_BAD_CHARS = {i: None for i in range(128, 256)}  # thefuzz's "ascii dammit!" table
_NON_WORD = re.compile(r"(?ui)\W")


def full_process(s: Any, force_ascii: bool = True) -> str:
    """``thefuzz.utils.full_process`` (0.19.0)."""
    if force_ascii:
        s = (s if type(s) is str else str(s)).translate(_BAD_CHARS)
    return _NON_WORD.sub(" ", s).lower().strip()


def ratio(s1: str, s2: str) -> int:
    """``thefuzz.fuzz.ratio`` (0.19.0, pure-Python ``SequenceMatcher``), rounded half to even as
    ``utils.intr`` (Python 3 ``round``)."""
    if s1 == s2:
        return 100
    if not s1 or not s2:
        return 0
    return int(round(100 * SequenceMatcher(None, s1, s2).ratio()))


def token_set_ratio(s1: Any, s2: Any) -> int:
    """``thefuzz.fuzz.token_set_ratio(s1, s2)`` with its defaults (``force_ascii=True``,
    ``full_process=True``)."""
    if s1 is None or s2 is None:
        return 0
    p1, p2 = full_process(s1), full_process(s2)
    if not p1 or not p2:
        return 0
    tokens1, tokens2 = set(p1.split()), set(p2.split())
    sect = " ".join(sorted(tokens1 & tokens2))
    combined_1to2 = (sect + " " + " ".join(sorted(tokens1 - tokens2))).strip()
    combined_2to1 = (sect + " " + " ".join(sorted(tokens2 - tokens1))).strip()
    sect = sect.strip()
    return max(ratio(sect, combined_1to2), ratio(sect, combined_2to1), ratio(combined_1to2, combined_2to1))
