"""Hand-written few-shot exemplars in Lumos annotation form, one small set per domain.

They are written for this project (not taken from any benchmark's test data) in the style of the
Lumos annotations (``allenai/lumos: data/incontext.py``; SPEC a.2, a.6): short imperative subgoals,
one line of ``R<k> = Tool(args)`` actions per subgoal. :class:`agents.prompts.FewShot` renders
them into whichever prompt (plan/ground, iterative/one-pass) an environment needs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from typing import Any

from agents.prompts import Exemplar, FewShot
from harness.exemplars import env_exemplars

log = logging.getLogger(__name__)
_WARNED: set[str] = set()

MATH = [
    Exemplar(
        question="A baker made 24 muffins in the morning and twice as many in the afternoon. She sold 50 "
                 "muffins. How many muffins does she have left?",
        subgoals=("Calculate how many muffins the baker made in the afternoon.",
                  "Calculate how many muffins she made in total.",
                  "Calculate how many muffins are left after selling 50."),
        actions=("R1 = Calculator(24 * 2)", "R2 = Calculator(24 + R1)", "R3 = Calculator(R2 - 50)"),
        results=("48", "72", "22"),
    ),
    Exemplar(
        question="Tom buys 3 notebooks at $4 each and a pen for $2. He pays with a $20 bill. How much change "
                 "does he get?",
        subgoals=("Calculate the cost of the notebooks.",
                  "Calculate the total cost of the notebooks and the pen.",
                  "Calculate the change Tom gets from $20."),
        actions=("R1 = Calculator(3 * 4)", "R2 = Calculator(R1 + 2)", "R3 = Calculator(20 - R2)"),
        results=("12", "14", "6"),
    ),
    Exemplar(
        question="The sum of two numbers is 30 and one number is 6 more than the other. What is the larger number?",
        subgoals=("Set up an equation for the larger number x, where the smaller number is x - 6.",
                  "Solve the equation to find the larger number."),
        actions=("R1 = SetEquation(x + (x - 6) = 30)", "R2 = SolveEquation(R1)"),
        results=("x + (x - 6) = 30", "18"),
    ),
]

QA = [
    Exemplar(
        question="Where was the director of the film Jaws born?",
        subgoals=("Find out who directed the film Jaws.", "Find out where that director was born."),
        actions=(
            "R1 = KnowledgeQuery(Jaws (film)); R2 = ParagraphRetrieve(R1, Query: Who directed the film Jaws?); "
            "R3 = QA([R2], Question: Who directed the film Jaws?)",
            "R4 = KnowledgeQuery(Steven Spielberg); R5 = ParagraphRetrieve(R4, Query: Where was Steven Spielberg "
            "born?); R6 = QA([R5], Question: Where was Steven Spielberg born?)",
        ),
        results=("Steven Spielberg", "Cincinnati, Ohio"),
    ),
    Exemplar(
        question="Is the Eiffel Tower taller than the Statue of Liberty?",
        subgoals=("Find the height of the Eiffel Tower.", "Find the height of the Statue of Liberty.",
                  "Compare the two heights to answer the question."),
        actions=(
            "R1 = KnowledgeQuery(Eiffel Tower); R2 = ParagraphRetrieve(R1, Query: How tall is the Eiffel Tower?); "
            "R3 = QA([R2], Question: How tall is the Eiffel Tower?)",
            "R4 = KnowledgeQuery(Statue of Liberty); R5 = ParagraphRetrieve(R4, Query: How tall is the Statue of "
            "Liberty?); R6 = QA([R5], Question: How tall is the Statue of Liberty?)",
            "R7 = QA([R3, R6], Question: Is the Eiffel Tower taller than the Statue of Liberty?)",
        ),
        results=("330 metres", "93 metres", "Yes"),
    ),
]

WEB = [
    Exemplar(
        question="Find one-way flights from New York to Boston.",
        subgoals=("Click on the Flights tab.", "Type New York as the departure city.",
                  "Type Boston as the destination city.", "Click on the search button."),
        actions=(
            "R1 = CLICK(Env, QUERY: Click on the Flights tab)",
            "R2 = TYPE(R1, QUERY: Type New York as the departure city, TEXT: New York)",
            "R3 = TYPE(R2, QUERY: Type Boston as the destination city, TEXT: Boston)",
            "R4 = CLICK(R3, QUERY: Click on the search button)",
        ),
        results=("", "", "", ""),
    ),
]

WEBSHOP = [
    Exemplar(
        question="i need a long-sleeve cotton shirt in size large, and price lower than 40.00 dollars",
        subgoals=("Search for items matching the instruction.", "Click the first item to see its details.",
                  "Choose the size large.", "Buy the item."),
        actions=(
            "R1 = Search(long-sleeve cotton shirt size large price lower than 40.00 dollars)",
            "R2 = Click(b0001)", "R3 = Click(large)", "R4 = Click(buy now)",
        ),
        results=("b0001 - Long Sleeve Cotton Shirt ** b0002 - Slim Fit Cotton Tee", "large, medium, small",
                 "large", "1.0"),
    ),
]

EXEMPLARS: dict[str, list[Exemplar]] = {"math": MATH, "qa": QA, "web": WEB, "mind2web": WEB, "webshop": WEBSHOP}


def exemplars_for(env: Any, shots: int) -> FewShot | None:
    """The first ``shots`` exemplars for an environment: its own (``Environment.exemplars()``), else
    this module's set for its name, then its domain. ``None`` if none fit, with a loud warning: an
    agent that needs exemplars and silently runs zero-shot reports a misleading floor."""
    if shots <= 0:
        return None
    own = env_exemplars(env)
    if own:
        return FewShot(own[:shots])
    for key in (getattr(env, "name", None), getattr(env, "domain", None)):
        if key in EXEMPLARS:
            return FewShot(EXEMPLARS[key][:shots])
    name = getattr(env, "name", "?")
    if name not in _WARNED:
        _WARNED.add(name)
        log.warning(
            "NO FEW-SHOT EXEMPLARS for environment %r (domain %r): the agent asked for %d shot(s) and runs "
            "zero-shot. Return solved examples from %s.exemplars() (see docs/plugins.md).",
            name, getattr(env, "domain", "?"), shots, type(env).__name__,
        )
    return None


def exemplars_digest() -> str:
    blob = json.dumps({k: [asdict(e) for e in v] for k, v in EXEMPLARS.items()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
