"""Fakes and tiny hand-written fixtures for the QA tests (no model, no benchmark data)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from envs.qa.knowledge import Page
from envs.qa.reader import Reader
from envs.qa.tools import QAToolbox

HOTPOT = [
    {"dev_index": 0, "question": "Were Scott Derrickson and Ed Wood of the same nationality?", "answer": "yes",
     "type": "comparison", "supporting_facts": [["Scott Derrickson", 0], ["Ed Wood", 0]],
     "context": [
         ["Ed Wood (film)", ["Ed Wood is a 1994 American film directed by Tim Burton.", " It stars Johnny Depp."]],
         ["Scott Derrickson", ["Scott Derrickson (born July 16, 1966) is an American director.",
                               " He lives in Los Angeles."]],
         ["Ed Wood", ["Edward Davis Wood Jr. was an American filmmaker."]],
         ["Woodson, Arkansas", ["Woodson is a census-designated place named after Ed Wood's cousin."]],
     ]},
    {"dev_index": 1, "question": "Which city is the capital of France?", "answer": "Paris", "type": "bridge",
     "supporting_facts": [["France", 0]],
     "context": [["France", ["France is a country whose capital is Paris."]],
                 ["Ed Wood", ["Edward Davis Wood Jr. was an American filmmaker."]]]},
]
HOTPOT_SIMPLIFIED = [
    {"question": r["question"], "answer": r["answer"], "type": r["type"]} for r in HOTPOT
] + [{"question": "A question without context?", "answer": "no", "type": "comparison"}]
STRATEGY_TRAIN = [
    {"qid": "q1", "term": "Genghis Khan", "description": "founder",
     "question": "Are more people related to Genghis Khan than Julius Caesar?",
     "answer": True, "facts": ["Julius Caesar had three children.", "Genghis Khan had sixteen children."],
     "decomposition": ["How many kids did Julius Caesar have?", "How many kids did Genghis Khan have?",
                       "Is #2 greater than #1?"],
     "evidence": [[[["Julius Caesar-75"]], [["Genghis Khan-17"]], ["operation"]]]},
]
STRATEGY_DEV = [
    {"qid": "d1", "term": "Pear", "description": "fruit", "question": "Would a pear sink in water?", "answer": False,
     "facts": ["The density of a raw pear is about 0.59 g/cm^3.", "The density of water is about 1 g/cm^3."],
     "decomposition": ["What is the density of a pear?", "What is the density of water?", "Is #1 greater than #2?"],
     "evidence": [[[["Pear-3"]], [["Water-1"]], ["operation"]]]},
]
LUMOS_TEST = [
    {"question": "Would a pear sink in water?", "answer": False},
    {"question": "Are more people related to Genghis Khan than Julius Caesar?", "answer": True},
    {"question": "Is this question unknown to the annotated files?", "answer": True},
]


def write_qa_data(root: Path) -> Path:
    """A data dir in the layout of shared/benchmarks, with the tiny records above."""
    for sub in ("hotpotqa", "strategyqa", "lumos/eval/strategyqa"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with open(root / "hotpotqa" / "hotpot_dev_distractor_subset.jsonl", "w") as f:
        f.writelines(json.dumps(rec) + "\n" for rec in HOTPOT)
    (root / "hotpotqa" / "hotpot_dev_v1_simplified.json").write_text(json.dumps(HOTPOT_SIMPLIFIED))
    (root / "strategyqa" / "train.json").write_text(json.dumps(STRATEGY_TRAIN))
    (root / "strategyqa" / "dev.json").write_text(json.dumps(STRATEGY_DEV))
    (root / "lumos" / "eval" / "strategyqa" / "test.json").write_text(json.dumps(LUMOS_TEST))
    return root


class FakeBackend:
    """Records every ``generate`` call; answers with ``fn(prompt)``."""

    def __init__(self, fn: Callable[[str], str] | None = None, chat: bool = True) -> None:
        self.fn = fn or (lambda prompt: " American")
        self.calls: list[list[str]] = []
        self.params: list[object] = []
        self.chat = chat
        self.closed = False

    def generate(self, prompts: list[str], params: object) -> list[list[str]]:
        self.calls.append(list(prompts))
        self.params.append(params)
        return [[self.fn(p)] for p in prompts]

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        if not self.chat:
            raise RuntimeError("no chat template")
        return "<chat>" + messages[-1]["content"] + "</chat>"

    def close(self) -> None:
        self.closed = True


class FakeKnowledge:
    """Pages whose title words all occur in the query."""

    def __init__(self, pages: list[Page]) -> None:
        self.pages = pages
        self.queries: list[str] = []

    def search(self, query: str, k: int = 5) -> list[Page]:
        self.queries.append(query)
        q = query.lower()
        return [p for p in self.pages if all(w in q for w in p.title.lower().split())][:k]

    def describe(self) -> str:
        return "fake"


class FakeReranker:
    """Ranks passages by word overlap with the query (stable)."""

    def rank(self, query: str, passages: list[str], k: int = 5) -> list[int]:
        words = set(re.findall(r"\w+", query.lower()))
        score = [len(words & set(re.findall(r"\w+", p.lower()))) for p in passages]
        return sorted(range(len(passages)), key=lambda i: (-score[i], i))[:k]


PAGES = [
    Page("Ed Wood", ("Edward Davis Wood Jr. was an American filmmaker.", "He directed Plan 9.")),
    Page("Scott Derrickson", ("Scott Derrickson is an American director.", "He lives in Los Angeles.")),
    Page("Genghis Khan", ("Genghis Khan had sixteen children.", "Julius Caesar had three children.")),
]


def make_toolbox(backend: FakeBackend | None = None, calculator: object = None, code: object = None,
                 pages: list[Page] | None = None, **reader_kw: object) -> QAToolbox:
    backend = backend or FakeBackend()
    return QAToolbox(
        knowledge=FakeKnowledge(pages or PAGES),
        reranker=FakeReranker(),
        reader=Reader(lambda: backend, **reader_kw),  # type: ignore[arg-type]
        calculator=calculator,
        code=code,
    )
