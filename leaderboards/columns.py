"""The paper's Table 2 layout: which benchmark (and split) fills each column, and the paper's N.

Held-in GSM8K, Mind2Web, StrategyQA; held-out SVAMP, WebShop, HotpotQA (the grouping of Table 2
and the paper's text; its Table 1 swaps StrategyQA and HotpotQA, see SPEC f.1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    """Benchmark (environment) name as registered, e.g. ``gsm8k``."""
    title: str
    group: str
    """``held_in`` or ``held_out``."""
    default_split: str | None
    """Split used unless overridden; ``None`` = the environment's own default split."""
    paper_n: int
    """Examples the paper evaluates (Table 1)."""
    paper_split_note: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("gsm8k", "GSM8K", "held_in", "test", 500, "first 500 of the test set"),
    Column("mind2web", "Mind2Web", "held_in", None, 100, "first 100 tasks of test_domain"),
    Column("strategyqa", "StrategyQA", "held_in", "lumos", 100, "first 100 of Lumos' test file"),
    Column("svamp", "SVAMP", "held_out", None, 1000, "all 1,000 problems"),
    Column("webshop", "WebShop", "held_out", None, 500, "goal indices 0-499"),
    Column("hotpotqa", "HotpotQA", "held_out", None, 100, "first 100 of the dev set"),
)
COLUMN_KEYS: tuple[str, ...] = tuple(c.key for c in COLUMNS)
GROUPS: dict[str, str] = {"held_in": "Held-in", "held_out": "Held-out"}
AVG_KEYS: tuple[str, ...] = ("held_in_avg", "held_out_avg")

STRATEGYQA_OVERLAP_NOTE = (
    "StrategyQA split 'lumos' (first 100 of Lumos' test file, the paper's subset) consists of public "
    "StrategyQA train questions, on which Lumos-initialised models were trained (SPEC g.1); "
    "the 'dev' split is the held-out alternative."
)

PAPER_BASE_MODELS = ("Llama-2-7B", "Mistral-7B-Instruct-v0.2")
PAPER_CRITIC = "DeepSeek-R1-Distill-Qwen-32B"


def column(key: str) -> Column:
    for c in COLUMNS:
        if c.key == key:
            return c
    raise KeyError(key)


def group_columns(group: str) -> list[Column]:
    return [c for c in COLUMNS if c.group == group]


def scale(value: float) -> float:
    """Results store fractions in [0, 1]; the paper prints percentages (WebShop reward x 100 too)."""
    return 100.0 * value
