"""The sandbox as a boundary: each escape seen in issue 15, blocked and without outside effect.

Under bwrap the OS-level tests run with the audit guard off (``audit_guard=False``) so that they
test the namespaces, mounts and rlimits on their own; they skip (with the reason) where bwrap cannot
run. The harness-side defences (output cap, reply channel, wall clock) are tested in both kinds.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from envs import sandbox, sandbox_bwrap, sandbox_process
from envs.sandbox import SandboxLimits, SandboxWorker, run_python

BWRAP_OK, BWRAP_WHY = sandbox_bwrap.probe([sandbox._ROOT])
needs_bwrap = pytest.mark.skipif(not BWRAP_OK, reason=f"bwrap cannot run here: {BWRAP_WHY}")
KINDS = [pytest.param("bwrap", marks=needs_bwrap), "guard"]
SMALL = SandboxLimits(timeout_s=8, cpu_s=8, memory_mb=512, file_size_mb=2, disk_mb=8, max_procs=16,
                      max_output_chars=2000)


def bw(code: str, limits: SandboxLimits = SMALL) -> sandbox.SandboxResult:
    """Run under bwrap with the audit guard off: only the OS boundary stands."""
    r = run_python(code, limits, isolation="bwrap", audit_guard=False)
    assert r.isolation == "bwrap"
    return r


@pytest.fixture()
def victim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A host file the sandbox can see (its directory is bound read-only)."""
    d = tmp_path / "visible"
    d.mkdir()
    (d / "victim.txt").write_text("original")
    d.chmod(0o777)  # writable for anyone: only the read-only mount stands in the way
    (d / "victim.txt").chmod(0o666)
    monkeypatch.setattr(sandbox_bwrap, "EXTRA_RO_PATHS", [str(d)])
    return d / "victim.txt"


def _unchanged(victim: Path) -> None:
    assert victim.read_text() == "original"
    assert sorted(p.name for p in victim.parent.iterdir()) == ["victim.txt"]


# -- file system --------------------------------------------------------------------------------
@needs_bwrap
@pytest.mark.parametrize("code", [
    "import os\nfd = os.open(D, os.O_RDONLY)\nf = os.open('victim.txt', os.O_WRONLY | os.O_TRUNC, dir_fd=fd)\n"
    "os.write(f, b'pwned')",
    "import os\nfd = os.open(D, os.O_RDONLY)\nos.open('new.txt', os.O_WRONLY | os.O_CREAT, dir_fd=fd)",
    "import os\nos.chdir(os.open(D, os.O_RDONLY))\nopen('victim.txt', 'w').write('pwned')",
    "import os\nos.link(D + '/victim.txt', '/tmp/l')\nopen('/tmp/l', 'w').write('pwned')",
    "import os\nos.link(D + '/victim.txt', D + '/l')",
    "import os\nos.mkfifo(D + '/fifo')",
    "import os\nos.system('echo pwned > ' + D + '/victim.txt; touch ' + D + '/x')\nresult = 1",
    "import shutil\nshutil.rmtree(D)",
])
def test_writes_through_fds_links_fifos_and_shells_do_not_reach_the_host(victim: Path, code: str):
    r = bw(f"D = {str(victim.parent)!r}\n" + code)
    assert not r.ok or r.value == "1", r  # os.system returns; its shell failed inside
    assert r.value == "1" or any(e in r.error for e in ("Read-only file system", "Invalid cross-device link")), r
    _unchanged(victim)


@needs_bwrap
def test_the_sandbox_sees_no_host_files_but_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    secret = Path(tempfile.gettempdir()) / f"harness-secret-{uuid.uuid4().hex}"
    secret.write_text("s3cret")
    home = tmp_path / "home"  # as `python -m harness` started in a home directory: on sys.path, not shown
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.syspath_prepend(str(home))
    try:
        r = bw(f"import os\nresult = (os.path.exists({str(secret)!r}), os.path.exists('/root/.ssh'), "
               f"os.path.exists({str(home / '.ssh')!r}), os.path.exists('/etc/passwd'), sorted(os.listdir('/tmp')))")
        # /tmp is the sandbox's own tmpfs; it holds only the mount points of read-only binds that live
        # under /tmp on the host (a checkout in /tmp/x: the harness source and its venv)
        binds = [Path(p) for p in sandbox_bwrap.python_paths([sandbox._ROOT])]
        under_tmp = sorted({b.parts[2] for b in binds if len(b.parts) > 2 and b.parts[1] == "tmp"})
        assert r.ok and r.value == f"(False, False, False, False, {under_tmp})", r
    finally:
        secret.unlink()


@needs_bwrap
def test_total_disk_is_capped_not_only_each_file():
    # 20 files of 1.5 MB against a 2 MB per-file cap and an 8 MB tmpfs
    r = bw("for i in range(20):\n    open(f'f{i}', 'wb').write(b'x' * (3 << 19))\nresult = 'all written'")
    assert not r.ok and "No space left" in r.error, r
    r = bw("open('big', 'wb').write(b'x' * (3 << 20))")  # one file over the per-file cap
    assert not r.ok and ("File too large" in r.error or "file size" in r.error), r


# -- processes, signals, network, environment -------------------------------------------------------
def test_clearing_the_guard_state_in_main_does_not_lift_it():
    r = run_python("import sys\nm = sys.modules['__main__']\nm._BLOCKED.clear(); m._PATH_EVENTS.clear()\n"
                   "import os\nos.system('true')", SMALL, isolation="guard")
    assert not r.ok and "os.system is not allowed" in r.error


@needs_bwrap
def test_signals_cannot_reach_host_processes():
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        r = bw(f"import os, signal\nos.kill({victim.pid}, signal.SIGKILL)")
        assert not r.ok and "ProcessLookupError" in r.error, r
        r = bw("import os, signal\nos.kill(-1, signal.SIGKILL)\nresult = 'sent'")  # every process it may signal
        assert victim.poll() is None  # alive
    finally:
        victim.kill()
        victim.wait()


@needs_bwrap
def test_no_network_even_to_a_listener_on_loopback():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.setblocking(False)
    port = srv.getsockname()[1]
    try:
        r = bw(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)")
        assert not r.ok and ("Connection refused" in r.error or "unreachable" in r.error), r
        r = bw(f"import os\nos.system('exec 3<>/dev/tcp/127.0.0.1/{port}')\n"
               f"import subprocess\nsubprocess.run(['{sys.executable}', '-c', "
               f"\"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)\"])\nresult = 1")
        with pytest.raises(BlockingIOError):
            srv.accept()  # nobody connected
    finally:
        srv.close()


@pytest.mark.parametrize("kind", KINDS)
def test_the_harness_environment_is_unreachable(kind: str, monkeypatch: pytest.MonkeyPatch):
    secret = f"sk-{uuid.uuid4().hex}"
    monkeypatch.setenv("HARNESS_TEST_API_KEY", secret)
    code = (f"import os\nfound = []\nfor pid in {{os.getppid(), {os.getpid()}}} | "
            "{int(p) for p in os.listdir('/proc') if p.isdigit()}:\n"
            "    try:\n        found.append(open(f'/proc/{pid}/environ', 'rb').read().decode('latin-1'))\n"
            "    except OSError:\n        pass\nresult = ' '.join(found) + ' ' + repr(dict(os.environ))")
    r = run_python(code, SMALL, isolation=kind, audit_guard=kind == "guard")
    assert r.ok, r
    assert secret not in (r.value or "") + r.stdout and "HARNESS_TEST_API_KEY" not in (r.value or "")


@needs_bwrap
def test_fork_bomb_stops_at_rlimit_nproc():
    r = bw("import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
           "            time.sleep(60)\n            os._exit(0)\n        n += 1\n"
           "except OSError as e:\n    result = (n, e.errno)")
    assert r.ok, r
    n, errno_ = eval(r.value)  # noqa: S307 - our own tuple
    assert n < SMALL.max_procs and errno_ == 11  # EAGAIN


def _marker_processes(marker: str) -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{p}/cmdline").read_bytes():
                    out.append(int(p))
            except OSError:
                pass
    return out


@needs_bwrap
@pytest.mark.parametrize("main_blocks", [False, True])
def test_a_setsid_grandchild_holding_stdout_dies_with_the_call(main_blocks: bool):
    marker = f"{time.time_ns() % 10**6 + 10**6}.25"  # a unique sleep length, found in /proc afterwards
    lim = SandboxLimits(timeout_s=3, cpu_s=30, memory_mb=512, disk_mb=8, max_procs=16)
    code = (f"import os\nif os.fork() == 0:\n    os.setsid()\n    os.execv('/bin/sleep', ['sleep', '{marker}'])\n"
            + ("while True:\n    pass\n" if main_blocks else "result = 'returned'\n"))
    r = bw(code, lim)
    if main_blocks:
        assert not r.ok and r.timed_out, r
    else:
        assert r.ok and r.value == "returned", r
    for _ in range(50):  # the pid namespace is torn down with bwrap; give the kernel a moment
        if not _marker_processes(marker):
            break
        time.sleep(0.1)
    assert _marker_processes(marker) == []


# -- the harness side: output cap, reply channel, wall clock (both kinds) ----------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_printing_512_mb_is_capped_and_does_not_grow_the_harness(kind: str):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, a peak: it can only grow
    r = run_python("import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(512):\n    sys.stdout.write(chunk)\n"
                   "result = 'done'", SandboxLimits(timeout_s=60, cpu_s=60, memory_mb=512, max_output_chars=1000),
                   isolation=kind)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert r.ok and r.value == "done", r
    assert len(r.stdout) == 1000 and r.output_truncated
    assert grown_mb < 64


@pytest.mark.parametrize("kind", KINDS)
def test_raw_writes_to_stdout_do_not_break_the_reply(kind: str):
    r = run_python("import os\nos.write(1, b'.')\nos.write(2, b'@@fake@@{}\\n')\nresult = 42", SMALL, isolation=kind)
    assert r.ok and r.value == "42" and r.stdout.startswith(".")


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_forged_from_gc_is_not_taken(kind: str):
    """User code finds the request (and its id) through gc and writes a forged frame to every fd."""
    code = (
        "import gc, json, os, struct\n"
        "req = next(o for o in gc.get_objects() if isinstance(o, dict) and 'mode' in o and 'id' in o)\n"
        "data = json.dumps({'id': req['id'], 'ok': True, 'has_value': True, 'value': 'forged', 'repr': 'x'}).encode()\n"
        "for fd in range(3, 64):\n"
        "    try:\n        os.write(fd, struct.pack('>I', len(data)) + data)\n    except OSError:\n        pass\n"
        "raise RuntimeError('the real outcome')"
    )
    r = run_python(code, SMALL, isolation=kind, audit_guard=kind == "guard")
    assert not r.ok and r.value != "forged", r
    assert "the real outcome" in r.error or "result channel" in r.error


@pytest.mark.parametrize("kind", KINDS)
def test_the_wall_clock_kills_a_sleeping_call(kind: str):
    r = run_python("import time\ntime.sleep(60)", SandboxLimits(timeout_s=1, cpu_s=30), isolation=kind)
    assert not r.ok and r.timed_out and "timed out after 1 s" in r.error


# -- the worker: reply ids, interruptions -----------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_worker_drops_a_late_reply_for_another_request(kind: str):
    w = SandboxWorker("json:loads", SandboxLimits(timeout_s=10, cpu_s=None, memory_mb=512), isolation=kind)
    try:
        assert w.call('"first"') == "first"
        assert w._child is not None
        w._child.send({"id": -7, "payload": '"late"'})  # a request nobody waits for any more
        assert w.call('"second"') == "second" and w.restarts == 0
    finally:
        w.close()


class _Interrupted(Exception):
    pass


@pytest.mark.parametrize("kind", KINDS)
def test_an_interrupted_worker_call_never_answers_the_next_one(kind: str):
    w = SandboxWorker("builtins:eval", SandboxLimits(timeout_s=10, cpu_s=None, memory_mb=512), isolation=kind)

    def on_alarm(signum, frame):  # noqa: ANN001
        raise _Interrupted()

    old = signal.signal(signal.SIGALRM, on_alarm)
    try:
        assert w.call("1 + 1") == 2
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(_Interrupted):
            w.call("__import__('time').sleep(1.5) or 'late answer'")
        assert w.call("2 + 2") == 4
        assert w.restarts == 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        w.close()


_HARNESS = """
import sys, time
sys.path.insert(0, {root!r})
from envs.sandbox import SandboxWorker, SandboxLimits
w = SandboxWorker("json:loads", SandboxLimits(timeout_s=20, cpu_s=None, memory_mb=512), isolation={kind!r})
w.call('1')
print(w._child.proc.pid, w._child.tmp, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("kind", KINDS)
def test_kill_9_of_the_harness_leaves_no_process_and_no_temp_dir(kind: str):
    proc = subprocess.Popen([sys.executable, "-c", _HARNESS.format(root=sandbox._ROOT, kind=kind)],
                            stdout=subprocess.PIPE, text=True)
    try:
        pid_s, tmp = proc.stdout.readline().split()  # type: ignore[union-attr]
    finally:
        proc.kill()
        proc.wait()
    child = int(pid_s)
    for _ in range(100):
        if not sandbox_process.pid_alive(child) or Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    alive = sandbox_process.pid_alive(child) and Path(f"/proc/{child}/stat").read_text().split()[2] != "Z"
    assert not alive, "the sandbox outlived the harness"
    if kind == "bwrap":
        assert tmp == "None"  # nothing on the host to leak
        return
    assert "harness-worker-" in tmp and os.path.isdir(tmp)  # kill -9 could not clean up ...
    sandbox._swept = False
    assert run_python("1", SMALL, isolation="guard").ok  # ... the next sandbox sweeps it
    assert not os.path.exists(tmp)


# -- the fallback ----------------------------------------------------------------------------------
@pytest.fixture()
def no_bwrap(monkeypatch: pytest.MonkeyPatch):
    sandbox_bwrap.reset_for_tests()
    monkeypatch.setattr(sandbox_bwrap.shutil, "which", lambda name: None)
    yield
    monkeypatch.undo()
    sandbox_bwrap.reset_for_tests()


def test_without_bwrap_auto_falls_back_to_the_guard_with_one_warning(no_bwrap, caplog: pytest.LogCaptureFixture):
    with caplog.at_level("WARNING", logger="envs.sandbox_bwrap"):
        r1 = run_python("6 * 7", SMALL, isolation="auto")
        r2 = run_python("6 * 7", SMALL, isolation="auto")
    assert r1.ok and r1.value == "42" and r1.isolation == r2.isolation == "guard"
    warnings = [rec for rec in caplog.records if rec.levelname == "WARNING"]
    assert len(warnings) == 1 and "WITHOUT an OS-level sandbox" in warnings[0].getMessage()
    assert "bwrap is not installed" in warnings[0].getMessage()


def test_bwrap_requested_but_missing_is_a_clear_error(no_bwrap):
    r = run_python("6 * 7", SMALL, isolation="bwrap")
    assert not r.ok and "bwrap" in r.error and "not installed" in r.error
    with pytest.raises(sandbox.SandboxError, match="not installed"):
        SandboxWorker("json:loads", isolation="bwrap").call("1")
    with pytest.raises(ValueError, match="sandbox must be one of"):
        sandbox.resolve_isolation("nope")


def test_the_reply_frame_parser_drops_other_ids_and_rejects_oversized_frames():
    child = object.__new__(sandbox_process.SandboxProcess)
    child.rbuf = bytearray()
    for obj in ({"id": 1, "v": "stale"}, {"id": 2, "v": "mine"}):
        data = json.dumps(obj).encode()
        child.rbuf += struct.pack(">I", len(data)) + data
    frames = child.frames()
    assert [f["v"] for f in frames] == ["stale", "mine"]
    child.rbuf = bytearray(struct.pack(">I", sandbox.MAX_FRAME + 1))
    with pytest.raises(sandbox.SandboxError, match="exceeds"):
        child.frames()


def test_a_bwrap_that_refuses_to_run_falls_back_with_its_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture):
    fake = tmp_path / "bwrap"  # as where user namespaces are refused
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    sandbox_bwrap.reset_for_tests()
    try:
        with caplog.at_level("WARNING", logger="envs.sandbox_bwrap"):
            assert sandbox.resolve_isolation("auto") == "guard"
        assert "uid map: Permission denied" in caplog.text
        with pytest.raises(sandbox_bwrap.IsolationUnavailable, match="cannot run here"):
            sandbox.resolve_isolation("bwrap")
    finally:
        monkeypatch.undo()
        sandbox_bwrap.reset_for_tests()


@pytest.mark.parametrize("kind", KINDS)
def test_calls_leak_no_file_descriptors(kind: str):
    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    run_python("1", SMALL, isolation=kind)
    before = fds()
    for code in ("1", "1 / 0", "import os\nos._exit(3)", "print('x' * 100000)"):
        run_python(code, SMALL, isolation=kind)
    run_python("import time\ntime.sleep(5)", SandboxLimits(timeout_s=0.5), isolation=kind)
    w = SandboxWorker("json:loads", SMALL, isolation=kind)
    w.call("1")
    w.close()
    assert fds() == before
