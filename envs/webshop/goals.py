"""WebShop goals (``web_agent_site/engine/goal.py: get_human_goals / get_synthetic_goals``).

Human goals: one per human instruction with at least one attribute, in product-file order.
Synthetic goals (what Lumos' script actually evaluates, SPEC g.2): one per option combination of
every product with a synthetic instruction. Both get a price cap sampled from the first 4 multiples of
10 above the product price, then the list is shuffled with ``random.seed(233)``.

Randomness: upstream samples prices and caps from the unseeded global ``random`` (Lumos' script has
``random.seed(4)`` at import). Here one ``random.Random(price_seed)`` (default 4) draws the product
prices, then the caps, in the same order as upstream, so goal lists are reproducible.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from typing import Any

PRICE_RANGE = [10.0 * i for i in range(1, 100)]
SHUFFLE_SEED = 233


def _price_cap(price: float, rng: random.Random) -> tuple[float, str]:
    candidates = [p for p in PRICE_RANGE if p > price][:4]
    if len(candidates) >= 2:
        _, upper = sorted(rng.sample(candidates, 2))
        return upper, f", and price lower than {upper:.2f} dollars"
    return 1000000.0, ""


def human_goals(products: list[dict[str, Any]], prices: dict[str, float], rng: random.Random) -> list[dict[str, Any]]:
    goals = []
    for item in products:
        asin = item["asin"]
        for ins in item.get("instructions") or []:
            attributes = ins.get("instruction_attributes") or []
            if not attributes:
                continue
            upper, price_text = _price_cap(prices[asin], rng)
            goals.append(
                {
                    "asin": asin,
                    "category": item.get("category"),
                    "query": item["query"],
                    "name": item["name"],
                    "product_category": item.get("product_category", ""),
                    "instruction_text": ins["instruction"].strip(".") + price_text,
                    "attributes": attributes,
                    "price_upper": upper,
                    "goal_options": ins.get("instruction_options") or [],
                    "weight": 1,
                }
            )
    return goals


def synthetic_goals(products: list[dict[str, Any]], prices: dict[str, float], rng: random.Random) -> list[dict[str, Any]]:
    goals = []
    counts: dict[str, int] = defaultdict(int)
    for p in products:
        if not p.get("instruction_text"):
            continue
        asin = p["asin"]
        attributes = p.get("instruction_attributes") or []
        upper, price_text = _price_cap(prices[asin], rng)
        names = sorted(p["options"])
        for combo in itertools.product(*(p["options"][n] for n in names)):
            goal_options = dict(zip(names, combo))
            option_text = ", and ".join(f"{k}: {v}" for k, v in goal_options.items())
            option_text = " with " + option_text if option_text else ""
            goals.append(
                {
                    "asin": asin,
                    "category": p.get("category"),
                    "query": p["query"],
                    "name": p["Title"],
                    "product_category": p.get("product_category", ""),
                    "instruction_text": f"{p['instruction_text']}{option_text}{price_text}",
                    "attributes": attributes,
                    "price_upper": upper,
                    "goal_options": goal_options,
                }
            )
            for att in attributes:
                counts[att] += 1
    for g in goals:
        g["weight"] = sum(1.0 / counts[a] for a in g["attributes"]) / len(g["attributes"]) if g["attributes"] else 0.0
    return goals


def build_goals(
    products: list[dict[str, Any]], prices: dict[str, float], rng: random.Random, human: bool = True
) -> list[dict[str, Any]]:
    """All goals of one kind, shuffled exactly as upstream (``random.seed(233); random.shuffle``)."""
    goals = human_goals(products, prices, rng) if human else synthetic_goals(products, prices, rng)
    random.Random(SHUFFLE_SEED).shuffle(goals)  # same permutation as random.seed(233); random.shuffle(goals)
    return goals
