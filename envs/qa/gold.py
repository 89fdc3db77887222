"""Gold plans and grounded actions for the oracle agent and for training data.

Each gold trajectory is a list of subgoals (without the ``Subgoal k:`` prefix) and, per subgoal,
one Lumos action string. Gold answers never appear in an action.

- HotpotQA: one subgoal per supporting-fact title (``KnowledgeQuery(title)`` ->
  ``ParagraphRetrieve(.., Query: question)`` -> ``QA``), then a subgoal answering the question
  over both retrieved evidences.
- StrategyQA: one subgoal per ``decomposition`` step. A step with Wikipedia evidence becomes
  ``KnowledgeQuery(entity)`` -> ``ParagraphRetrieve(.., Query: step)`` -> ``QA(.., Question: step)``;
  an "operation" step becomes ``QA([refs], Question: step)``. ``#k`` references become the QA
  variable of step k (which reads as its answer when substituted). The entity queried is the most
  cited evidence title when it retrieves one of the item's facts, else the item's ``term`` (the
  StrategyQA corpus groups facts under terms), so every retrieval step can reach its facts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

_REF = re.compile(r"#(\d+)")


def hotpotqa_gold(question: str, supporting_facts: list[list[Any]]) -> tuple[list[str], list[str]]:
    """Two-hop (or n-hop) gold plan from HotpotQA ``supporting_facts`` titles, in first-cited order."""
    titles = list(dict.fromkeys(str(t) for t, _ in supporting_facts))
    q = " ".join(question.split())
    plan, actions, evidence = [], [], []
    var = 0
    for title in titles:
        kq, pr, qa = var + 1, var + 2, var + 3
        var += 3
        plan.append(f"Obtain the information about {title} that is relevant to the question.")
        actions.append(
            f"R{kq} = KnowledgeQuery({title}); R{pr} = ParagraphRetrieve(R{kq}, Query: {q}); "
            f"R{qa} = QA([R{pr}], Question: {q})"
        )
        evidence.append(f"R{pr}")
    if len(titles) > 1:
        plan.append("Answer the question based on the obtained information.")
        actions.append(f"R{var + 1} = QA([{', '.join(evidence)}], Question: {q})")
    return plan, actions


def evidence_titles(record: dict[str, Any], step: int) -> list[str]:
    """Wikipedia titles cited for decomposition step ``step`` by all annotators, most cited first
    (ties in citation order). ``"Albany, Georgia-1"`` -> ``"Albany, Georgia"``."""
    counts: Counter[str] = Counter()
    for annotator in record.get("evidence") or []:
        if step < len(annotator):
            for item in annotator[step]:
                if isinstance(item, list):
                    for pid in item:
                        counts[re.sub(r"-\d+$", "", str(pid))] += 1
    return [t for t, _ in counts.most_common()]


def strategyqa_gold(
    record: dict[str, Any], query_ok: Callable[[str, dict[str, Any]], bool] | None = None
) -> tuple[list[str], list[str]]:
    """Gold plan from a StrategyQA ``decomposition`` (+ ``evidence`` for which steps retrieve).

    ``query_ok(query, record)`` says whether ``KnowledgeQuery(query)`` reaches the record's facts;
    without it the item's ``term`` is always queried.
    """
    steps = [" ".join(s.split()) for s in record.get("decomposition") or []]
    term = record.get("term") or ""
    plan, actions = [], []
    qa_var: dict[int, str] = {}
    var = 0
    for k, step in enumerate(steps, start=1):

        def to_var(m: re.Match[str]) -> str:
            return qa_var.get(int(m.group(1)), m.group(0))

        text = _REF.sub(to_var, step)
        refs = [qa_var[int(j)] for j in _REF.findall(step) if int(j) in qa_var]
        titles = evidence_titles(record, k - 1)
        plan.append(_REF.sub(lambda m: f"the answer of Subgoal {m.group(1)}", step))
        if titles:
            query = next((t for t in titles[:1] if query_ok and query_ok(t, record)), term or titles[0])
            kq, pr, qa = var + 1, var + 2, var + 3
            var += 3
            actions.append(
                f"R{kq} = KnowledgeQuery({query}); R{pr} = ParagraphRetrieve(R{kq}, Query: {text}); "
                f"R{qa} = QA([R{pr}], Question: {text})"
            )
        else:
            var += 1
            qa = var
            context = ", ".join(dict.fromkeys(refs)) or ", ".join(qa_var.values())
            actions.append(f"R{qa} = QA([{context}], Question: {text})")
        qa_var[k] = f"R{qa}"
    return plan, actions


def facts_reached(search: Callable[[str, int], list[Any]], k: int = 5) -> Callable[[str, dict[str, Any]], bool]:
    """A ``query_ok`` for :func:`strategyqa_gold` over a knowledge source's ``search``."""

    def ok(query: str, record: dict[str, Any]) -> bool:
        facts = {" ".join(f.split()) for f in record.get("facts") or []}
        return any(facts & set(page.sentences) for page in search(query, k))

    return ok
