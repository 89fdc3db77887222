"""Fuzzing: >= 10,000 random and mutated action strings through the parser and the executors,
with zero uncaught exceptions and only well-formed observations.

The bulk runs the sympy tools in-process (with the size guard and a SIGALRM limit) and a stub
``Code`` tool; a handful of strings go through the real sandboxed worker and the real ``Code``.
"""

from __future__ import annotations

import json
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envs.actions import (
    InvalidAction,
    ParsedAction,
    VariableStore,
    parse_actions,
    parse_fields,
    split_actions,
    substitute,
)
from envs.tool_executor import Tool, ToolExecutor
from envs.math.code import CodeTool, _is_python, lumos_if
from envs.math.executor import InProcessEvaluator, MathExecutor, WorkerEvaluator
from envs.math.values import MathValue

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


N = 10_000


def test_fuzz_ten_thousand_strings_in_process():
    lines = corpus(N)
    assert len(lines) >= 10_000
    evaluator = MemoEvaluator(timeout_s=0.5)
    start = time.perf_counter()
    math_ex, web_ex = MathExecutor(evaluator, StubCode()), generic_executor()
    ok = errors = 0
    for k, line in enumerate(lines):
        if k % 5 == 0:  # fresh stores now and then, as per task
            math_ex, web_ex = MathExecutor(evaluator, StubCode()), generic_executor()
        split_actions(line)
        parse_actions(line)
        for ex in (math_ex, web_ex):
            res = ex.execute(line)
            check(res, line)
            ok += sum(r.ok for r in res)
            errors += sum(not r.ok for r in res)
            ans = ex.final_answer()
            assert ans is None or isinstance(ans, str)
    assert ok > 1000 and errors > 1000  # the corpus exercises both paths
    assert len(evaluator.memo) > 1000  # distinct sympy requests (about 1,800 with this seed)
    assert time.perf_counter() - start < 120


def test_fuzz_a_handful_through_the_real_sandboxes():
    lines = corpus(40, seed=99)[::4] + [
        "R1 = Calculator(9**9**9)",
        "R1 = Code(sum(range(10)))",
        "R9 = Code(while True: pass)",
    ]
    evaluator = WorkerEvaluator(timeout_s=3.0)
    try:
        ex = MathExecutor(evaluator, CodeTool())
        for line in lines:
            check(ex.execute(line), line)
        assert ex.execute("R50 = Code(sum(range(10)))")[0].result == "45"
        assert ex.execute("R51 = Calculator(2 + 2)")[0].result == "4"
    finally:
        evaluator.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_hypothesis_parser_and_substitution_never_raise(text):
    store = VariableStore()
    store["R1"] = MathValue("5", "Integer(5)")
    for p in parse_actions(text):
        assert p.ok or p.error
    substitute(text, store)
    parse_fields(text, ["QUERY", "TEXT"])
    check(generic_executor().execute(text), text)


@pytest.mark.parametrize(
    "line", ["R1 = Calculator(" + "(" * 300 + "1" + ")" * 300 + ")", "R1 = Calculator(" + "1+" * 3000 + "1)"]
)
def test_deep_and_long_formulas_are_observations(line):
    res = MathExecutor(InProcessEvaluator(timeout_s=2.0), StubCode()).execute(line)
    check(res, line)


# -- property-based fuzz of the action path through every environment's executor ------------------
# Lines are built from a grammar of Lumos actions whose parts are hostile on purpose (lone surrogates,
# non-ASCII and zero-padded R names, R + 5,000 digits, the size-guard reproductions, free text), and
# each line goes all the way to a samples.jsonl line. Properties: no exception escapes execute(),
# execute_batch() or final_answer(); every observation is well formed; no line executes more actions
# than its cap or (on a fake clock) its time budget allows, the rest being one observation; every
# record serialises to valid UTF-8 JSON and reads back to the same line. The default suite runs a
# few thousand lines; `-m slow` runs >= 20,000.
from pathlib import Path  # noqa: E402

from fake_clock import FakeClock  # noqa: E402
from qa_helpers import FakeBackend, make_toolbox  # noqa: E402

from envs.qa.executor import QAExecutor, execute_batch  # noqa: E402
from envs.tool_executor import LineLimits  # noqa: E402
from harness.records import SampleRecord, SampleStatus, Task, Trajectory, Turn  # noqa: E402
from harness.sample_guard import record_line  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
ANY_CHAR = st.characters(codec=None, exclude_categories=())  # surrogates included
VALID_NAMES = st.integers(0, 30).map(lambda k: f"R{k}")
NAMES = st.one_of(
    VALID_NAMES, VALID_NAMES, VALID_NAMES, st.just("Output"),
    st.sampled_from(["R01", "R007", "R٣", "R２", "R" + "9" * 5000, "R" + "9" * 7, "r1", "R"]),
)
SURROGATES = st.sampled_from([chr(0xD800), "\udfff", "x\ud83d", "\udc80\udc81"])
TOOL_NAMES = st.sampled_from([
    "Calculator", "SetEquation", "SolveEquation", "SolveInequality", "Define", "Count", "Code",
    "KnowledgeQuery", "ParagraphRetrieve", "QA", "CLICK", "TYPE", "SELECT", "Search", "Click", "Pick",
    "FeatureRetrieve", "Calc", "",
])
GUARDS = ["round(pi, 10^6)", "1e999999999", "round(1/3, 10^9)", "round(2.5, -10^9)", "exp(exp(exp(10)))",
          "lcm(" + ", ".join(map(str, range(2, 400))) + ")", "x^1000 + x + 1 = 0", "chr(55296)", "9**9**9"]
PIECES = st.one_of(
    st.text(ANY_CHAR, max_size=12),
    SURROGATES,
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(NASTY + GUARDS + ["QUERY: red shoes", "TEXT: Atlanta, GA", "Query: who?", "Question: when?",
                                      "Item_names: R1", "Item_features: [R2, R3]", "Env", "buy now", "< prev",
                                      "2x + 3 = 7", "48/2", "[R1]", "x", "1, 3, ..., 99"]),
    NAMES,
)
ARGS = st.lists(PIECES, max_size=5).flatmap(lambda parts: st.sampled_from([", ".join(parts), " ".join(parts)]))
ACTION = st.builds(lambda outs, name, args, tail: f"{', '.join(outs)} = {name}({args}){tail}",
                   st.lists(NAMES, min_size=1, max_size=2), TOOL_NAMES, ARGS, st.sampled_from(["", " = 40", ")", "("]))
LINES = st.one_of(
    st.lists(ACTION, max_size=14).flatmap(
        lambda acts: st.sampled_from(["; ".join(acts), ";".join(acts), " ; ".join(acts)])),
    st.text(ANY_CHAR, max_size=120),
    st.builds(lambda seed, extra: seed + extra, st.sampled_from(SEEDS),
              st.one_of(st.text(ANY_CHAR, max_size=30), SURROGATES)),
    st.lists(st.builds(lambda k, op, arg: f"R{k} = {op}({arg})", st.integers(1, 12),
                       st.sampled_from(["Calculator", "SolveEquation", "SolveInequality", "Define", "Count", "Code"]),
                       st.sampled_from(GUARDS + [g.replace("x", "R1") for g in GUARDS] + ["R1 + 1", "2 + 2"])),
             min_size=1, max_size=12).map("; ".join),
)
CLOCK_STEPS = st.sampled_from([0.0, 0.4, 1.5])
LIMITS = LineLimits(budget_s=3.0, max_actions=9)
FUZZ = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


class _ScoreStub:
    name, main_metric = "fuzz", "m"

    def score(self, task, trajectory):
        return {"m": 0.0}


def _within_limits(results: list, line: str, step: float, limits: LineLimits = LIMITS) -> None:
    pieces = split_actions(line)
    rest = [r for r in results if r.error and "more action(s) not executed" in r.error]
    assert len(rest) <= 1 and (not rest or results[-1] is rest[0]), line
    executed = len(results) - len(rest)
    bound = limits.max_actions if step == 0 else min(limits.max_actions, int(limits.budget_s / step) + 1)
    assert executed <= bound, (line, executed, bound)
    if pieces:
        skipped = int(rest[0].error.split()[0]) if rest else 0
        assert executed + skipped == len(pieces), line


def _round_trip(line: str, results: list, answer: str | None) -> None:
    traj = Trajectory(turns=[Turn(subgoal=line, actions=line, results=results, grounder_raw=line)], final_answer=answer)
    text, status = record_line(_ScoreStub(), Task(id="t", question=line), traj)
    assert status == SampleStatus.OK, text  # surrogates are escaped, not a fallback record
    text.encode("utf-8")
    json.loads(text)
    assert SampleRecord.model_validate_json(text).model_dump_json() == text


def _math_executor(step: float, evaluator: MemoEvaluator) -> MathExecutor:
    ex = MathExecutor(evaluator, StubCode())
    ex.limits, ex.clock = LIMITS, FakeClock(step)
    return ex


_MEMO = MemoEvaluator(timeout_s=1.0)


def _fuzz_math(line: str, step: float) -> None:
    ex = _math_executor(step, _MEMO)
    res = ex.execute(line)
    check(res, line)
    _within_limits(res, line, step)
    _round_trip(line, res, ex.final_answer())


def _qa_calculator(formula: str) -> str:
    from envs.math.tools import handle

    reply = handle({"op": "Calculator", "arg": formula, "vars": {}})
    if "error" in reply:
        raise ValueError(reply["error"])
    return reply["values"][0]["text"]


def _qa_executors(n: int, step: float) -> list[QAExecutor]:
    tb = make_toolbox(FakeBackend(lambda p: " Answer: 3"), calculator=_qa_calculator,
                      code=lambda text: f"ran {text[:20]}")
    exs = [QAExecutor(Task(id=str(i), question=f"q{i}?"), tb, limits=LIMITS) for i in range(n)]
    for ex in exs:
        ex.clock = FakeClock(step)
    return exs


def _fuzz_qa(lines: list[str]) -> None:
    """Each line alone, then all in one execute_batch: the same results (the batching contract)."""
    alone = []
    for ex, line in zip(_qa_executors(len(lines), 0.0), lines):
        res = ex.execute(line)
        check(res, line)
        _within_limits(res, line, 0.0)
        _round_trip(line, res, ex.final_answer())
        alone.append([r.model_dump() for r in res])
    exs = _qa_executors(len(lines), 0.0)
    batched = execute_batch(exs, lines, exs[0].toolbox)
    assert [[r.model_dump() for r in rs] for rs in batched] == alone
    ex = _qa_executors(1, 1.5)[0]  # and a budget that bites
    res = ex.execute(lines[0])
    _within_limits(res, lines[0], 1.5)


@pytest.fixture(scope="module")
def mind2web_env():
    from envs.web.mind2web import Mind2Web

    env = Mind2Web(data_dir=FIXTURES, candidates="lumos", ranker="bm25")
    return env, env.load("test_domain")


def _fuzz_env_executor(env, tasks, line: str, step: float, k: int) -> None:
    ex = env.session(tasks[k % len(tasks)])
    try:
        ex.limits, ex.clock = LIMITS, FakeClock(step)
        res = ex.execute(line)
        check(res, line)
        _within_limits(res, line, step)
        _round_trip(line, res, ex.final_answer())
    finally:
        ex.close()


@settings(max_examples=800, **FUZZ)
@given(line=LINES, step=CLOCK_STEPS)
def test_property_fuzz_math_executor(line, step):
    _fuzz_math(line, step)


@settings(max_examples=200, **FUZZ)
@given(lines=st.lists(LINES, min_size=1, max_size=3))
def test_property_fuzz_qa_executor_and_batch(lines):
    _fuzz_qa(lines)


@settings(max_examples=400, **FUZZ)
@given(line=LINES, step=CLOCK_STEPS, k=st.integers(0, 3))
def test_property_fuzz_mind2web_executor(mind2web_env, line, step, k):
    _fuzz_env_executor(*mind2web_env, line, step, k)


def _webshop_ready() -> bool:
    from envs.webshop.tagger import tagger_available

    return tagger_available()


@pytest.fixture(scope="module")
def webshop_env():
    if not _webshop_ready():
        pytest.skip("spaCy en_core_web_sm not installed")
    from envs.webshop.env import WebShop

    env = WebShop(data_dir=FIXTURES)
    try:
        yield env, env.load("test", limit=5)
    finally:
        env.close()


@settings(max_examples=150, **FUZZ)
@given(line=LINES, step=CLOCK_STEPS, k=st.integers(0, 4))
def test_property_fuzz_webshop_executor(webshop_env, line, step, k):
    _fuzz_env_executor(*webshop_env, line, step, k)


@pytest.mark.slow
@settings(max_examples=10000, **{**FUZZ, "derandomize": False})
@given(line=LINES, step=CLOCK_STEPS)
def test_property_fuzz_math_executor_slow(line, step):
    _fuzz_math(line, step)


@pytest.mark.slow
@settings(max_examples=3000, **{**FUZZ, "derandomize": False})
@given(lines=st.lists(LINES, min_size=1, max_size=3))
def test_property_fuzz_qa_executor_and_batch_slow(lines):
    _fuzz_qa(lines)  # ~2 lines per case: ~6,000 lines alone, again in batches


@pytest.mark.slow
@settings(max_examples=5000, **{**FUZZ, "derandomize": False})
@given(line=LINES, step=CLOCK_STEPS, k=st.integers(0, 3))
def test_property_fuzz_mind2web_executor_slow(mind2web_env, line, step, k):
    _fuzz_env_executor(*mind2web_env, line, step, k)


@pytest.mark.slow
@settings(max_examples=2000, **{**FUZZ, "derandomize": False})
@given(line=LINES, step=CLOCK_STEPS, k=st.integers(0, 4))
def test_property_fuzz_webshop_executor_slow(webshop_env, line, step, k):
    _fuzz_env_executor(*webshop_env, line, step, k)
