"""MOAT reward/pair selection and the three critics (execution, LLM with the paper's prompt, none)."""

from __future__ import annotations

import math

import pytest
from training_helpers import Scripted, fixture_examples, gsm8k_env

from training.critic import (
    CRITIC_PROMPT,
    Candidate,
    ExecutionCritic,
    LLMCritic,
    NoCritic,
    parse_critic_output,
    same_result,
    split_subgoal_line,
)
from training.records import plan_steps
from training.reward import best_sample, score_samples, select_pair, summarize


@pytest.fixture(scope="module")
def examples():
    return fixture_examples()[0]


@pytest.fixture(scope="module")
def sara(examples):
    return next(e for e in examples if e.question.startswith("Sara had 50"))


def test_reward_is_gold_action_nll_given_each_plan(sara):
    step = plan_steps(sara, "one-pass")[0]
    # a fake grounder whose NLL is low when the plan mentions "subtract"
    grounder = Scripted(lambda p: "", nll_fn=lambda p, c: 0.5 if "subtract" in p else 2.0)
    samples = [["Subgoal 1: subtract 18", "Subgoal 1: dance", "Subgoal 1: sing"]]
    nll = score_samples(grounder, [step], samples, eos="<eos>")
    assert nll == [[0.5, 2.0, 2.0]]
    prompt, cont = grounder.nll_calls[0]
    assert cont == "R1 = Calculator(50 - 18); R2 = Calculator(R1 + 5)<eos>"  # gold actions + EOS
    assert prompt == step.ground_prompt("Subgoal 1: subtract 18") and prompt.endswith("subtract 18\n<|assistant|>\n")


def test_pair_is_min_vs_max_nll_with_gap_filter(sara):
    step = plan_steps(sara, "one-pass")[0]
    pair = select_pair(step, ["a", "b", "c", "d"], [1.3, 0.9, math.nan, 1.2], min_gap=0.1)
    assert (pair.chosen, pair.rejected) == ("b", "a") and pair.prompt == step.plan_prompt
    assert pair.gap == pytest.approx(0.4)
    assert select_pair(step, ["a", "b"], [1.0, 1.05], min_gap=0.1) is None  # gap < 0.1: dropped
    assert select_pair(step, ["a", "a"], [1.0, 2.0], min_gap=0.1) is None  # identical texts
    assert select_pair(step, ["a"], [1.0], min_gap=0.0) is None
    assert best_sample(["x", "y"], [2.0, 1.0]) == ("y", 1.0)
    s = summarize([[1.3, 0.9, 1.2]], [pair], 1)
    assert s["pairs_kept"] == 1 and s["chosen_nll"] == pytest.approx(0.9) and s["mean_nll"] == pytest.approx(3.4 / 3)


def test_execution_critic_accepts_correct_and_replaces_wrong(examples, sara):
    env = gsm8k_env()
    critic = ExecutionCritic({"gsm8k": env})
    good = Candidate(sara, None, ["x"], "R1 = Calculator(50 - 18); R2 = Calculator(R1 + 5)")
    other_way = Candidate(sara, None, ["x"], "R1 = Calculator(50 + 5 - 18)")  # different actions, right answer
    wrong = Candidate(sara, None, ["x"], "R1 = Calculator(50 - 5)")
    broken = Candidate(sara, None, ["x"], "R1 = Calculator(50 -")
    turn0_ok = Candidate(sara, 0, ["x"], "R1 = Calculator(50 - 18)")
    turn1_bad = Candidate(sara, 1, ["a", "b"], "R2 = Calculator(R1 * 5)")
    v = critic.judge([good, other_way, wrong, broken, turn0_ok, turn1_bad])
    assert [x.status for x in v] == ["accepted", "accepted", "gold", "gold", "accepted", "gold"]
    assert v[2].actions == "; ".join(sara.actions)
    assert v[5].actions == sara.actions[1]
    assert NoCritic().judge([wrong])[0].status == "accepted"


@pytest.mark.parametrize("text,expected", [
    ("Final answer reached", ("accepted", None, None)),
    ("<think>maybe not. Final answer reached?</think>\nCorrected Subgoals: Subgoal 1: a; Subgoal 2: b\n"
     "Corrected Actions: R1 = Calculator(1 + 1); R2 = Calculator(R1 * 2)",
     ("corrected", "Subgoal 1: a; Subgoal 2: b", "R1 = Calculator(1 + 1); R2 = Calculator(R1 * 2)")),
    ("Corrected Subgoals: Subgoal 1: a\n(no actions)", ("unverified", None, None)),
    ("", ("unverified", None, None)),
    ("I think the FINAL ANSWER REACHED.", ("accepted", None, None)),
])
def test_parse_critic_output(text, expected):
    assert parse_critic_output(text) == expected


def test_llm_critic_prompt_and_verdicts(sara):
    outputs = iter([
        "Final answer reached",
        "Corrected Subgoals: Subgoal 1: take 18; Subgoal 2: add 5\nCorrected Actions: R1 = Calculator(50 - 18); "
        "R2 = Calculator(R1 + 5)",
        "no idea",
    ])
    backend = Scripted(lambda p: next(outputs))
    action_list = sara.header.split("The available action list is ", 1)[1].strip().replace("\n", " ")
    critic = LLMCritic(backend, {"gsm8k": action_list}, include_gold=True, on_unparsed="drop")
    cands = [Candidate(sara, None, ["a", "b"], "R1 = Calculator(50 - 18)") for _ in range(3)]
    v = critic.judge(cands)
    assert [x.status for x in v] == ["accepted", "corrected", "dropped"]
    assert v[1].subgoals == ["take 18", "add 5"] and v[1].actions.startswith("R1 = Calculator(50 - 18); R2")
    assert v[2].actions is None
    prompt = backend.prompts[0]
    assert prompt.startswith("Given a task and a corresponding series of subgoals and their corresponding actions")
    assert "The available action list is 'Calculator', 'SetEquation'" in prompt
    assert "Original subgoals: Subgoal 1: a; Subgoal 2: b\n\nOriginal actions: R1 = Calculator(50 - 18)" in prompt
    assert "Reference answer (the correct final answer of the task): 37" in prompt
    assert prompt.endswith("Corrected Actions: <corresponding actions in one line>")
    no_gold = LLMCritic(Scripted(lambda p: "Final answer reached"), {}, include_gold=False).prompt(cands[0])
    assert "Reference answer" not in no_gold
    assert CRITIC_PROMPT.count("{") == 5  # ACTION_LIST, TASK, SUBGOALS, ACTIONS, REFERENCE


def test_helpers():
    assert split_subgoal_line("Subgoal 1: a b; Subgoal 2: c;") == ["a b", "c"]
    assert same_result("1,000", "1000.0") and same_result("$5", "5") and not same_result("5", "6")
    assert same_result("Yes", "yes") and not same_result(None, "1")


def test_candidates_best_vs_all_and_mixing(examples, tmp_path):
    """MOAT stage-2 inputs: the lowest-NLL plan per step (paper A.1 / code) or every distinct plan
    (Algorithm 1); corrected records mixed 1:1 with the initial grounding data, or concatenated."""
    import json
    from types import SimpleNamespace

    from training.moat import MoatTrainer
    from training.presets import build_config

    sara = next(e for e in examples if e.question.startswith("Sara had 50"))
    step = plan_steps(sara, "one-pass")[0]
    d = tmp_path / "iter"
    d.mkdir()
    (d / "samples.jsonl").write_text(json.dumps({"key": step.id, "samples": ["p1", "p2", "p1", "p3"]}) + "\n")
    (d / "rewards.jsonl").write_text(json.dumps({"key": step.id, "nll": [0.7, 0.2, 0.7, 0.9]}) + "\n")
    (d / "regen.jsonl").write_text(json.dumps({"key": f"{step.id}|0", "actions": "R1 = Calculator(50 - 12)"}) + "\n")
    (tmp_path / "data").mkdir()
    initial = [{"messages": [{"role": "user", "content": f"u{i}"}, {"role": "assistant", "content": "a"}]}
               for i in range(5)]
    (tmp_path / "data" / "ground_sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in initial))

    class Run(SimpleNamespace):
        def sub(self, *parts):
            return tmp_path.joinpath(*parts)

        def record_data(self, path, **kw):
            self.recorded = path

        def output(self, key):
            return None

    cfg = build_config("tiny")
    t = MoatTrainer(Run(), cfg)
    t.steps, t.by_id = [step], {sara.id: sara}
    t.envs = {"gsm8k": gsm8k_env()}
    assert [(s, v) for _, s, v in t._candidates(d)] == [("p2", 0.2)]
    t.m = cfg.moat.model_copy(update={"grounder_candidates": "all"})
    assert [s for _, s, _ in t._candidates(d)] == ["p2", "p1", "p3"]  # distinct, best first
    t.m = cfg.moat  # best; execution critic: 50 - 12 is wrong -> replaced by the gold actions
    metrics = t._critic(d)
    assert metrics["critic_counts"] == {"gold": 1} and metrics["initial_records_mixed"] == 1
    rows = [json.loads(x) for x in (d / "grounder_sft.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["messages"][-1]["content"] == "; ".join(sara.actions)
    t.m = cfg.moat.model_copy(update={"mix": "concat"})
    assert t._critic(d)["initial_records_mixed"] == 5
