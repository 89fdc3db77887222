"""Gold WebShop trajectories for the ``oracle`` agent: search the goal product by name, open it,
click the goal's option values, buy. (Lumos' WebShop data has no gold trajectories; this one only
checks that the site, tools and reward agree: it should score 1.0 on every goal.)"""

from __future__ import annotations

from typing import Any

from envs.webshop.reward import goal_option_values, token_set_ratio


def _option_clicks(goal: dict[str, Any]) -> list[str]:
    values = [v for vals in (goal.get("product_options") or {}).values() for v in vals]
    clicks = []
    for wanted in goal_option_values(goal.get("goal_options") or []):
        w = wanted.strip().lower()
        if w in values:
            clicks.append(w)
            continue
        scored = sorted(((token_set_ratio(v, w), v) for v in values), reverse=True)
        if scored and scored[0][0] > 85:
            clicks.append(scored[0][1])
    return list(dict.fromkeys(clicks))


def gold_trajectory(goal: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(subgoals, grounded actions), one action string per subgoal."""
    name = " ".join(str(goal["name"]).replace(";", " ").replace("(", " ").replace(")", " ").split())
    buy = [f"R2 = Click({goal['asin'].lower()})"]
    buy += [f"R{3 + i} = Click({v})" for i, v in enumerate(_option_clicks(goal))]
    buy.append(f"R{2 + len(buy)} = Click(buy now)")
    plan = [
        "Search two relevant items and the product names according to the instruction.",
        "Buy this item by selecting its relevant features.",
    ]
    return plan, [f"R1 = Search({name})", "; ".join(buy)]
