"""The ``checkpoint`` producer: a released planner/grounder pair (full models or hub ids) in Lumos'
exact inference strings (SPEC a.1, a.5), golden on the whole prompt text of a multi-round trajectory,
and end to end with tiny full-model directories saved locally."""

from __future__ import annotations

import json

import pytest
from backends_tiny import build_tiny_checkpoint
from training_helpers import FIXTURES, Scripted, gsm8k_env

import agents.backends as backends_mod
from agents.producers.checkpoint import CheckpointProducer, fingerprint, mode_from_name
from harness.agent import AgentOptions
from harness.cli import main
from harness.errors import ConfigError

P = "Please provide a reasonable subgoal-based plan to solve the given task.\n"
H = ("Please ground the given subgoal to corresponding executable actions for solving the given task. The grounded "
     "actions must be the one in available action list.\n\nThe available action list is 'Calculator', 'SetEquation', "
     "'SolveEquation', 'Count', 'SolveInequality', 'Code', and 'Define'.\nCalculator(formula): Calculate the input "
     "formula; SetEquation(equation): Set up an equation to be solved; SolveEquation(equation): Solve the previous set "
     "equation; Count(list): Count the number of elements in the given list; SolveInequality(inequality): Solve the "
     "previous set inequality; Code(pseudo_code): Generate a Python function that corresponds to the pseudo code; "
     "Define(variable/number): Define a variable or a number for latter usage.\n\n")
Q = "Ali has 14 coins and finds 6 more. How many coins does he have?"
PLAN_OUT = ["Subgoal 1: Add the coins he finds to the coins he has.",
            "No, I will keep planning. Subgoal 2: Double check by subtracting zero.",
            "Yes, I will stop planning."]
GROUND_OUT = ["R1 = Calculator(14 + 6)", "R2 = Calculator(R1 - 0)"]


def _scripted(outputs):
    it = iter(outputs)
    return Scripted(lambda prompt: next(it))


def test_multi_round_prompts_are_lumos_strings_byte_for_byte(monkeypatch):
    planner, grounder = _scripted(PLAN_OUT), _scripted(GROUND_OUT)
    loaded = []

    def fake_load(name, model=None, **kw):
        loaded.append((name, model, kw))
        return planner if "plan" in model else grounder

    monkeypatch.setattr(backends_mod, "load_backend", fake_load)
    agent = CheckpointProducer().build(AgentOptions(planner="ai2lumos/lumos_maths_plan_iterative",
                                                    grounder="ai2lumos/lumos_maths_ground_iterative"))
    assert agent.mode == "iterative" and agent.fewshot is None and agent.chat_format == "lumos"
    assert agent.planner_params.max_new_tokens == 512 and agent.planner_params.stop == ("\n",)
    assert agent.planner_params.temperature == 0.0
    env = gsm8k_env()
    task = next(t for t in env.load("test") if t.question == Q)
    traj = agent.run([task], env)[0]
    env.close()
    plan1 = "<|user|>\n" + P + "Task: " + Q + "; Initial Environment Description: None.\n<|assistant|>\n"
    plan2 = (plan1 + PLAN_OUT[0] + "\n\n<|user|>\nThe executed result for Subgoal 1 is 20. Should we stop planning?"
             "\n<|assistant|>\n")
    plan3 = (plan2 + PLAN_OUT[1] + "\n\n<|user|>\nThe executed result for Subgoal 2 is 20. Should we stop planning?"
             "\n<|assistant|>\n")
    ground1 = ("<|user|>\n" + H + "Task: " + Q + " \nSubgoal to be grounded: Subgoal 1: Add the coins he finds to "
               "the coins he has.\n<|assistant|>\n")
    # "No, I will keep planning. " is stripped before the subgoal reaches the grounder (SPEC a.5, Harness)
    ground2 = (ground1 + GROUND_OUT[0] + "\n\n<|user|>\nSubgoal to be grounded: Subgoal 2: Double check by "
               "subtracting zero.\n<|assistant|>\n")
    assert planner.prompts == [plan1, plan2, plan3]
    assert grounder.prompts == [ground1, ground2]
    assert traj.final_answer is not None and float(traj.final_answer) == 20
    cfg = agent.config()
    assert cfg["producer"] == "checkpoint" and cfg["checkpoints"]["planner"] == {
        "id": "ai2lumos/lumos_maths_plan_iterative", "source": "hub"}


def test_mode_from_the_checkpoint_name_and_option():
    assert mode_from_name("ai2lumos/lumos_maths_plan_iterative") == "iterative"
    assert mode_from_name("/ckpt/lumos_complex_qa_plan_onetime/") == "one-pass"
    assert mode_from_name("some/moat-planner") is None


def test_needs_both_models_and_refuses_adapters(tmp_path):
    with pytest.raises(ConfigError, match="--planner and --grounder"):
        CheckpointProducer().build(AgentOptions(planner="x"))
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(ConfigError, match="LoRA adapter"):
        CheckpointProducer().build(AgentOptions(planner=str(tmp_path), grounder=str(tmp_path)))


def test_fingerprint_changes_with_the_weights(tmp_path):
    a = build_tiny_checkpoint(tmp_path / "a", seed=0)
    snap = tmp_path / "hub" / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    assert fingerprint(str(snap))["revision"] == "0123abcd"
    before = fingerprint(str(a))["files_digest"]
    (a / "config.json").write_text((a / "config.json").read_text().replace("}", ', "x": 1}', 1))
    assert fingerprint(str(a))["files_digest"] != before


def test_eval_runs_local_full_model_directories(tmp_path):
    plan = build_tiny_checkpoint(tmp_path / "lumos_maths_plan_iterative", seed=1)
    ground = build_tiny_checkpoint(tmp_path / "lumos_maths_ground_iterative", seed=2)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"agent": {"max_new_tokens": 8, "max_rounds": 2, "backend_options": {"dtype": "float32"}},
                               "env": {"gsm8k": {"isolation": "inprocess"}}}))
    out = tmp_path / "runs"
    rc = main(["eval", "--agents", "checkpoint", "--benchmarks", "gsm8k", "--limit", "2", "--data-dir", str(FIXTURES),
               "--planner", str(plan), "--grounder", str(ground), "--output-dir", str(out), "--config", str(cfg)])
    assert rc == 0
    run = out / "checkpoint" / "gsm8k-test"
    config = json.loads((run / "config.json").read_text())["agent_config"]
    assert config["mode"] == "iterative" and config["chat_format"] == "lumos"
    assert config["checkpoints"]["planner"]["source"] == "local"
    assert json.loads((run / "results.json").read_text())["n"] == 2
