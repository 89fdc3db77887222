"""Run untrusted Python (model-written code, model-written formulas) in a sandboxed subprocess.

Two entry points:

* :func:`run_python` - one fresh process per call (the ``Code`` tool, QA code actions);
* :class:`SandboxWorker` - one long-lived process serving many requests to a handler function (the
  maths tools: no process start on the hot path; a request past its time limit kills the worker,
  which restarts on the next request).

Isolation (:mod:`envs.sandbox_bwrap`): ``bwrap`` (namespaces, read-only file system, a size-capped
tmpfs, no network, fresh /proc, no environment) where bubblewrap runs, else ``guard`` (the audit
hooks alone, with a warning). Whichever runs, the harness side (:mod:`envs.sandbox_process`) enforces:

* wall clock: the whole process tree is killed when ``timeout_s`` passes (the session's process
  group; under bwrap, killing bwrap tears down its PID namespace with every process in it);
* output: fd 1/2 are one pipe read with a byte cap (the rest is drained and dropped);
* replies: length-prefixed JSON frames on a separate pipe opened before any user code runs, each
  carrying its request id; a frame for another id (a late reply to an interrupted request) is
  dropped. In ``run`` mode user code runs in a forked process that does not hold that pipe.

The child (``envs/_sandbox_child.py``) applies ``RLIMIT_CPU`` (one-shot runs), ``RLIMIT_AS``,
``RLIMIT_FSIZE``, ``RLIMIT_NOFILE``, ``RLIMIT_NPROC`` and no core dumps, and installs the audit
guard (PEP 578: writes outside its directory, sockets, subprocesses, ``ctypes``, other processes'
/proc entries) in both kinds, so that ordinary code gets the same observations either way.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from envs import sandbox_bwrap
from envs.sandbox_bwrap import IsolationUnavailable
from envs.sandbox_process import MAX_FRAME, SandboxError, SandboxProcess, SandboxTimeout, pid_alive

__all__ = ["MAX_FRAME", "SandboxError", "SandboxLimits", "SandboxResult", "SandboxTimeout", "SandboxWorker",
           "isolation_note", "resolve_isolation", "run_python"]

log = logging.getLogger(__name__)

_CHILD = str(Path(__file__).with_name("_sandbox_child.py"))
_ROOT = str(Path(__file__).resolve().parent.parent)
_TMP_RE = re.compile(r"^harness-(?:sandbox|worker)-(\d+)-")
_swept = False


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 10.0
    """Wall clock per call (per request for a worker)."""
    cpu_s: int | None = 10
    """``RLIMIT_CPU`` for one-shot runs (a worker lives long, so it relies on ``timeout_s``)."""
    memory_mb: int = 1024
    """``RLIMIT_AS``; imports of numpy/sympy need about 300-500 MB of address space."""
    file_size_mb: int = 16
    max_files: int = 256
    max_output_chars: int = 10_000
    """Cap on the result text and on the printed output kept (4 bytes a character)."""
    max_procs: int = 64
    """``RLIMIT_NPROC`` (processes and threads of the sandbox user; binds under bwrap only)."""
    disk_mb: int = 64
    """Size of the writable tmpfs, all files together (bwrap only; the guard caps each file)."""


@dataclass
class SandboxResult:
    ok: bool
    value: str | None = None
    """``str()`` of the result (the expression's value, or the ``result`` variable)."""
    repr: str | None = None
    has_value: bool = False
    stdout: str = ""
    """What the code printed (stdout and stderr), at most ``max_output_chars``."""
    error: str | None = None
    timed_out: bool = False
    seconds: float = 0.0
    isolation: str = ""
    """``bwrap`` or ``guard``: what isolated this run."""
    output_truncated: bool = False


def resolve_isolation(requested: str | None = None) -> str:
    """``auto``/``bwrap``/``guard`` (None: ``$HARNESS_SANDBOX`` or ``auto``) -> ``bwrap`` or ``guard``."""
    return sandbox_bwrap.resolve(requested, [_ROOT])


def isolation_note(kind: str, formulas_inprocess: bool = False) -> str:
    """The run note saying what isolated model-written code (``kind`` from :func:`resolve_isolation`;
    ``formulas_inprocess``: the maths option ``isolation: inprocess`` keeps sympy in the harness)."""
    what = "model-written code" if formulas_inprocess else "model-written code and formulas"
    extra = "; the sympy tools ran in the harness process (isolation: inprocess)" if formulas_inprocess else ""
    if kind == "bwrap":
        return (f"Sandbox: bwrap - {what} ran under bubblewrap (no network, read-only file system, size-capped "
                f"tmpfs, own PID namespace, no environment, rlimits){extra}.")
    return (f"Sandbox: guard - bubblewrap was not used; {what} ran under the in-process audit-hook guard only, "
            f"which is not a security boundary{extra}.")


def _sweep_stale_dirs() -> None:
    """Remove guard-mode temp dirs left by a harness killed with -9 (their owner pid is gone)."""
    global _swept
    if _swept:
        return
    _swept = True
    base = tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        m = _TMP_RE.match(name)
        if m and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def _child_env(tmp: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": tmp,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _spawn(kind: str, limits: SandboxLimits, prefix: str, out_cap: int) -> SandboxProcess:
    """Start the child under ``kind``: bwrap (no host dir at all) or the guard (a host temp dir
    named after this process, so a later harness can sweep it if this one is killed with -9)."""
    cmd = [sys.executable, "-I", "-X", "utf8", _CHILD]
    if kind == "bwrap":
        return SandboxProcess(sandbox_bwrap.argv([_ROOT], limits.disk_mb) + cmd, kind, out_cap)
    _sweep_stale_dirs()
    tmp = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    return SandboxProcess(cmd, kind, out_cap, cwd=tmp, env=_child_env(tmp), tmp=tmp)


def _request(rid: Any, kind: str, limits: SandboxLimits, **extra: Any) -> dict[str, Any]:
    req = {
        "id": rid,
        "paths": [_ROOT],
        "limits": asdict(limits),
        "max_output_chars": limits.max_output_chars,
        "drop_uid": sandbox_bwrap.SANDBOX_UID if kind == "bwrap" and os.geteuid() == 0 else None,
        "pdeathsig": kind == "guard",
    }
    req.update(extra)
    return req


def run_python(
    code: str,
    limits: SandboxLimits | None = None,
    result_name: str = "result",
    isolation: str | None = None,
    audit_guard: bool = True,
) -> SandboxResult:
    """Run ``code`` in a fresh sandboxed process.

    If ``code`` is one expression its value is the result; otherwise it is executed and the
    variable ``result_name`` (if the code defines it) is the result. Never raises for failures
    of the code: they come back as ``ok=False`` with ``error`` (and ``timed_out``).
    ``isolation``: see :func:`resolve_isolation`. ``audit_guard=False`` leaves the audit hooks
    out (tests of the OS boundary on its own).
    """
    limits = limits or SandboxLimits()
    start = time.perf_counter()
    deadline = time.monotonic() + limits.timeout_s
    try:
        kind = resolve_isolation(isolation)
    except (IsolationUnavailable, ValueError) as exc:
        return SandboxResult(ok=False, error=str(exc))
    rid = secrets.token_hex(8)
    cap = limits.max_output_chars
    try:
        child = _spawn(kind, limits, "harness-sandbox-", out_cap=4 * cap)
    except OSError as exc:
        return SandboxResult(ok=False, error=f"cannot start the sandbox: {exc}", isolation=kind)
    try:
        try:
            child.send(_request(rid, kind, limits, mode="run", code=code, result_name=result_name, guard=audit_guard))
            frame = child.reply(rid, deadline)
        except SandboxTimeout:
            return SandboxResult(ok=False, error=f"timed out after {limits.timeout_s:g} s", timed_out=True,
                                 stdout=child.out.text(cap), seconds=time.perf_counter() - start, isolation=kind,
                                 output_truncated=child.out.dropped > 0)
        except (SandboxError, OSError) as exc:
            why = str(exc) if isinstance(exc, SandboxError) else child.death_reason()
            return SandboxResult(ok=False, error=why, timed_out="CPU time" in why, stdout=child.out.text(cap),
                                 seconds=time.perf_counter() - start, isolation=kind)
        child.drain(min(deadline, time.monotonic() + 1.0))
        error = frame.get("error")
        return SandboxResult(
            ok=bool(frame.get("ok")),
            value=frame.get("value"),
            repr=frame.get("repr"),
            has_value=bool(frame.get("has_value")),
            stdout=child.out.text(cap),
            error=error,
            timed_out=bool(error and "CPU time" in error),
            seconds=time.perf_counter() - start,
            isolation=kind,
            output_truncated=child.out.dropped > 0,
        )
    finally:
        child.close()


class SandboxWorker:
    """A persistent sandboxed process that calls ``handler(payload) -> JSON-able`` per request.

    ``handler`` is ``"module:function"``; the module is imported before the limits and guards go
    up. Thread safe (one request at a time). A timeout, or any interruption of a call, kills the
    process (it might still answer); the next call starts a new one.
    """

    def __init__(self, handler: str, limits: SandboxLimits | None = None, start_timeout_s: float = 120.0,
                 isolation: str | None = None):
        self.handler = handler
        self.limits = limits or SandboxLimits(cpu_s=None, memory_mb=2048)
        self.start_timeout_s = start_timeout_s
        self.requested = isolation
        self.isolation = ""
        """The kind the current (or last) worker process ran under."""
        self._child: SandboxProcess | None = None
        self._next_id = 0
        self._lock = threading.Lock()
        self.restarts = 0

    # -- lifecycle --------------------------------------------------------------------------
    def _start(self) -> None:
        try:
            self.isolation = resolve_isolation(self.requested)
        except (IsolationUnavailable, ValueError) as exc:
            raise SandboxError(str(exc)) from exc
        limits = SandboxLimits(**{**asdict(self.limits), "cpu_s": None})
        try:
            self._child = _spawn(self.isolation, limits, "harness-worker-", out_cap=0)
        except OSError as exc:
            raise SandboxError(f"sandbox worker did not start: {exc}") from exc
        self._next_id += 1
        rid = self._next_id
        try:
            self._child.send(_request(rid, self.isolation, limits, mode="worker", handler=self.handler))
            reply = self._child.reply(rid, time.monotonic() + self.start_timeout_s)
        except (SandboxError, OSError, ValueError) as exc:
            self.close()
            raise SandboxError(f"sandbox worker did not start: {exc}") from exc
        if not reply.get("ready"):
            self.close()
            raise SandboxError(reply.get("error") or "sandbox worker did not start")

    def close(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.close()

    def __del__(self) -> None:  # best effort; env.close() is the real path
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass

    # -- requests ---------------------------------------------------------------------------
    def call(self, payload: Any, timeout: float | None = None) -> Any:
        """Send one request; return the handler's result. Raises :class:`SandboxTimeout` (the
        worker is killed) or :class:`SandboxError` (the handler raised, or the worker died)."""
        with self._lock:
            if self._child is None or self._child.proc.poll() is not None:
                if self._child is not None:
                    self.close()
                    self.restarts += 1
                self._start()
            child = self._child
            assert child is not None
            self._next_id += 1
            mid = self._next_id
            limit = self.limits.timeout_s if timeout is None else timeout
            try:
                child.send({"id": mid, "payload": payload})
                reply = child.reply(mid, time.monotonic() + limit)
            except SandboxTimeout as exc:
                self.close()
                self.restarts += 1
                raise SandboxTimeout(f"timed out after {limit:g} s") from exc
            except (OSError, SandboxError) as exc:
                self.close()
                self.restarts += 1
                raise SandboxError(str(exc)) from exc
            except BaseException:  # interrupted (Ctrl-C, a time budget): this request may still be answered
                self.close()
                self.restarts += 1
                raise
            if not reply.get("ok"):
                raise SandboxError(reply.get("error") or "handler failed")
            return reply.get("result")
