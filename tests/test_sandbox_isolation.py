"""Which isolation ran is part of every environment's options and notes, and reaches each code path."""

from __future__ import annotations

import os
import shutil
import subprocess

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


def test_the_note_says_when_sympy_ran_in_process():
    def note(env: GSM8K) -> str:
        return next(n for n in env.notes("test") if n.startswith("Sandbox: "))

    assert "isolation: inprocess" in note(GSM8K(data_dir="/nonexistent", isolation="inprocess", sandbox="guard"))
    assert "inprocess" not in note(GSM8K(data_dir="/nonexistent", sandbox="guard"))


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


_UNPRIVILEGED = """
import sys
sys.path.insert(0, {root!r})
from envs.sandbox import SandboxLimits, resolve_isolation, run_python
assert resolve_isolation("auto") == "bwrap", "bwrap did not run unprivileged"
r = run_python("import os\\nresult = (os.getuid() != 0, os.getcwd(), len([p for p in os.listdir('/proc') if p.isdigit()]))",
               SandboxLimits(timeout_s=20), audit_guard=False)
print(r.value)
"""


@needs_bwrap
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv") or not os.path.exists("/usr/bin/python3"),
                    reason="needs root, setpriv and /usr/bin/python3 to start an unprivileged harness")
def test_bwrap_also_runs_for_an_unprivileged_harness():
    """As another user, bwrap takes the user-namespace path (--unshare-all --unshare-user)."""
    out = subprocess.run(
        ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/python3", "-c",
         _UNPRIVILEGED.format(root=sandbox._ROOT)],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"}, cwd="/",
    )
    if "user namespace" in out.stderr or "bwrap did not run" in out.stderr:
        pytest.skip(f"unprivileged user namespaces refused here: {out.stderr.strip()[-200:]}")
    assert out.returncode == 0, out.stderr
    not_root, cwd, n_procs = eval(out.stdout.strip())  # noqa: S307 - our own tuple
    assert not_root and cwd == "/tmp" and n_procs <= 4  # its own PID namespace: bwrap's init, the child, the code
