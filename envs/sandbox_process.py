"""One sandboxed child process as the harness sees it: requests on stdin, printed output on one
pipe read with a byte cap, replies as length-prefixed JSON frames with a request id on a pipe of
their own (see :mod:`envs.sandbox`). Nothing here knows how the child is isolated."""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import signal
import struct
import subprocess
import time
from typing import Any

log = logging.getLogger(__name__)

MAX_FRAME = 8 * 1024 * 1024
"""Largest reply frame accepted; a bigger length prefix is a broken protocol (the child is killed)."""


class SandboxError(RuntimeError):
    """The sandboxed process failed (could not start, died, broke the protocol)."""


class SandboxTimeout(SandboxError):
    """The sandboxed call ran past its wall-clock limit and was killed."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Output:
    """Printed output: the first ``cap`` bytes and the last 4 KB (for error messages); the rest is dropped."""

    def __init__(self, cap: int):
        self.cap = cap
        self.head = bytearray()
        self.tail = b""
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))
        self.tail = (self.tail + chunk)[-4096:]

    def text(self, chars: int) -> str:
        return self.head.decode("utf-8", "replace")[:chars]

    def last_line(self) -> str:
        lines = self.tail.decode("utf-8", "replace").strip().splitlines()
        return lines[-1][:300] if lines else ""


class SandboxProcess:
    """One sandboxed child: stdin (requests), fd 1/2 (one capped output pipe), the reply pipe (frames)."""

    def __init__(self, cmd: list[str], kind: str, out_cap: int, cwd: str | None = None,
                 env: dict[str, str] | None = None, tmp: str | None = None):
        """Start ``cmd + [REPLY_FD]``; ``tmp`` (the guard's host dir) is removed by :meth:`close`."""
        self.kind = kind
        self.tmp = tmp
        self.out = Output(out_cap)
        self.rbuf = bytearray()
        reply_r, reply_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [*cmd, str(reply_w)], stdin=subprocess.PIPE, stdout=out_w, stderr=out_w, pass_fds=(reply_w,),
                cwd=cwd, env=env or {}, start_new_session=True,  # its own process group, killed as a whole
            )
        except BaseException:
            for fd in (reply_r, out_r):
                os.close(fd)
            self._rm_tmp()
            raise
        finally:
            os.close(reply_w)
            os.close(out_w)
        self.reply_fd: int | None = reply_r
        self.out_fd: int | None = out_r

    def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()

    def frames(self) -> list[dict[str, Any]]:
        frames = []
        while len(self.rbuf) >= 4:
            (n,) = struct.unpack(">I", bytes(self.rbuf[:4]))
            if n > MAX_FRAME:
                raise SandboxError(f"sandbox reply of {n} bytes exceeds the {MAX_FRAME} byte cap")
            if len(self.rbuf) < 4 + n:
                break
            data, self.rbuf = bytes(self.rbuf[4 : 4 + n]), self.rbuf[4 + n :]
            try:
                obj = json.loads(data)
            except ValueError as exc:
                raise SandboxError(f"broken sandbox reply: {exc}") from exc
            if isinstance(obj, dict):
                frames.append(obj)
        return frames

    def _pump(self, left: float) -> None:
        poller = select.poll()  # not select(): a busy harness may hold fds above FD_SETSIZE
        for fd in (self.reply_fd, self.out_fd):
            if fd is not None:
                poller.register(fd, select.POLLIN)
        for fd, _event in poller.poll(max(0.0, left) * 1000):
            chunk = os.read(fd, 1 << 16)
            if fd == self.out_fd:
                if chunk:
                    self.out.add(chunk)
                else:
                    os.close(fd)
                    self.out_fd = None
            elif chunk:
                self.rbuf += chunk
            else:
                raise SandboxError(self.death_reason(min(5.0, max(0.2, left))))

    def reply(self, want: Any, deadline: float) -> dict[str, Any]:
        """The frame whose ``id`` is ``want``; frames for other ids are dropped."""
        while True:
            for frame in self.frames():
                if frame.get("id") == want:
                    return frame
                log.debug("sandbox: dropped a reply for request %r (waiting for %r)", frame.get("id"), want)
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxTimeout("timed out")
            self._pump(left)

    def drain(self, deadline: float) -> None:
        """Read output until it ends (the child exited) or ``deadline``."""
        while self.out_fd is not None and time.monotonic() < deadline:
            try:
                self._pump(deadline - time.monotonic())
            except SandboxError:  # the reply pipe closed: only output is left
                if self.reply_fd is not None:
                    os.close(self.reply_fd)
                    self.reply_fd = None

    def death_reason(self, wait_s: float = 5.0) -> str:
        try:
            code: int | None = self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and self.kind == "bwrap" and code > 128:
            code = -(code - 128)  # bwrap reports a signalled child as 128 + signal
        if code is not None and code < 0:
            sig = -code
            if sig == signal.SIGXCPU:
                return "killed: CPU time limit exceeded"
            if sig == signal.SIGXFSZ:
                return "killed: file size limit exceeded"
            try:
                return f"killed by signal {signal.Signals(sig).name}"
            except ValueError:
                return f"killed by signal {sig}"
        tail = self.out.last_line()
        return f"sandbox process exited with code {code}" + (f": {tail}" if tail else "")

    def close(self) -> None:
        """Kill the whole tree, close the pipes, remove the guard's temp dir."""
        for kill in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
            try:
                kill()
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("sandbox process %s did not exit", self.proc.pid)
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        for name in ("reply_fd", "out_fd"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)
        self._rm_tmp()

    def _rm_tmp(self) -> None:
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
