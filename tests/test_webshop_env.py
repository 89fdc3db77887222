"""The ``webshop`` environment end to end on the fixture catalogue: the oracle buys every goal
product for reward 1.0 through ``harness eval``; Lumos tool formats; data errors; tool specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envs.webshop.env import WebShop
from envs.webshop.tagger import tagger_available
from harness.data import DataMissingError
from harness.records import SampleStatus

FIXTURES = Path(__file__).parent / "fixtures"
needs_tagger = pytest.mark.skipif(not tagger_available(), reason="spaCy en_core_web_sm not installed")


def test_attributes_and_tool_specs_match_spec_a4():
    assert (WebShop.domain, WebShop.mode, WebShop.main_metric, WebShop.default_split) == ("web", "iterative", "reward", "test")
    tools = WebShop(data_dir=FIXTURES).tools()
    assert [t.name for t in tools] == ["Search", "FeatureRetrieve", "Pick", "Click"]
    rendered = "; ".join(f"{t.signature}: {t.description}" for t in tools)
    assert rendered == (
        "Search(Query): Search related items according to the Query; FeatureRetrieve(Feature_list, Query): Select the most "
        "relevant features from Feature_list according to Query; Pick(Item_names, Item_features, Query): Pick the most "
        "relevant item from Item_names according to Query, Item_names and Item_features; Click(Item): Click the Item to "
        "check more information."
    )


def test_missing_official_files_give_one_clear_line(tmp_path):
    env = WebShop(data_dir=tmp_path)
    with pytest.raises(DataMissingError) as exc:
        env.load("test")
    msg = str(exc.value)
    assert "\n" not in msg
    for name in ("items_shuffle_1000.json", "items_ins_v2_1000.json", "items_human_ins.json", "harness data download webshop"):
        assert name in msg
    assert any("items_human_ins.json" in p for p in env.self_check())


def test_data_files_point_at_official_homes():
    files = {f.path: f for f in WebShop().data_files()}
    assert files["webshop/items_ins_v2_1000.json"].sha256.startswith("f88a3631")
    assert files["webshop/items_shuffle_1000.json"].required and not files["webshop/items_shuffle.json"].required
    assert all(f.url and "drive.google.com" in f.url for f in files.values())


@needs_tagger
def test_harness_eval_oracle_buys_every_goal_for_reward_1(tmp_path, capsys):
    from harness.cli import main

    rc = main(["eval", "--agents", "oracle", "--benchmarks", "webshop", "--data-dir", str(FIXTURES),
               "--output-dir", str(tmp_path)])  # fmt: skip
    assert rc == 0
    result = json.loads((tmp_path / "oracle" / "webshop-test" / "results.json").read_text())
    assert result["n"] == result["n_original"] == 30
    assert result["metrics"]["reward"] == pytest.approx(1.0)
    assert result["metrics"]["right_product"] == pytest.approx(1.0)
    assert result["status_counts"]["ok"] == 30
    assert result["notes"][0].startswith("FIXTURE catalogue")
    lines = (tmp_path / "oracle" / "webshop-test" / "samples.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    assert rec["trajectory"]["turns"][1]["results"][-1]["result"] == "1.0"  # Click(buy now) returns the reward


@needs_tagger
def test_lumos_tools_formats_and_synthetic_split():
    env = WebShop(data_dir=FIXTURES)
    try:
        tasks = env.load("lumos_synthetic", limit=3)
        assert len(tasks) == 3 and all(t.id.startswith("synthetic-") for t in tasks)
        task = next(t for t in tasks if isinstance(t.gold["goal_options"], dict) and t.gold["goal_options"])
        ex = env.session(task)
        try:
            q = task.question
            r = ex.execute(f"R1 = Search({q})")[0]
            assert r.ok, r.error
            items = r.result.split(" ** ")
            assert len(items) == 2 and all(" - " in i and i.split(" - ")[0].startswith("b0") for i in items)
            a1, a2 = (i.split(" - ")[0] for i in items)
            res = ex.execute(f"R2 = Click({a1}); R3 = FeatureRetrieve(R2, Query: {q})")
            assert all(x.ok for x in res), [x.error for x in res]
            assert res[0].result.startswith("['back to search', '< prev', 'description'")
            feats = res[1].result.split(", ") if res[1].result else []
            assert len(feats) <= 3 and all(f in ex.store["R2"][6:] for f in feats)
            res = ex.execute(f"R4 = Click(< prev); R5 = Click({a2}); R6 = FeatureRetrieve(R5, Query: {q})")
            assert all(x.ok for x in res), [x.error for x in res]
            pick = ex.execute(f"R7 = Pick(Item_names: R1, Item_features: [R3, R6], Query: {q})")[0]
            assert pick.ok and pick.result in (a1, a2)
            bad = ex.execute("R8 = Click(no such button)")[0]
            assert bad.error_kind == SampleStatus.INVALID_ACTION.value and "not clickable" in bad.error
            undefined = ex.execute("R9 = FeatureRetrieve(R42, Query: x)")[0]
            assert undefined.error_kind == SampleStatus.INVALID_ACTION.value
        finally:
            ex.close()
    finally:
        env.close()
    assert env._server is None
