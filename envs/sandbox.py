"""Run untrusted Python (model-written code, model-written formulas) in a limited subprocess.

Two entry points:

* :func:`run_python` - one fresh process per call (the ``Code`` tool, QA code actions);
* :class:`SandboxWorker` - one long-lived process serving many requests to a handler function (the
  maths tools: no process start on the hot path; a request past its time limit kills the worker,
  which restarts on the next request).

Limits, and what enforces them (``envs/_sandbox_child.py``):

* wall clock: the parent kills the child's process group when ``timeout_s`` passes;
* CPU seconds (one-shot runs only): ``RLIMIT_CPU``; memory: ``RLIMIT_AS`` (address space);
  largest file: ``RLIMIT_FSIZE``; open files: ``RLIMIT_NOFILE``; no core dumps;
* file system: the child runs in a fresh temp dir (its cwd, ``HOME`` and ``TMPDIR``, deleted
  afterwards); an audit hook (PEP 578) refuses opening for writing, creating, renaming, deleting
  or chmod-ing anything outside it;
* network: the audit hook refuses every ``socket.*`` event (creating a socket fails);
* processes: ``subprocess``, ``os.system``, ``exec*``, ``fork``, ``spawn``, ``kill`` are refused;
  ``ctypes`` cannot load libraries, look up symbols or call foreign functions.

Audit hooks are a guard against accidents and ordinary model-written code, not a security boundary
against a determined attacker (CPython's own docs say so); run the harness in a container when the
code may be hostile. The child starts with ``python -I`` (no user site, no ``PYTHON*`` variables)
and a minimal environment.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_CHILD = str(Path(__file__).with_name("_sandbox_child.py"))
_ROOT = str(Path(__file__).resolve().parent.parent)


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


@dataclass
class SandboxResult:
    ok: bool
    value: str | None = None
    """``str()`` of the result (the expression's value, or the ``result`` variable)."""
    repr: str | None = None
    has_value: bool = False
    stdout: str = ""
    error: str | None = None
    timed_out: bool = False
    seconds: float = 0.0


class SandboxError(RuntimeError):
    """The sandboxed process failed (could not start, died, broke the protocol)."""


class SandboxTimeout(SandboxError):
    """The sandboxed call ran past its wall-clock limit and was killed."""


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


def _popen(tmp: str, stderr: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-I", "-X", "utf8", _CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=tmp,
        env=_child_env(tmp),
        start_new_session=True,  # its own process group, killed as a whole on timeout
        close_fds=True,
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass


def _request(nonce: str, limits: SandboxLimits, **extra: Any) -> bytes:
    lim = asdict(limits)
    req = {"nonce": nonce, "paths": [_ROOT], "limits": lim, "max_output_chars": limits.max_output_chars}
    req.update(extra)
    return (json.dumps(req) + "\n").encode()


def _find_reply(stdout: str, nonce: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(nonce):
            try:
                return json.loads(line[len(nonce) :])
            except ValueError:
                return None
    return None


def run_python(code: str, limits: SandboxLimits | None = None, result_name: str = "result") -> SandboxResult:
    """Run ``code`` in a fresh sandboxed process.

    If ``code`` is one expression its value is the result; otherwise it is executed and the
    variable ``result_name`` (if the code defines it) is the result. Never raises for failures
    of the code: they come back as ``ok=False`` with ``error`` (and ``timed_out``).
    """
    limits = limits or SandboxLimits()
    nonce = "@@" + secrets.token_hex(8) + "@@"
    tmp = tempfile.mkdtemp(prefix="harness-sandbox-")
    start = time.perf_counter()
    try:
        proc = _popen(tmp)
        req = _request(nonce, limits, mode="run", code=code, result_name=result_name)
        try:
            out, err = proc.communicate(req, timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            return SandboxResult(
                ok=False,
                error=f"timed out after {limits.timeout_s:g} s",
                timed_out=True,
                seconds=time.perf_counter() - start,
            )
        reply = _find_reply(out.decode("utf-8", "replace"), nonce)
        seconds = time.perf_counter() - start
        if reply is None:
            why = _death_reason(proc.returncode, err.decode("utf-8", "replace"))
            return SandboxResult(ok=False, error=why, seconds=seconds, timed_out="CPU time" in why)
        return SandboxResult(
            ok=bool(reply.get("ok")),
            value=reply.get("value"),
            repr=reply.get("repr"),
            has_value=bool(reply.get("has_value")),
            stdout=reply.get("stdout", ""),
            error=reply.get("error"),
            seconds=seconds,
        )
    except OSError as exc:
        return SandboxResult(ok=False, error=f"cannot start the sandbox: {exc}", seconds=time.perf_counter() - start)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _death_reason(returncode: int | None, stderr: str) -> str:
    if returncode is not None and returncode < 0:
        sig = -returncode
        if sig == signal.SIGXCPU:
            return "killed: CPU time limit exceeded"
        if sig == signal.SIGXFSZ:
            return "killed: file size limit exceeded"
        return f"killed by signal {signal.Signals(sig).name}"
    tail = stderr.strip().splitlines()[-1:] if stderr.strip() else []
    return f"sandbox process exited with code {returncode}" + (f": {tail[0][:300]}" if tail else "")


class SandboxWorker:
    """A persistent sandboxed process that calls ``handler(payload) -> JSON-able`` per request.

    ``handler`` is ``"module:function"``; the module is imported before the guards go up. Thread
    safe (one request at a time). A timeout kills the process; the next call starts a new one.
    """

    def __init__(self, handler: str, limits: SandboxLimits | None = None, start_timeout_s: float = 120.0):
        self.handler = handler
        self.limits = limits or SandboxLimits(cpu_s=None, memory_mb=2048)
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: str | None = None
        self._stderr: Any = None
        self._nonce = ""
        self._buf = b""
        self._next_id = 0
        self._lock = threading.Lock()
        self.restarts = 0

    # -- lifecycle --------------------------------------------------------------------------
    def _start(self) -> None:
        self._tmp = tempfile.mkdtemp(prefix="harness-worker-")
        self._nonce = "@@" + secrets.token_hex(8) + "@@"
        self._buf = b""
        limits = SandboxLimits(**{**asdict(self.limits), "cpu_s": None})
        self._stderr = tempfile.TemporaryFile()  # a file, not a pipe: a chatty child cannot block on it
        self._proc = _popen(self._tmp, stderr=self._stderr)
        assert self._proc.stdin is not None
        self._proc.stdin.write(_request(self._nonce, limits, mode="worker", handler=self.handler))
        self._proc.stdin.flush()
        try:
            reply = self._read(self.start_timeout_s)
        except (SandboxError, OSError, ValueError) as exc:
            self.close()
            raise SandboxError(f"sandbox worker did not start: {exc}") from exc
        if not reply.get("ready"):
            self.close()
            raise SandboxError(reply.get("error") or "sandbox worker did not start")

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 4000))
            return self._stderr.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _kill(proc)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.warning("sandbox worker %s did not exit", proc.pid)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __del__(self) -> None:  # best effort; env.close() is the real path
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass

    # -- requests ---------------------------------------------------------------------------
    def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace")
                if text.startswith(self._nonce):
                    return json.loads(text[len(self._nonce) :])
                # anything else on stdout is stray output of the handler; ignore it
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxTimeout(f"timed out after {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                try:
                    code = self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = None
                raise SandboxError(_death_reason(code, self._stderr_tail()))
            self._buf += chunk

    def call(self, payload: Any, timeout: float | None = None) -> Any:
        """Send one request; return the handler's result. Raises :class:`SandboxTimeout` (the
        worker is killed) or :class:`SandboxError` (the handler raised, or the worker died)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                if self._proc is not None:
                    self.close()
                    self.restarts += 1
                self._start()
            assert self._proc is not None and self._proc.stdin is not None
            self._next_id += 1
            msg = json.dumps({"id": self._next_id, "payload": payload}) + "\n"
            try:
                self._proc.stdin.write(msg.encode())
                self._proc.stdin.flush()
                reply = self._read(self.limits.timeout_s if timeout is None else timeout)
            except SandboxTimeout:
                self.close()
                self.restarts += 1
                raise
            except (OSError, SandboxError) as exc:
                self.close()
                self.restarts += 1
                raise SandboxError(str(exc)) from exc
            if not reply.get("ok"):
                raise SandboxError(reply.get("error") or "handler failed")
            return reply.get("result")
