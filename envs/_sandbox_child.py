"""Child side of :mod:`envs.sandbox`: ``python -I envs/_sandbox_child.py REPLY_FD``, in its writable
directory (bwrap's tmpfs, or a host temp dir under the guard).

Reads one JSON request line from stdin, imports the requested handler module, drops root (inside
bwrap), applies resource limits, then either runs one piece of code (``mode: "run"``: in a forked
user process with the audit guard up and without the reply channel) or serves handler requests
line by line (``mode: "worker"``). Replies are length-prefixed JSON frames carrying the request id
on ``REPLY_FD``, a pipe opened by the harness before any user code runs; fd 1/2 are plain output,
read with a byte cap by the harness, so nothing printed can pass for a reply.

Only the standard library is imported here, so the file also works before the package is installed.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import json
import os
import resource
import select
import signal
import struct
import sys
import traceback

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_BLOCKED = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "os.setuid",
    "os.setgid",
    "pty.spawn",
    "sys.addaudithook",
    "ctypes.dlsym",
    "ctypes.call_function",
    "ctypes.cdata",
    "ctypes.addressof",
    "ctypes.string_at",
    "ctypes.wstring_at",
    "ctypes.set_errno",
    "ctypes.get_errno",
    "ctypes.seh_exception",
    "webbrowser.open",
    "_posixsubprocess.fork_exec",
}
# event -> indices of path arguments that must stay inside the temp dir
_PATH_EVENTS = {
    "os.remove": (0,),
    "os.unlink": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.replace": (0, 1),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.chdir": (0,),
    "os.chflags": (0,),
    "os.lchflags": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copymode": (1,),
    "shutil.copystat": (1,),
    "shutil.move": (0, 1),
    "shutil.chown": (0,),
}


def _inside(root: str, path: object) -> bool:
    if isinstance(path, int) or path is None:
        return True  # an fd: it came from an audited open (the OS sandbox covers dir_fd tricks)
    try:
        p = os.fsdecode(os.fspath(path))  # type: ignore[arg-type]
    except TypeError:
        return False
    full = os.path.realpath(os.path.join(root, p))
    return full == root or full.startswith(root + os.sep)


def _other_proc(path: object) -> bool:
    """``/proc/<pid>/...`` of another process (its environment, memory, fds)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        return False
    try:
        full = os.path.realpath(os.fsdecode(os.fspath(path)))
    except (TypeError, ValueError):
        return False
    parts = full.split(os.sep)
    return len(parts) > 2 and parts[1] == "proc" and parts[2].isdigit() and parts[2] != str(os.getpid())


def _install_guards(root: str) -> None:
    blocked = frozenset(_BLOCKED)
    path_events = tuple(_PATH_EVENTS.items())
    path_index = dict(path_events)
    write_flags = _WRITE_FLAGS

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & write_flags
            )
            if writing and not _inside(root, path):
                raise PermissionError(f"sandbox: writing outside the sandbox directory is not allowed ({path})")
            if _other_proc(path):
                raise PermissionError("sandbox: reading other processes' /proc entries is not allowed")
        elif event.startswith("socket.") or event in ("http.client.connect", "urllib.Request"):
            raise PermissionError("sandbox: network access is disabled")
        elif event in blocked:
            raise PermissionError(f"sandbox: {event} is not allowed")
        elif event == "ctypes.dlopen" and args and args[0] is not None:
            raise PermissionError("sandbox: loading native libraries is not allowed")
        elif event == "os.chdir" and args and isinstance(args[0], int):
            raise PermissionError("sandbox: os.chdir to a file descriptor is not allowed")
        elif event in path_index:
            for i in path_index[event]:
                if i < len(args) and not _inside(root, args[i]):
                    raise PermissionError(f"sandbox: {event} outside the sandbox directory is not allowed")

    sys.addaudithook(hook)


def _limit(kind: int, value: int | None, grace: int = 0) -> None:
    """Set the soft limit to ``value`` and the hard one ``grace`` above it (for CPU time: SIGXCPU
    at the soft limit, SIGKILL only at the hard one)."""
    if value is None:
        return
    _soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    new_hard = value + grace if hard == resource.RLIM_INFINITY else min(hard, value + grace)
    resource.setrlimit(kind, (value, new_hard))


def _apply_limits(limits: dict) -> None:
    mb = 1024 * 1024
    _limit(resource.RLIMIT_CORE, 0)
    if limits.get("memory_mb"):
        _limit(resource.RLIMIT_AS, int(limits["memory_mb"]) * mb)
    if limits.get("file_size_mb") is not None:
        _limit(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * mb)
    if limits.get("cpu_s"):
        _limit(resource.RLIMIT_CPU, int(limits["cpu_s"]), grace=1)
    if limits.get("max_files"):
        _limit(resource.RLIMIT_NOFILE, int(limits["max_files"]))


def _limit_procs(limits: dict) -> None:
    """``RLIMIT_NPROC`` (counts every process and thread of the uid; the kernel exempts root, so
    it binds inside bwrap, where the child is ``nobody``). Set after the trusted fork."""
    if limits.get("max_procs"):
        _limit(resource.RLIMIT_NPROC, int(limits["max_procs"]))


def _send(fd: int, obj: dict) -> None:
    """One frame on the reply channel: 4-byte big-endian length, then ASCII JSON (lone surrogates
    and other odd characters arrive escaped, never as an encoding error)."""
    data = json.dumps(obj, default=str, ensure_ascii=True).encode("ascii")
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _collect(fd: int, pid: int, cap: int) -> tuple[list[dict], int]:
    """Frames the user process ``pid`` sent on ``fd`` until it exited (its own forks may keep the
    pipe open, so EOF is not waited for), and its wait status. At most ``cap`` bytes are kept."""
    buf = bytearray()
    status = None
    while status is None:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 1 << 16)
            if len(buf) < cap:
                buf += chunk
            if chunk:
                continue
        done, st = os.waitpid(pid, 0 if ready else os.WNOHANG)  # EOF: it is gone or going
        if done:
            status = st
    os.set_blocking(fd, False)
    with contextlib.suppress(BlockingIOError):
        while len(buf) < cap and (chunk := os.read(fd, 1 << 16)):
            buf += chunk
    frames = []
    while len(buf) >= 4:
        (n,) = struct.unpack(">I", bytes(buf[:4]))
        if len(buf) < 4 + n:
            break
        try:
            obj = json.loads(bytes(buf[4 : 4 + n]))
        except ValueError:
            obj = None
        frames.append(obj if isinstance(obj, dict) else {})
        del buf[: 4 + n]
    return frames, status


_RESULT_KEYS = {"ok": bool, "has_value": bool, "value": str, "repr": str, "error": str}


def _run_code(req: dict) -> dict:
    """Runs in the user process: prints go to its fd 1/2 (read, capped, by the harness)."""
    code = req["code"]
    cap = int(req.get("max_output_chars", 10000))
    name = req.get("result_name") or "result"
    ns: dict = {"__name__": "__sandbox__", "__builtins__": builtins}
    try:
        try:
            compiled = compile(code, "<sandbox>", "eval")
        except SyntaxError:
            exec(compile(code, "<sandbox>", "exec"), ns)  # noqa: S102 - the point of a sandbox
            value = ns.get(name, None)
            has_value = name in ns
        else:
            value = eval(compiled, ns)  # noqa: S307
            has_value = True
        return {"ok": True, "has_value": has_value, "value": str(value)[:cap], "repr": repr(value)[:cap]}
    except BaseException as exc:  # noqa: BLE001 - report everything, incl. SystemExit and MemoryError
        tb = traceback.format_exception_only(type(exc), exc)
        return {"ok": False, "error": "".join(tb).strip()[:cap]}


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "killed: CPU time limit exceeded"
        if sig == signal.SIGXFSZ:
            return "killed: file size limit exceeded"
        return f"killed by signal {signal.Signals(sig).name}"
    return f"the code exited with code {os.WEXITSTATUS(status)} before returning a result"


def _run_isolated(req: dict, reply_fd: int, root: str) -> dict:
    """Fork the user process (guards up, no reply channel: it cannot forge this process's reply)
    and turn what it sends back, or how it died, into the reply."""
    cap = int(req.get("max_output_chars", 10000))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the user process
        try:
            os.close(r)
            os.close(reply_fd)
            _limit_procs(req.get("limits") or {})
            if req.get("guard", True):
                _install_guards(root)
            res = _run_code(req)
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            _send(w, res)
        finally:
            os._exit(0)
    os.close(w)
    frames, status = _collect(r, pid, 4 * cap + 65536)
    os.close(r)
    if not frames:
        return {"ok": False, "error": _death(status)}
    if len(frames) > 1:
        return {"ok": False, "error": "sandbox: the code wrote to the result channel itself; its result is void"}
    frame = frames[0]
    res = {k: v for k, v in frame.items() if k in _RESULT_KEYS and isinstance(v, _RESULT_KEYS[k])}
    res["ok"] = bool(res.get("ok"))
    return res


def _drop_privileges(uid: int) -> None:
    """Root inside the sandbox (no user namespace): become ``uid`` for good before user code."""
    if os.getuid() != 0:
        return
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise RuntimeError("could not drop root")


def _die_with_parent() -> None:
    """Guard mode (no bwrap --die-with-parent): SIGKILL this process when the harness dies."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)


def main() -> None:
    reply_fd = int(sys.argv[1])
    first = sys.stdin.readline()
    req = json.loads(first)
    rid = req.get("id")
    root = os.path.realpath(os.getcwd())
    sys.dont_write_bytecode = True
    if req.get("pdeathsig"):
        _die_with_parent()
    for p in reversed(req.get("paths") or []):
        if p not in sys.path:
            sys.path.insert(0, p)
    handler = None
    try:
        for mod in req.get("preload") or []:
            importlib.import_module(mod)
        if req.get("handler"):
            mod_name, fn_name = req["handler"].split(":")
            handler = getattr(importlib.import_module(mod_name), fn_name)
        if req.get("drop_uid") is not None:
            _drop_privileges(int(req["drop_uid"]))
        _apply_limits(req.get("limits") or {})
    except BaseException as exc:  # noqa: BLE001
        _send(reply_fd, {"id": rid, "ok": False, "error": f"sandbox start failed: {exc!r}"})
        return
    if req.get("mode") != "worker":
        _send(reply_fd, {"id": rid, **_run_isolated(req, reply_fd, root)})
        return
    _limit_procs(req.get("limits") or {})
    if req.get("guard", True):
        _install_guards(root)
    _send(reply_fd, {"id": rid, "ok": True, "ready": True})
    for line in sys.stdin:
        mid = None
        try:
            msg = json.loads(line)
            mid = msg.get("id")
            result = handler(msg["payload"])  # type: ignore[misc]
            _send(reply_fd, {"id": mid, "ok": True, "result": result})
        except BaseException as exc:  # noqa: BLE001 - the worker survives its requests
            _send(reply_fd, {"id": mid, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]})


if __name__ == "__main__":
    main()
