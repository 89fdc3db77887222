"""Golden cases for WebShop's fuzzy matching and option reward (issue 16.3, 16.4).

Every expected value was produced by the official code, not by this module:

* ``PAIRS`` / ``TUPLES``: ``thefuzz.fuzz.token_set_ratio(a, b)`` of the thefuzz 0.19.0 wheel from PyPI
  (WebShop's ``requirements.txt`` pin, without the ``speedup`` extra, i.e. its difflib path), run on
  Python 3.
* ``GOALS``: ``web_agent_site/engine/goal.py: get_option_reward(list(options.values()),
  goal['goal_options'].items())`` (princeton-nlp/WebShop, as ``get_reward`` calls it), with that thefuzz
  and ``web_agent_site/engine/normalize.py: normalize_color``, purchased options = the goal's own values.
"""

from __future__ import annotations

import pytest

from envs.webshop.fuzz import full_process, token_set_ratio
from envs.webshop.reward import get_reward, goal_option_items, option_reward

PAIRS = [
    ('women’s 8', "women's 8", 100),
    ('wi_fi', 'wi fi', 40),
    ('Wood-Frame', 'wood frame', 100),
    ('wood frame', 'frame', 100),
    ('living room', 'dining room', 82),
    ('café au lait', 'cafe au lait', 96),
    ('naïve', 'naive', 89),
    ('size: 10½', 'size 10', 100),
    ('ÉCRU beige', 'ecru beige', 95),
    ('x-large', 'X Large', 100),
    ('pack of 12', '12 pack', 100),
    ('blue', "('style', 'bluetooth 5.0')", 35),
    ('green', "('color', 'olive green')", 100),
    ('2 pack', "('size', '2 pack')", 100),
    ('high_heel', 'high heel', 44),
    ('3.4 fl oz (pack of 1)', '3.4 fl oz', 100),
    ('straße', 'strasse', 83),
    ('日本 tea', 'tea', 100),
    ('“quoted” value', 'quoted value', 100),
    ('long lasting', 'long-lasting', 100),
    ('machine washable', 'washable machine', 100),
    ('ab', 'abc', 80),
    ('the quick brown fox', 'quick fox brown the lazy', 100),
    ("men's shoe 9.5 wide", 'mens shoe 9.5 wide', 97),
    ('coffee\xa0maker', 'coffee maker', 96),
    ('12” x 18”', '12 x 18', 100),
    ('éé', 'ee', 0),
    ('_', 'x', 0),
    ('', 'x', 0),
    ('✓ check', 'check', 100),
]

TUPLES = [  # (goal option as the official code passes it, purchased value, score)
    (('style', 'bluetooth 5.0'), 'blue', 35),
    (('color', 'black'), 'black', 100),
    (('size', 'women’s 8'), 'women’s 8', 100),
    (('size', 'x-large'), 'x-large', 100),
    (('color', 'navy\xa0blue'), 'navy', 100),
]

GOALS = [  # (synthetic goal_options, official (r_option, n_option))
    ({'color': 'olive green', 'size': '2 pack', 'style': 'bluetooth 5.0'}, (0.6666666666666666, 2)),
    ({'color': 'black', 'size': 'large'}, (1.0, 2)),
    ({'color': 'navy blue', 'size': 'x-large'}, (1.0, 2)),
    ({'flavor name': 'dark chocolate', 'size': '12 ounce (pack of 2)'}, (1.0, 2)),
    ({'color': 'white | wifi_6', 'size': 'one size'}, (1.0, 2)),
]


@pytest.mark.parametrize("a, b, expected", PAIRS)
def test_token_set_ratio_equals_thefuzz_0_19_0(a, b, expected):
    assert token_set_ratio(a, b) == expected
    assert token_set_ratio(b, a) == expected


@pytest.mark.parametrize("goal_option, purchased, expected", TUPLES)
def test_tuple_goal_options_compare_as_their_str(goal_option, purchased, expected):
    assert token_set_ratio(purchased, goal_option) == expected


def test_full_process_drops_only_latin1_and_keeps_underscores():
    # thefuzz/utils.py: asciidammit deletes U+0080..U+00FF; StringProcessor maps (?ui)\W to spaces
    assert full_process("Women\u2019s_Size \u00bd") == "women s_size"
    assert full_process(("size", "2 pack")) == "size    2 pack"  # str(tuple) -> "('size', '2 pack')"
    assert token_set_ratio(None, "x") == 0


@pytest.mark.parametrize("goal_options, expected", GOALS)
def test_option_reward_equals_official_get_option_reward(goal_options, expected):
    r, n = option_reward(goal_option_items(goal_options), dict(goal_options))
    assert (r, n) == pytest.approx(expected)


def test_issue_example_total_reward():
    """Issue 16.3: two attributes matched, price ok, r_type 1 -> (2 + 2 + 1) / (2 + 3 + 1) = 0.833
    (official), not 1.0 (both sides colour-normalised)."""
    opts = {"color": "olive green", "size": "2 pack", "style": "bluetooth 5.0"}
    goal = {"attributes": ["wood frame", "easy assemble"], "goal_options": opts, "price_upper": 100.0,
            "query": "q", "product_category": "a › b", "name": "sofa"}
    product = {"query": "q", "product_category": "a › b", "name": "sofa", "Attributes": ["wood frame", "easy assemble"],
               "Title": "", "BulletPoints": [], "Description": ""}
    total, info = get_reward(product, goal, price=50.0, options=dict(opts), nouns=lambda text: ["sofa"])
    assert info["r_option"] == pytest.approx(2 / 3) and total == pytest.approx(5 / 6)
    # human goals (a list of values): the official code colour-normalises both sides ("bluetooth 5.0" ->
    # "blue" on each), so all three options match
    total, info = get_reward(product, goal | {"goal_options": list(opts.values())}, price=50.0, options=dict(opts),
                             nouns=lambda text: ["sofa"])
    assert info["r_option"] == 1.0 and total == 1.0
