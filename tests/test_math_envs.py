"""GSM8K and SVAMP environments: loading, subsets, missing data, tools, scoring, oracle end to end.

Hand-written fixtures by default; the tests on the real files skip when ``HARNESS_DATA_DIR`` lacks them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agents.producers.oracle import OracleAgent
from envs.math.gsm8k import GSM8K
from envs.math.svamp import SVAMP
from harness.data import DataMissingError, sha256_file
from harness.records import SampleStatus, Task, Trajectory
from harness.runner import evaluate

GSM = [
    {
        "question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?",
        "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips "
        "altogether in April and May.\n#### 72",
    },
    {
        "question": "A plant costs $1,200 and a pot 300 dollars. What do both cost?",
        "answer": "Both cost 1200+300 = $<<1200+300=1500>>1,500.\n#### 1,500",
    },
    {
        "question": "Let the goats be x; cows are 4+x and pigs 2(4+x); 56 animals in total. How many goats?",
        "answer": "Total:x+4+x+8+2x=56\n4x+12=56\n4x=44\nx=<<11=11>>11 goats\n#### 11",
    },
]
SV = [
    {
        "ID": "chal-1",
        "Body": "Each pack of dvds costs 76 dollars. If there is a discount of 25 dollars on each pack",
        "Question": "How much do you have to pay to buy each pack?",
        "Equation": "( 76.0 - 25.0 )",
        "Answer": 51.0,
        "Type": "Subtraction",
    },
    {
        "ID": "chal-2",
        "Body": "Dan had 3 boxes of 5 pens and 2 more pens.",
        "Question": "How many pens?",
        "Equation": "( ( 3.0 * 5.0 ) + 2.0 )",
        "Answer": 17.0,
        "Type": "Addition",
    },
]


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "gsm8k").mkdir()
    for split in ("test", "train"):
        (tmp_path / "gsm8k" / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in GSM))
    (tmp_path / "svamp").mkdir()
    (tmp_path / "svamp" / "SVAMP.json").write_text(json.dumps(SV))
    return tmp_path


def test_class_attributes():
    assert (GSM8K.name, GSM8K.domain, GSM8K.splits, GSM8K.default_split) == ("gsm8k", "math", ("test", "train"), "test")
    assert (SVAMP.name, SVAMP.splits, SVAMP.default_split) == ("svamp", ("test",), "test")
    for cls in (GSM8K, SVAMP):
        assert cls.main_metric == "em_numeric" and cls.mode == "one-pass"


def test_gsm8k_load_gold_and_trajectories(data_dir):
    env = GSM8K(data_dir=data_dir, isolation="inprocess")
    tasks = env.load("test")
    assert [t.gold for t in tasks] == ["72", "1500", "11"]
    assert tasks[0].id == "gsm8k-test-0" and tasks[0].question.startswith("Natalia")
    assert tasks[0].gold_actions == ["R1 = Calculator(48 / 2)", "R2 = Calculator(48 + R1)"]
    assert tasks[2].gold_actions == ["R1 = SolveEquation(4x = 44)"]
    assert len(env.load("test", limit=1)) == 1
    assert env.data_checksum("test") and env.data_checksum("test") != env.data_checksum("train")  # names differ


def test_default_subset_applies_and_limit_overrides(data_dir, monkeypatch):
    monkeypatch.setattr(GSM8K, "paper_n", {"test": 2})
    env = GSM8K(data_dir=data_dir)
    assert len(env.load("test")) == 2
    assert len(env.load("test", limit=3)) == 3
    assert len(env.load("train")) == 3


def test_svamp_load(data_dir):
    tasks = SVAMP(data_dir=data_dir).load("test")
    assert tasks[0].question == (
        "Each pack of dvds costs 76 dollars. If there is a discount of 25 dollars on each "
        "pack How much do you have to pay to buy each pack?"
    )
    assert [t.gold for t in tasks] == ["51", "17"]
    assert tasks[1].gold_actions == ["R1 = Calculator(3 * 5)", "R2 = Calculator(R1 + 2)"]
    assert tasks[1].id == "chal-2"


def test_missing_data_is_one_clear_line(tmp_path):
    with pytest.raises(DataMissingError) as err:
        GSM8K(data_dir=tmp_path).load("test")
    msg = str(err.value)
    assert "\n" not in msg and "gsm8k/test.jsonl" in msg and "harness data download gsm8k" in msg
    with pytest.raises(DataMissingError):
        SVAMP(data_dir=tmp_path).load("test")
    assert GSM8K(data_dir=tmp_path).data_checksum("test") is None
    assert GSM8K(data_dir=tmp_path).self_check()


def test_unknown_split_and_isolation(data_dir):
    with pytest.raises(ValueError):
        GSM8K(data_dir=data_dir).load("dev")
    with pytest.raises(ValueError):
        GSM8K(data_dir=data_dir, isolation="docker")


def test_data_files_have_public_urls_and_checksums():
    for env in (GSM8K(), SVAMP()):
        for f in env.data_files():
            assert f.url.startswith("https://raw.githubusercontent.com/") and len(f.sha256) == 64


def test_tools_order_and_prompt_text():
    names = [t.name for t in GSM8K().tools()]
    assert names == ["Calculator", "SetEquation", "SolveEquation", "Count", "SolveInequality", "Code", "Define"]
    assert SVAMP().tools()[0].signature == "Calculator(formula)"


def test_score_requires_ok_status(data_dir):
    env = GSM8K(data_dir=data_dir)
    task = Task(id="t", question="q", gold="1,000")
    assert env.score(task, Trajectory(final_answer="1000")) == {"em_numeric": 1.0, "em_strict": 1.0}
    assert env.score(task, Trajectory(final_answer="$1,000")) == {"em_numeric": 1.0, "em_strict": 0.0}
    bad = Trajectory(final_answer="1000", status=SampleStatus.TOOL_ERROR)
    assert env.score(task, bad) == {"em_numeric": 0.0, "em_strict": 0.0}


@pytest.mark.parametrize("isolation", ["worker", "inprocess"])
def test_oracle_end_to_end_through_the_runner(data_dir, tmp_path, isolation):
    for env in (GSM8K(data_dir=data_dir, isolation=isolation), SVAMP(data_dir=data_dir, isolation=isolation)):
        try:
            result = evaluate(env, OracleAgent(), "oracle", "test", tmp_path / "runs" / isolation)
        finally:
            env.close()
        assert result.metrics["em_numeric"] == 1.0 and result.n == result.n_original
        lines = (
            (tmp_path / "runs" / isolation / "oracle" / f"{env.name}-test" / "samples.jsonl").read_text().splitlines()
        )
        assert len(lines) == result.n


def test_session_state_is_per_task(data_dir):
    env = GSM8K(data_dir=data_dir, isolation="inprocess")
    a, b = env.session(Task(id="a", question="q")), env.session(Task(id="b", question="q"))
    a.execute("R1 = Calculator(2 + 2)")
    assert a.final_answer() == "4" and b.final_answer() is None
    assert b.execute("R2 = Calculator(R1)")[0].error_kind == "invalid_action"


# -- the real files ------------------------------------------------------------------------------
REAL = Path(os.environ.get("HARNESS_DATA_DIR", "/nonexistent"))
needs_gsm8k = pytest.mark.skipif(
    not (REAL / "gsm8k" / "train.jsonl").exists(), reason="HARNESS_DATA_DIR has no gsm8k data"
)
needs_svamp = pytest.mark.skipif(
    not (REAL / "svamp" / "SVAMP.json").exists(), reason="HARNESS_DATA_DIR has no svamp data"
)


@needs_gsm8k
def test_real_gsm8k_subsets_and_checksums():
    env = GSM8K(data_dir=REAL)
    for f in env.data_files():
        assert sha256_file(REAL / f.path) == f.sha256
    tasks = env.load("test")
    assert len(tasks) == 500 and tasks[0].gold == "18"
    assert sum("," in t.gold for t in tasks) == 0
    assert sum(1 for _ in open(REAL / "gsm8k" / "train.jsonl")) == 7473  # load("train") reads them all


@needs_svamp
def test_real_svamp_all_1000():
    env = SVAMP(data_dir=REAL)
    assert sha256_file(REAL / env.data_files()[0].path) == env.data_files()[0].sha256
    tasks = env.load("test")
    assert len(tasks) == 1000 and tasks[0].gold == "51"
    assert sum(t.gold_actions is None for t in tasks) == 1  # chal-555: Equation "8.0" has no operator


@needs_gsm8k
def test_real_gsm8k_oracle_sample_without_leaks(tmp_path):
    from envs.math.gold import gold_leaks

    env = GSM8K(data_dir=REAL, isolation="inprocess")
    tasks = env.load("train", limit=300)
    assert not any(t.gold_actions and gold_leaks(t.gold_actions, t.gold) for t in tasks)
    trajs = OracleAgent().run(tasks, env)
    em = sum(env.score(t, tr)["em_numeric"] for t, tr in zip(tasks, trajs)) / len(tasks)
    assert em >= 0.93
