"""Gold examples -> Lumos SFT records and MOAT plan steps; the plan steps' prompts are exactly the
strings AgentPair sends at inference (checked by replaying AgentPair against them)."""

from __future__ import annotations

import pytest

from agents import prompts as P
from agents.pair import AgentPair
from training.records import grounder_record, plan_messages, plan_steps, sft_records
from training.datasets import GoldExample
from training_helpers import Scripted, fixture_examples, gsm8k_env


@pytest.fixture(scope="module")
def examples():
    exs, stats = fixture_examples()
    return exs


def _ex(examples, start: str) -> GoldExample:
    return next(e for e in examples if e.question.startswith(start))


def test_gold_examples_are_executed_and_filtered(examples):
    _, stats = fixture_examples()
    assert stats["dropped: in evaluation set gsm8k-test"] == 1  # the pizza problem
    assert stats["dropped: in evaluation set svamp"] == 1  # Leo's savings
    sara = _ex(examples, "Sara had 50")
    assert sara.results == ["32", "37"] and sara.answer == "37"
    assert sara.actions == ["R1 = Calculator(50 - 18)", "R2 = Calculator(R1 + 5)"]
    assert sara.header.startswith(P.GROUND_INSTRUCTION) and "'Calculator'" in sara.header


def test_plan_records_golden(examples):
    sara = _ex(examples, "Sara had 50")
    one = plan_messages(sara, "one-pass")
    assert one[1]["content"] == f"Subgoal 1: {sara.subgoals[0]}; Subgoal 2: {sara.subgoals[1]}"
    it = plan_messages(sara, "iterative")
    assert [m["role"] for m in it] == ["user", "assistant", "user", "assistant", "user", "assistant"]
    assert it[1]["content"] == f"Subgoal 1: {sara.subgoals[0]}"
    assert it[2]["content"] == "The executed result for Subgoal 1 is 32. Should we stop planning?"
    assert it[3]["content"] == f"No, I will keep planning. Subgoal 2: {sara.subgoals[1]}"
    assert it[5]["content"] == "Yes, I will stop planning."
    recs = sft_records([sara], "ground", ["one-pass", "iterative"])
    assert [r["dataset"] for r in recs] == ["gsm8k_ground_onetime", "gsm8k_ground_iterative"]
    assert recs[0]["messages"][1]["content"] == "R1 = Calculator(50 - 18); R2 = Calculator(R1 + 5)"
    assert recs[1]["messages"][2]["content"] == f"Subgoal to be grounded: Subgoal 2: {sara.subgoals[1]}"
    assert "Results" not in recs[1]["messages"][1]["content"]  # grounder targets never carry results


@pytest.mark.parametrize("mode", ["one-pass", "iterative"])
def test_plan_step_prompts_equal_agentpair_prompts(examples, mode):
    """Replay AgentPair with backends that only answer prompts the plan steps produced."""
    env = gsm8k_env()
    answers: dict[str, str] = {}
    for ex in examples:
        for step in plan_steps(ex, mode):
            answers[step.plan_prompt] = step.gold_plan
            answers[step.ground_prompt(step.gold_plan)] = step.gold_actions
        if mode == "iterative":
            answers[P.serialize_lumos(plan_messages(ex, "iterative")[:-1])] = P.STOP_PLANNING_TURN
    missing: list[str] = []

    def respond(prompt: str) -> str:
        if prompt not in answers:
            missing.append(prompt)
            return ""
        return answers[prompt]

    planner, grounder = Scripted(respond), Scripted(respond)
    pair = AgentPair(planner, grounder, mode=mode)
    tasks = [ex.to_task() for ex in examples]
    trajs = pair.run(tasks, env)
    assert not missing, missing[0][-300:]
    assert all(env.score(t, tr)["em_numeric"] == 1.0 for t, tr in zip(tasks, trajs))
    assert len(grounder.prompts) == sum(len(ex.subgoals) if mode == "iterative" else 1 for ex in examples)


def test_grounder_record_uses_the_sampled_plan(examples):
    sara = _ex(examples, "Sara had 50")
    step = plan_steps(sara, "one-pass")[0]
    rec = grounder_record(sara, step, "Subgoal 1: take 18 away; Subgoal 2: add 5\nextra line", "R1 = Calculator(50 - 18)")
    assert rec["loss_on"] == "last"
    assert rec["messages"][0]["content"].endswith("Subgoals to be grounded: Subgoal 1: take 18 away; Subgoal 2: add 5")
    it = plan_steps(sara, "iterative")[1]
    rec = grounder_record(sara, it, "No, I will keep planning. Subgoal 2: add five", "R2 = Calculator(R1 + 5)")
    assert rec["messages"][-2]["content"] == "Subgoal to be grounded: Subgoal 2: add five"
    assert rec["messages"][1]["content"] == sara.actions[0]  # gold history before the sampled turn
    fixed = grounder_record(sara, it, "junk", "R1 = Calculator(50 - 18 + 5)", corrected_subgoals=["do it all"])
    assert fixed["messages"][0]["content"].endswith("Subgoals to be grounded: Subgoal 1: do it all")
