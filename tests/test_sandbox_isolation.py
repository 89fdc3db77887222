"""Which isolation ran is part of every environment's options and notes, and reaches each code path."""

from __future__ import annotations

import pytest

from envs import sandbox, sandbox_bwrap
from envs.math.code import CodeTool
from envs.math.executor import WorkerEvaluator
from envs.math.gsm8k import GSM8K
from envs.qa.base import SympyCalculator
from envs.qa.hotpotqa import HotpotQA
from envs.sandbox import SandboxLimits

BWRAP_OK, BWRAP_WHY = sandbox_bwrap.probe([sandbox._ROOT])
needs_bwrap = pytest.mark.skipif(not BWRAP_OK, reason=f"bwrap cannot run here: {BWRAP_WHY}")


@pytest.mark.parametrize("env_cls", [GSM8K, HotpotQA])
def test_the_resolved_kind_is_an_option_and_a_note(env_cls):
    env = env_cls(data_dir="/nonexistent", sandbox="guard")
    assert env.options["sandbox"] == "guard"
    assert any(n.startswith("Sandbox: guard") and "not a security boundary" in n for n in env.notes("test"))
    auto = env_cls(data_dir="/nonexistent")
    assert auto.options["sandbox"] == ("bwrap" if BWRAP_OK else "guard")
    assert any(n.startswith(f"Sandbox: {auto.options['sandbox']}") for n in auto.notes("test"))


@pytest.mark.parametrize("env_cls", [GSM8K, HotpotQA])
def test_a_bad_sandbox_option_is_one_clear_value_error(env_cls):
    with pytest.raises(ValueError, match="sandbox must be one of auto, bwrap, guard"):
        env_cls(data_dir="/nonexistent", sandbox="nope")


def test_bwrap_required_but_missing_fails_at_construction(monkeypatch: pytest.MonkeyPatch):
    sandbox_bwrap.reset_for_tests()
    monkeypatch.setattr(sandbox_bwrap.shutil, "which", lambda name: None)
    try:
        with pytest.raises(ValueError, match="bwrap.*not installed"):
            GSM8K(data_dir="/nonexistent", sandbox="bwrap")
    finally:
        monkeypatch.undo()
        sandbox_bwrap.reset_for_tests()


def test_harness_sandbox_variable_sets_the_default(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HARNESS_SANDBOX", "guard")
    assert GSM8K(data_dir="/nonexistent").options["sandbox"] == "guard"


@needs_bwrap
def test_every_model_code_path_runs_under_bwrap():
    """maths ``Code``, the maths sympy worker and the QA sympy ``Calculator`` see the sandbox's uid
    and tmpfs (checked through the code path itself where it runs code, through the worker's kind)."""
    code = CodeTool(limits=SandboxLimits(timeout_s=10, cpu_s=10, memory_mb=512), isolation="bwrap")
    assert code.run_text("import os\nresult = (os.getcwd(), len([p for p in os.listdir('/proc') if p.isdigit()]) < 5)") == "('/tmp', True)"
    ev = WorkerEvaluator(10.0, sandbox="bwrap")
    try:
        assert ev({"op": "Calculator", "arg": "2 + 3", "vars": {}})["values"][0]["text"] == "5"
        assert ev.worker.isolation == "bwrap" and ev.worker._child is not None and ev.worker._child.tmp is None
    finally:
        ev.close()
    calc = SympyCalculator("bwrap")
    try:
        assert calc("6 * 7") == "42" and calc._worker.isolation == "bwrap"
    finally:
        calc.close()
