"""HotpotQA and StrategyQA environments: splits, gold trajectories, scoring, notes, oracle replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from qa_helpers import FakeBackend, write_qa_data

from agents.producers.oracle import OracleAgent
from envs.qa.hotpotqa import HotpotQA
from envs.qa.reader import Reader
from envs.qa.strategyqa import StrategyQA
from envs.qa.tools import PROMPT_DESCRIPTIONS
from harness.records import ActionResult, SampleStatus, Task, Trajectory, Turn


@pytest.fixture()
def qa_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    return write_qa_data(tmp_path / "data")


def with_fake_reader(env, fn) -> FakeBackend:
    backend = FakeBackend(fn)
    env._reader = Reader(lambda: backend)
    return backend


class _WordReranker:
    def rank(self, query: str, passages: list[str], k: int = 5) -> list[int]:
        words = set(query.lower().split())
        return sorted(range(len(passages)), key=lambda i: -len(words & set(passages[i].lower().split())))[:k]


def test_attributes_and_tools() -> None:
    attrs = (HotpotQA.domain, HotpotQA.mode, HotpotQA.main_metric, HotpotQA.default_split)
    assert attrs == ("qa", "iterative", "em", "lumos")
    assert HotpotQA.max_rounds == 5
    assert (StrategyQA.domain, StrategyQA.mode, StrategyQA.main_metric) == ("qa", "one-pass", "accuracy")
    assert set(StrategyQA.splits) == {"lumos", "dev", "train"}
    names = [t.name for t in HotpotQA(data_dir="/nonexistent").tools()]
    assert names == ["KnowledgeQuery", "ParagraphRetrieve", "QA", "Calculator", "Code"]


def test_grounding_header_is_lumos_exact() -> None:
    from agents.prompts import render_header, style_for

    env = HotpotQA(data_dir="/nonexistent")
    header = render_header(env.tools(), style_for(env))
    assert header == (
        "Please ground the given subgoal to corresponding executable actions for solving the given task. The "
        "grounded actions must be the one in available action list.\n\nThe available action list is "
        "'KnowledgeQuery', 'ParagraphRetrieve', 'QA', 'Calculator', and 'Code'.\n" + PROMPT_DESCRIPTIONS + "\n\n"
    )


def test_entry_points_declared() -> None:
    import importlib
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    group = pyproject["project"]["entry-points"]["harness.envs"]
    for name, cls in (("hotpotqa", HotpotQA), ("strategyqa", StrategyQA)):
        module, attr = group[name].split(":")
        assert getattr(importlib.import_module(module), attr) is cls and cls.name == name


def test_hotpotqa_splits_and_gold(qa_data: Path) -> None:
    env = HotpotQA(data_dir=qa_data)
    tasks = env.load("lumos")
    assert [t.id for t in tasks] == ["dev-0", "dev-1", "dev-2"]
    t0 = tasks[0]
    assert t0.gold == "yes" and t0.meta["supporting_titles"] == ["Scott Derrickson", "Ed Wood"]
    assert t0.gold_plan[0] == "Obtain the information about Scott Derrickson that is relevant to the question."
    assert t0.gold_actions[0] == (
        "R1 = KnowledgeQuery(Scott Derrickson); R2 = ParagraphRetrieve(R1, Query: " + t0.question + "); "
        "R3 = QA([R2], Question: " + t0.question + ")"
    )
    assert t0.gold_actions[2] == f"R7 = QA([R2, R5], Question: {t0.question})"
    assert "yes" not in " ".join(t0.gold_actions).replace(t0.question, "")  # never the gold answer
    assert tasks[1].gold_actions == [tasks[1].gold_actions[0]]  # one supporting title: one subgoal
    assert tasks[2].gold_plan is None and "supporting_titles" not in tasks[2].meta
    assert [t.id for t in env.load("distractor")] == ["dev-0", "dev-1"]
    assert len(env.load("dev", limit=1)) == 1
    with pytest.raises(ValueError):
        env.load("test")


def test_hotpotqa_score() -> None:
    env = HotpotQA(data_dir="/nonexistent")
    task = Task(id="x", question="q", gold="Chief of Protocol", meta={"supporting_titles": ["A", "B"]})
    kq = ActionResult(action="R1 = KnowledgeQuery(A)", tool="KnowledgeQuery", outputs=["R1"],
                      result=str(["A *** s1", "C (x) *** s2", "A's page *** s3"]))
    failed = ActionResult(action="R2 = KnowledgeQuery(B)", tool="KnowledgeQuery", error="no page",
                          error_kind="tool_error")
    traj = Trajectory(turns=[Turn(subgoal="s", results=[kq, failed])], final_answer="the chief of protocol")
    assert env.score(task, traj) == {"em": 1.0, "f1": 1.0, "retrieval_recall@5": 0.5}
    assert env.score(task, Trajectory(final_answer=None)) == {"em": 0.0, "f1": 0.0, "retrieval_recall@5": 0.0}
    assert set(env.score(Task(id="y", question="q", gold="a"), Trajectory(final_answer="a"))) == {"em", "f1"}


def test_strategyqa_splits_gold_and_overlap(qa_data: Path) -> None:
    env = StrategyQA(data_dir=qa_data)
    tasks = env.load("lumos")
    assert [t.id for t in tasks] == ["d1", "q1", "lumos-2"]
    assert [t.meta["source_split"] for t in tasks] == ["dev", "train", None]
    assert tasks[0].gold is False and tasks[1].gold is True
    q1 = tasks[1]
    assert q1.gold_plan == ["How many kids did Julius Caesar have?", "How many kids did Genghis Khan have?",
                            "Is the answer of Subgoal 2 greater than the answer of Subgoal 1?"]
    # step 1's evidence title "Julius Caesar" reaches the item's facts (grouped under Genghis Khan) in the corpus
    assert q1.gold_actions[0].startswith("R1 = KnowledgeQuery(Julius Caesar); R2 = ParagraphRetrieve(R1, Query: How")
    assert q1.gold_actions[2] == "R7 = QA([R6, R3], Question: Is R6 greater than R3?)"
    # dev[0]: no "Water" page, but the query reaches the water-density fact by its text
    assert tasks[0].gold_actions[1].startswith("R4 = KnowledgeQuery(Water)")
    assert [t.id for t in env.load("dev")] == ["d1"] and [t.id for t in env.load("train")] == ["q1"]
    notes = " ".join(env.notes("lumos"))
    assert "OVERLAP" in notes and "TRAIN" in notes
    assert "OVERLAP" not in " ".join(env.notes("dev"))


def test_strategyqa_gold_falls_back_to_the_term() -> None:
    from qa_helpers import STRATEGY_DEV

    from envs.qa.gold import evidence_titles, strategyqa_gold

    rec = STRATEGY_DEV[0]
    assert evidence_titles(rec, 0) == ["Pear"] and evidence_titles(rec, 2) == []
    plan, actions = strategyqa_gold(rec, lambda q, r: False)
    assert [a.split(";")[0] for a in actions[:2]] == ["R1 = KnowledgeQuery(Pear)", "R4 = KnowledgeQuery(Pear)"]
    assert actions[2] == "R7 = QA([R3, R6], Question: Is R3 greater than R6?)"
    assert len(plan) == len(actions) == 3


def test_strategyqa_score_lenient_and_strict() -> None:
    env = StrategyQA(data_dir="/nonexistent")
    no = Task(id="n", question="q", gold=False)
    yes = Task(id="y", question="q", gold=True)
    assert env.score(yes, Trajectory(final_answer="Yes.")) == {"accuracy": 1.0, "accuracy_strict": 1.0}
    assert env.score(no, Trajectory(final_answer="His eyes")) == {"accuracy": 0.0, "accuracy_strict": 0.0}
    assert env.score(no, Trajectory(final_answer="1")) == {"accuracy": 1.0, "accuracy_strict": 0.0}
    assert env.score(no, Trajectory(final_answer=None)) == {"accuracy": 0.0, "accuracy_strict": 0.0}


def test_data_checksum_follows_data_and_settings(qa_data: Path) -> None:
    a = HotpotQA(data_dir=qa_data).data_checksum("lumos")
    assert a and a == HotpotQA(data_dir=qa_data).data_checksum("lumos")
    assert HotpotQA(data_dir=qa_data, reader="other/model").data_checksum("lumos") != a
    (qa_data / "strategyqa" / "dev.json").write_text("[]")  # the corpus changed
    assert HotpotQA(data_dir=qa_data).data_checksum("lumos") != a
    with pytest.raises(ValueError):
        HotpotQA(data_dir=qa_data, final_answer="nope")


def test_oracle_replay_hotpotqa_with_fake_reader(qa_data: Path) -> None:
    env = HotpotQA(data_dir=qa_data)
    backend = with_fake_reader(env, lambda p: " yes")
    env.toolbox.reranker = _WordReranker()  # MiniLM is exercised in the slow tests
    tasks = env.load("distractor")
    trajs = OracleAgent().run(tasks, env)
    assert [t.status for t in trajs] == [SampleStatus.OK, SampleStatus.OK]
    assert trajs[0].final_answer == "yes"
    assert env.score(tasks[0], trajs[0]) == {"em": 1.0, "f1": 1.0, "retrieval_recall@5": 1.0}
    # 3 QA actions + the final step for the two-hop task
    assert sum(len(c) for c in backend.calls) == 4 + 2
    env.close()


def test_oracle_replay_strategyqa_and_batched_final(qa_data: Path) -> None:
    env = StrategyQA(data_dir=qa_data)
    backend = with_fake_reader(env, lambda p: " yes" if "Must answer yes/no" in p else " sixteen")
    env.toolbox.reranker = _WordReranker()
    tasks = env.load("train")
    (traj,) = OracleAgent().run(tasks, env)
    assert traj.status == SampleStatus.OK and traj.final_answer == "yes"
    assert env.score(tasks[0], traj)["accuracy_strict"] == 1.0
    executors = [env.session(t) for t in env.load("lumos")]
    n = len(backend.calls)
    assert env.final_answers(executors) == ["yes", "yes", "yes"]
    assert len(backend.calls) == n + 1  # one batched call for three tasks


def test_real_data_splits(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (data_dir / "hotpotqa" / "hotpot_dev_distractor_subset.jsonl").exists():
        pytest.skip("HotpotQA/StrategyQA data not in the data dir")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    hp = HotpotQA(data_dir=data_dir).load("lumos")
    assert len(hp) == 100 and all(t.gold_actions for t in hp)
    assert sum(t.meta["type"] == "comparison" for t in hp) == 21
    sq = StrategyQA(data_dir=data_dir).load("lumos")
    assert len(sq) == 100 and sum(t.gold for t in sq) == 44
    assert sum(t.meta["source_split"] == "train" for t in sq) == 84 and all(t.gold_actions for t in sq)
    assert len(StrategyQA(data_dir=data_dir).load("dev")) == 229


@pytest.mark.slow
@pytest.mark.model
def test_oracle_with_real_tools_and_default_reader(data_dir: Path) -> None:
    """End to end on real data: BM25 corpus, MiniLM re-ranking, SmolLM2 reader (slow)."""
    if not (data_dir / "hotpotqa" / "hotpot_dev_distractor_subset.jsonl").exists():
        pytest.skip("HotpotQA data not in the data dir")
    env = HotpotQA(data_dir=data_dir, reader_max_tokens=16)
    try:
        (task,) = env.load("lumos", limit=1)
        (traj,) = OracleAgent().run([task], env)
        assert traj.status == SampleStatus.OK and traj.final_answer is not None
        assert env.score(task, traj)["retrieval_recall@5"] == 1.0
        pr = traj.turns[0].results[1]
        assert pr.tool == "ParagraphRetrieve" and pr.result.startswith("Evidence 1: ")
        assert pr.result.count("\nEvidence ") == 4  # top 5
    finally:
        env.close()


@pytest.mark.parametrize("status", [SampleStatus.MAX_ROUNDS, SampleStatus.TOOL_ERROR, SampleStatus.INVALID_ACTION,
                                    SampleStatus.MODEL_ERROR])
def test_failed_trajectories_count_as_wrong_by_default(status) -> None:
    """Issue 16.6. Expected values: Lumos eval/hotpotqa/run_eval.py and eval/strategyqa/run_eval.py
    (lumos_iterative) compare only trajectories whose planner stopped and whose ``results`` survived,
    dividing by len(test_data): a failed one is wrong whatever its answer. ``failed_trajectories: score``
    keeps the answer-based score and is recorded in the data checksum (the run identity)."""
    hot, sqa = Task(id="h", question="q", gold="Paris"), Task(id="s", question="q", gold=True)
    h_traj = Trajectory(final_answer="Paris", status=status)
    s_traj = Trajectory(final_answer="Yes", status=status)
    assert HotpotQA(data_dir="/nonexistent").score(hot, h_traj) == {"em": 0.0, "f1": 0.0}
    assert StrategyQA(data_dir="/nonexistent").score(sqa, s_traj) == {"accuracy": 0.0, "accuracy_strict": 0.0}
    assert HotpotQA(data_dir="/nonexistent", failed_trajectories="score").score(hot, h_traj) == {"em": 1.0, "f1": 1.0}
    assert StrategyQA(data_dir="/nonexistent", failed_trajectories="score").score(sqa, s_traj) == {
        "accuracy": 1.0, "accuracy_strict": 1.0}
    ok = Trajectory(final_answer="Paris")
    assert HotpotQA(data_dir="/nonexistent").score(hot, ok) == {"em": 1.0, "f1": 1.0}


def test_failed_trajectories_option_is_in_identity_and_notes() -> None:
    default, lenient = StrategyQA(data_dir="/nonexistent"), StrategyQA(data_dir="/nonexistent", failed_trajectories="score")
    assert "failed_trajectories" not in default.settings()  # runs made before the option keep their checksum
    assert lenient.settings()["failed_trajectories"] == "score"
    assert any("count as wrong" in n for n in default.notes("dev"))
    assert any("NOT the paper's protocol" in n for n in lenient.notes("dev"))
    assert any(n.startswith("DEVIATION: prediction and gold are NFC") for n in HotpotQA(data_dir="/nonexistent").notes("lumos"))
    with pytest.raises(ValueError):
        HotpotQA(data_dir="/nonexistent", failed_trajectories="maybe")


def test_failed_trajectories_option_changes_the_data_checksum(data_dir) -> None:
    a = StrategyQA(data_dir=data_dir).data_checksum("dev")
    b = StrategyQA(data_dir=data_dir, failed_trajectories="score").data_checksum("dev")
    assert a is not None and b is not None and a != b
