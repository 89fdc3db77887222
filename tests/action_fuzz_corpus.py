"""The corpus and checks shared by the fuzz tests: seed action lines, hostile strings, mutation, stub
tools, and the check that every result is a well-formed observation."""

from __future__ import annotations

import json
import random

from envs.actions import InvalidAction, ParsedAction, VariableStore, parse_fields, substitute
from envs.math.code import CodeTool, _is_python, lumos_if
from envs.math.executor import InProcessEvaluator
from envs.tool_executor import Tool, ToolExecutor

SEEDS = [
    "R1 = Calculator(2 - 0.5); R2 = Calculator(R1 / 0.25)",
    "R1 = Calculator(48/2); R2 = Calculator(48 + R1); R3 = Calculator(R2 * 1.5)",
    "R1 = Define(n-2); R2 = Define(n); R3 = Calculator(R1 * 3); R4 = SolveEquation(R3 + R2 = 12)",
    "R1 = Calculator((x-y) - (x+y)); R2 = Calculator((x+y) + 2*R1); R5, R6 = SolveEquation(x + y = 10, x - y = R2)",
    "Output = Calculator(R4(R5, R6))",
    "R1 = SetEquation(2x + 3 = 7); R2 = Calculator(R1 * 2); R3 = SolveEquation(R2)",
    "R1 = SolveInequality(2x + 3 > 7); R2 = Count(2^0, 2^1, 2^2)",
    "R1 = Count(1, 3, ..., 99); R9 = Code(If R1 > 0, R1, -R1)",
    "Output = R9 = 40",
    "R1 = Calculator(40% * 1,000 + $5); R2 = Calculator(3 x 4); R3 = Calculator(round(R1 / 7, 2))",
    "R1 = KnowledgeQuery(Julius Caesar); R2 = ParagraphRetrieve(R1, Query: How many kids did he have?)",
    "R3 = QA([R2], Question: How many kids did Julius Caesar have?); R7 = Calculator(R6 > R3)",
    "R1 = CLICK(Env, QUERY: Enter the site for flight + cruise)",
    "R3 = TYPE(R2, QUERY: Type Atlanta as the departure location, TEXT: Atlanta)",
    "R7 = SELECT(R6, QUERY: choose the nights, TEXT: 6 nights)",
    'R1 = Search("red shoes; size 9"); R2 = Click(b09s3bn15c); R4 = Click(< prev)',
    "R7 = Pick(Item_names: R1, Item_features: [R3, R6], Query: cheap shoes); R13 = Click(buy now)",
]
ALPHABET = "R0123456789()[]{};,=+-*/^%.$\"' :xyQUERYTEXTOutputCalculatorSolveEquation\n\t…×÷−√π_#@!<>&|\\"
NASTY = [
    "9**9**9",
    "9^9^9",
    "10^100000",
    "factorial(99999)",
    "R10",
    "R999",
    "Output",
    "((((((",
    "))))",
    ";;;",
    "__import__('os')",
    "().__class__",
    "lambda: 0",
    "1/0",
    "x = x + 1",
    "'; DROP",
    "\x00",
    "é",
    "R1R1",
]


def mutate(rng: random.Random, s: str) -> str:
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        i = rng.randint(0, len(s))
        if op == 0 and s:
            s = s[:i] + s[i + 1 :]
        elif op == 1:
            s = s[:i] + rng.choice(ALPHABET) + s[i:]
        elif op == 2 and s:
            j = rng.randint(0, len(s))
            s = s[:i] + s[min(i, j) : max(i, j)] + s[i:]
        elif op == 3:
            s = s[:i]
        elif op == 4:
            s = s[:i] + rng.choice(NASTY) + s[i:]
        elif op == 5:
            s = s + "; " + rng.choice(SEEDS)
        elif op == 6:
            s = s.replace("R1", f"R{rng.randint(0, 30)}", 1)
        else:
            s = s[i:] + s[:i]
    return s


def corpus(n: int, seed: int = 1234) -> list[str]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        if k % 4 == 0:
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60))))
        else:
            out.append(mutate(rng, rng.choice(SEEDS)))
    return out


class MemoEvaluator(InProcessEvaluator):
    """Identical requests (unchanged parts of mutated seeds) are computed once: every distinct
    input still runs, the fuzz just does not pay sympy's solve time twice for the same one."""

    def __init__(self, timeout_s: float):
        super().__init__(timeout_s)
        self.memo: dict[str, dict] = {}

    def __call__(self, payload: dict) -> dict:
        key = json.dumps(payload, sort_keys=True)
        if key not in self.memo:
            self.memo[key] = super().__call__(payload)
        return self.memo[key]


class StubCode(CodeTool):
    """Checks the argument like the real tool but does not start a process per call."""

    def run_text(self, pseudo_code: str) -> str:
        code = lumos_if(pseudo_code.strip()) or pseudo_code.strip()
        if not code or not _is_python(code):
            raise InvalidAction("not runnable")
        return "0"


def generic_executor() -> ToolExecutor:
    def fields(p: ParsedAction, store: VariableStore) -> list[str]:
        a = parse_fields(
            substitute(p.args, store).text, ["QUERY", "TEXT", "Query", "Question", "Item_names", "Item_features"]
        )
        return [repr((a.positional, sorted(a.fields.items())))]

    names = [
        "KnowledgeQuery",
        "ParagraphRetrieve",
        "QA",
        "CLICK",
        "TYPE",
        "SELECT",
        "Search",
        "Click",
        "Pick",
        "FeatureRetrieve",
    ]
    return ToolExecutor([Tool(n, fields) for n in names])


def check(results: list, line: str) -> None:
    assert results, line
    for r in results:
        if r.error is None:
            assert isinstance(r.result, str), line
        else:
            assert r.error_kind in ("invalid_action", "tool_error"), (line, r)
            assert r.result is None
