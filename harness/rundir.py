"""Guards of a run directory: one writer at a time, a full disk as one clear line, and a refused
resume that names what differs.

The lock is ``fcntl.flock`` on the run directory itself (no lock file is left behind); the kernel
releases it when the holder exits, also after ``kill -9``, so a stale lock cannot exist.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any


class RunLockedError(RuntimeError):
    """Another process is writing into the same run directory."""


class DiskFullError(OSError):
    """The disk (or quota) filled up while writing a run; what was fsynced before is kept."""

    def __str__(self) -> str:  # the message alone: the CLI prints it as its one line
        return str(self.strerror)


_FULL = (errno.ENOSPC, errno.EDQUOT)


class RunDirLock:
    """An exclusive, non-blocking ``flock`` on ``root`` (created if missing), held until
    :meth:`release` or the end of a ``with`` block. With ``label`` (a shard of a sharded run), the
    lock is on ``root/.lock.<label>`` instead, so the shards of one run can write side by side while
    two writers of the same shard still refuse each other."""

    def __init__(self, root: Path, label: str | None = None) -> None:
        self.root = Path(root)
        self.label = label
        self._fd: int | None = None

    def acquire(self) -> RunDirLock:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.label is None:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        else:
            fd = os.open(self.root / f".lock.{self.label}", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            what = self.root if self.label is None else f"{self.root} ({self.label})"
            raise RunLockedError(
                f"{what} is being written by another harness process; wait for it to finish "
                f"or use another --output-dir"
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> RunDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def disk_full(exc: OSError, path: Path) -> DiskFullError | None:
    """The :class:`DiskFullError` to raise for ``exc`` when it is ENOSPC/EDQUOT, else ``None``."""
    if exc.errno not in _FULL:
        return None
    return DiskFullError(
        exc.errno,
        f"no space left on the device while writing {path}; free some space and rerun the same "
        f"command (finished samples are kept, a torn last line is repaired)",
    )


def append_lines(out: IO[str], path: Path, lines: list[str]) -> None:
    """Append ``lines`` (no newlines inside) to the open text file ``out`` and fsync them.

    Written with ``os.write`` on the descriptor, so a failed write leaves nothing buffered that
    closing the file would try (and fail) to write again; a partial last line is the torn line
    the next start repairs."""
    out.flush()
    view = memoryview("".join(line + "\n" for line in lines).encode("utf-8"))
    fd = out.fileno()
    try:
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError as exc:
        full = disk_full(exc, path)
        if full is None:
            raise
        raise full from None


def identity_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``field (old -> new)`` for every leaf that differs between two run identities, nested
    fields dotted (``agent_config.planner.model``)."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        name = f"{prefix}{key}"
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(identity_diff(a, b, name + "."))
        elif a != b:
            out.append(f"{name} ({_short(a)} -> {_short(b)})")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class InFlight:
    """``inflight.json`` in a run directory: the ids of the batch being run, removed once its lines
    are on disk (and on any orderly exit). One left behind means the process died inside that
    batch (a segfault, the OOM killer, ``kill -9``): the next start runs those tasks one at a time,
    and a task that was running alone when the process died is recorded as a ``harness_error``
    instead of being run a third time, so no task can crash every rerun."""

    NAME = "inflight.json"

    def __init__(self, root: Path, label: str | None = None) -> None:
        """``label``: a shard's own marker (``inflight.<label>.json``), as each shard runs its own batches."""
        self.path = Path(root) / (self.NAME if label is None else f"inflight.{label}.json")

    def previous(self) -> tuple[set[str], bool]:
        """The ids in flight when a previous process died, and whether they ran alone."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {str(i) for i in data["ids"]}, bool(data["alone"])
        except (OSError, ValueError, KeyError, TypeError):
            return set(), False

    def begin(self, ids: list[str], alone: bool) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps({"ids": ids, "alone": alone, "pid": os.getpid()}), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise disk_full(exc, self.path) or exc from None

    def end(self) -> None:
        self.path.unlink(missing_ok=True)

    def end_if_mine(self) -> None:
        """Remove the marker if this process wrote it (an orderly exit), not one a dead process left."""
        try:
            mine = json.loads(self.path.read_text(encoding="utf-8")).get("pid") == os.getpid()
        except (OSError, ValueError, AttributeError):
            return
        if mine:
            self.end()
