"""Child side of :mod:`envs.sandbox`. Runs as ``python -I envs/_sandbox_child.py`` in a fresh temp dir.

Reads one JSON request line from stdin, imports the requested handler module (before locking
down), applies resource limits and audit hooks, then either runs one piece of code (``mode:
"run"``) or serves handler requests line by line (``mode: "worker"``). Every reply is one line
``<nonce><json>`` on the real stdout; user prints are captured separately.

Only the standard library is imported here, so the file also works before the package is installed.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import json
import os
import resource
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
        return True  # an fd: it came from an audited open
    try:
        p = os.fsdecode(os.fspath(path))  # type: ignore[arg-type]
    except TypeError:
        return False
    full = os.path.realpath(os.path.join(root, p))
    return full == root or full.startswith(root + os.sep)


def _install_guards(root: str) -> None:
    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing and not _inside(root, path):
                raise PermissionError(f"sandbox: writing outside the sandbox directory is not allowed ({path})")
        elif event.startswith("socket.") or event in ("http.client.connect", "urllib.Request"):
            raise PermissionError("sandbox: network access is disabled")
        elif event in _BLOCKED:
            raise PermissionError(f"sandbox: {event} is not allowed")
        elif event == "ctypes.dlopen" and args and args[0] is not None:
            raise PermissionError("sandbox: loading native libraries is not allowed")
        elif event in _PATH_EVENTS:
            for i in _PATH_EVENTS[event]:
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


def _reply(out: io.TextIOBase, nonce: str, obj: dict) -> None:
    out.write(nonce + json.dumps(obj, default=str) + "\n")
    out.flush()


def _run_code(req: dict) -> dict:
    code = req["code"]
    cap = int(req.get("max_output_chars", 10000))
    ns: dict = {"__name__": "__sandbox__", "__builtins__": builtins}
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                compiled = compile(code, "<sandbox>", "eval")
            except SyntaxError:
                exec(compile(code, "<sandbox>", "exec"), ns)  # noqa: S102 - the point of a sandbox
                value = ns.get(req.get("result_name") or "result", None)
                has_value = (req.get("result_name") or "result") in ns
            else:
                value = eval(compiled, ns)  # noqa: S307
                has_value = True
        return {
            "ok": True,
            "has_value": has_value,
            "value": str(value)[:cap],
            "repr": repr(value)[:cap],
            "stdout": buf.getvalue()[:cap],
        }
    except BaseException as exc:  # noqa: BLE001 - report everything, incl. SystemExit and MemoryError
        tb = traceback.format_exception_only(type(exc), exc)
        return {"ok": False, "error": "".join(tb).strip()[:cap], "stdout": buf.getvalue()[:cap]}


def main() -> None:
    real_out = sys.stdout
    first = sys.stdin.readline()
    req = json.loads(first)
    nonce = req["nonce"]
    root = os.path.realpath(os.getcwd())
    sys.dont_write_bytecode = True
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
    except BaseException as exc:  # noqa: BLE001
        _reply(real_out, nonce, {"ok": False, "error": f"sandbox start failed: {exc!r}"})
        return
    _apply_limits(req.get("limits") or {})
    _install_guards(root)
    if req.get("mode") == "worker":
        _reply(real_out, nonce, {"ok": True, "ready": True})
        for line in sys.stdin:
            mid = None
            try:
                msg = json.loads(line)
                mid = msg.get("id")
                result = handler(msg["payload"])  # type: ignore[misc]
                _reply(real_out, nonce, {"id": mid, "ok": True, "result": result})
            except BaseException as exc:  # noqa: BLE001 - the worker survives its requests
                _reply(real_out, nonce, {"id": mid, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]})
        return
    _reply(real_out, nonce, _run_code(req))


if __name__ == "__main__":
    main()
