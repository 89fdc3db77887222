"""The AgentTuning-style single-agent baseline: ReAct records, the inference loop, train + eval;
and `harness train lumos` + `harness train moat --from` with ablation flags."""

from __future__ import annotations

import json

import pytest
from training_helpers import FIXTURES, Scripted, fixture_examples, gsm8k_env, one_thread

from agents.producers.agenttuning import ReActAgent
from harness.cli import main
from harness.records import SampleStatus
from training import agenttuning as R

CONFIG = {"data": {"formulations": ["one-pass"], "sources": [
    {"env": "gsm8k", "split": "train", "limit": 16, "options": {"isolation": "inprocess"}}]}}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_thread()


@pytest.fixture(scope="module")
def examples():
    return fixture_examples()[0]


def test_react_records_golden(examples):
    sara = next(e for e in examples if e.question.startswith("Sara had 50"))
    msgs = R.react_messages(sara)
    assert msgs[0]["content"].startswith(R.REACT_INSTRUCTION + "The available action list is 'Calculator'")
    assert msgs[0]["content"].endswith("Task: " + sara.question)
    assert msgs[1]["content"] == f"Thought: {sara.subgoals[0]}\nAction: R1 = Calculator(50 - 18)"
    assert msgs[2]["content"] == "Observation: 32"
    assert msgs[-1]["content"] == "Thought: I have reached the final answer.\nAction: Finish"
    assert len(msgs) == 2 + 2 * len(sara.subgoals)


def test_parse_turn():
    assert R.parse_turn("Thought: add them\nAction: R1 = Calculator(1 + 2)\nObservation: 3") == (
        "add them", "R1 = Calculator(1 + 2)")
    assert R.parse_turn("garbage") == ("", "")
    assert R.is_finish("Finish") and R.is_finish(" Finish.") and not R.is_finish("R1 = Finish(2)")


def test_react_agent_replays_gold_and_records_failures(examples):
    env = gsm8k_env()
    by_question = {e.question: e for e in examples}

    def respond(prompt: str) -> str:
        q = prompt.split("Task: ", 1)[1].split("\n", 1)[0].strip()
        ex = by_question.get(q)
        if ex is None:
            return "Thought: no idea"
        done = prompt.count("Observation:")
        if done >= len(ex.subgoals):
            return R.agent_turn(R.FINAL_THOUGHT, R.FINISH)
        return R.agent_turn(ex.subgoals[done], ex.actions[done])

    agent = ReActAgent(Scripted(respond), max_rounds=None, max_new_tokens=64, extra_config={})
    tasks = [e.to_task() for e in examples[:4]]
    trajs = agent.run(tasks, env)
    assert [env.score(t, tr)["em_numeric"] for t, tr in zip(tasks, trajs)] == [1.0] * 4
    assert all(tr.status == SampleStatus.OK for tr in trajs)
    bad = tasks[0].model_copy(update={"question": "unknown question"})
    tr = agent.run([bad], env)[0]
    assert tr.status == SampleStatus.INVALID_ACTION and tr.final_answer is None
    assert agent.config()["format"] == "react"


def test_train_and_eval_agenttuning(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(CONFIG))
    out = tmp_path / "at"
    assert main(["train", "agenttuning", "--preset", "tiny", "--out", str(out), "--data-dir", str(FIXTURES),
                 "--config", str(cfg)]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["complete"] and m["stages"]["react_data"]["metrics"]["records"] == 11
    assert (out / m["outputs"]["agent"] / "adapter_config.json").exists()
    monkeypatch.setenv("HARNESS_AGENTTUNING_RUN", str(out))
    agent_cfg = tmp_path / "agent.json"
    agent_cfg.write_text(json.dumps({"agent": {"max_new_tokens": 16, "max_rounds": 2}}))
    assert main(["eval", "--agents", "agenttuning", "--benchmarks", "gsm8k", "--limit", "1", "--data-dir",
                 str(FIXTURES), "--output-dir", str(tmp_path / "e"), "--config", str(agent_cfg)]) == 0
    conf = json.loads((tmp_path / "e" / "agenttuning" / "gsm8k-test" / "config.json").read_text())["agent_config"]
    assert conf["format"] == "react" and conf["train_run"] == str(out.resolve())


def test_lumos_then_moat_from_with_ablations(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(CONFIG | {"moat": {"dev_eval": False}}))
    lumos = tmp_path / "lumos"
    base = ["--preset", "tiny", "--data-dir", str(FIXTURES), "--config", str(cfg)]
    assert main(["train", "moat", "--from", str(lumos), "--out", str(tmp_path / "m0"), *base]) == 2  # not trained
    assert main(["train", "lumos", "--out", str(lumos), *base]) == 0
    out = tmp_path / "moat"
    assert main(["train", "moat", "--from", str(lumos), "--out", str(out), "--iterations", "1", "--k", "2",
                 "--no-stage2", "--critic", "none", *base]) == 0
    m = json.loads((out / "manifest.json").read_text())
    stages = m["stages"]
    assert "lumos_planner" not in stages and stages["link_cold_start"]["status"] == "done"
    assert stages["moat_iter1_dpo"]["status"] == "done" or stages["moat_iter1_reward"]["metrics"]["pairs_kept"] == 0
    assert "moat_iter1_grounder_sft" not in stages and "moat_iter1_critic" not in stages  # --no-stage2
    assert m["outputs"]["grounder"] == m["outputs"]["cold_grounder"]  # grounder unchanged
    assert m["config"]["config"]["moat"]["k"] == 2 and m["config"]["config"]["moat"]["critic"]["kind"] == "none"
    monkeypatch.setenv("HARNESS_TRAIN_DIR", str(tmp_path))
    assert main(["eval", "--agents", "lumos", "--benchmarks", "gsm8k", "--limit", "1", "--data-dir", str(FIXTURES),
                 "--output-dir", str(tmp_path / "e"), "--config", str(_agent_cfg(tmp_path))]) == 0


def _agent_cfg(tmp_path):
    p = tmp_path / "agent.json"
    p.write_text(json.dumps({"agent": {"max_new_tokens": 8}}))
    return p
