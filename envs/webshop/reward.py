"""The WebShop reward, as ``princeton-nlp/WebShop: web_agent_site/engine/goal.py: get_reward`` (SPEC c.2).

reward = (n_attr + n_opt + r_price) / (|goal attributes| + |goal options| + 1) x r_type

Fuzzy matching is ``thefuzz.fuzz.token_set_ratio`` of the pinned thefuzz 0.19.0 (:mod:`envs.webshop.fuzz`).
The title score needs a POS tagger (nouns and proper nouns); see :mod:`envs.webshop.tagger`.

Goal options as the official code passes them: ``goal['goal_options'].items()`` when they are a dict
(synthetic goals), so each goal option is a ``(name, value)`` tuple. ``normalize_color`` then tests
``colour in tuple`` (element equality, so only a value that *is* a colour word normalises) and the
fuzzy match reads ``str(tuple)``, while the purchased values are colour-normalised strings. E.g. goal
``{"style": "bluetooth 5.0"}`` bought as ``"bluetooth 5.0"``: the purchased side normalises to
``"blue"`` (``"blue" in "bluetooth 5.0"``), the goal side stays ``"('style', 'bluetooth 5.0')"``, and
the option does not match. Human goals (lists of values) are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from envs.webshop.fuzz import token_set_ratio

COLOR_SET = [
    "alabaster", "apricot", "aqua", "ash", "asphalt", "azure", "banana", "beige", "black", "blue", "blush",
    "bordeaux", "bronze", "brown", "burgundy", "camel", "camo", "caramel", "champagne", "charcoal", "cheetah",
    "chestnut", "chocolate", "christmas", "coffee", "cognac", "copper", "coral", "cranberry", "cream", "crystal",
    "dark", "denim", "eggplant", "elephant", "espresso", "fuchsia", "gold", "granite", "grape", "graphite",
    "grass", "gray", "green", "grey", "heather", "indigo", "ivory", "ivy", "khaki", "lavender", "lemon",
    "leopard", "light", "lilac", "lime", "magenta", "maroon", "mauve", "merlot", "midnight", "mint", "mocha",
    "multicolor", "mushroom", "mustard", "natural", "navy", "nude", "olive", "orange", "peach", "pewter", "pink",
    "plum", "purple", "rainbow", "red", "rose", "royal", "rust", "sand", "sapphire", "seashell", "silver",
    "skull", "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe", "teal", "tiger", "turquoise",
    "violet", "walnut", "wheat", "white", "wine", "yellow",
]  # fmt: skip

FUZZ_THRESHOLD = 85
NounFn = Callable[[str], list[str]]
"""Lower-cased tokens of a text whose POS is NOUN or PROPN."""


def normalize_color(value: Any) -> Any:
    """The first colour word of :data:`COLOR_SET` contained in ``value``, else ``value`` unchanged
    (``web_agent_site/engine/normalize.py``; on a tuple ``in`` is element equality)."""
    for color in COLOR_SET:
        if color in value:
            return color
    return value


def type_reward(purchased: dict[str, Any], goal: dict[str, Any], nouns: NounFn) -> dict[str, Any]:
    """``r_type`` from query match, category overlap (>= 2 parts) and the noun overlap of the names."""
    query_match = purchased.get("query") == goal.get("query")
    p_cat = {x.strip() for x in str(purchased.get("product_category", "")).split("›")}
    g_cat = {x.strip() for x in str(goal.get("product_category", "")).split("›")}
    category_match = len(p_cat & g_cat) >= 2
    p_nouns, g_nouns = nouns(purchased.get("name", "")), nouns(goal.get("name", ""))
    title_score = 0.2 if not g_nouns else len(set(p_nouns) & set(g_nouns)) / len(g_nouns)
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {"r_type": r_type, "query_match": query_match, "category_match": category_match, "title_score": title_score}


def attribute_reward(purchased: dict[str, Any], goal: dict[str, Any]) -> tuple[float, int]:
    """Goal attributes found among the product's attributes (fuzzy) or in its title/bullets/description."""
    p_attrs = purchased.get("Attributes") or []
    title = str(purchased.get("Title", "")).lower()
    bullets = " ".join(purchased.get("BulletPoints") or []).lower()
    desc = str(purchased.get("Description", "")).lower()
    n = 0
    for g_attr in goal["attributes"]:
        if any(token_set_ratio(p_attr, g_attr) > FUZZ_THRESHOLD for p_attr in p_attrs):
            n += 1
        elif g_attr in title or g_attr in bullets or g_attr in desc:
            n += 1
    return (n / len(goal["attributes"]) if goal["attributes"] else 0.0), n


def goal_option_values(goal_options: dict[str, str] | Iterable[str]) -> list[str]:
    """The wanted option values (for agents choosing options, e.g. the oracle): human goals carry a
    list of values, synthetic goals a name -> value dict. The reward uses :func:`goal_option_items`."""
    if isinstance(goal_options, dict):
        return [str(v) for v in goal_options.values()]
    return [str(v) for v in goal_options]


def goal_option_items(goal_options: dict[str, str] | Iterable[Any]) -> list[Any]:
    """The goal side of ``get_option_reward`` as the official ``get_reward`` builds it:
    ``goal_options.items()`` for a dict (``(name, value)`` tuples), else the list itself."""
    if isinstance(goal_options, dict):
        return list(goal_options.items())
    return list(goal_options)


def option_reward(goal_options: list[Any], selected: dict[str, str]) -> tuple[float | None, int]:
    """Goal options matched (fuzzy > 85, after colour normalisation) by some selected option
    (``get_option_reward``; ``goal_options`` from :func:`goal_option_items`)."""
    p_opts = [normalize_color(str(v)) for v in selected.values()]
    g_opts = [normalize_color(o) for o in goal_options]
    n = sum(1 for g in g_opts if any(token_set_ratio(p, g) > FUZZ_THRESHOLD for p in p_opts))
    return (n / len(g_opts) if g_opts else None), n


def get_reward(
    purchased: dict[str, Any],
    goal: dict[str, Any],
    price: float,
    options: dict[str, str],
    nouns: NounFn,
) -> tuple[float, dict[str, Any]]:
    """Total reward and its parts (the ``verbose=True`` info of the original)."""
    type_info = type_reward(purchased, goal, nouns)
    r_price = price <= goal["price_upper"]
    r_att, n_attr = attribute_reward(purchased, goal)
    g_opts = goal_option_items(goal["goal_options"])
    r_option, n_opt = option_reward(g_opts, options)
    denom = len(goal["attributes"]) + len(g_opts) + 1
    total = (n_attr + n_opt + int(r_price)) / denom * type_info["r_type"]
    info: dict[str, Any] = {
        **type_info,
        "r_att": r_att,
        "n_attr": n_attr,
        "w_att": len(goal["attributes"]) / denom,
        "r_price": bool(r_price),
        "w_price": 1 / denom,
        "n_opt": n_opt,
    }
    if r_option is not None:
        info["r_option"] = r_option
        info["w_option"] = len(g_opts) / denom
    return total, info
