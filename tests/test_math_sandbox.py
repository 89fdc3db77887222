"""The sandbox for real: time, memory, file system, network and process limits, and the worker."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from envs.sandbox import SandboxError, SandboxLimits, SandboxTimeout, SandboxWorker, run_python

FAST = SandboxLimits(timeout_s=5, cpu_s=5, memory_mb=512)


def test_expression_and_result_variable():
    assert run_python("6 * 7", FAST).value == "42"
    r = run_python("x = [i * i for i in range(4)]\nresult = sum(x)\nprint('hi')", FAST)
    assert r.ok and r.value == "14" and r.has_value and r.stdout == "hi\n"
    r = run_python("y = 1", FAST)
    assert r.ok and not r.has_value


def test_wall_clock_timeout_kills_the_child():
    start = time.perf_counter()
    r = run_python("while True:\n    pass", SandboxLimits(timeout_s=1, cpu_s=30))
    assert not r.ok and r.timed_out and "timed out" in r.error
    assert time.perf_counter() - start < 5


def test_cpu_limit():
    r = run_python("while True:\n    pass", SandboxLimits(timeout_s=20, cpu_s=1))
    assert not r.ok and r.timed_out and "CPU" in r.error


def test_huge_power_is_cut_off():
    r = run_python("9**9**9", SandboxLimits(timeout_s=1, cpu_s=5))
    assert not r.ok and r.timed_out


def test_memory_limit():
    r = run_python("b = bytearray(2 * 1024**3)", SandboxLimits(timeout_s=10, memory_mb=512))
    assert not r.ok and "MemoryError" in r.error


def test_writes_outside_the_temp_dir_are_refused(tmp_path: Path):
    target = tmp_path / f"evil-{uuid.uuid4().hex}.txt"
    for code in (
        f"open({str(target)!r}, 'w').write('x')",
        f"import os; os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)",
        f"import pathlib; pathlib.Path({str(target)!r}).write_text('x')",
        "import os; os.chdir('/'); open('evil.txt', 'w')",
        f"import shutil; shutil.rmtree({str(tmp_path)!r})",
        f"import os; os.remove({str(tmp_path)!r})",
    ):
        r = run_python(code, FAST)
        # the guard refuses (PermissionError); under bwrap the host path is not even there
        assert not r.ok and ("PermissionError" in r.error or "FileNotFoundError" in r.error), code
    assert not target.exists() and tmp_path.exists()


def test_writes_inside_the_temp_dir_work_and_vanish():
    r = run_python("import os\nopen('a.txt', 'w').write('hello')\nresult = (open('a.txt').read(), os.getcwd())", FAST)
    assert r.ok and "hello" in r.value
    cwd = r.value.split("'")[3]
    if r.isolation == "guard":
        assert "harness-sandbox-" in cwd and not os.path.exists(cwd)
    else:  # bwrap: a tmpfs of its own, gone with the sandbox
        assert cwd == "/tmp" and not os.path.exists("/tmp/a.txt")


@pytest.mark.parametrize(
    "code",
    [
        "import socket; socket.socket()",
        "import socket; socket.create_connection(('127.0.0.1', 80), timeout=1)",
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9/')",
    ],
)
def test_network_is_refused(code):
    r = run_python(code, FAST)
    assert not r.ok and "network access is disabled" in r.error


@pytest.mark.parametrize(
    "code, event",
    [
        ("import os; os.system('true')", "os.system"),
        ("import subprocess; subprocess.run(['true'])", "subprocess.Popen"),
        ("import os; os.fork()", "os.fork"),
        ("import ctypes; ctypes.CDLL(None).getpid()", "ctypes.dlsym"),
    ],
)
def test_processes_and_native_code_are_refused(code, event):
    r = run_python(code, FAST)
    assert not r.ok and event in r.error


def test_errors_and_exit_are_reported_not_raised():
    assert "ZeroDivisionError" in run_python("1/0", FAST).error
    assert "SyntaxError" in run_python("def f(:", FAST).error
    assert "SystemExit" in run_python("raise SystemExit(3)", FAST).error


def test_worker_serves_requests_and_restarts_after_timeout():
    w = SandboxWorker("time:sleep", SandboxLimits(timeout_s=1, cpu_s=None, memory_mb=512))
    try:
        assert w.call(0) is None
        start = time.perf_counter()
        with pytest.raises(SandboxTimeout):
            w.call(30)
        assert time.perf_counter() - start < 5
        assert w.call(0) is None  # a fresh worker
        assert w.restarts == 1
        with pytest.raises(SandboxError):
            w.call("not a number")  # the handler raised: reported, worker survives
        assert w.call(0) is None and w.restarts == 1
    finally:
        w.close()


def test_worker_with_bad_handler_fails_cleanly():
    w = SandboxWorker("no_such_module_xyz:f", SandboxLimits(timeout_s=5, cpu_s=None))
    with pytest.raises(SandboxError, match="did not start|start failed"):
        w.call(1)
    w.close()
