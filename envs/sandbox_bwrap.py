"""Which isolation a sandboxed call gets, and the bubblewrap command line for the OS-level one.

Two kinds (the resolved kind is recorded in every run's environment options and notes):

* ``bwrap``: the child runs under `bubblewrap <https://github.com/containers/bubblewrap>`_ in new
  PID, network, IPC, UTS and mount namespaces: a read-only view of only the Python installation,
  its site-packages and the harness source; a size-capped tmpfs at ``/tmp`` as the only writable
  place; fresh ``/proc`` (no other process visible) and a minimal ``/dev``; no network interface
  but loopback; an empty environment. Started as root (containers, CI), the sandbox keeps only the
  capabilities to change user and the child drops to ``nobody`` before any model-written code runs
  (so ``RLIMIT_NPROC`` binds: the kernel never applies it to uid 0); started as another user, it
  runs in a new user namespace with no capabilities.
* ``guard``: today's in-process audit-hook guard alone (a guard against accidents, not a boundary),
  used only where no bwrap can run; it logs a warning once per process.

The requested kind is ``auto`` (bwrap when it works, else guard), ``bwrap`` (fail clearly without
it) or ``guard``; the default comes from ``$HARNESS_SANDBOX`` (else ``auto``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

KINDS = ("auto", "bwrap", "guard")
SANDBOX_UID = 65534  # nobody
TMP = "/tmp"
"""The sandbox's writable tmpfs (its cwd, ``HOME`` and ``TMPDIR``)."""

_lock = threading.Lock()
_probe: tuple[bool, str] | None = None
_warned = False


class IsolationUnavailable(ValueError):
    """``bwrap`` was requested but cannot run here."""


def default_kind() -> str:
    kind = os.environ.get("HARNESS_SANDBOX", "auto").strip().lower() or "auto"
    return kind if kind in KINDS else "auto"


def _system_dirs() -> list[tuple[str, str]]:
    """(kind, path) for the system directories: ``ro`` binds or ``symlink`` targets (usrmerge)."""
    out: list[tuple[str, str]] = [("ro", "/usr")]
    for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(d):
            out.append(("symlink", d))
        elif os.path.isdir(d):
            out.append(("ro", d))
    for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives"):
        if os.path.exists(f):
            out.append(("ro", f))
    return out


EXTRA_RO_PATHS: list[str] = []
"""More host paths to show the sandbox read-only (a plug-in whose worker handler lives elsewhere)."""


def _library_entry(p: str) -> bool:
    """A ``sys.path`` entry that holds installed packages (not, say, the cwd of ``python -m``,
    which may be a home directory full of secrets)."""
    name = os.path.basename(p.rstrip("/"))
    return name in ("site-packages", "dist-packages") or name.endswith(".zip") or bool(re.match(r"python3\.\d+$", name)) \
        or name == "lib-dynload"


def python_paths(extra: list[str]) -> list[str]:
    """Directories the child Python needs to read: its installation, the venv, the package dirs
    of ``sys.path``, ``extra`` (the harness source) and :data:`EXTRA_RO_PATHS`; minimal (a path
    under another one is dropped)."""
    cands = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             str(Path(sys.executable).parent), str(Path(os.path.realpath(sys.executable)).parent.parent)]
    cands += [p for p in sys.path if p and os.path.isabs(p) and _library_entry(p)] + list(extra) + EXTRA_RO_PATHS
    real: list[str] = []
    for p in cands:
        if not os.path.exists(p):
            continue
        for q in {os.path.abspath(p), os.path.realpath(p)}:
            if q not in real and not q.startswith(("/usr/", "/proc", "/dev")) and q != "/usr":
                real.append(q)
    real.sort(key=len)
    keep: list[str] = []
    for p in real:
        if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in keep):
            keep.append(p)
    return [p for p in keep if p != "/"]


def argv(extra_paths: list[str], disk_mb: int) -> list[str]:
    """The ``bwrap ... --`` prefix; the command to run follows it."""
    root = os.geteuid() == 0
    cmd = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session", "--clearenv"]
    if root:  # no user namespace: the child drops to nobody itself, keeping only these capabilities
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-all", "--unshare-user"]
    cmd += ["--perms", "1777", "--size", str(max(1, int(disk_mb)) * 1024 * 1024), "--tmpfs", TMP]
    for kind, path in _system_dirs():
        if kind == "symlink":
            cmd += ["--symlink", os.readlink(path), path]
        else:
            cmd += ["--ro-bind", path, path]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    made: set[str] = {"/", TMP, "/usr", "/proc", "/dev"}
    for p in python_paths(extra_paths):
        parents = list(reversed(Path(p).parents))[1:]  # skip "/"
        for d in map(str, parents):
            if d not in made:  # bwrap would make these 0700 as root: nobody could not traverse them
                cmd += ["--perms", "0755", "--dir", d]
                made.add(d)
        cmd += ["--ro-bind", p, p]
        made.add(p)
    cmd += ["--chdir", TMP, "--setenv", "HOME", TMP, "--setenv", "TMPDIR", TMP, "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "LANG", "C.UTF-8"]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        cmd += ["--setenv", var, "1"]
    return cmd + ["--"]


def probe(extra_paths: list[str]) -> tuple[bool, str]:
    """Whether bwrap runs this Python here (cached per process): ``(ok, reason)``."""
    global _probe
    with _lock:
        if _probe is not None:
            return _probe
        if shutil.which("bwrap") is None:
            _probe = (False, "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap, or `make setup` as root)")
            return _probe
        cmd = argv(extra_paths, 1) + [sys.executable, "-I", "-c", "import os; print(os.getpid())"]
        try:
            res = subprocess.run(cmd, capture_output=True, timeout=30, env={}, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            _probe = (False, f"bwrap failed to start: {exc}")
            return _probe
        if res.returncode != 0:
            why = res.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {res.returncode}"]
            _probe = (False, f"bwrap cannot run here ({why[0][:200]}; user namespaces refused?)")
        else:
            _probe = (True, "ok")
        return _probe


def resolve(requested: str | None, extra_paths: list[str]) -> str:
    """``auto``/``bwrap``/``guard`` -> the kind that runs (``bwrap`` or ``guard``). ``bwrap`` raises
    :class:`IsolationUnavailable` when it cannot run; falling back to ``guard`` warns once."""
    req = (requested or default_kind()).strip().lower()
    if req not in KINDS:
        raise ValueError(f"sandbox must be one of {', '.join(KINDS)}, got {requested!r}")
    if req == "guard":
        _warn_guard("the sandbox option is 'guard'")
        return "guard"
    ok, why = probe(extra_paths)
    if ok:
        return "bwrap"
    if req == "bwrap":
        raise IsolationUnavailable(f"sandbox 'bwrap' requested but {why}")
    _warn_guard(why)
    return "guard"


def _warn_guard(why: str) -> None:
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    log.warning(
        "SANDBOX: model-written code runs WITHOUT an OS-level sandbox (%s); only the in-process audit-hook "
        "guard applies, which is not a security boundary. Install bubblewrap to isolate it.", why)


def reset_for_tests() -> None:
    """Forget the cached probe and the warning (tests of the fallback)."""
    global _probe, _warned
    with _lock:
        _probe, _warned = None, False
