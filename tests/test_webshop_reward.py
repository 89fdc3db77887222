"""Golden tests for the WebShop reward terms (SPEC c.2) with a deterministic noun function, plus the
real spaCy tagger when installed."""

from __future__ import annotations

import pytest

from envs.webshop.reward import (
    attribute_reward,
    get_reward,
    normalize_color,
    option_reward,
    token_set_ratio,
    type_reward,
)

NOUNS = {"sofa", "couch", "frame", "bottle", "sprayer", "salon", "shirt", "mug", "cup"}


def nouns(text: str) -> list[str]:
    """Stand-in tagger: tokens from a fixed noun list (keeps the arithmetic below exact)."""
    return [t for t in text.lower().replace(",", " ").split() if t in NOUNS]


def product(**kw):
    base = {
        "name": "modern sofa couch with frame",
        "query": "sofas and couches",
        "product_category": "Home & Kitchen › Furniture › Living Room Furniture › Sofas & Couches",
        "Title": "Modern Sofa Couch with Frame",
        "BulletPoints": ["Solid wood frame"],
        "Description": "A comfortable couch.",
        "Attributes": ["wood frame", "living room"],
    }
    base.update(kw)
    return base


def goal(**kw):
    base = {
        "name": "modern sofa couch with frame",
        "query": "sofas and couches",
        "product_category": "Home & Kitchen › Furniture › Living Room Furniture › Sofas & Couches",
        "attributes": ["wood frame", "living room"],
        "goal_options": ["grey", "large"],
        "price_upper": 100.0,
    }
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "value, expected",
    [("", ""), ("black forest", "black"), ("violet lavender", "lavender"), ("steelivy fuchsia", "fuchsia"),
     ("123alabaster", "alabaster"), ("webshop", "webshop"), ("navy blue", "blue")],
)  # fmt: skip
def test_normalize_color_first_listed_colour_wins(value, expected):
    assert normalize_color(value) == expected


def test_token_set_ratio_is_thefuzz_full_process():
    assert token_set_ratio("Wood-Frame", "wood frame") == 100  # case and punctuation ignored
    assert token_set_ratio("wood frame", "frame") == 100  # token set: subset scores 100
    assert token_set_ratio("", "x") == 0
    assert token_set_ratio("living room", "dining room") < 85


def test_type_reward_rules_in_order():
    g = goal()
    assert type_reward(product(), g, nouns)["r_type"] == 1.0
    # shares 1 of 3 goal nouns (title 0.33 > 0.2): still 1.0 without query/category match
    p = product(name="frame", query="other", product_category="A › B")
    info = type_reward(p, g, nouns)
    assert info["title_score"] == pytest.approx(1 / 3) and info["r_type"] == 1.0
    # no shared noun: title 0 -> r_type 0 even with a query match
    assert type_reward(product(name="lamp"), g, nouns)["r_type"] == 0.0
    # title 0.2 exactly (1 of 5 nouns), no query/category match -> 0.5
    g5 = goal(name="sofa couch frame bottle salon")
    p = product(name="sofa", query="other", product_category="X › Y")
    info = type_reward(p, g5, nouns)
    assert info["title_score"] == pytest.approx(0.2) and info["r_type"] == 0.5
    # title < 0.1 (1 of 11 nouns) -> 0.1, even when the query matches
    g11 = goal(name=" ".join(["sofa", "couch", "frame", "bottle", "sprayer", "salon", "shirt", "mug", "cup", "mug", "cup"]))
    info = type_reward(product(name="sofa"), g11, nouns)
    assert info["title_score"] == pytest.approx(1 / 11) and info["r_type"] == 0.1
    # goal name without nouns: title 0.2; category match keeps 1.0, no match at all gives 0.5
    assert type_reward(product(), goal(name="the best"), nouns)["r_type"] == 1.0
    assert type_reward(product(query="q", product_category="A › B"), goal(name="the best"), nouns)["r_type"] == 0.5


def test_category_match_needs_two_shared_parts():
    g = goal()
    one = product(query="x", name="lamp", product_category="Home & Kitchen › Lighting")
    two = product(query="x", name="lamp", product_category="Home & Kitchen › Furniture › Beds")
    assert type_reward(one, g, nouns)["category_match"] is False
    assert type_reward(two, g, nouns)["category_match"] is True


def test_attribute_reward_fuzzy_then_text():
    g = goal(attributes=["wood frame", "living room", "easy assemble", "comfortable couch"])
    r, n = attribute_reward(product(), g)
    # wood frame, living room: attribute list; comfortable couch: description substring; easy assemble: none
    assert n == 3 and r == pytest.approx(0.75)


def test_option_reward_fuzzy_with_colour_normalisation():
    g_opts = ["grey", "x-large", "pack of 12"]
    assert option_reward(g_opts, {"color": "heather grey", "size": "x-large", "n": "pack of 12"}) == (1.0, 3)
    r, n = option_reward(g_opts, {"color": "blue", "size": "x-large"})
    assert n == 1 and r == pytest.approx(1 / 3)
    assert option_reward([], {"color": "blue"}) == (None, 0)
    # synthetic goals: dict values
    from envs.webshop.reward import goal_option_values

    assert goal_option_values({"color": "grey", "size": "large"}) == ["grey", "large"]


def test_total_reward_formula_and_price():
    g = goal(attributes=["wood frame", "easy assemble"], goal_options=["grey", "large"])
    # 1 of 2 attributes, 1 of 2 options, price ok, r_type 1: (1 + 1 + 1) / 5
    total, info = get_reward(product(), g, price=50.0, options={"color": "grey", "size": "small"}, nouns=nouns)
    assert total == pytest.approx(0.6)
    assert info["n_attr"] == 1 and info["n_opt"] == 1 and info["r_price"] is True
    # over the price cap: (1 + 1 + 0) / 5
    total, _ = get_reward(product(), g, price=150.0, options={"color": "grey", "size": "small"}, nouns=nouns)
    assert total == pytest.approx(0.4)
    # r_type 0.5 halves it: (1 + 1 + 1) / 5 * 0.5
    p = product(name="frame bottle", query="x", product_category="A › B")
    g2 = goal(name="sofa couch frame bottle salon shirt mug cup sprayer frame", attributes=["wood frame", "easy assemble"])
    total, info = get_reward(p, g2, price=50.0, options={"color": "grey"}, nouns=nouns)
    assert info["title_score"] == pytest.approx(0.2) and info["r_type"] == 0.5
    assert total == pytest.approx(0.3)
    # everything right
    total, _ = get_reward(product(), goal(), price=99.0, options={"color": "grey", "size": "large"}, nouns=nouns)
    assert total == pytest.approx(1.0)


def test_synthetic_goal_options_count_in_denominator():
    g = goal(attributes=["wood frame"], goal_options={"color": "grey", "size": "large"})
    total, _ = get_reward(product(), g, price=1.0, options={"color": "grey"}, nouns=nouns)
    assert total == pytest.approx((1 + 1 + 1) / 4)


def test_spacy_tagger_nouns():
    from envs.webshop.tagger import get_tagger, tagger_available

    if not tagger_available():
        pytest.skip("spaCy en_core_web_sm not installed")
    tagger = get_tagger()
    got = tagger("i need a long clip-in hair extension which is natural looking")
    assert got == ["clip", "hair", "extension"]
    assert "spaCy en_core_web_sm 3.8" in tagger.describe()
