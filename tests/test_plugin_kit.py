"""The plug-in contract: validation on load, contract errors, the kit, exemplars, doctor NAME,
package data, provenance in results.json."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PLUGIN_SRC, cli_env, run_cli
from harness.environment import Environment
from harness.plugins import ContractError, validate_env_class, validate_producer_class
from harness.records import RunConfig, Task, ToolSpec


def _env_class(**attrs):
    base = {
        "name": "x", "domain": "math", "version": "1", "splits": ("test",), "default_split": "test",
        "main_metric": "acc", "load": lambda self, split, limit=None: [Task(id="a", question="q", gold="1")],
        "tools": lambda self: [ToolSpec(name="T", signature="T(x)", description="t")],
        "session": lambda self, task: None, "score": lambda self, task, traj: {"acc": 1.0},
    }
    base.update(attrs)
    return type("X", (Environment,), base)


# -- validation ---------------------------------------------------------------------------------
def test_valid_env_class_has_no_problems():
    assert validate_env_class(_env_class()) == []
    assert validate_env_class(_env_class(metrics=("acc", "f1"))) == []


@pytest.mark.parametrize(
    ("attrs", "needle"),
    [
        ({"version": None}, "'version' must be a non-empty str"),
        ({"version": 1}, "'version' must be a non-empty str"),
        ({"splits": "test"}, "'splits' must be a non-empty tuple"),
        ({"default_split": "dev"}, "default_split 'dev' is not one of splits"),
        ({"metrics": ("f1",)}, "main_metric 'acc' is not among the declared metrics"),
        ({"mode": "two-pass"}, "'mode' must be one of"),
        ({"max_rounds": 0}, "'max_rounds' must be a positive int"),
        ({"score": None}, None),
    ],
)
def test_invalid_env_classes_are_named(attrs, needle):
    cls = _env_class(**attrs)
    if attrs.get("score", 1) is None:  # an abstract method left unimplemented
        del cls.score
        cls.__abstractmethods__ = frozenset({"score"})
        needle = "abstract method(s) not implemented: score"
    problems = validate_env_class(cls)
    assert any(needle in p for p in problems), problems


def test_missing_version_attribute_entirely():
    cls = _env_class()
    del cls.version
    assert any("'version'" in p for p in validate_env_class(cls))


def test_producer_without_name():
    from harness.agent import AgentProducer

    cls = type("P", (AgentProducer,), {"build": lambda self, o: None})
    assert validate_producer_class(cls) == ["class attribute 'name' must be a non-empty str, got None"]


# -- a broken plug-in installed next to a good one ---------------------------------------------
@pytest.fixture
def broken_site(tmp_path: Path) -> Path:
    """A distribution (dist-info + module) whose env class has no ``version``, as in the issue."""
    site = tmp_path / "site"
    (site / "broken_bench").mkdir(parents=True)
    (site / "broken_bench" / "__init__.py").write_text(
        "from harness.environment import Environment\n"
        "class NoVersion(Environment):\n"
        "    name = 'no_version'; domain = 'math'; splits = ('test',); default_split = 'test'; main_metric = 'acc'\n"
        "    def load(self, split, limit=None): return []\n"
        "    def tools(self): return []\n"
        "    def session(self, task): return None\n"
        "    def score(self, task, traj): return {'acc': 0.0}\n"
    )
    info = site / "broken_bench-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-bench\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[harness.envs]\nno_version = broken_bench:NoVersion\n")
    return site


def test_broken_plugin_is_one_warning_line_never_a_crash(broken_site, tmp_path):
    env = cli_env(broken_site)
    listing = run_cli(["list"], env=env)
    assert listing.returncode == 0, listing.stderr
    assert "Traceback" not in listing.stderr
    lines = [ln for ln in listing.stderr.splitlines() if "no_version" in ln]
    assert len(lines) == 1 and "'version' must be a non-empty str" in listing.stderr
    assert "gsm8k" in listing.stdout
    doctor = run_cli(["doctor"], env=env | {"HARNESS_DATA_DIR": str(tmp_path / "none")})
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr + doctor.stdout
    assert "env no_version: broken" in " ".join(doctor.stdout.split())
    data = run_cli(["data", "list"], env=env)
    assert data.returncode == 0 and "Traceback" not in data.stderr + data.stdout and "gsm8k" in data.stdout
    ev = run_cli(["eval", "--agents", "oracle", "--benchmarks", "no_version", "--output-dir", str(tmp_path)], env=env)
    assert ev.returncode == 2 and "Traceback" not in ev.stderr
    assert len(ev.stderr.strip().splitlines()) == 1 and "not a valid environment" in ev.stderr


# -- contract errors ----------------------------------------------------------------------------
def test_score_without_main_metric_is_a_contract_error(tmp_path, toy_plugin_in_process):
    from harness.runner import evaluate

    ToyArith, ToyEchoAgent = toy_plugin_in_process

    class NoMain(ToyArith):
        def score(self, task, trajectory):
            return {"other": 1.0}

    with pytest.raises(ContractError, match="contract error: toy_arith.score\\(\\) must return .* 'accuracy'"):
        evaluate(NoMain(n=4), ToyEchoAgent(), "toy_echo", "test", tmp_path, batch_size=2)


def test_agent_returning_too_few_trajectories_is_a_contract_error(tmp_path, toy_plugin_in_process):
    from harness.runner import evaluate

    ToyArith, ToyEchoAgent = toy_plugin_in_process

    class Short(ToyEchoAgent):
        def run(self, tasks, env):
            return super().run(tasks, env)[:-1]

    # a short batch is first retried task by task (harness.sample_guard.run_batch); short for one task is the bug
    with pytest.raises(ContractError, match="returned 0 trajectories for a batch of 1 task "):
        evaluate(ToyArith(n=4), Short(), "short", "test", tmp_path, batch_size=2)


# -- the kit --------------------------------------------------------------------------------------
def test_kit_imports_no_models_or_torch():
    code = (
        "import sys, harness.kit as k\n"
        "[getattr(k, n) for n in k.__all__]\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'vllm', 'peft') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_kit_gold_and_metrics_golden():
    from harness import kit

    fields = kit.gold_fields(kit.equation_trajectory("( 6 * 5 ) + 2", "How many pages?"))
    assert fields["gold_actions"] == ["R1 = Calculator(6 * 5)", "R2 = Calculator(R1 + 2)"]
    assert fields["gold_plan"][-1].endswith("to answer: How many pages?")
    assert kit.gold_fields(None) == {"gold_plan": None, "gold_actions": None}
    assert kit.em_numeric("$12.0", "12") == 1.0 and kit.em_strict("$12", "12") == 0.0
    assert kit.exact_match("The Eiffel Tower", "eiffel tower") == 1.0


def test_read_jsonl_names_the_bad_line(tmp_path):
    from harness import kit

    f = tmp_path / "d.jsonl"
    f.write_text('{"a": 1}\n\n{"a": 2}\nnot json\n')
    assert kit.read_jsonl(f, limit=2) == [{"a": 1}, {"a": 2}]
    with pytest.raises(ValueError, match=r"d.jsonl: line 4 is not valid JSON"):
        kit.read_jsonl(f)


def test_packaged_data_and_exemplars_in_process(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))
    from harness.testing import assert_env_ok
    from harness_test_plugin.wordmath import ToyWordMath

    result = assert_env_ok(ToyWordMath, min_oracle=1.0, limit=5, options={"isolation": "inprocess"})
    assert result.oracle_mean == 1.0 and "1 exemplar(s)" in result.summary()
    env = ToyWordMath()
    path = env.data_path(env.data_files()[0])
    assert path.is_file() and str(PLUGIN_SRC) in str(path)


def test_assert_env_ok_fails_on_a_broken_env():
    from harness.testing import assert_env_ok

    cls = _env_class(score=lambda self, task, traj: {"wrong": 1.0})
    with pytest.raises(AssertionError, match="must return the main metric 'acc'"):
        assert_env_ok(cls)


# -- exemplars ---------------------------------------------------------------------------------
def test_env_exemplars_win_and_absence_warns_loudly(caplog, monkeypatch):
    from agents.producers import fewshot
    from harness import kit

    ex = kit.Exemplar(question="q", subgoals=("s",), actions=("R1 = Calculator(1 + 1)",), results=("2",))
    own = _env_class(name="own_shots", domain="chemistry", exemplars=lambda self: [ex])
    none = _env_class(name="no_shots", domain="chemistry")
    assert fewshot.exemplars_for(own(), 2).exemplars == [ex]
    monkeypatch.setattr(fewshot, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="agents.producers.fewshot"):
        assert fewshot.exemplars_for(none(), 2) is None
    assert "NO FEW-SHOT EXEMPLARS for environment 'no_shots'" in caplog.text
    assert fewshot.exemplars_for(_env_class(name="gsm8k_like", domain="math")(), 2) is not None  # domain table


def test_exemplar_validation_and_identity():
    from harness import kit

    with pytest.raises(ValueError, match="one entry per subgoal"):
        kit.Exemplar(question="q", subgoals=("a", "b"), actions=("R1 = X(1)",), results=("1",))
    base = dict(agent="a", agent_config={}, benchmark="b", benchmark_version="1", split="test", seed=0)
    assert "env_exemplars" not in RunConfig(**base).identity()  # built-in envs: hashes unchanged
    assert RunConfig(**base, env_exemplars="abc").identity()["env_exemplars"] == "abc"


# -- CLI with the installed plug-in -------------------------------------------------------------
def test_doctor_name_data_verify_and_provenance(plugin_site, tmp_path):
    env = cli_env(plugin_site)
    doc = run_cli(["doctor", "toy_wordmath", "toy_arith"], env=env)
    assert doc.returncode == 0, doc.stdout + doc.stderr
    text = " ".join(doc.stdout.split())
    assert "env toy_wordmath: ok" in text and "oracle em_numeric = 1.00 on 3 task(s)" in text
    assert "data dir" not in text  # NAME checks only those envs
    verify = run_cli(["data", "verify", "toy_wordmath"], env=env)
    assert verify.returncode == 0, verify.stdout
    assert "data/wordmath.jsonl" in verify.stdout and "ok" in verify.stdout
    ev = run_cli(["eval", "--agents", "oracle", "--benchmarks", "toy_wordmath", "--output-dir", str(tmp_path)], env=env)
    assert ev.returncode == 0, ev.stderr
    res = json.loads((tmp_path / "oracle" / "toy_wordmath-test" / "results.json").read_text())
    assert res["schema_version"] == "1.2" and res["metrics"]["em_numeric"] == 1.0
    assert res["packages"]["benchmark"] == {"distribution": "harness-test-plugin", "version": "0.1.0"}
    assert res["packages"]["agent"]["distribution"] == "moat-harness"
    cfg = json.loads((tmp_path / "oracle" / "toy_wordmath-test" / "config.json").read_text())
    assert cfg["env_exemplars"]  # the plug-in's own exemplars are part of the run identity


def test_doctor_name_unknown_and_no_data(tmp_path):
    proc = run_cli(["doctor", "gsm8kk"], env=cli_env())
    assert proc.returncode == 2 and "Did you mean 'gsm8k'" in proc.stderr
    proc = run_cli(["doctor", "gsm8k"], env=cli_env(HARNESS_DATA_DIR=str(tmp_path)))
    assert proc.returncode == 1 and "not checked" in proc.stdout


def test_doctor_without_names_warns_for_absent_data(tmp_path):
    proc = run_cli(["doctor"], env=cli_env(HARNESS_DATA_DIR=str(tmp_path)))
    assert proc.returncode == 0, proc.stdout
    text = " ".join(proc.stdout.split())
    assert "env gsm8k: warning data not on this machine" in text and "not an error" in text


def test_non_numeric_metric_is_a_contract_error(tmp_path, toy_plugin_in_process):
    from harness.runner import evaluate

    ToyArith, ToyEchoAgent = toy_plugin_in_process

    class Text(ToyArith):
        def score(self, task, trajectory):
            return {"accuracy": "yes"}

    with pytest.raises(ContractError, match="non-numeric metric"):
        evaluate(Text(n=2), ToyEchoAgent(), "toy_echo", "test", tmp_path, batch_size=2)
