"""Property-based fuzz of the action path through every environment's executor.

Lines are built from a grammar of Lumos actions whose parts are hostile on purpose (lone surrogates,
non-ASCII and zero-padded R names, R + 5,000 digits, the size-guard reproductions, free text), and
each line goes all the way to a samples.jsonl line. Properties: no exception escapes execute(),
execute_batch() or final_answer(); every observation is well formed; no line executes more actions
than its cap or (on a fake clock) its time budget allows, the rest being one observation; every
record serialises to valid UTF-8 JSON and reads back to the same line. The default suite runs a
few thousand lines; `-m slow` runs >= 20,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from action_fuzz_corpus import NASTY, SEEDS, MemoEvaluator, StubCode, check
from envs.actions import split_actions
from envs.math.executor import MathExecutor

from fake_clock import FakeClock
from qa_helpers import FakeBackend, make_toolbox

from envs.qa.executor import QAExecutor, execute_batch
from envs.tool_executor import LineLimits
from harness.records import SampleRecord, SampleStatus, Task, Trajectory, Turn
from harness.sample_guard import record_line

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
