"""Agent Lumos' released SFT sets as a training source: the published record format (JSON lines and the
hub's parquet layout), split hygiene on them, the paper preset's fallback, the byte-exact training text
(SPEC a.1), and a tiny-preset cold start trained from them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from training_helpers import FIXTURES, one_thread

from harness.cli import main
from training.datasets import eval_questions
from training.formats import serialize_messages
from training.lumos_sft import LumosSFTSettings, clean_record, dataset_names, load_sets, read_file, record_question
from training.manifest import TrainSetupError
from training.pipeline import cold_start_records
from training.presets import build_config

LUMOS = FIXTURES / "lumos" / "train"
BOTH = ["one-pass", "iterative"]
MATHS = LumosSFTSettings(use="required", domains=["maths"])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_thread()


def _record(name: str, id_: str) -> dict:
    path = LUMOS / f"{name}.jsonl"
    files = [path] if path.exists() else sorted((LUMOS / name).rglob("*.parquet"))
    return next(r for p in files for r in read_file(p) if r["id"] == id_)


def test_dataset_names_follow_the_hub():
    assert dataset_names(["maths"], BOTH) == ["lumos_maths_plan_onetime", "lumos_maths_plan_iterative",
                                              "lumos_maths_ground_onetime", "lumos_maths_ground_iterative"]
    with pytest.raises(ValueError, match="unknown Lumos domain"):
        dataset_names(["chess"], BOTH)


def test_reads_jsonl_and_parquet_and_drops_evaluation_questions():
    records, stats = load_sets(MATHS, FIXTURES, BOTH, eval_questions(FIXTURES))
    assert len(records["plan"]) == 6 and len(records["ground"]) == 6  # 4 per set, the pizza leak dropped
    assert all(st["found"] and st["records"] == 4 and st["kept"] == 3 for st in stats.values())
    assert all(st["dropped_in_evaluation_set"] == {"gsm8k-test": 1} for st in stats.values())
    assert stats["lumos_maths_plan_onetime"]["from"][0].endswith("data/train-00000-of-00001.parquet")
    assert "gsm8k_leak" not in {r["id"] for r in records["plan"] + records["ground"]}
    # parquet rows come back as the same dicts as the JSON lines
    rec = records["plan"][-1]
    assert set(rec) == {"dataset", "id", "messages"} and rec["messages"][0]["role"] == "user"


def test_record_question_for_plan_and_ground_turns():
    q = "A shop sells 9 cakes in the morning and 7 in the afternoon, then bakes 5 more. How many more cakes did it sell than bake?"
    for name in ("lumos_maths_plan_iterative", "lumos_maths_ground_iterative", "lumos_maths_plan_onetime",
                 "lumos_maths_ground_onetime"):
        assert record_question(_record(name, "gsm8k_102")) == q


def test_malformed_records_are_refused():
    ok = {"dataset": "x", "id": "1", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    assert clean_record(ok) == ok
    assert clean_record({**ok, "messages": ok["messages"][:1]}) is None  # ends with the user
    assert clean_record({**ok, "messages": ok["messages"][::-1]}) is None  # starts with the assistant
    assert clean_record({"id": "1"}) is None and clean_record("text") is None


def test_training_text_is_spec_a1_byte_for_byte():
    rec = _record("lumos_maths_plan_iterative", "gsm8k_102")
    text, spans = serialize_messages(rec["messages"], eos="</s>")
    expected = (
        "<|user|>\nPlease provide a reasonable subgoal-based plan to solve the given task.\nTask: A shop sells 9 cakes "
        "in the morning and 7 in the afternoon, then bakes 5 more. How many more cakes did it sell than bake?; "
        "Initial Environment Description: None.\n"
        "<|assistant|>\nSubgoal 1: Calculate the total number of cakes sold.</s>\n"
        "<|user|>\nThe executed result for Subgoal 1 is 16. Should we stop planning?\n"
        "<|assistant|>\nNo, I will keep planning. Subgoal 2: Calculate how many more cakes were sold than baked.</s>\n"
        "<|user|>\nThe executed result for Subgoal 2 is 11. Should we stop planning?\n"
        "<|assistant|>\nYes, I will stop planning.</s>"
    )
    assert text == expected
    assert [text[s:e] for s, e in spans] == ["Subgoal 1: Calculate the total number of cakes sold.</s>\n",
                                             "No, I will keep planning. Subgoal 2: Calculate how many more cakes were "
                                             "sold than baked.</s>\n", "Yes, I will stop planning.</s>"]
    g = _record("lumos_maths_ground_iterative", "gsm8k_102")
    text, _ = serialize_messages(g["messages"], eos="</s>")
    # user contents are stripped (the published turns end with "\n"), so no blank line before <|assistant|>
    assert text.endswith(
        " \nSubgoal to be grounded: Subgoal 1: Calculate the total number of cakes sold.\n<|assistant|>\n"
        "R1 = Calculator(9 + 7)</s>\n<|user|>\nSubgoal to be grounded: Subgoal 2: Calculate how many more cakes "
        "were sold than baked.\n<|assistant|>\nR2 = Calculator(R1 - 5)</s>")
    assert text.startswith("<|user|>\nPlease ground the given subgoal to corresponding executable actions")


def test_paper_preset_uses_lumos_data_and_warns_loudly_on_fallback(tmp_path, caplog):
    cfg = build_config("paper")
    assert cfg.data.lumos_sft.use == "auto"
    assert set(dataset_names(cfg.data.lumos_sft.domains, cfg.data.formulations)) == {
        f"lumos_{d}_{r}_{t}" for d in ("maths", "complex_qa", "web_agent") for r in ("plan", "ground")
        for t in ("onetime", "iterative")}
    evals = eval_questions(FIXTURES)
    with caplog.at_level(logging.WARNING):
        sft, info = cold_start_records(cfg, tmp_path, evals, [])
    assert info["cold_start_data"].startswith("train-split golds (fallback")
    assert "Lumos SFT data NOT FOUND" in caplog.text and "harness data download lumos-sft" in caplog.text
    cfg = build_config("paper", {"data": {"lumos_sft": {"dir": str(LUMOS)}}})
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        sft, info = cold_start_records(cfg, tmp_path, evals, [])
    assert info["cold_start_data"] == "lumos-sft" and len(sft["plan"]) == 6
    assert "missing" in caplog.text  # complex QA and web sets are absent: said, not silent
    with pytest.raises(TrainSetupError, match="harness data download lumos-sft"):
        cold_start_records(build_config("paper", {"data": {"lumos_sft": {"use": "required"}}}), tmp_path, evals, [])


def test_data_command_lists_the_sets(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["data", "list", "lumos-sft", "--data-dir", str(FIXTURES)]) == 0
    out = capsys.readouterr().out
    assert "lumos_maths_plan_iterative" in out and "lumos_web_agent_ground_onetime" in out and "missing" in out
    assert main(["data", "verify", "lumos-sft", "--data-dir", str(FIXTURES)]) == 1


def test_tiny_cold_start_trains_from_the_lumos_sets(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"data": {
        "sources": [{"env": "gsm8k", "split": "train", "limit": 16, "options": {"isolation": "inprocess"}}],
        "lumos_sft": {"use": "required", "domains": ["maths"]}}}), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "lumos", "--preset", "tiny", "--out", str(out), "--data-dir", str(FIXTURES),
                 "--config", str(cfg)]) == 0
    m = json.loads((out / "manifest.json").read_text())
    data = m["stages"]["data"]["metrics"]
    assert data["cold_start_data"] == "lumos-sft" and data["lumos_sft_records"] == {"plan": 6, "ground": 6}
    plan = [json.loads(line) for line in (out / "data" / "plan_sft.jsonl").read_text().splitlines()]
    assert sorted({r["id"] for r in plan}) == ["asdiv_7", "gsm8k_101", "gsm8k_102"]
    assert plan[0]["messages"] == _record("lumos_maths_plan_onetime", plan[0]["id"])["messages"]  # used as published
    assert m["stages"]["lumos_planner"]["status"] == "done" and m["stages"]["lumos_grounder"]["status"] == "done"
    assert (out / "lumos" / "planner" / "adapter_config.json").exists()


def test_online_sets_come_through_datasets(tmp_path, monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(repo, split, revision=None):
        calls.append((repo, split, revision))
        return [_record("lumos_maths_plan_iterative", "gsm8k_101"), _record("lumos_maths_plan_iterative", "gsm8k_leak")]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    settings = LumosSFTSettings(use="required", datasets=["lumos_maths_plan_iterative"], online=True, dir=str(tmp_path))
    records, stats = load_sets(settings, tmp_path, BOTH, eval_questions(FIXTURES))
    assert calls == [("ai2lumos/lumos_maths_plan_iterative", "train", None)]
    assert [r["id"] for r in records["plan"]] == ["gsm8k_101"] and stats["lumos_maths_plan_iterative"]["from"] == \
        "hub:ai2lumos/lumos_maths_plan_iterative"


def test_download_fetches_every_set_into_the_data_dir(tmp_path, monkeypatch, capsys):
    import shutil

    import huggingface_hub

    fetched = []

    def fake_snapshot(repo_id, repo_type, local_dir, revision=None, allow_patterns=None):
        assert repo_type == "dataset" and "*.parquet" in allow_patterns
        fetched.append(repo_id)
        dest = Path(local_dir) / "data"
        dest.mkdir(parents=True)
        src = LUMOS / "lumos_maths_plan_onetime" / "data" / "train-00000-of-00001.parquet"
        shutil.copyfile(src, dest / "train-00000-of-00001.parquet")
        return local_dir

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["data", "download", "lumos-sft", "--data-dir", str(tmp_path)]) == 0
    assert len(fetched) == 12 and "ai2lumos/lumos_web_agent_ground_iterative" in fetched
    assert (tmp_path / "lumos" / "train" / "lumos_complex_qa_plan_onetime" / "data").is_dir()
    assert main(["data", "verify", "lumos-sft", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()

    def offline(**kw):
        raise OSError("hub unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: offline())
    assert main(["data", "download", "lumos-sft", "--data-dir", str(tmp_path / "empty")]) == 2
    assert "cannot download ai2lumos/lumos_maths_plan_onetime" in capsys.readouterr().err
