"""Answer normalisation and metrics for the complex-QA benchmarks (SPEC section c).

HotpotQA: SQuAD normalisation (lower-case, drop ASCII punctuation, drop the articles a/an/the,
collapse whitespace) for exact match, and Lumos' ``f1_score`` (0 when either side normalises to
yes/no/noanswer and they differ). StrategyQA: Lumos' lenient rule (``"yes" in pred.lower()``) and a
strict rule (the first yes/no word of the answer).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_YES_NO = re.compile(r"\b(yes|no)\b")
_TRUE_FALSE = re.compile(r"\b(true|false)\b")


def normalize_answer(s: str) -> str:
    """SQuAD/HotpotQA normalisation, applied to the NFC form of ``s``.

    NFC only merges canonically equivalent code points (a precomposed ``é`` and ``e`` + combining
    accent); accents, curly quotes and other non-ASCII punctuation are kept, exactly as the official
    script keeps them.
    """
    s = unicodedata.normalize("NFC", s).lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def exact_match(prediction: str | None, gold: str) -> float:
    if prediction is None:
        return 0.0
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str | None, gold: str) -> float:
    """Token F1 as in Lumos' HotpotQA script (and the official HotpotQA evaluator)."""
    if prediction is None:
        return 0.0
    pred, truth = normalize_answer(prediction), normalize_answer(gold)
    special = ("yes", "no", "noanswer")
    if (pred in special or truth in special) and pred != truth:
        return 0.0
    common = Counter(pred.split()) & Counter(truth.split())
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred.split())
    recall = same / len(truth.split())
    return 2 * precision * recall / (precision + recall)


def answer_text(result: str | None) -> str | None:
    """The answer part of a QA result ``"Question: q; Answer: X"``: as Lumos'
    ``split("Answer: ")[1]``, the text between the first ``Answer:`` and the next one (a missing
    space after the colon is tolerated); the whole string stripped when there is none."""
    if result is None:
        return None
    parts = re.split(r"Answer:\s*", result)
    text = parts[1] if len(parts) > 1 else result
    return text.strip()


def yes_no_lenient(prediction: str | None) -> bool:
    """Lumos: ``"true"`` if ``"yes"`` occurs anywhere in the lower-cased prediction (so ``"eyes"``
    counts as yes)."""
    return prediction is not None and "yes" in prediction.lower()


def yes_no_strict(prediction: str | None) -> bool | None:
    """The first whole word ``yes``/``no`` (or, failing that, ``true``/``false``) of the prediction;
    ``None`` when there is none (scored as wrong)."""
    if prediction is None:
        return None
    text = unicodedata.normalize("NFC", prediction).lower()
    m = _YES_NO.search(text)
    if m:
        return m.group(1) == "yes"
    m = _TRUE_FALSE.search(text)
    if m:
        return m.group(1) == "true"
    return None


def gold_bool(gold: object) -> bool:
    """StrategyQA gold as a bool (the files hold JSON booleans; strings are accepted too)."""
    if isinstance(gold, bool):
        return gold
    return str(gold).strip().lower() in ("true", "yes", "1")
