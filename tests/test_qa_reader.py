"""The QA reader: Lumos prompts, 'No answer' fallbacks, batching, chat formats (fake backend)."""

from __future__ import annotations

from qa_helpers import FakeBackend

from envs.qa.reader import FORCED_PROMPT, NO_CONTEXT_PROMPT, QA_PROMPT, QARequest, Reader


def test_prompt_and_result_format_with_prefill() -> None:
    backend = FakeBackend(lambda p: " Paris")
    reader = Reader(lambda: backend)
    out = reader.answer([QARequest("Evidence 1: Paris is the capital.\n", "What is the capital of France?")])
    assert out == ["Question: What is the capital of France?; Answer: Paris"]
    (prompt,) = backend.calls[0]
    content = QA_PROMPT.format(question="What is the capital of France?", context="Evidence 1: Paris is the capital.\n")
    assert prompt == "<chat>" + content + "</chat>Answer:"
    assert content.startswith("Please answer the following question according to the context. Please answer with "
                              "one brief entity, beginning with 'Answer: '. If the answer can't be found in the "
                              "context, answer 'No answer'. No more details and explanations.\n\nQuestion: ")
    params = backend.params[0]
    assert params.temperature == 0.0 and params.max_new_tokens == 100 and params.stop == ("\n",)


def test_lazy_loading_and_close() -> None:
    made = []

    def factory() -> FakeBackend:
        made.append(FakeBackend())
        return made[-1]

    reader = Reader(factory)
    assert made == []
    reader.answer([QARequest("c", "q")])
    reader.answer([QARequest("c", "q2")])
    assert len(made) == 1
    reader.close()
    assert made[0].closed


def test_no_answer_falls_back_without_context() -> None:
    def fn(prompt: str) -> str:
        return " No answer" if "Context:" in prompt else " Berlin"

    backend = FakeBackend(fn)
    out = Reader(lambda: backend).answer([QARequest("irrelevant", "Capital of Germany?")])
    assert out == ["Question: Capital of Germany?; Answer: Berlin"]
    assert backend.calls[1] == ["<chat>" + NO_CONTEXT_PROMPT.format(question="Capital of Germany?") + "</chat>Answer:"]


def test_yes_no_questions_use_the_forced_prompt() -> None:
    def fn(prompt: str) -> str:
        return " No answer" if "Context:" in prompt else " yes"

    backend = FakeBackend(fn)
    q = "Is water wet? Must answer yes/no."
    out = Reader(lambda: backend).answer([QARequest("ctx", q)])
    assert out == [f"Question: {q}; Answer: yes"]
    forced = backend.calls[1][0]
    assert forced == "<chat>" + FORCED_PROMPT.format(question=q) + "</chat>Answer:"
    assert "No answer" not in FORCED_PROMPT


def test_batching_one_call_per_stage() -> None:
    def fn(prompt: str) -> str:
        return " No answer" if "Context:" in prompt and "q1" in prompt else " X"

    backend = FakeBackend(fn)
    reqs = [QARequest("c", f"q{i}") for i in range(5)]
    out = Reader(lambda: backend).answer(reqs)
    assert [len(c) for c in backend.calls] == [5, 1]  # everything, then the one retry
    assert out[1] == "Question: q1; Answer: X" and out[0] == "Question: q0; Answer: X"


def test_chat_formats() -> None:
    backend = FakeBackend(chat=False)  # no chat template -> Lumos' format
    reader = Reader(lambda: backend, prefill=False)
    assert reader.render("hi") == "<|user|>\nhi\n<|assistant|>\n"
    assert Reader(lambda: FakeBackend(), chat="lumos").render("hi") == "<|user|>\nhi\n<|assistant|>\nAnswer:"
    assert Reader(lambda: FakeBackend(), chat="raw", prefill=False).render("hi") == "hi"
    # without prefill the model's own text is kept as is
    out = Reader(lambda: FakeBackend(lambda p: "Answer: Paris"), prefill=False).answer([QARequest("c", "q")])
    assert out == ["Question: q; Answer: Paris"]
