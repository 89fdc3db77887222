"""QA action execution: tool outputs in Lumos' formats, errors as observations, final answers."""

from __future__ import annotations

import pytest
from qa_helpers import FakeBackend, make_toolbox

from envs.qa.executor import QAExecutor, finalize_batch
from envs.qa.reader import FORCED_PROMPT
from harness.records import Task

TASK = Task(id="t", question="Were Scott Derrickson and Ed Wood of the same nationality?", gold="yes")


def run(ex: QAExecutor, line: str):
    return ex.execute(line)


def test_gold_like_chain_formats() -> None:
    backend = FakeBackend(lambda p: " American")
    ex = QAExecutor(TASK, make_toolbox(backend))
    res = run(ex, "R1 = KnowledgeQuery(Ed Wood); R2 = ParagraphRetrieve(R1, Query: What nationality was Ed Wood?); "
                  "R3 = QA([R2], Question: What nationality was Ed Wood?)")
    assert [r.ok for r in res] == [True, True, True]
    assert ex.store["R1"] == ["Ed Wood *** Edward Davis Wood Jr. was an American filmmaker.",
                              "Ed Wood *** He directed Plan 9."]
    assert res[0].result == str(ex.store["R1"])  # Lumos keeps the list; the observation is its str()
    assert ex.store["R2"] == ("Evidence 1: Edward Davis Wood Jr. was an American filmmaker.\n"
                              "Evidence 2: He directed Plan 9.\n")
    assert ex.store["R3"] == "Question: What nationality was Ed Wood?; Answer: American"
    prompt = backend.calls[0][0]
    assert "Question: What nationality was Ed Wood?\nContext: Evidence 1: Edward Davis Wood Jr." in prompt


def test_variables_in_text_read_as_answers_and_r10_is_not_r1() -> None:
    backend = FakeBackend(lambda p: " ok")
    ex = QAExecutor(TASK, make_toolbox(backend))
    for i in range(1, 11):
        ex.store[f"R{i}"] = f"Question: q{i}; Answer: a{i}"
    res = run(ex, "R11 = QA([R1, R10], Question: Is R10 bigger than R1?)")
    assert res[0].ok
    assert ex.store["R11"] == "Question: Is a10 bigger than a1?; Answer: ok"
    prompt = backend.calls[0][0]
    assert "Context: Question: q1; Answer: a1\nQuestion: q10; Answer: a10" in prompt
    # a KnowledgeQuery on a QA result queries its answer
    tb_ex = QAExecutor(TASK, make_toolbox())
    tb_ex.store["R1"] = "Question: who?; Answer: Ed Wood"
    assert run(tb_ex, "R2 = KnowledgeQuery(R1)")[0].ok
    assert tb_ex.toolbox.knowledge.queries == ["Ed Wood"]


@pytest.mark.parametrize(
    ("line", "kind", "message"),
    [
        ("R2 = ParagraphRetrieve(R1, Query: x)", "invalid_action", "undefined variable"),
        ("R1 = Search(Ed Wood)", "invalid_action", "unknown action"),
        ("hello world", "invalid_action", "expected"),
        ("R1 = KnowledgeQuery(Nothing Matches This)", "tool_error", "no page"),
        ("R1 = QA([], )", "invalid_action", "needs a question"),
        ("R1 = Code(print 1)", "tool_error", "not available"),
        ("R1 = KnowledgeQuery()", "invalid_action", "needs an argument"),
    ],
)
def test_errors_are_observations(line: str, kind: str, message: str) -> None:
    ex = QAExecutor(TASK, make_toolbox())
    (res,) = run(ex, line)
    assert not res.ok and res.error_kind == kind and message in res.error


def test_paragraph_retrieve_needs_query_and_context() -> None:
    ex = QAExecutor(TASK, make_toolbox())
    run(ex, "R1 = KnowledgeQuery(Ed Wood)")
    (res,) = run(ex, "R2 = ParagraphRetrieve(R1)")
    assert res.error_kind == "invalid_action" and "query" in res.error
    # a bracketed variable, a positional query and a plain-text context are accepted
    (res,) = run(ex, "R4 = ParagraphRetrieve([R1], Query: Plan 9)")
    assert res.ok and res.result.startswith("Evidence 1: He directed Plan 9.")
    (res,) = run(ex, "R3 = ParagraphRetrieve(Ed Wood directed films. He was American., who directed)")
    assert res.ok and res.result.startswith("Evidence 1: Ed Wood directed films.")


def test_reader_failure_is_a_tool_error_and_the_run_goes_on() -> None:
    def boom(prompt: str) -> str:
        raise RuntimeError("CUDA out of memory")

    ex = QAExecutor(TASK, make_toolbox(FakeBackend(boom)))
    res = run(ex, "R1 = KnowledgeQuery(Ed Wood); R2 = QA([R1], Question: who?); R3 = KnowledgeQuery(Scott Derrickson)")
    assert [r.ok for r in res] == [True, False, True]
    assert res[1].error_kind == "tool_error" and "out of memory" in res[1].error


def test_decide_final_answer_over_qa_results() -> None:
    backend = FakeBackend(lambda p: " yes")
    ex = QAExecutor(TASK, make_toolbox(backend))
    ex.store["R1"] = ["Ed Wood *** text"]  # not a QA result: left out of the final context
    ex.store["R3"] = "Question: a?; Answer: American"
    ex.store["R6"] = "Question: b?; Answer: American"
    assert ex.final_answer() == "yes"
    prompt = backend.calls[-1][0]
    context = "Question: a?; Answer: American; Question: b?; Answer: American;"
    assert f"Question: {TASK.question}\nContext: {context}\n" in prompt
    assert ex.final_result_raw == f"Question: {TASK.question}; Answer: yes"
    n = len(backend.calls)
    assert ex.final_answer() == "yes" and len(backend.calls) == n  # computed once


def test_final_answer_runs_even_without_results_and_forces_yes_no() -> None:
    def fn(prompt: str) -> str:
        return " No answer" if "Context:" in prompt else " no"

    backend = FakeBackend(fn)
    ex = QAExecutor(TASK, make_toolbox(backend), yes_no=True)
    run(ex, "garbage")
    assert ex.final_answer() == "no"
    q = TASK.question + " Must answer yes/no."
    assert backend.calls[-1] == ["<chat>" + FORCED_PROMPT.format(question=q) + "</chat>Answer:"]


def test_final_answers_are_batched() -> None:
    backend = FakeBackend(lambda p: " x")
    tb = make_toolbox(backend)
    exs = [QAExecutor(Task(id=str(i), question=f"q{i}?"), tb) for i in range(4)]
    assert finalize_batch(exs, tb) == ["x"] * 4
    assert [len(c) for c in backend.calls] == [4]
    assert [e.final_answer() for e in exs] == ["x"] * 4 and len(backend.calls) == 1


def test_last_mode_reasks_the_last_qa_with_yes_no() -> None:
    backend = FakeBackend(lambda p: " yes" if "Must answer yes/no" in p else " sixteen")
    ex = QAExecutor(TASK, make_toolbox(backend), yes_no=True, final_mode="last")
    run(ex, "R1 = KnowledgeQuery(Genghis Khan); R2 = QA([R1], Question: Did he have more kids?)")
    assert ex.store["R2"].endswith("Answer: sixteen")
    assert ex.final_answer() == "yes"
    expected = "Question: Did he have more kids? Must answer yes/no.\nContext: Genghis Khan had sixteen"
    assert expected in backend.calls[-1][0]
    # a non-QA last value is the prediction as is, without a model call
    ex2 = QAExecutor(TASK, make_toolbox(backend), yes_no=True, final_mode="last")
    run(ex2, "R1 = KnowledgeQuery(Ed Wood); Output = R1")
    n = len(backend.calls)
    assert ex2.final_answer() == "Edward Davis Wood Jr. was an American filmmaker.; He directed Plan 9."
    assert len(backend.calls) == n
    with pytest.raises(ValueError):
        QAExecutor(TASK, make_toolbox(), final_mode="bogus")


def test_calculator_sympy_then_llm_fallback() -> None:
    def calc(formula: str) -> str:
        if any(c.isalpha() for c in formula):
            raise ValueError("not arithmetic")
        return str(eval(formula))

    backend = FakeBackend(lambda p: " yes")
    ex = QAExecutor(TASK, make_toolbox(backend, calculator=calc))
    ex.store["R3"] = "Question: kids of Caesar?; Answer: 3"
    ex.store["R6"] = "Question: kids of Khan?; Answer: 16"
    (res,) = run(ex, "R7 = Calculator(R6 > R3)")
    assert res.result == "Question: 16 > 3; Answer: yes" and backend.calls == []
    ex.store["R8"] = "Question: kids of Caesar?; Answer: three"
    (res,) = run(ex, "R9 = Calculator(R6 > R8)")
    assert res.ok and res.result == f"Question: {TASK.question}; Answer: yes"
    # Lumos' LLM calculator: full values + '.', operators deleted
    context = "Question: kids of Khan?; Answer: 16. Question: kids of Caesar?; Answer: three."
    assert f"Context: {context}\n" in backend.calls[0][0]


def test_real_sympy_calculator_in_sandbox() -> None:
    from envs.qa.base import SympyCalculator

    calc = SympyCalculator()
    try:
        assert calc("16 > 3") == "True"
        assert calc("2 + 3*4") == "14"
        with pytest.raises(ValueError):
            calc("sixteen > three")
        ex = QAExecutor(TASK, make_toolbox(calculator=calc))
        ex.store["R1"] = "Question: a?; Answer: 16"
        (res,) = run(ex, "R2 = Calculator(R1 * 2 > 30)")
        assert res.result == "Question: 16 * 2 > 30; Answer: yes"
    finally:
        calc.close()


def test_code_tool_is_used_when_configured() -> None:
    ex = QAExecutor(TASK, make_toolbox(code=lambda text: f"ran:{text}"))
    ex.store["R1"] = "Question: n?; Answer: 5"
    (res,) = run(ex, "R2 = Code(return R1 + 1)")
    assert res.ok and ex.store["R2"] == "ran:return 5 + 1"


def test_execute_batch_matches_sequential_and_batches_reader_calls() -> None:
    from envs.qa.executor import execute_batch

    def fn(prompt: str) -> str:
        return " No answer" if "Context:" in prompt and "Khan" in prompt else " American"

    lines = [
        "R1 = KnowledgeQuery(Ed Wood); R2 = ParagraphRetrieve(R1, Query: Ed Wood); R3 = QA([R2], Question: Who?)",
        "R1 = KnowledgeQuery(Genghis Khan); R2 = QA([R1], Question: Khan kids?)",
        "R1 = QA([R9], Question: undefined)",
        "not an action",
        "R1 = KnowledgeQuery(Scott Derrickson); R2 = Calculator(R1 > 3)",
    ]

    def run_all(batched: bool):
        backend = FakeBackend(fn)
        tb = make_toolbox(backend, calculator=lambda f: (_ for _ in ()).throw(ValueError("x")))
        exs = [QAExecutor(Task(id=str(i), question=f"q{i}?"), tb) for i in range(len(lines))]
        if batched:
            out = execute_batch(exs, lines, tb)
        else:
            out = [e.execute(line) for e, line in zip(exs, lines)]
        return out, exs, backend

    seq, seq_ex, seq_backend = run_all(False)
    bat, bat_ex, bat_backend = run_all(True)

    def dump(res):
        return [[r.model_dump() for r in rs] for rs in res]

    assert dump(bat) == dump(seq)
    assert [e.store.items() for e in bat_ex] == [e.store.items() for e in seq_ex]
    # position 2 holds the two QA/LLM-calculator calls, position 3 the third: 2 first-stage calls + 1 retry
    assert [len(c) for c in bat_backend.calls] == [2, 1, 1]
    assert sum(len(c) for c in seq_backend.calls) == sum(len(c) for c in bat_backend.calls)
    assert bat[2][0].error_kind == "invalid_action" and bat[3][0].error_kind == "invalid_action"


def test_execute_batch_survives_a_failing_reader() -> None:
    from envs.qa.executor import execute_batch

    def boom(prompt: str) -> str:
        raise RuntimeError("backend down")

    tb = make_toolbox(FakeBackend(boom))
    exs = [QAExecutor(Task(id=str(i), question="q?"), tb) for i in range(2)]
    out = execute_batch(exs, ["R1 = QA([], Question: a?)", "R1 = KnowledgeQuery(Ed Wood)"], tb)
    assert out[0][0].error_kind == "tool_error" and "backend down" in out[0][0].error
    assert out[1][0].ok
