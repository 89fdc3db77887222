"""`harness train moat --preset tiny` end to end (cold start, 2 iterations, both stages, critic) on
hand-written GSM8K fixtures, killed mid-run and resumed; then `harness eval --agents moat` loads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training_helpers import FIXTURES, one_thread

from harness.cli import main

CONFIG = {"data": {"sources": [{"env": "gsm8k", "split": "train", "limit": 16, "options": {"isolation": "inprocess"}}]}}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from one_thread()


def _write_config(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def moat_run(tmp_path_factory):
    """First attempt killed inside iteration 2's DPO, second attempt resumes and finishes."""
    import training.moat as moat_mod

    tmp = tmp_path_factory.mktemp("moat")
    out = tmp / "run"
    cfg = _write_config(tmp / "cfg.json", CONFIG)
    args = ["train", "moat", "--preset", "tiny", "--out", str(out), "--data-dir", str(FIXTURES), "--config", str(cfg)]
    real_dpo = moat_mod.train_dpo
    calls = {"n": 0}

    def dying_dpo(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # as a Ctrl-C / kill during iteration 2's planner DPO
        return real_dpo(*a, **kw)

    moat_mod.train_dpo = dying_dpo
    try:
        assert main(args) == 130
    finally:
        moat_mod.train_dpo = real_dpo
    first = json.loads((out / "manifest.json").read_text())
    assert first["stages"]["moat_iter2_dpo"]["status"] == "running" and not first.get("complete")
    assert main(args) == 0
    return out, first, args


def test_full_loop_ran_both_stages_with_critic(moat_run):
    out, _, _ = moat_run
    m = json.loads((out / "manifest.json").read_text())
    assert m["complete"] and m["kind"] == "moat" and m["config"]["config"]["preset"] == "tiny"
    for r in (1, 2):
        for stage in ("sample", "reward", "dpo", "regen", "critic", "grounder_sft", "dev"):
            assert m["stages"][f"moat_iter{r}_{stage}"]["status"] == "done", (r, stage)
    assert m["versions"]["transformers"] and m["versions"]["trl"]
    assert "data/train_examples.jsonl" in m["data"] and len(m["data"]["data/plan_sft.jsonl"]["sha256"]) == 64
    assert m["stages"]["data"]["metrics"]["sources"]["gsm8k:train"]["dropped: in evaluation set gsm8k-test"] == 1
    assert (out / m["outputs"]["planner"]).name == "planner" and "iter_2" in m["outputs"]["planner"]
    assert (out / m["outputs"]["grounder"] / "adapter_config.json").exists()

    critic = m["stages"]["moat_iter1_critic"]["metrics"]
    assert critic["critic"] == {"critic": "execution"} and critic["judged"] == 4  # 4 tasks, best sample each
    assert critic["initial_records_mixed"] == critic["corrected_records"]  # 1:1 mix
    sft = [json.loads(x) for x in (out / "moat" / "iter_1" / "grounder_sft.jsonl").read_text().splitlines()]
    assert len(sft) == 2 * critic["corrected_records"]
    pairs = [json.loads(x) for x in (out / "moat" / "iter_1" / "pairs.jsonl").read_text().splitlines()]
    for p in pairs:
        assert p["chosen_nll"] <= p["rejected_nll"] and p["prompt"].endswith("\n<|assistant|>\n")

    log = [json.loads(x) for x in (out / "moat" / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [0, 1, 2]
    for row in log[1:]:
        for key in ("chosen_nll", "rejected_nll", "pairs_kept", "critic_acceptance", "dev_accuracy",
                    "dev_nll_start", "dev_nll_after_dpo", "dev_nll_after_sft"):
            assert row[key] is not None, key
    assert (out / "moat" / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dev = [json.loads(x) for x in (out / "moat" / "iter_2" / "dev_trajectories.jsonl").read_text().splitlines()]
    assert len(dev) == 3 and all(d["id"].startswith("gsm8k-train-") for d in dev)  # train-split dev slice


def test_resume_kept_finished_stages(moat_run):
    out, first, args = moat_run
    m = json.loads((out / "manifest.json").read_text())
    for name, st in first["stages"].items():
        if st["status"] == "done":
            assert m["stages"][name]["finished_at"] == st["finished_at"], name  # not redone
    assert main(args) == 0  # a third run: everything done, nothing changes
    again = json.loads((out / "manifest.json").read_text())
    assert {k: v["finished_at"] for k, v in again["stages"].items()} == {k: v["finished_at"] for k, v in m["stages"].items()}


def test_changed_config_is_refused(moat_run, capsys):
    out, _, args = moat_run
    assert main([*args, "--k", "3"]) == 2
    assert "already holds a 'moat' run" in capsys.readouterr().err


def test_eval_loads_the_trained_pair(moat_run, tmp_path, monkeypatch):
    out, _, _ = moat_run
    monkeypatch.setenv("HARNESS_MOAT_RUN", str(out))
    cfg = _write_config(tmp_path / "agent.json", {"agent": {"max_new_tokens": 12, "backend_options": {"dtype": "float32"}}})
    rc = main(["eval", "--agents", "moat", "--benchmarks", "gsm8k", "--limit", "2", "--data-dir", str(FIXTURES),
               "--output-dir", str(tmp_path / "evals"), "--config", str(cfg)])
    assert rc == 0
    run_dir = tmp_path / "evals" / "moat" / "gsm8k-test"
    conf = json.loads((run_dir / "config.json").read_text())["agent_config"]
    assert conf["train_run"] == str(out.resolve()) and conf["train_preset"] == "tiny"
    assert conf["planner"]["adapter"].endswith("iter_2/planner")
    assert len((run_dir / "samples.jsonl").read_text().splitlines()) == 2
    # iteration 0 = the cold start of the same run
    cfg0 = _write_config(tmp_path / "agent0.json", {"agent": {"max_new_tokens": 12, "iteration": 0}})
    assert main(["eval", "--agents", "moat", "--benchmarks", "gsm8k", "--limit", "1", "--data-dir", str(FIXTURES),
                 "--output-dir", str(tmp_path / "evals0"), "--config", str(cfg0)]) == 0


def test_missing_run_names_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HARNESS_TRAIN_DIR", str(tmp_path))
    monkeypatch.delenv("HARNESS_MOAT_RUN", raising=False)
    rc = main(["eval", "--agents", "moat", "--benchmarks", "gsm8k", "--limit", "1", "--data-dir", str(FIXTURES),
               "--output-dir", str(tmp_path / "e")])
    assert rc == 2
    assert "harness train moat --preset cpu-small" in capsys.readouterr().err


def test_export_is_small_bf16_and_loads_as_shipped(moat_run, tmp_path, monkeypatch, capsys):
    """`--export` writes only the final adapters (bf16) + manifest; the producer finds it as the
    shipped export when no run of one's own exists, and names it the same on every machine."""
    from safetensors import safe_open

    import training.trained as trained

    out, _, args = moat_run
    ship = tmp_path / "shipped"
    assert main([*args, "--export", str(ship / "moat")]) == 0  # the finished run: resumes nothing, exports
    assert "exported to" in capsys.readouterr().out
    m = json.loads((ship / "moat" / "manifest.json").read_text())
    src = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "moat" and m["complete"] and m["config_hash"] == src["config_hash"]
    assert m["command"] == src["command"] and m["data"] == src["data"]
    assert m["outputs"] == {"base": "base", "planner": "planner", "grounder": "grounder"}
    assert "iter_2/planner" in m["export"]["from_outputs"]["planner"]
    files = {p.relative_to(ship / "moat").as_posix() for p in (ship / "moat").rglob("*") if p.is_file()}
    assert set(m["export"]["files"]) == files - {"manifest.json"}
    assert "moat/rewards.png" in files and "base/model.safetensors" in files  # the tiny base is built in the run
    roles = {f for f in files if f.startswith(("planner/", "grounder/"))}
    assert roles == {f"{r}/{n}" for r in ("planner", "grounder") for n in ("adapter_config.json", "adapter_model.safetensors")}
    with safe_open(str(ship / "moat" / "planner" / "adapter_model.safetensors"), "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.bfloat16"}

    monkeypatch.setattr(trained, "SHIPPED_DIR", ship)
    monkeypatch.delenv("HARNESS_TRAIN_DIR", raising=False)
    monkeypatch.delenv("HARNESS_MOAT_RUN", raising=False)
    monkeypatch.chdir(tmp_path)  # no runs/train/moat here
    cfg = _write_config(tmp_path / "agent.json", {"agent": {"max_new_tokens": 8, "backend_options": {"dtype": "float32"}}})
    assert main(["eval", "--agents", "moat", "--benchmarks", "gsm8k", "--limit", "1", "--data-dir", str(FIXTURES),
                 "--output-dir", str(tmp_path / "evals"), "--config", str(cfg)]) == 0
    conf = json.loads((tmp_path / "evals" / "moat" / "gsm8k-test" / "config.json").read_text())["agent_config"]
    assert conf["train_run"] == "shipped/moat" and conf["train_config_hash"] == src["config_hash"]


def test_export_refuses_an_unfinished_run(tmp_path, capsys):
    from training.export import export_run
    from training.manifest import TrainSetupError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text(json.dumps({"kind": "moat", "complete": False, "outputs": {}}))
    with pytest.raises(TrainSetupError, match="not a finished training run"):
        export_run(tmp_path / "run", tmp_path / "out")
    assert not (tmp_path / "out").exists()
