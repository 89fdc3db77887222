"""Golden cases for the GSM8K/SVAMP answer extractors and exact-match metrics."""

from __future__ import annotations

from fractions import Fraction

import pytest

from envs.math.scoring import canonical, em_numeric, em_strict, gsm8k_gold, parse_number


@pytest.mark.parametrize(
    "answer, gold",
    [
        ("Natalia sold 48/2 = <<48/2=24>>24 clips.\n#### 72", "72"),
        ("...\n#### 1,000", "1000"),
        ("...\n#### 1,234,567", "1234567"),
        ("...\n####  -3 ", "-3"),
        ("...\n#### 0.5", "0.5"),
        ("no marker 7", "no marker 7"),
    ],
)
def test_gsm8k_gold(answer, gold):
    assert gsm8k_gold(answer) == gold


@pytest.mark.parametrize(
    "text, value",
    [
        ("12", Fraction(12)),
        ("12.0", Fraction(12)),
        ("-5", Fraction(-5)),
        ("−5", Fraction(-5)),
        ("1,000", Fraction(1000)),
        ("$1,000.50", Fraction(2001, 2)),
        ("-$5", Fraction(-5)),
        (".5", Fraction(1, 2)),
        ("3/4", Fraction(3, 4)),
        ("18 dollars", Fraction(18)),
        ("5 square feet", Fraction(5)),
        ("0.49/week", Fraction(49, 100)),
        ("50%", Fraction(50)),
        ("72.", Fraction(72)),
        ("1e3", Fraction(1000)),
        (7, Fraction(7)),
        (2.5, Fraction(5, 2)),
    ],
)
def test_parse_number_accepts(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text",
    ["", None, "x = 5", "2*y", "2y", "five", "3/0", "n^2 - 4*n + 4", "1, 2", "True", float("nan"), "about 5"],
)
def test_parse_number_rejects(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    "pred, gold, numeric, strict",
    [
        ("72", "72", 1, 1),
        ("72.0", "72", 1, 1),
        ("72.00", "72", 1, 1),
        ("1000", "1,000", 1, 1),
        ("1,000", "1000", 1, 1),
        ("$18", "18", 1, 0),
        ("18 dollars", "18", 1, 0),
        ("0.75", "3/4", 1, 0),
        ("0.333333333333", "0.333333333333", 1, 1),
        ("33.3333333", "33.33333334", 0, 0),  # no tolerance (SPEC c: "equal exactly as rationals")
        ("33.33", "33.3333", 0, 0),
        ("-3", "-3", 1, 1),
        ("-3", "3", 0, 0),
        ("0", "0", 1, 1),
        ("1e-12", "0", 0, 0),
        ("", "5", 0, 0),
        (None, "5", 0, 0),
        ("x = 5", "5", 0, 0),
        ("5", 5, 1, 1),  # SVAMP gold given as a number
        ("51", "51", 1, 1),
    ],
)
def test_em_metrics(pred, gold, numeric, strict):
    assert em_numeric(pred, gold) == numeric
    assert em_strict(pred, gold) == strict


def test_canonical():
    assert canonical(" 12.50 ") == "12.5"
    assert canonical("1,200") == "1200"
    assert canonical("-0.0") == "0"
    assert canonical("$5") == "$5"
    assert canonical(None) == ""


# Issue 16.1 / SPEC c ("equal exactly as rationals; no relative tolerance, which would accept 1450001 for
# 1450000"): expected values are the definition itself, equality of the two rationals.
@pytest.mark.parametrize(
    "pred, gold, numeric",
    [
        ("1450001", "1450000", 0),
        ("1000000.5", "1000000", 0),
        ("1450000", "1,450,000", 1),
        ("1450000.0", "1450000", 1),
        ("0.3333333333333333", "1/3", 0),
        ("2.9999999999999996", "3", 0),
        ("12345678901234567890", "12345678901234567891", 0),
    ],
)
def test_em_numeric_is_exact(pred, gold, numeric):
    assert em_numeric(pred, gold) == numeric


def _all_golds(data_dir):
    import json

    from envs.math.gsm8k import GSM8K
    from envs.math.svamp import SVAMP

    golds = {t.gold for t in GSM8K(data_dir=data_dir).load("test", limit=10**6)}
    golds |= {t.gold for t in GSM8K(data_dir=data_dir).load("train", limit=10**6)}
    golds |= {t.gold for t in SVAMP(data_dir=data_dir).load("test")}
    rows = json.loads((data_dir / "svamp" / "SVAMP.json").read_text(encoding="utf-8"))
    golds |= {str(r["Answer"]) for r in rows}  # the raw (float) answers too
    return golds


def test_no_gold_accepts_its_neighbours(data_dir):
    """Every GSM8K (test + train) and SVAMP gold rejects gold +- 1, +- 0.5 and +- 0.01 and accepts itself."""
    golds = _all_golds(data_dir)
    assert len(golds) > 500
    for gold in golds:
        g = parse_number(gold)
        assert g is not None, gold
        assert em_numeric(gold, gold) == 1.0
        for step in (Fraction(1), Fraction(1, 2), Fraction(1, 100)):
            for neighbour in (g + step, g - step):
                text = str(float(neighbour)) if neighbour.denominator != 1 else str(neighbour)
                assert parse_number(text) == neighbour, (gold, text)
                assert em_numeric(text, gold) == 0.0, (gold, text)
