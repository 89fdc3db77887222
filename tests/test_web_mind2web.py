"""The ``mind2web`` environment: official-layout loading, gold trajectories, the executor, scoring,
and an integration test on the real SeeAct step in the data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.producers.oracle import OracleAgent
from envs.web.mind2web import Mind2Web, natural_key, translate_action
from harness.data import DataMissingError
from harness.records import SampleStatus

FIXTURES = Path(__file__).parent / "fixtures"


def test_attributes_and_tool_specs_match_spec_a4():
    assert (Mind2Web.domain, Mind2Web.mode, Mind2Web.main_metric) == ("web", "iterative", "step_sr_macro")
    tools = Mind2Web().tools()
    assert [t.name for t in tools] == ["CLICK", "TYPE", "SELECT"]
    assert "; ".join(f"{t.signature}: {t.description}" for t in tools) == (
        "CLICK(Env, Query): Click the relevant html region in Env according to Query; TYPE(Env, Query, Text): Type Text "
        "into the relevant html region in Env according to Query; SELECT(Env, Query, Text): Select the value Text of the "
        "relevant selection box in Env according to Query."
    )


def test_official_layout_loads_unchanged_in_natural_file_order():
    before = {p: p.read_bytes() for p in (FIXTURES / "mind2web" / "data").rglob("*.json")}
    env = Mind2Web(data_dir=FIXTURES)
    tasks = env.load("test_domain")
    assert [t.id for t in tasks] == ["fx-0001", "fx-0002", "fx-0003", "fx-0004"]  # _0, _2, _10
    assert sorted(["x_10.json", "x_2.json"], key=natural_key) == ["x_2.json", "x_10.json"]
    assert [t.id for t in env.load("test_domain", limit=2)] == ["fx-0001", "fx-0002"]
    assert [t.id for t in env.load("train")] == ["fx-0001"]
    assert len(env.load("test_task")) == len(env.load("test_website")) == 1
    assert {p: p.read_bytes() for p in before} == before
    t = tasks[0]
    assert t.question == "Find a business class flight from Atlanta to Boston"
    assert t.gold[2] | {"pos_ids": None} == {
        "action_uid": "fx-0001-s2", "op": "SELECT", "value": "Business", "pos_ids": None,
        "repr": "[combobox]  Cabin class -> SELECT: Business",
    }  # fmt: skip
    assert "micro_weight" not in t.meta  # micro metrics come from step counts at aggregation (issue 16.2)


def test_gold_trajectory_from_gold_operations():
    t = Mind2Web(data_dir=FIXTURES).load("test_domain", limit=1)[0]
    assert t.gold_plan[0] == "Type Atlanta in the textbox Origin city"
    assert t.gold_actions == [
        "R1 = TYPE(Env, QUERY: Type Atlanta in the textbox Origin city, TEXT: Atlanta)",
        "R2 = TYPE(R1, QUERY: Type Boston in the textbox Destination city, TEXT: Boston)",
        "R3 = SELECT(R2, QUERY: Select Business in the combobox Cabin class, TEXT: Business)",
        "R4 = CLICK(R3, QUERY: Click button Search flights)",
    ]
    assert translate_action("[link]  Deals -> HOVER") == "Click link Deals"


def test_missing_split_is_one_clear_line(tmp_path):
    with pytest.raises(DataMissingError) as exc:
        Mind2Web(data_dir=tmp_path).load("test_domain")
    assert "\n" not in str(exc.value) and "harness data download mind2web" in str(exc.value)


def test_oracle_on_fixtures_scores_every_step(tmp_path):
    from harness.runner import evaluate

    env = Mind2Web(data_dir=FIXTURES, ranker="bm25")  # MiniLM is exercised on the SeeAct step below
    result = evaluate(env, OracleAgent(), "oracle", "test_domain", tmp_path)
    assert result.n == 4
    for key in ("step_sr_macro", "step_sr_micro", "element_acc_macro", "op_f1_macro", "task_sr", "recall@50"):
        assert result.metrics[key] == pytest.approx(1.0), key
    assert result.notes[0].startswith("FIXTURE data")


@pytest.mark.parametrize("limits", [(4, 1), (1, 4), (2, 4, 3)])
def test_micro_metrics_do_not_depend_on_the_limit_history(tmp_path, limits):
    """Issue 16.2: with the oracle every step succeeds, so the truth is 1.0 for every micro metric
    whatever the order in which ``--limit`` grew or shrank (was 1.6 for 4 then 1, 0.85 for 1 then 4)."""
    from harness.runner import evaluate

    env = Mind2Web(data_dir=FIXTURES, ranker="bm25")
    for limit in limits:
        result = evaluate(env, OracleAgent(), "oracle", "test_domain", tmp_path, limit=limit)
        assert result.n == limit
        for key in ("step_sr_micro", "element_acc_micro", "op_f1_micro", "recall@50", "step_sr_macro"):
            assert result.metrics[key] == pytest.approx(1.0), (limits, limit, key)


def test_official_recall_counts_every_step():
    """Recall@k (MindAct candidate generation): steps whose top-k holds a positive / all steps, acted on
    or not. Task 2 of the fixtures has 2 steps; the agent acts on step 1 only; with ``lumos`` candidates
    (positives first) both steps' Envs hold a positive -> 2 recall hits of 2, while element/step SR
    count the unreached step as 0."""
    from harness.records import Trajectory

    env = Mind2Web(data_dir=FIXTURES, candidates="lumos", ranker="bm25")
    task = env.load("test_domain", limit=2)[1]
    ex = env.session(task)
    ex.execute("R1 = TYPE(Env, QUERY: Type Denver in the textbox Destination city, TEXT: Denver)")
    m = env.score(task, Trajectory(final_answer=ex.final_answer()))
    assert (m["steps"], m["recall_hits"], m["step_hits"]) == (2.0, 2.0, 1.0)
    agg = env.aggregate([m, m | {"steps": 3.0, "recall_hits": 1.0, "step_hits": 0.0, "step_sr_macro": 0.0}])
    assert agg["recall@50"] == pytest.approx(3 / 5)  # (2 + 1) / (2 + 3) steps, not the mean of 2/2 and 1/3
    assert agg["step_sr_micro"] == pytest.approx(1 / 5)
    assert agg["step_sr_macro"] == pytest.approx(0.25)  # (1/2 + 0) / 2


def test_executor_errors_and_partial_scoring():
    env = Mind2Web(data_dir=FIXTURES, candidates="lumos", ranker="bm25")
    task = env.load("test_domain", limit=2)[1]  # 2 steps: TYPE Denver, CLICK search
    ex = env.session(task)
    r = ex.execute("R1 = TYPE(Env, QUERY: Type Denver in the textbox Destination city)")[0]
    assert r.error_kind == SampleStatus.INVALID_ACTION.value and "TEXT" in r.error
    r = ex.execute("R1 = TYPE(Env, QUERY: Type Denver in the textbox Destination city, TEXT: Dallas)")[0]
    assert r.ok and r.result.endswith("-> TYPE: Dallas")
    from harness.records import Trajectory, Turn

    traj = Trajectory(turns=[Turn(subgoal="s", results=[r])], final_answer=ex.final_answer())
    m = env.score(task, traj)
    # step 1: right element, "TYPE Dallas" vs "TYPE Denver" -> F1 0.5; step 2 missing -> 0
    assert m["element_acc_macro"] == pytest.approx(0.5)
    assert m["op_f1_macro"] == pytest.approx(0.25)
    assert m["step_sr_macro"] == 0.0 and m["task_sr"] == 0.0
    ex.execute("R2 = CLICK(R1, QUERY: Click button Search flights)")
    r = ex.execute("R3 = CLICK(R2, QUERY: anything)")[0]
    assert r.error_kind == SampleStatus.INVALID_ACTION.value and "only 2 step" in r.error


SEEACT = "mind2web/seeact_example_step.jsonl"


@pytest.fixture(scope="module")
def seeact(data_dir):
    path = data_dir / SEEACT
    if not path.exists():
        pytest.skip(f"{SEEACT} not in the data dir")
    return json.loads(path.read_text().splitlines()[0])


def _record(step):
    """The SeeAct step as a one-step task in the official schema."""
    return {
        "annotation_id": step["annotation_id"],
        "confirmed_task": step["confirmed_task"],
        "website": step["website"],
        "action_reprs": ["[button]  Search -> CLICK"],
        "actions": [{k: step[k] for k in ("action_uid", "cleaned_html", "operation", "pos_candidates", "neg_candidates")}],
    }


def test_seeact_step_ranking_and_scoring(seeact):
    assert len(seeact["pos_candidates"]) == 1 and len(seeact["pos_candidates"]) + len(seeact["neg_candidates"]) == 468
    env = Mind2Web()
    task = env.add_records([_record(seeact)])[0]
    ex = env.session(task)
    cands, texts, _ = ex.step_env(0)  # data carry MindAct ranks -> the dataset's top 50
    assert len(cands) == 50 and [c["backend_node_id"] for c in cands if c["_pos"]] == ["8635"]
    pos_text = texts[[c["_pos"] for c in cands].index(True)]
    assert pos_text.startswith("ancestors: ") and "target: (button id=0 submit search" in pos_text
    r = ex.execute("R1 = CLICK(Env, QUERY: Click the Search button)")[0]
    assert r.ok and "Search" in r.result
    traj_answer = ex.final_answer()
    pred = json.loads(traj_answer)[0]
    assert pred["element"] == "8635" and pred["env_size"] == 50
    from harness.records import Trajectory

    m = env.score(task, Trajectory(final_answer=traj_answer))
    assert m["element_acc_macro"] == m["step_sr_macro"] == m["task_sr"] == 1.0
    # the right element with the wrong operation: element hit, op F1 0, step failed
    ex2 = env.session(task)
    ex2.execute("R1 = TYPE(Env, QUERY: Click the Search button, TEXT: wedding)")
    m = env.score(task, Trajectory(final_answer=ex2.final_answer()))
    assert (m["element_acc_macro"], m["op_f1_macro"], m["step_sr_macro"]) == (1.0, 0.0, 0.0)
    # a query for another element misses
    ex3 = env.session(task)
    ex3.execute("R1 = CLICK(Env, QUERY: Log out of the account)")
    m = env.score(task, Trajectory(final_answer=ex3.final_answer()))
    assert m["element_acc_macro"] == 0.0 and m["step_sr_macro"] == 0.0


@pytest.mark.slow
def test_seeact_offline_ranker_over_all_candidates(seeact):
    from envs.web.ranking import HybridRanker, PageIndex, rank

    page = PageIndex(seeact["cleaned_html"])
    cands = seeact["pos_candidates"] + seeact["neg_candidates"]
    texts = [page.render(c["backend_node_id"]) for c in cands]
    assert all(c["backend_node_id"] in page.by_id for c in cands)
    order = rank(HybridRanker(), "Click the Search button", texts)
    assert order.index(0) < 5  # the one positive is ranked near the top of 468
