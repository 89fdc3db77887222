"""One sample's failure (agent, score, final answer, serialisation) is that sample's status; the
batch's other samples are written, the file stays valid UTF-8, and a rerun does not run it again."""

from __future__ import annotations

import json
import math

import pytest

from harness.records import ActionResult, SampleRecord, SampleStatus, Task, Trajectory, Turn
from harness.runner import evaluate, read_samples, run_dir_for
from harness.sample_guard import clean_text, record_line

SURROGATE = chr(55296)


def _samples(tmp_path, agent="a", bench="toy_arith"):
    path = run_dir_for(tmp_path, agent, bench, "test") / "samples.jsonl"
    raw = path.read_bytes()
    raw.decode("utf-8")  # strict: every byte sequence valid UTF-8
    return {r.id: r for r in read_samples(path)}, raw


def test_clean_text_escapes_lone_surrogates_only():
    assert clean_text("plain é ∑ 😀") == "plain é ∑ 😀"
    assert clean_text(f"a{SURROGATE}b") == "a\\ud800b"
    assert clean_text("\udfff") == "\\udfff"


def test_lone_surrogates_in_results_actions_and_answer_are_escaped(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process

    class Surrogates(ToyEchoAgent):
        def run(self, tasks, env):
            trajs = super().run(tasks, env)
            bad = trajs[1]
            bad.turns.append(Turn(subgoal=f"s{SURROGATE}", actions=f"R2 = Code(chr(55296)){SURROGATE}",
                                  results=[ActionResult(action="R2 = Code(chr(55296))", result=SURROGATE)]))
            bad.final_answer = SURROGATE
            bad.extra[f"k{SURROGATE}"] = [SURROGATE]
            return trajs

    res = evaluate(ToyArith(n=4), Surrogates(), "a", "test", tmp_path, batch_size=4)
    recs, raw = _samples(tmp_path)
    assert res.n == 4 and set(recs) == {f"toy-{i}" for i in range(4)}
    r = recs["toy-1"]
    assert r.status == SampleStatus.OK and r.prediction == "\\ud800"
    assert r.trajectory.turns[-1].results[0].result == "\\ud800"
    assert r.trajectory.turns[-1].actions.endswith("\\ud800") and "k\\ud800" in r.trajectory.extra
    assert b"\\\\ud800" in raw  # the escape is text in the JSON, not a JSON \\u escape of a surrogate


def test_real_code_tool_result_with_a_lone_surrogate_is_recorded(tmp_path):
    """The reproduction: ``R1 = Code(chr(55296))`` through the real executor and runner."""
    from envs.math.code import CodeTool
    from envs.math.executor import InProcessEvaluator, MathExecutor

    ex = MathExecutor(InProcessEvaluator(2.0), CodeTool())
    try:
        results = ex.execute("R1 = Code(chr(55296))")
        answer = ex.final_answer()
    finally:
        ex.close()
    assert answer == SURROGATE  # the reproduction holds: the tool returned a lone surrogate
    traj = Trajectory(turns=[Turn(subgoal="x", actions="R1 = Code(chr(55296))", results=results)], final_answer=answer)

    class Env:
        name, main_metric = "gsm8k", "em_numeric"

        def score(self, task, trajectory):
            return {"em_numeric": 0.0}

    line, status = record_line(Env(), Task(id="t", question="q"), traj)
    line.encode("utf-8")
    back = SampleRecord.model_validate_json(line)
    assert status == SampleStatus.OK and back.prediction == "\\ud800"


def test_score_failure_is_score_error_and_the_batch_is_written(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process

    class Fragile(ToyArith):
        def score(self, task, trajectory):
            if task.id == "toy-2":
                raise ZeroDivisionError("scorer bug")
            if task.id == "toy-3":
                return {"accuracy": math.nan}
            return super().score(task, trajectory)

    runs: list[str] = []

    class Spy(ToyEchoAgent):
        def run(self, tasks, env):
            runs.extend(t.id for t in tasks)
            return super().run(tasks, env)

    res = evaluate(Fragile(n=5), Spy(), "a", "test", tmp_path, batch_size=5)
    recs, _ = _samples(tmp_path)
    assert res.n == 5 and res.status_counts["score_error"] == 2 and res.status_counts["ok"] == 3
    assert recs["toy-2"].metrics == {"accuracy": 0.0}
    assert "ZeroDivisionError: scorer bug" in recs["toy-2"].trajectory.error
    assert "non-finite" in recs["toy-3"].trajectory.error
    assert res.metrics["accuracy"] == pytest.approx(3 / 5)
    runs.clear()
    evaluate(Fragile(n=5), Spy(), "a", "test", tmp_path, batch_size=5)
    assert runs == []  # recorded failures are not executed again


def test_unserialisable_trajectory_is_harness_error_and_others_are_written(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process

    class Odd(ToyEchoAgent):
        def run(self, tasks, env):
            trajs = super().run(tasks, env)
            trajs[0].extra["handle"] = object()  # JSON cannot hold it
            return trajs

    res = evaluate(ToyArith(n=3), Odd(), "a", "test", tmp_path, batch_size=3)
    recs, _ = _samples(tmp_path)
    assert res.n == 3 and recs["toy-0"].status == SampleStatus.HARNESS_ERROR
    assert "cannot serialise" in recs["toy-0"].trajectory.error
    assert recs["toy-1"].status == recs["toy-2"].status == SampleStatus.OK


def test_agent_returning_too_few_trajectories_is_retried_per_task(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process

    class Short(ToyEchoAgent):
        def run(self, tasks, env):
            out = super().run(tasks, env)
            return out[:1] if len(tasks) > 1 else out

    res = evaluate(ToyArith(n=4), Short(), "a", "test", tmp_path, batch_size=4)
    assert res.n == 4 and res.status_counts["ok"] == 4 and res.metrics["accuracy"] == 1.0


def test_oracle_final_answer_crash_is_that_tasks_tool_error(tmp_path, toy_plugin_in_process):
    """The oracle replays gold actions; a final_answer() that raises (as R01 once did) costs only
    its own task, through the batched and the per-task path."""
    from agents.producers.oracle import OracleAgent

    ToyArith, _ = toy_plugin_in_process

    class Boom(ToyArith):
        def session(self, task):
            ex = super().session(task)
            if task.id == "toy-1":
                ex.final_answer = lambda: (_ for _ in ()).throw(KeyError("R1"))
            return ex

    res = evaluate(Boom(n=3), OracleAgent(), "oracle", "test", tmp_path, batch_size=3)
    recs, _ = _samples(tmp_path, agent="oracle")
    assert res.n == 3 and recs["toy-1"].status == SampleStatus.TOOL_ERROR
    assert "KeyError" in recs["toy-1"].trajectory.error
    assert recs["toy-0"].status == recs["toy-2"].status == SampleStatus.OK


def test_status_enum_documents_the_new_statuses():
    assert SampleStatus("harness_error") is SampleStatus.HARNESS_ERROR
    assert SampleStatus("score_error") is SampleStatus.SCORE_ERROR
    json.dumps([s.value for s in SampleStatus])


DIES_ON_TOY_3 = """
import os, sys
sys.path.insert(0, sys.argv[2])
from harness_test_plugin.agent import ToyEchoAgent
from harness_test_plugin.env import ToyArith
from harness.runner import evaluate

class Segfaulty(ToyEchoAgent):
    def run(self, tasks, env):
        if any(t.id == "toy-3" for t in tasks):
            os._exit(139)  # as a segfault or the OOM killer: no exception, no cleanup
        return super().run(tasks, env)

res = evaluate(ToyArith(n=6), Segfaulty(), "a", "test", sys.argv[1], batch_size=2)
print("n", res.n, res.status_counts["harness_error"])
"""


def test_a_task_that_kills_the_process_cannot_kill_every_rerun(tmp_path):
    """The process dies in toy-3's batch, then on toy-3 alone; the third start records it and
    finishes. (Without the in-flight marker every rerun would die on the same batch.)"""
    import subprocess
    import sys

    from conftest import PLUGIN_SRC, REPO

    cmd = [sys.executable, "-c", DIES_ON_TOY_3, str(tmp_path), str(PLUGIN_SRC)]
    runs = [subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120) for _ in range(3)]
    assert [r.returncode for r in runs] == [139, 139, 0], [r.stderr[-500:] for r in runs]
    assert runs[2].stdout.split() == ["n", "6", "1"]
    recs, _ = _samples(tmp_path)
    assert recs["toy-3"].status == SampleStatus.HARNESS_ERROR and "died" in recs["toy-3"].trajectory.error
    assert recs["toy-2"].status == SampleStatus.OK  # its batch-mate ran alone and was recorded
    assert not (run_dir_for(tmp_path, "a", "toy_arith", "test") / "inflight.json").exists()


def test_an_orderly_exit_leaves_no_in_flight_marker(tmp_path, toy_plugin_in_process):
    ToyArith, ToyEchoAgent = toy_plugin_in_process

    class Interrupted(ToyEchoAgent):
        def run(self, tasks, env):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate(ToyArith(n=2), Interrupted(), "a", "test", tmp_path)
    root = run_dir_for(tmp_path, "a", "toy_arith", "test")
    assert not (root / "inflight.json").exists()
    seen = []

    class Spy(ToyEchoAgent):
        def run(self, tasks, env):
            seen.append(len(tasks))
            return super().run(tasks, env)

    evaluate(ToyArith(n=2), Spy(), "a", "test", tmp_path)
    assert seen == [2]  # batched as usual: an interrupt is not a crash


def test_record_line_never_raises_even_for_a_gold_json_cannot_hold():
    class Env:
        name, main_metric = "e", "m"

        def score(self, task, trajectory):
            return {"m": 1.0}

    task = Task(id="t", question=f"q{SURROGATE}", gold=object())
    line, status = record_line(Env(), task, Trajectory(final_answer="a"))
    back = SampleRecord.model_validate_json(line)
    assert status == SampleStatus.HARNESS_ERROR and back.id == "t" and back.gold.startswith("<object object")
    assert back.question == "q\\ud800" and back.metrics == {"m": 0.0}


def test_a_refused_start_keeps_the_marker_a_dead_process_left(tmp_path, toy_plugin_in_process):
    from harness.rundir import InFlight
    from harness.runner import ConfigMismatchError

    ToyArith, ToyEchoAgent = toy_plugin_in_process
    evaluate(ToyArith(n=4), ToyEchoAgent(), "a", "test", tmp_path, limit=2, batch_size=2)
    root = run_dir_for(tmp_path, "a", "toy_arith", "test")
    (root / "inflight.json").write_text(json.dumps({"ids": ["toy-2", "toy-3"], "alone": False, "pid": -1}))
    with pytest.raises(ConfigMismatchError):
        evaluate(ToyArith(n=4), ToyEchoAgent(wrong_every=2), "a", "test", tmp_path, batch_size=2)
    assert InFlight(root).previous() == ({"toy-2", "toy-3"}, False)
    seen = []

    class Spy(ToyEchoAgent):
        def run(self, tasks, env):
            seen.append([t.id for t in tasks])
            return super().run(tasks, env)

    evaluate(ToyArith(n=4), Spy(), "a", "test", tmp_path, batch_size=2)
    assert seen == [["toy-2"], ["toy-3"]] and not (root / "inflight.json").exists()
