"""Golden cases for the complex-QA answer normalisation and metrics (SPEC c)."""

from __future__ import annotations

import pytest

from envs.qa.metrics import (
    answer_text,
    exact_match,
    f1_score,
    gold_bool,
    normalize_answer,
    yes_no_lenient,
    yes_no_strict,
)


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("The Beatles", "beatles"),
        ("a  Tale of Two Cities!", "tale of two cities"),
        ("An apple, the pear and a fig.", "apple pear and fig"),
        ("U.S.A.", "usa"),
        ("Thea", "thea"),  # 'the' only as a whole word
        ("  Chief   of\tProtocol ", "chief of protocol"),
        ("Beyoncé", "beyoncé"),  # accents kept, as in the official script
        ("Beyonce\u0301", "beyoncé"),  # combining accent == precomposed (NFC)
        ("“Animorphs”", "“animorphs”"),  # non-ASCII quotes are not string.punctuation
        ("", ""),
    ],
)
def test_normalize_answer_golden(raw: str, norm: str) -> None:
    assert normalize_answer(raw) == norm


@pytest.mark.parametrize(
    ("pred", "gold", "em"),
    [
        ("the Chief of Protocol.", "Chief of Protocol", 1.0),
        ("Chief Protocol", "Chief of Protocol", 0.0),
        ("YES", "yes", 1.0),
        ("Beyoncé", "Beyonce", 0.0),
        ("Beyonce\u0301", "Beyoncé", 1.0),
        (None, "yes", 0.0),
    ],
)
def test_exact_match_golden(pred: str | None, gold: str, em: float) -> None:
    assert exact_match(pred, gold) == em


def test_f1_golden() -> None:
    assert f1_score("Chief of Protocol", "Chief of Protocol") == 1.0
    # pred tokens {chief, protocol} vs gold {chief, of, protocol}: P=1, R=2/3
    assert f1_score("the Chief Protocol", "Chief of Protocol") == pytest.approx(0.8)
    assert f1_score("Paris", "London") == 0.0
    assert f1_score(None, "London") == 0.0
    # Lumos/HotpotQA rule: yes/no/noanswer only match themselves
    assert f1_score("yes", "yes") == 1.0
    assert f1_score("yes it is", "yes") == 0.0  # gold is yes: anything but exactly yes scores 0
    assert f1_score("no", "no way") == 0.0
    assert f1_score("yes", "no") == 0.0


@pytest.mark.parametrize(
    ("result", "answer"),
    [
        ("Question: Who?; Answer: Shirley Temple", "Shirley Temple"),
        ("Question: Who?; Answer:Shirley Temple ", "Shirley Temple"),
        ("Question: Who?; Answer: A Answer: B", "A"),  # Lumos: split("Answer: ")[1]
        ("just text", "just text"),
        (None, None),
    ],
)
def test_answer_text(result: str | None, answer: str | None) -> None:
    assert answer_text(result) == answer


@pytest.mark.parametrize(
    ("pred", "lenient", "strict"),
    [
        ("Yes.", True, True),
        ("yes, because ...", True, True),
        ("No.", False, False),
        ("No, yes is wrong", True, False),  # lenient sees "yes"; strict takes the first word
        ("His eyes are blue", True, None),  # Lumos' substring rule fires on 'eyes'
        ("True", False, True),
        ("false", False, False),
        ("I don't know", False, None),
        ("", False, None),
        (None, False, None),
    ],
)
def test_yes_no_extraction(pred: str | None, lenient: bool, strict: bool | None) -> None:
    assert yes_no_lenient(pred) is lenient
    assert yes_no_strict(pred) is strict


def test_gold_bool() -> None:
    assert gold_bool(True) is True and gold_bool(False) is False
    assert gold_bool("True") is True and gold_bool("false") is False
