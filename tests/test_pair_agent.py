"""AgentPair on the toy plug-in environment with scripted backends: lock-step batching, the exact
prompts it sends, the stop protocol, and how failures end up in trajectories."""

from __future__ import annotations

import re

import pytest

from agents import prompts as P
from agents.backends.base import Backend, BackendInfo, GenerationParams
from agents.pair import AgentPair
from harness.records import SampleStatus


class Scripted(Backend):
    """Answers each prompt with ``respond(prompt)``; records every call's prompts."""

    def __init__(self, respond, name="scripted"):
        self.respond = respond
        self.calls: list[list[str]] = []
        self.chat_calls: list[list[list[dict]]] = []
        self.name = name

    def generate(self, prompts, params):
        self.calls.append(list(prompts))
        outs = [[self.respond(p)] * params.n for p in prompts]
        self.last_token_counts = [[len(o[0].split())] * params.n for o in outs]
        return outs

    def render_chat(self, messages):
        return "".join(f"[{m['role']}]{m['content']}" for m in messages) + "[assistant]"

    def chat(self, conversations, params):
        self.chat_calls.append(conversations)
        return super().chat(conversations, params)

    def nll(self, prompts, continuations):
        return [0.0] * len(prompts)

    def info(self):
        return BackendInfo(name=self.name, model="scripted-model")


def _numbers(prompt: str) -> tuple[int, int]:
    a, b = re.findall(r"What is (\d+) \+ (\d+)\?", prompt)[-1]
    return int(a), int(b)


def plan_once(prompt: str) -> str:
    """Iterative planner: one subgoal, then stop (or keep going forever for task 7)."""
    a, b = _numbers(prompt)
    rounds = prompt.count("Should we stop planning?")
    if a == 7:
        return f"No, I will keep planning. Subgoal {rounds + 1}: Add {a} and {b} again."
    return "Subgoal 1: Add the numbers." if rounds == 0 else "Yes, I will stop planning."


def ground_add(prompt: str) -> str:
    a, b = _numbers(prompt)
    return f"R1 = Add({a}, {b})"


@pytest.fixture
def env(toy_plugin_in_process):
    ToyArith, _ = toy_plugin_in_process
    return ToyArith(n=10)


def test_one_pass_advances_the_batch_in_lock_step(env):
    tasks = env.load("test")[:5]
    planner = Scripted(lambda p: "Subgoal 1: Add the two numbers.")
    grounder = Scripted(ground_add)
    trajs = AgentPair(planner, grounder).run(tasks, env)
    assert len(planner.calls) == 1 and len(planner.calls[0]) == 5
    assert len(grounder.calls) == 1 and len(grounder.calls[0]) == 5
    assert planner.calls[0][1] == P.serialize_lumos([P.user(P.plan_first_user(tasks[1].question))])
    header = P.render_header(env.tools(), P.style_for(env))
    assert grounder.calls[0][1] == (
        "<|user|>\n" + header + f"Task: {tasks[1].question} \nSubgoals to be grounded: Subgoal 1: Add the two "
        "numbers.\n<|assistant|>\n"
    )
    assert [t.final_answer for t in trajs] == [t.gold for t in tasks]
    assert all(t.status == SampleStatus.OK and t.model_calls == 2 and t.generated_tokens > 0 for t in trajs)
    assert trajs[0].turns[0].planner_raw == "Subgoal 1: Add the two numbers."


def test_iterative_stop_protocol_budget_and_prefix_stripping(env):
    tasks = [t for t in env.load("test") if t.meta["a"] in (1, 2, 7)]
    planner, grounder = Scripted(plan_once), Scripted(ground_add)
    trajs = AgentPair(planner, grounder, mode="iterative", max_rounds=4).run(tasks, env)
    assert [len(c) for c in planner.calls] == [3, 3, 1, 1]  # finished tasks leave the batch
    assert [len(c) for c in grounder.calls] == [3, 1, 1, 1]
    by_a = {t.meta["a"]: tr for t, tr in zip(tasks, trajs)}
    assert by_a[1].status == SampleStatus.OK and by_a[1].final_answer == "3"
    assert by_a[7].status == SampleStatus.MAX_ROUNDS and by_a[7].final_answer is None
    assert by_a[7].extra["partial_answer"] == "21" and len(by_a[7].turns) == 4
    # round 2 planner prompt of task a=1 carries the executed result and the question
    assert planner.calls[1][0].endswith(
        "Subgoal 1: Add the numbers.\n\n<|user|>\nThe executed result for Subgoal 1 is 3. Should we stop planning?"
        "\n<|assistant|>\n")
    # the grounder never sees "No, I will keep planning."
    last_ground = grounder.calls[-1][0]
    assert "keep planning" not in last_ground
    assert last_ground.endswith("R1 = Add(7, 14)\n\n<|user|>\nSubgoal to be grounded: Subgoal 4: Add 7 and 14 again."
                                "\n<|assistant|>\n")


def test_model_exception_fails_only_its_task(env):
    tasks = env.load("test")[:4]

    def flaky(prompt: str) -> str:
        if "What is 2 + 4?" in prompt:
            raise RuntimeError("boom")
        return "Subgoal 1: Add."

    planner = Scripted(flaky)
    trajs = AgentPair(planner, Scripted(ground_add)).run(tasks, env)
    assert [len(c) for c in planner.calls] == [4, 1, 1, 1, 1]  # the batch fails, then each prompt alone
    statuses = [t.status for t in trajs]
    assert statuses == [SampleStatus.OK, SampleStatus.OK, SampleStatus.MODEL_ERROR, SampleStatus.OK]
    assert "planner call failed: RuntimeError: boom" in trajs[2].error
    assert trajs[2].final_answer is None


def test_invalid_action_stops_the_task_and_is_recorded(env):
    tasks = env.load("test")[:2]
    planner = Scripted(plan_once)
    grounder = Scripted(lambda p: "I think the answer is 3" if "What is 1 + 2?" in p else ground_add(p))
    trajs = AgentPair(planner, grounder, mode="iterative", max_rounds=5).run(tasks, env)
    assert trajs[1].status == SampleStatus.INVALID_ACTION and trajs[1].final_answer is None
    assert trajs[1].turns[0].results[0].error_kind == "invalid_action"
    assert len(trajs[1].turns) == 1 and trajs[0].status == SampleStatus.OK
    assert sum("What is 1 + 2?" in p for call in planner.calls for p in call) == 1  # never planned again


def test_native_chat_format_sends_messages(env):
    tasks = env.load("test")[:2]
    planner, grounder = Scripted(lambda p: "Subgoal 1: Add."), Scripted(ground_add)
    trajs = AgentPair(planner, grounder, chat_format="native").run(tasks, env)
    assert planner.chat_calls[0][0] == [P.user(P.plan_first_user(tasks[0].question))]
    assert planner.calls[0][0].startswith("[user]Please provide")
    assert [t.final_answer for t in trajs] == [t.gold for t in tasks]


def test_fewshot_prefix_precedes_the_real_conversation(env):
    ex = P.Exemplar(question="What is 5 + 5?", subgoals=("Add.",), actions=("R1 = Add(5, 5)",), results=("10",))
    planner, grounder = Scripted(lambda p: "Subgoal 1: Add."), Scripted(ground_add)
    AgentPair(planner, grounder, fewshot=lambda e: P.FewShot([ex])).run(env.load("test")[1:2], env)
    assert planner.calls[0][0].startswith("<|user|>\nPlease provide a reasonable subgoal-based plan to solve the "
                                          "given task.\nTask: What is 5 + 5?")
    assert "Subgoal 1: Add.\n\n<|user|>\n" in planner.calls[0][0]
    assert grounder.calls[0][0].count("Subgoals to be grounded:") == 2


def test_session_failure_and_bad_backend_output_are_recorded(env):
    class Broken(type(env)):
        def session(self, task):
            if task.meta["a"] == 1:
                raise OSError("no browser")
            return super().session(task)

    benv = Broken(n=3)
    trajs = AgentPair(Scripted(lambda p: "Subgoal 1: Add."), Scripted(ground_add)).run(benv.load("test"), benv)
    assert trajs[1].status == SampleStatus.TOOL_ERROR and "no browser" in trajs[1].error
    assert trajs[0].status == SampleStatus.OK


def test_config_names_everything_that_changes_behaviour():
    a = AgentPair(Scripted(str), Scripted(str)).config()
    b = AgentPair(Scripted(str), Scripted(str), chat_format="native").config()
    c = AgentPair(Scripted(str), Scripted(str), grounder_params=GenerationParams(max_new_tokens=8)).config()
    assert a["planner"] == {"backend": "scripted", "model": "scripted-model"}
    assert a["chat_format"] == "lumos" and b["chat_format"] == "native"
    assert a["grounder_params"]["stop"] == ("\n",) and a["prompt_format"]
    assert len({repr(a), repr(b), repr(c)}) == 3
    with pytest.raises(ValueError):
        AgentPair(Scripted(str), Scripted(str), chat_format="alpaca")
    with pytest.raises(ValueError):
        AgentPair(Scripted(str), Scripted(str), mode="two-pass")


def test_env_mode_is_the_default(env):
    type(env).mode = "iterative"
    try:
        planner = Scripted(plan_once)
        AgentPair(planner, Scripted(ground_add)).run(env.load("test")[1:2], env)
        assert len(planner.calls) == 2
    finally:
        type(env).mode = "one-pass"


def test_empty_batch_makes_no_calls(env):
    planner = Scripted(str)
    assert AgentPair(planner, Scripted(str)).run([], env) == [] and planner.calls == []


def test_executions_and_final_answers_are_batched_per_round(env):
    calls = {"execute_batch": [], "final_answers": []}

    class Batched(type(env)):
        def execute_batch(self, executors, lines):
            calls["execute_batch"].append(len(lines))
            return super().execute_batch(executors, lines)

        def final_answers(self, executors):
            calls["final_answers"].append(len(executors))
            return super().final_answers(executors)

    benv = Batched(n=10)
    tasks = [t for t in benv.load("test") if t.meta["a"] in (1, 2, 7)]
    trajs = AgentPair(Scripted(plan_once), Scripted(ground_add), mode="iterative", max_rounds=3).run(tasks, benv)
    assert calls == {"execute_batch": [3, 1, 1], "final_answers": [3]}
    assert [t.status for t in trajs] == [SampleStatus.OK, SampleStatus.OK, SampleStatus.MAX_ROUNDS]


def test_a_crashing_batch_falls_back_to_single_executions(env):
    class Crashy(type(env)):
        def execute_batch(self, executors, lines):
            raise RuntimeError("reader down")

        def final_answers(self, executors):
            raise RuntimeError("also down")

    cenv = Crashy(n=3)
    real = type(env)(n=3)

    class BadFinal:
        def __init__(self, inner):
            self.inner = inner

        def execute(self, line):
            return self.inner.execute(line)

        def final_answer(self):
            raise ValueError("no store")

        def close(self):
            pass

    cenv.session = lambda task: BadFinal(real.session(task)) if task.meta["a"] == 2 else real.session(task)
    trajs = AgentPair(Scripted(lambda p: "Subgoal 1: Add."), Scripted(ground_add)).run(cenv.load("test"), cenv)
    assert [t.final_answer for t in trajs] == ["0", "3", None]
    assert trajs[2].status == SampleStatus.TOOL_ERROR and "no store" in trajs[2].error
