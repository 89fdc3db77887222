"""Lumos' complex-QA action space with offline executors (SPEC a.4, b.1, b.2).

``KnowledgeQuery(query)`` -> list of ``"title *** sentence"`` (BM25 pages, :mod:`envs.qa.knowledge`);
``ParagraphRetrieve(context, Query: q)`` -> top 5 as ``"Evidence i: ...\\n"`` (MiniLM re-ranking);
``QA([R2, ...], Question: q)`` -> ``"Question: q; Answer: X"`` (local reader, :mod:`envs.qa.reader`);
``Calculator(formula)`` -> sympy first (the maths Calculator), Lumos' LLM calculator as fallback;
``Code(pseudo_code)`` -> the shared maths ``Code`` tool (LLM-written function, sandboxed run).

The tool functions take already resolved Python values; :mod:`envs.qa.executor` parses actions
and resolves variables.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from envs.actions import ToolError
from envs.qa.knowledge import KnowledgeSource, page_entries, split_entry
from envs.qa.metrics import answer_text
from envs.qa.reader import QARequest, Reader
from harness.records import ToolSpec

log = logging.getLogger(__name__)

TOOL_SPECS: list[ToolSpec] = [
    ToolSpec(name="KnowledgeQuery", signature="KnowledgeQuery(query)",
             description="Capture the relevant webpages according to the query"),
    ToolSpec(name="ParagraphRetrieve", signature="ParagraphRetrieve(context, query)",
             description="Given a query, retrieve the most relevant paragraphs from the given context"),
    ToolSpec(name="QA", signature="QA(context, query)", description="Given context, answer the given query"),
    ToolSpec(name="Calculator", signature="Calculator(formula)", description="Calculate the input formula"),
    ToolSpec(name="Code", signature="Code(pseudo_code)",
             description="Generate a Python function that corresponds to the pseudo code"),
]
"""The action list in Lumos' order (SPEC a.4 complex-QA row)."""

PROMPT_DESCRIPTIONS = (
    "Calculator(formula): Calculate the input formula; KnowledgeQuery(query): Capture the relevant webpages "
    "according to the query; ParagraphRetrieve(context, query): Given a query, retrieve the most relevant "
    "paragraphs from the given context; QA(context, query): Given context, answer the given query; "
    "Calculator(formula): Calculate the input formula; Code(pseudo_code): Generate a Python function that "
    "corresponds to the pseudo code."
)
"""The exact ``{DESCRIPTIONS}`` of Lumos' complex-QA grounding header (Calculator listed twice, first).
``agents.prompts`` renders it from :data:`TOOL_SPECS` with the ``qa`` style; kept here as the
reference string for tests."""

_CALC_OPS = ["*", "/", "+", "-", "^", "=", "<", ">"]


def is_qa_result(value: Any) -> bool:
    return isinstance(value, str) and "Question: " in value


def render_value(value: Any) -> str:
    """How a stored value reads inside another action's text argument: a QA result contributes
    its answer (what Lumos' grounder prompt calls "the execution result"), a list its items."""
    if isinstance(value, list):
        return "; ".join(split_entry(str(v))[1] for v in value)
    if is_qa_result(value):
        return answer_text(value) or ""
    return str(value)


def context_text(value: Any) -> str:
    """How a stored value reads as QA context: evidence and QA results verbatim, lists one item a
    line (Lumos' QA context is the values joined by newlines)."""
    if isinstance(value, list):
        return "\n".join(split_entry(str(v))[1] if "***" in str(v) else str(v) for v in value)
    return str(value)


def _bool_to_yes_no(text: str) -> str:
    return {"True": "yes", "False": "no", "true": "yes", "false": "no"}.get(text.strip(), text)


@dataclass
class QAToolbox:
    """The tools shared by every task of one environment (knowledge index, models)."""

    knowledge: KnowledgeSource
    reranker: Any
    """Object with ``rank(query, passages, k) -> list[int]`` (:class:`knowledge.DenseReranker`)."""
    reader: Reader
    calculator: Any = None
    """Callable ``formula -> str`` raising on failure (the sympy maths Calculator)."""
    code: Any = None
    """Callable ``pseudo_code -> str`` raising on failure (the maths Code tool)."""
    pages_per_query: int = 5
    sentences_per_page: int = 40
    evidence_k: int = 5
    max_context_chars: int = 6000
    stats: dict[str, int] = field(default_factory=lambda: {"knowledge_query": 0, "paragraph_retrieve": 0})

    # -- retrieval --------------------------------------------------------------------------------
    def knowledge_query(self, query: str) -> list[str]:
        query = query.strip()
        if not query:
            raise ToolError("KnowledgeQuery needs a non-empty query")
        self.stats["knowledge_query"] += 1
        pages = self.knowledge.search(query, k=self.pages_per_query)
        if not pages:
            raise ToolError(f"KnowledgeQuery found no page for '{query}'")
        return page_entries(pages, self.sentences_per_page)

    def paragraph_retrieve(self, context: Any, query: str) -> str:
        entries = context if isinstance(context, list) else [s for s in str(context).split("\n") if s.strip()]
        entries = [_strip_evidence(str(e)) for e in entries]
        entries = [e for e in entries if e[1]]
        if not entries:
            raise ToolError("ParagraphRetrieve got an empty context")
        if not query.strip():
            raise ToolError("ParagraphRetrieve needs a query (', Query: ...')")
        self.stats["paragraph_retrieve"] += 1
        passages = [f"{t}: {x}" if t else x for t, x in entries]
        best = self.reranker.rank(query.strip(), passages, k=self.evidence_k)
        return "".join(f"Evidence {i + 1}: {entries[j][1]}\n" for i, j in enumerate(best))

    # -- reading ----------------------------------------------------------------------------------
    def qa_batch(self, requests: list[QARequest]) -> list[str]:
        clipped = [QARequest(r.context[: self.max_context_chars], r.question) for r in requests]
        return self.reader.answer(clipped)

    def calculate(self, formula: str) -> str | None:
        """sympy on the formula (values already substituted): ``"Question: f; Answer: v"`` with
        booleans as yes/no, or ``None`` when the formula is not arithmetic (then the caller asks
        :func:`llm_calculator_request`)."""
        if self.calculator is None:
            return None
        try:
            value = str(self.calculator(formula)).strip()
        except Exception as exc:  # noqa: BLE001 - any sympy failure sends us to the fallback
            log.debug("sympy Calculator failed on %r (%s); LLM fallback", formula, exc)
            return None
        if not value or value.lower().startswith("error"):
            return None
        return f"Question: {formula}; Answer: {_bool_to_yes_no(value)}"

    def run_code(self, pseudo_code: str) -> str:
        if self.code is None:
            raise ToolError("Code is not available in this environment (no code tool configured)")
        return str(self.code(pseudo_code))


def llm_calculator_request(context_formula: str, question: str) -> QARequest:
    """Lumos' complex-QA ``Calculator``: the arguments (variables as their values + ".") with the
    characters ``* / + - ^ = < >`` deleted become the context of a QA call."""
    ctx = context_formula
    for op in _CALC_OPS:
        ctx = ctx.replace(op, "")
    return QARequest(" ".join(ctx.split()), question)


def _strip_evidence(entry: str) -> tuple[str, str]:
    """(title, text) of a KnowledgeQuery entry or of an ``Evidence i: text`` line."""
    title, text = split_entry(entry)
    text = re.sub(r"^Evidence \d+:\s*", "", text)
    return title, text.strip()
